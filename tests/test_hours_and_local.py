"""Opening hours of the lines we transfer to (clock pinned in each test) and the clinic's own contact."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from ivr.app import create_app
from ivr.config import load_settings
from ivr.content import gsm
from ivr.content.hours import HoursError, parse
from ivr.content.prompts import ContentError
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, SATURDAY, line_of, make_env
from tests.cli_helpers import edit

NCI = parse({"days": "mon-fri", "open": "09:00", "close": "21:00", "time_zone": "America/New_York"})


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (utc(2026, 11, 23, 13, 59, 59), False),  # Monday 08:59:59 EST
        (utc(2026, 11, 23, 14, 0), True),  # Monday 09:00 EST
        (utc(2026, 11, 28, 1, 59), True),  # Friday 20:59 EST
        (utc(2026, 11, 28, 2, 0), False),  # Friday 21:00 EST
        (utc(2026, 11, 28, 16, 0), False),  # Saturday 11:00
        (utc(2026, 11, 29, 16, 0), False),  # Sunday 11:00
        (utc(2026, 7, 6, 13, 0), True),  # Monday 09:00 EDT (summer time)
        (utc(2026, 7, 6, 12, 59), False),  # Monday 08:59 EDT
    ],
)
def test_nci_hours_at_the_edges(moment, is_open):
    assert NCI.is_open(moment) is is_open


def test_hours_parse_both_forms_and_refuse_nonsense():
    assert parse("mon-fri 09:00-21:00 America/New_York") == NCI
    assert parse("sat,sun 10:00-14:00 America/Chicago").days == (5, 6)
    for bad in ("mon-fri 9-5 America/New_York", "mon-fri 10:00-09:00 UTC", "funday 09:00-10:00 UTC", "mon 09:00-10:00 Mars/Base"):
        with pytest.raises(HoursError):
            parse(bad)


@pytest.fixture
def line_client(make_app):
    """A client of a line whose clock says ``moment``: line_client(moment, **env)."""
    return lambda moment, **env: make_app(clock=moment, **env).test_client()


def call_on(client, **kwargs) -> Call:
    return Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER, **kwargs).start()


TUESDAY_9AM = utc(2026, 11, 24, 14, 0)


def test_outside_hours_the_caller_hears_when_nci_is_open_and_can_get_the_text(twilio, line_client):
    c = call_on(line_client(SATURDAY)).press("0")
    heard = c.text
    assert "Monday to Friday, from 9 a.m. to 9 p.m., Eastern time" in heard and "recorded information" in heard
    assert c.waiting == "gather" and not c.dialled
    c.press("1")
    assert "we have sent you a text" in c.text.lower()
    [message] = twilio.messages
    assert "Mon-Fri 9am-9pm ET" in message["Body"]


def test_outside_hours_the_caller_can_be_connected_anyway_or_go_back(line_client):
    client = line_client(SATURDAY)
    c = call_on(client).press("3").press("1").press("2")
    assert c.waiting == "dial" and c.dialled[-1]["number"] == "+18004226237"
    c = call_on(client).press("0").press("*")
    assert "Main menu" in c.text
    c = call_on(client).press("0").silence()
    assert "did not hear a choice" in c.text and "closed" not in c.text
    c.press("2")
    assert c.dialled[-1]["number"] == "+18004226237"  # the contact travelled in the URL


def test_after_hours_no_menu_promises_that_0_reaches_a_person_now(make_app):
    """0 says the hours while the NCI line is closed: every menu's "0 at any time" says so, then 0 does it."""
    app = make_app(clock=SATURDAY)
    client = app.test_client()
    words = line_of(app).content.languages["en"].voice
    open_hint = words["always_hints"]["nci"].replace("{key}", "0")
    closed_hint = words["always_hints_closed"]["nci"].replace("{key}", "0")
    for keys in ([], ["1"], ["2"], ["1", "1"]):  # the welcome, two menus, after an answer
        c = call_on(client)
        for key in keys:
            c.press(key)
        assert closed_hint in c.text and open_hint not in c.text, keys
        c.silence()  # and when the menu is said again
        assert closed_hint in c.text and open_hint not in c.text, keys
    c = call_on(client).press("0").press("2").dial_ends("busy")  # connected anyway, to a busy line
    assert "line is busy" in c.text and closed_hint in c.text and open_hint not in c.text
    c = call_on(client).press("1").press("0")  # what the hint says 0 does: the hours, then the text
    assert not c.dialled and "is open Monday to Friday, from 9 a.m. to 9 p.m." in c.text and "by text message, press 1" in c.text


