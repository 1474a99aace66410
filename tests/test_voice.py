"""A caller's view of the voice line: every answer, both transfers, the text, silence and errors."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from ivr.outcomes import TextOutcome
from ivr.voice.speech import spoken_text
from tests.apps import CALLER, OUR_NUMBER, line_of, path_to
from tests.handout_facts import FACTS


def test_welcome_says_what_the_line_is_then_the_main_menu(call):
    c = call()
    assert c.waiting == "gather"
    heard = c.text.lower()
    assert "national cancer institute" in heard and "not medical advice" in heard
    assert heard.count("press") <= 6  # five choices and the 0 hint
    gather = c.events[-1].data
    assert gather["input"] == "dtmf speech" and "why did it come back" in gather["hints"]


@pytest.mark.parametrize("answer", sorted(FACTS["en"]))
def test_every_answer_is_reachable_by_keypad(call, answer):
    keys = path_to(answer)
    assert keys and len(keys) <= 3, f"{answer} must be at most 3 levels deep"
    c = call()
    for key in keys:
        c.press(key)
    heard = c.text.lower()  # the facts: tests/test_handout_facts.py
    assert "oncologists" not in heard
    assert "to hear that again, press 1" in heard and c.waiting == "gather"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("why did it come back", "scientists do not know"),
        ("what is recurrence", "recurrent cancer"),
        ("is treatment harder the second time", "health psychologist"),
        ("where does it come back", "metasta"),
        ("is it my fault", "you did not do anything wrong"),
    ],
)
def test_speech_at_the_main_menu_lands_on_the_right_answer(call, words, expected):
    c = call().say(words)
    assert expected in c.text.lower()


@pytest.mark.parametrize(("keys", "words", "expected"), [
    (["1", "1"], "is it my fault", "you did not do anything wrong"), (["9"], "¿es mi culpa?", "ni ha hecho nada malo"),
    (["9", "1"], "fue mi culpa", "ni ha hecho nada malo"),
])  # fmt: skip
def test_is_it_my_fault_said_at_any_menu_reaches_the_answer_that_they_did_nothing_wrong(call, keys, words, expected):
    c = call()
    for key in keys:
        c.press(key)
    c.say(words)
    assert expected in c.text.lower()


def test_after_an_answer_repeat_menu_talk_and_text(call, twilio):
    c = call()
    for key in path_to("why"):
        c.press(key)
    first = c.text
    c.press("1")
    assert c.text == first  # repeated word for word
    c.press("2")
    assert "main menu" in c.text.lower()
    c.press("1").press("2").press("3")
    assert "national cancer institute" in c.text.lower() and "press 2" in c.text.lower()
    c.press("*").press("1").press("1").press("4")
    assert "we have sent you a text" in c.text.lower()
    assert len(twilio.messages) == 1


def test_not_a_choice_repeats_the_same_menu(call):
    c = call().press("1")
    menu = c.text
    c.press("7")
    assert c.text.lower().startswith("sorry, that is not one of the choices")
    assert menu in c.text
    c.say("banana bread recipe")
    assert "not one of the choices" in c.text


def test_hash_is_a_key_not_silence_on_a_real_phone(call):
    """Twilio's finishOnKey is # unless set: # alone would end the <Gather> with no digits (silence)."""
    c = call()
    for _ in range(3):
        assert all(g.get("finishOnKey") == "" for g in c.gathers)
        c.press("#")
        assert "sorry, that is not one of the choices" in c.text.lower() and not c.ended
    c.press("1").interrupt("#")
    assert "sorry, that is not one of the choices" in c.text.lower() and not c.ended


def test_silence_warns_then_says_goodbye_and_hangs_up(call):
    c = call()
    c.silence()
    assert "did not hear a choice" in c.text and c.waiting == "gather"
    c.silence()
    assert "did not hear a choice" in c.text
    c.silence()
    assert "goodbye" in c.text.lower() and c.ended and c.waiting is None


@pytest.mark.parametrize(("keys", "number"), [(["0"], "+18004226237"), (["3", "1"], "+18004226237"), (["3", "2"], "+18886513038")])
def test_transfers_dial_with_our_number_as_caller_id_and_a_timeout(call, keys, number):
    c = call()
    for key in keys:
        c.press(key)
    assert c.waiting == "dial"
    dial = c.dialled[-1]
    assert dial["number"] == number and dial["callerId"] == OUR_NUMBER and int(dial["timeout"]) <= 60
    assert dial["action"]


def test_zero_works_at_every_menu(call):
    for keys in (["1"], ["2"], ["1", "1"]):
        c = call()
        for key in keys:
            c.press(key)
        c.press("0")
        assert c.dialled[-1]["number"] == "+18004226237"


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_a_failed_transfer_offers_the_text_and_returns_to_the_menu(call, twilio, status):
    c = call().press("0").dial_ends(status)
    assert "text message" in c.text.lower() and c.waiting == "gather"
    c.press(path_to("text", "after_failed_transfer")[0])
    assert "we have sent you a text" in c.text.lower()
    assert len(twilio.messages) == 1
    c.press("1")  # back at the main menu: 1 is "about recurrence"
    assert "what recurrence is" in c.text.lower()


