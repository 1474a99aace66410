"""'Text me' only where a text may go (ivr/voice/text_gate.py): the line's countries, mobile numbers.

Spoofed caller IDs of foreign, premium-rate and toll-free numbers ask for the text: none is sent
(counted on the fake of Twilio's REST API), each caller hears why and the numbers, and the usage
event says which refusal it was. A US mobile-or-landline number still gets its text, so the tests
can fail. Then the same through gunicorn, as the Procfile runs it.
"""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from ivr.config import ConfigError, load_settings
from ivr.remembered import Remembered
from ivr.store.migrate import upgrade
from ivr.tools.simulator import Call, HttpTransport
from tests.apps import AUTH_TOKEN, OUR_NUMBER, make_env, path_to
from tests.instances import usage_rows
from tests.live_server import Gunicorn

TEXT = path_to("text")
UK_MOBILE = "+447400123456"
ZIMBABWE_MOBILE = "+263771234567"
PREMIUM_RATE = "+19005550123"
TOLL_FREE = "+18005550199"
REFUSED = {UK_MOBILE: "abroad", ZIMBABWE_MOBILE: "abroad", PREMIUM_RATE: "not_mobile", TOLL_FREE: "not_mobile"}


def test_the_numbers_are_what_the_test_says():
    kinds = {n: (phonenumbers.region_code_for_number(p), phonenumbers.number_type(p)) for n in REFUSED if (p := phonenumbers.parse(n))}
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in REFUSED)
    assert kinds == {
        UK_MOBILE: ("GB", PhoneNumberType.MOBILE),
        ZIMBABWE_MOBILE: ("ZW", PhoneNumberType.MOBILE),
        PREMIUM_RATE: ("US", PhoneNumberType.PREMIUM_RATE),
        TOLL_FREE: ("US", PhoneNumberType.TOLL_FREE),
    }


@pytest.mark.parametrize("caller", list(REFUSED))
def test_a_refused_number_gets_no_text_hears_why_and_the_numbers(call, twilio, line, caller):
    c = call(caller=caller)
    for key in TEXT:
        c.press(key)
    words = line.scripts["en"].text(f"text.{REFUSED[caller]}").split(",")[0]
    assert words.lower() in c.text.lower()
    assert c.text.count("1-800-422-6237") == 2 and c.text.count("1-888-651-3038") == 2  # read twice: no text will come
    assert twilio.messages == []
    assert [r["outcome"] for r in usage_rows(line) if r["event"] == "text"] == [REFUSED[caller]]


def test_a_us_number_still_gets_its_text(call, twilio):
    c = call(caller="+16175550125")
    for key in TEXT:
        c.press(key)
    assert "we have sent you a text" in c.text.lower() and len(twilio.messages) == 1


def test_the_countries_are_configurable_and_checked(make_app, twilio):
    app = make_app(IVR_TEXT_COUNTRIES="us, gb")
    c = Call_for(app, UK_MOBILE)
    assert "we have sent you a text" in c.text.lower() and len(twilio.messages) == 1
    with pytest.raises(ConfigError, match=r"IVR_TEXT_COUNTRIES.*XX"):
        load_settings({"IVR_TEXT_COUNTRIES": "US,XX"})


def test_by_default_the_line_texts_the_countries_of_its_own_numbers(make_app, twilio):
    canadian = "+16045550123"  # Vancouver: phonenumbers says CA
    assert phonenumbers.region_code_for_number(phonenumbers.parse(canadian)) == "CA"
    us_line = make_app()
    assert "only to phone numbers in its own country" in Call_for(us_line, canadian).text
    both = make_app(IVR_NUMBER_LANGUAGES=f"{OUR_NUMBER}=en,+16045550100=en")  # a number of its own in Canada
    assert "we have sent you a text" in Call_for(both, canadian).text.lower()
    assert len(twilio.messages) == 1


def Call_for(app, caller: str) -> Call:
    from ivr.tools.simulator import FlaskTransport
    from tests.apps import BASE_URL

    c = Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=caller, called=OUR_NUMBER).start()
    for key in TEXT:
        c.press(key)
    return c


@pytest.mark.slow
def test_through_gunicorn_foreign_premium_and_toll_free_callers_cause_no_send(tmp_path, twilio):
    env = make_env(tmp_path, twilio.url)
    upgrade(env["DATABASE_URL"])
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        heard = {}
        for caller in [*REFUSED, "+16175550126"]:
            c = Call(HttpTransport(timeout=15), AUTH_TOKEN, server.url, caller=caller, called=OUR_NUMBER).start()
            for key in TEXT:
                c.press(key)
            heard[caller] = c.text
            if caller in REFUSED:
                assert twilio.messages == [], caller  # 0 sends for every refused caller
        assert server.stop() == 0
    assert len(twilio.messages) == 1 and twilio.messages[0]["To"] == "+16175550126"
    assert all("1-800-422-6237" in heard[caller] for caller in REFUSED)
    for number in REFUSED:
        assert number[-7:] not in server.output()  # never logged


def test_the_refusal_is_worked_out_once_per_caller_and_remembered_without_the_number(make_app, twilio, monkeypatch):
    """The menus ask at every webhook whether the caller can be texted; phonenumbers is asked once per
    caller ID, and what is remembered is keyed by a keyed hash, never the number, within its bound."""
    from ivr.voice import text_me
    from tests.apps import line_of

    line = line_of(make_app())
    asked = []
    real = text_me._refusal
    monkeypatch.setattr(text_me, "_refusal", lambda the_line, caller: asked.append(caller) or real(the_line, caller))
    monkeypatch.setattr(text_me, "_REFUSALS", Remembered(3))  # a memory of 3, not what earlier tests left
    callers = ["+16175550177", UK_MOBILE, "+16175550177", TOLL_FREE, "+16175550177"]
    outcomes = [text_me.refused_before_sending(line, caller) for caller in callers]
    assert outcomes == [None, text_me.TextOutcome.ABROAD, None, text_me.TextOutcome.NOT_MOBILE, None]
    assert asked == ["+16175550177", UK_MOBILE, TOLL_FREE]  # once each
    remembered = repr(list(text_me._REFUSALS))
    assert len(text_me._REFUSALS) <= 3 and not any(c[2:] in remembered or c[-4:] in remembered for c in callers)