def closed_said(text: str) -> int:
    return len(re.findall(r"\bclosed\b|\bcerrad[oa]\b|no atiende", text))


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("keys", [["0"], ["1", "0"], ["3", "1"], ["1", "1", "0"]])
def test_after_hours_a_key_that_said_closed_is_answered_with_the_hours_and_closed_is_said_once(make_app, lang, keys):
    """The menu said "closed now, press 0 for its hours" (or the talk menu's choice did): the key gives the hours, not "closed" again."""
    app = make_app(clock=SATURDAY)
    words = line_of(app).content.languages[lang].voice
    c = call_on(app.test_client())
    if lang == "es":
        c.press("9")
    for key in keys[:-1]:
        c.press(key)
    menu = c.text
    assert closed_said(menu) == 1, menu  # the hint of the key about to be pressed
    c.press(keys[-1])
    hours = words["transfer"]["hours"]["nci"].split("{")[0].strip()
    assert c.text.startswith(hours) and closed_said(c.text) == 0, c.text
    assert not c.dialled and c.waiting == "gather"


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("keys", [[], ["3"], ["0"], ["1", "1"], ["fallback"]])
def test_after_hours_it_is_the_institutes_phone_line_that_is_closed_not_the_institute(make_app, lang, keys):
    """A frightened caller must not hear that the National Cancer Institute itself is closed: its phone line is."""
    client = make_app(clock=SATURDAY).test_client()
    c = call_on(client, path="/voice/fallback") if keys == ["fallback"] else call_on(client)
    heard = [c.text]
    if lang == "es" and keys != ["fallback"]:  # the fallback speaks every language at once
        heard.append(c.press("9").text)
    for key in keys if keys != ["fallback"] else []:
        heard.append(c.press(key).text)
    heard = " ".join(heard)
    assert closed_said(heard) >= 1, heard
    itself = re.findall(r"Institute is (?:closed|open)|(?<!Contacto del )Instituto Nacional del Cáncer (?:está cerrado|atiende)", heard)
    assert itself == [], heard


def test_after_hours_the_full_closed_notice_where_nothing_said_closed_before(make_app):
    """Switching language at the closed menu: the other language's caller has not heard "closed" in words they understand."""
    client = make_app(clock=SATURDAY).test_client()
    c = call_on(client).press("0").press("9")
    assert "está cerrado en este momento" in c.text
    c = call_on(client).press("9").press("0").press("9")
    assert "The National Cancer Institute's phone line is closed right now" in c.text


def test_after_hours_the_talk_menu_does_not_offer_to_talk_with_the_closed_line(make_app):
    app = make_app(clock=SATURDAY)
    words = line_of(app).content.languages["en"].voice
    c = call_on(app.test_client()).press("3")
    assert words["choices_closed"]["nci"].replace("{key}", "1") in c.text and "To talk with the National Cancer" not in c.text
    assert "Cancer dot net" in c.text  # ASCO has no hours: still offered as always
    c.press("1")
    assert "is open Monday to Friday" in c.text and not c.dialled  # what the choice said: its hours
    c = call_on(make_app(clock=TUESDAY_9AM).test_client()).press("3")
    assert "To talk with the National Cancer Institute, in English or Spanish, press 1" in c.text and "closed" not in c.text