@pytest.mark.parametrize("status", ["busy", "no-answer"])
def test_after_the_nci_was_busy_the_other_line_is_offered_first(call, line, status):
    """A caller who just heard a busy signal is offered Cancer.Net first, not the NCI again."""
    words = line.script("en").words
    c = call().press("0").dial_ends(status)
    lead, menu = (" ".join(spoken_text(s) for s in g.iter("Say")) for g in c.gathers)
    assert lead.endswith(" ".join(words["transfer"]["offer"].split())) and "another line" in lead
    first = menu.split(". ")[0] + "."
    asco_key = path_to("asco", "after_failed_transfer")[0]
    assert first == words["choices"]["asco"].replace("{key}", asco_key)
    assert "to talk with the national cancer institute" not in menu.lower()  # only the "0 at any time" hint
    c.press(asco_key)
    assert c.dialled[-1]["number"] == "+18886513038"


def test_after_cancer_net_was_busy_it_is_not_offered_again_but_its_key_still_works(call, line):
    words = line.script("en").words
    c = call().press(path_to("talk")[0]).press(path_to("asco", "talk")[0]).dial_ends("busy")
    menu = " ".join(spoken_text(s) for s in c.gathers[-1].iter("Say"))
    assert "Cancer dot net" not in menu and words["choices"]["text"].replace("{key}", path_to("text", "after_failed_transfer")[0]) in menu
    assert "press 0 to talk with someone at the National Cancer Institute" in menu  # the other line, by 0
    c.press(path_to("asco", "after_failed_transfer")[0])
    assert c.dialled[-1]["number"] == "+18886513038"


def test_a_completed_transfer_ends_the_call_kindly(call):
    c = call().press("0").dial_ends("completed")
    assert "goodbye" in c.text.lower() and c.ended


def test_text_me_sends_one_text_from_our_number_with_both_numbers_and_sites(call, twilio, line):
    c = call().press("4")
    assert "we have sent you a text" in c.text.lower()
    [message] = twilio.messages
    assert message["To"] == CALLER and message["From"] == OUR_NUMBER
    for part in ("1-800-422-6237", "888-651-3038", "www.cancer.gov", "www.cancer.net"):
        assert part in message["Body"]
    assert line.storage.count_texts(line.hash_number(CALLER)) == 1
    assert "main menu" in c.text.lower() and c.waiting == "gather"


@pytest.mark.parametrize("error_format", ["legacy", "problem"])
def test_text_me_when_the_number_opted_out_says_so_and_remembers(call, twilio, line, error_format):
    twilio.error_format = error_format
    twilio.answer("error", 21610)
    c = call().press("4")
    heard = c.text.lower()
    assert "asked not to get text messages" in heard and "start" in heard and "1-800-422-6237" in heard
    assert line.storage.is_opted_out(line.hash_number(CALLER))
    twilio.reset()
    c.press("4")
    assert "asked not to get text messages" in c.text.lower()
    assert twilio.messages == []  # honoured before any REST call


@pytest.mark.parametrize("error_format", ["legacy", "problem"])
@pytest.mark.parametrize("code", [21614, 21211])
def test_text_me_to_a_phone_that_cannot_text_reads_the_numbers_twice(call, twilio, code, error_format):
    twilio.error_format = error_format
    twilio.answer("error", code)
    c = call().press("4")
    heard = c.text.lower()
    assert "cannot receive text messages" in heard
    assert heard.count("1-800-422-6237") == 2 and heard.count("1-888-651-3038") == 2


def test_text_me_when_twilio_fails_apologises_and_reads_the_numbers(call, twilio, line):
    twilio.answer("status", 500)
    c = call().press("4")
    assert "could not send a text message" in c.text.lower() and "1-800-422-6237" in c.text
    twilio.reset()
    # the failed attempt did not use up the caller's allowance, and a certain failure may be tried again in the call
    assert "we have sent you a text" in c.press("4").text.lower()
    for _ in range(line.settings.texts_per_caller_per_day - 1):
        assert "we have sent you a text" in call().press("4").text.lower()


def test_text_me_when_twilio_hangs_still_answers_in_time(call, twilio, line):
    twilio.answer("hang", 30)
    started = time.monotonic()
    c = call().press("4")
    elapsed = time.monotonic() - started
    assert "may not have been able to send the text message" in c.text.lower() and "1-800-422-6237" in c.text
    assert "could not send" not in c.text.lower()  # the text may still arrive: not told as a certain failure
    assert elapsed < line.settings.rest_timeout + 2 < 15
    twilio.reset()
    c.press("4")  # not tried again in this call: a second text could arrive on top of the first
    assert "may not have been able to send the text message" in c.text.lower() and "1-800-422-6237" in c.text
    assert twilio.messages == []