def test_in_opening_hours_0_promises_a_person(make_app):
    app = make_app(clock=TUESDAY_9AM)
    words = line_of(app).content.languages["en"].voice
    c = call_on(app.test_client()).press("1")
    assert words["always_hints"]["nci"].replace("{key}", "0") in c.text and "closed" not in c.text
    c.press("0")
    assert c.waiting == "dial"


def test_at_opening_time_the_transfer_goes_straight_through(line_client):
    c = call_on(line_client(TUESDAY_9AM)).press("0")
    assert c.waiting == "dial" and "closed" not in c.text


def test_asco_has_no_hours_by_default_and_always_connects(line_client):
    c = call_on(line_client(SATURDAY)).press("3").press("2")
    assert c.dialled[-1]["number"] == "+18886513038"


LOCAL = {"IVR_LOCAL_NAME": "Saint Mary Cancer Center", "IVR_LOCAL_PHONE": "(617) 555-0199"}


def test_a_local_contact_appears_in_the_menu_the_answer_and_the_text(twilio, line_client):
    client = line_client(TUESDAY_9AM, **LOCAL)
    c = call_on(client)
    assert "For Saint Mary Cancer Center, press 5" in c.text
    c.press("5")
    assert c.dialled[-1]["number"] == "+16175550199" and c.dialled[-1]["callerId"] == OUR_NUMBER
    c = call_on(client).press("1").press("4")
    assert "For more local information, you can call Saint Mary Cancer Center, at 1-617-555-0199" in c.text
    c = call_on(client).press("4")
    assert "Local: Saint Mary Cancer Center (617) 555-0199." in twilio.messages[-1]["Body"]
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    for words in ("7", "NCI", "RECURRENCIA", "7"):
        [reply] = texter.send(words)
        if words != "RECURRENCIA":
            assert "Local: Saint Mary Cancer Center (617) 555-0199." in reply, words


def test_the_local_web_site_is_said_where_the_answer_gives_web_sites_and_only_when_set(twilio, line_client):
    with_web = call_on(line_client(TUESDAY_9AM, IVR_LOCAL_WEB="saintmary.example.org/cancer", **LOCAL)).press("1").press("4")
    assert "you can call Saint Mary Cancer Center, at 1-617-555-0199, or visit saintmary.example.org/cancer." in with_web.text
    spanish = call_on(line_client(TUESDAY_9AM, IVR_LOCAL_WEB="saintmary.example.org/cancer", IVR_DEFAULT_LANGUAGE="es", **LOCAL))
    assert "o visitar saintmary.example.org/cancer." in spanish.press("1").press("4").text
    without = call_on(line_client(TUESDAY_9AM, **LOCAL)).press("1").press("4")
    assert "you can call Saint Mary Cancer Center, at 1-617-555-0199." in without.text and "visit" not in without.text
    assert not re.search(r"\d \.", without.text)  # never "(312) 555-0142 ." for a web site that is not set
    call_on(line_client(TUESDAY_9AM, IVR_LOCAL_WEB="saintmary.example.org/cancer", **LOCAL)).press("4")
    assert "saintmary" not in twilio.messages[-1]["Body"]  # texts keep name and number: their segment budgets


def test_local_web_in_a_text_without_the_setting_stops_start_up_naming_it(tmp_path, twilio, prompts):
    edit(
        prompts / "en" / "sms.yaml",
        'local_info: " Local: {local.name} {local.phone}."',
        'local_info: " Local: {local.name} {local.phone} {local.web}."',
    )
    settings = load_settings(make_env(tmp_path, twilio.url, IVR_PROMPTS_DIR=str(prompts), **LOCAL))
    with pytest.raises(ContentError) as caught:
        create_app(settings)
    assert ("prompts/en/sms.yaml", "local_info", "{local.web}: local has no web (set IVR_LOCAL_WEB, or web: in IVR_LINES_FILE)") in (
        caught.value.problems
    )


def test_without_a_local_contact_nothing_mentions_one(twilio, line_client):
    client = line_client(TUESDAY_9AM)
    c = call_on(client)
    assert "press 5" not in c.text
    c.press("5")
    assert "not one of the choices" in c.text
    c = call_on(client).press("1").press("4")
    assert "local" not in c.text.lower()
    call_on(client).press("4")
    assert "local" not in twilio.messages[-1]["Body"].lower()
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    assert all("local" not in texter.send(words)[0].lower() for words in ("7", "NCI", "RECURRENCIA", "7"))


def test_local_hours_are_honoured(line_client):
    client = line_client(SATURDAY, IVR_LOCAL_HOURS="mon-fri 08:00-17:30 America/Chicago", **LOCAL)
    c = call_on(client).press("5")
    assert "Saint Mary Cancer Center is closed right now. It is open Monday to Friday, from 8 a.m. to 5:30 p.m., Central time" in c.text


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"IVR_LOCAL_PHONE": "555"}, "environment: IVR_LOCAL_PHONE: '555' is not a valid phone number"),
        ({"IVR_LOCAL_HOURS": "weekdays"}, "environment: IVR_LOCAL_HOURS: 'weekdays': write it like"),
        ({"IVR_LOCAL_NAME": "Saint Mary \U0001f3e5"}, "environment: IVR_LOCAL_NAME: has characters a text message cannot carry"),
    ],
)
def test_a_bad_local_contact_stops_start_up(tmp_path, twilio, env, problem):
    settings = load_settings(make_env(tmp_path, twilio.url, **{**LOCAL, **env}))
    with pytest.raises(ContentError, match=problem.replace(".", r"\.").replace("(", r"\(")) as err:
        create_app(settings)
    assert [p for p in err.value.problems if p[0] != "environment"] == []  # the setting is named, not sms.yaml


def test_a_curly_apostrophe_or_a_dash_in_the_clinic_name_is_texted_and_said_plain(line_client):
    client = line_client(TUESDAY_9AM, IVR_LOCAL_NAME="St. Mary\u2019s \u2013 Boston", IVR_LOCAL_PHONE="(617) 555-0199")
    assert "For St. Mary's - Boston, press 5" in call_on(client).text
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    [reply] = texter.send("NCI")
    assert "Local: St. Mary's - Boston (617) 555-0199." in reply and gsm.is_gsm7(reply)


CLINICA = {
    "IVR_LOCAL_NAME": "Clínica San José",
    "IVR_LOCAL_PHONE": "(602) 555-0144",
    "IVR_LOCAL_HOURS": "mon-fri 08:00-17:00 America/Phoenix",
}


def test_a_clinic_name_with_accents_is_said_exactly_and_texted_in_its_closest_gsm7_form(line_client):
    client = line_client(SATURDAY, **CLINICA)
    c = call_on(client).press("9")
    assert "Para Clínica San José, oprima 5" in c.text
    c.press("5")  # closed on a Saturday: it does not answer now, and when it does, on a 12-hour clock
    assert c.text.startswith(
        "Clínica San José no atiende en este momento. Atiende de lunes a viernes, de 8 de la mañana a 5 de la tarde, hora de Arizona."
    )
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    for words in ("NCI", "RECURRENCIA", "7"):
        [reply] = texter.send(words)
        if words != "RECURRENCIA":
            assert "Local: Clinica San José (602) 555-0144." in reply, words
            assert gsm.is_gsm7(reply)


def test_spanish_hours_say_noon_and_the_part_of_the_day():
    words = {"weekdays": ["lunes"] * 7, "day_range": "{first}", "and": "y", "open": "{open} a {close}", "clock": 12,
             "time": "{hour}{minutes} {ampm}", "am": "de la mañana", "noon": "del mediodía", "pm": "de la tarde",
             "night": "de la noche"}  # fmt: skip
    said = parse("mon 07:30-12:15 UTC").describe(words), parse("mon 12:00-20:00 UTC").describe(words)
    assert said == ("7:30 de la mañana a 12:15 del mediodía", "12 del mediodía a 8 de la noche")
    assert parse("mon 13:00-19:00 UTC").describe(words) == "1 de la tarde a 7 de la tarde"