@pytest.mark.parametrize("caller", ["anonymous", "unknown", "", "Restricted", "266696687", "+1555"])
def test_a_withheld_or_unusable_caller_id_is_never_texted(call, twilio, caller):
    c = call(caller=caller).press("4")
    assert "cannot see your phone number" in c.text.lower()
    assert c.text.count("1-800-422-6237") == 2
    assert twilio.messages == []


@pytest.mark.parametrize(("caller", "region"), [("+447700900123", "US"), ("+15550100123", "US"), ("07700900123", "GB")])
def test_a_caller_id_that_is_there_but_not_a_number_in_use_is_told_so_not_that_it_is_missing(make_app, twilio, caller, region):
    from ivr.tools.simulator import Call, FlaskTransport
    from tests.apps import AUTH_TOKEN, BASE_URL

    app = make_app(IVR_DEFAULT_REGION=region)
    c = Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=caller, called=OUR_NUMBER).start().press("4")
    heard = c.text.lower()
    assert "we cannot send a text message to the number you are calling from" in heard
    assert "cannot see your phone number" not in heard
    assert c.text.count("1-800-422-6237") == 2
    assert twilio.messages == []


def test_text_me_twice_in_one_call_sends_one_text_and_takes_no_more_quota(call, twilio, line):
    c = call().press("4")
    assert "we have sent you a text" in c.text.lower()
    for _ in range(line.settings.texts_per_caller_per_day + 1):
        c.press("4")
        heard = c.text.lower()
        assert "we already sent you that text message during this call" in heard and "a minute or two" in heard
        assert "1-800-422-6237" not in heard and "main menu" in heard and c.gathers[0].get("input") == "dtmf"
    assert len(twilio.messages) == 1
    for _ in range(line.settings.texts_per_caller_per_day - 1):  # the repeats took none of the day's texts
        assert "we have sent you a text" in call().press("4").text.lower()
    assert "most text messages" in call().press("4").text.lower()
    assert len(twilio.messages) == line.settings.texts_per_caller_per_day


def test_texts_are_limited_per_caller_per_day(call, twilio, line):
    limit = line.settings.texts_per_caller_per_day
    for _ in range(limit):
        assert "we have sent you a text" in call().press("4").text.lower()
    assert "most text messages" in call().press("4").text.lower()
    assert len(twilio.messages) == limit
    assert "we have sent you a text" in call(caller="+16175550124").press("4").text.lower()


def test_texts_are_limited_overall_per_hour(make_app, twilio):
    from ivr.tools.simulator import Call, FlaskTransport
    from tests.apps import AUTH_TOKEN, BASE_URL

    client = make_app(IVR_TEXTS_PER_HOUR=2).test_client()
    outcomes = []
    for n in range(3):
        c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=f"+1617555020{n}").start().press("4")
        outcomes.append("we have sent you a text" in c.text.lower())
    assert outcomes == [True, True, False]
    # the third caller never had a text: they are not told their phone had too many, and hear the numbers
    heard = c.text.lower()
    assert "most text messages" not in heard
    assert "could not send a text message" in heard and "1-800-422-6237" in heard
    assert len(twilio.messages) == 2


def test_dev_mode_text_me_without_twilio_credentials_reads_the_numbers(make_app, tmp_path, twilio):
    from ivr.tools.simulator import Call, FlaskTransport
    from tests.apps import make_env

    env = make_env(tmp_path, twilio.url, IVR_DEV_MODE=1)
    env.pop("TWILIO_AUTH_TOKEN")
    client = make_app(env=env).test_client()
    c = Call(FlaskTransport(client), None).start().press("4")
    assert "could not send a text message" in c.text.lower() and "1-800-422-6237" in c.text
    # and the unsigned requests are only accepted from loopback
    assert client.post("/voice", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_outcome_that_reads_the_numbers_says_pen_and_paper_once_before_them(app, lang):
    """A caller about to hear the numbers is told to get a pen first: every time they are read, never twice."""
    script = line_of(app).default_line.scripts[lang]
    pen = script.text("text.pen_and_paper")
    numbers = script.text("numbers_aloud").split("{", 1)[0].strip()  # its first words, before a placeholder
    for outcome in TextOutcome:
        heard = " ".join(spoken_text(e) for e in ET.fromstring(script.text_outcome(outcome)).iter("Say"))
        if outcome in (TextOutcome.SENT, TextOutcome.ALREADY_SENT):
            assert pen not in heard and numbers not in heard, outcome
        else:
            assert heard.count(pen) == 1, (outcome, heard)
            assert heard.index(pen) < heard.index(numbers), (outcome, heard)
