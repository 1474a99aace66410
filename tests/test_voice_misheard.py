"""What a caller says that is not a choice: it must never connect, text or fail them by surprise.

Each case was found by trying the line the way frightened callers talk: remarks ("oh no", "I want
to know"), single words that belong to a longer phrase ("cancer"), noise, and keys the menu does
not have.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ivr.tools.simulator import Call, FlaskTransport, check_twiml, sign
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, SATURDAY

NOT_A_CHOICE = "not one of the choices"


@pytest.mark.parametrize("words", ["my hospital", "my clinic", "someone near me", "local"])
def test_asking_for_a_local_contact_that_is_not_configured_is_not_an_error(call, words):
    c = call().say(words)
    assert "something went wrong" not in c.text.lower()
    assert NOT_A_CHOICE in c.text.lower() and not c.dialled


def test_the_local_contact_is_not_in_the_speech_hints_when_not_configured(call):
    c = call()
    assert "my hospital" not in c._gather.get("hints")


@pytest.mark.parametrize("words", ["oh no", "oh okay", "oh thank you", "I want to know", "well I want to", "for"])
def test_everyday_remarks_are_not_taken_for_keys(call, twilio, words):
    c = call().say(words)
    assert NOT_A_CHOICE in c.text.lower()
    assert not c.dialled and twilio.messages == []


@pytest.mark.parametrize("words", ["press two", "press to", "two", "number two"])
def test_spoken_keys_still_work_and_homophones_after_press(call, words):
    assert "a second time. to hear how it can be different" in call().say(words).text.lower()


def test_oh_after_press_is_zero(call):
    c = call().say("press oh")
    assert c.dialled and c.dialled[-1]["number"] == "+18004226237"


@pytest.mark.parametrize("words", ["cancer", "cancer line", "cancer center", "net", "institute"])
def test_one_word_of_a_long_name_does_not_connect_the_caller_elsewhere(call, words):
    c = call().say(words, confidence=0.9)
    assert not c.dialled, c.dialled


@pytest.mark.parametrize(
    ("words", "number"),
    [
        ("cancer institute", "+18004226237"),
        ("national cancer institute", "+18004226237"),
        ("cancer dot net", "+18886513038"),
        ("operator", "+18004226237"),
        ("I want to talk to a person", "+18004226237"),
    ],
)
def test_naming_a_line_still_connects(call, words, number):
    c = call().say(words)
    assert c.dialled and c.dialled[-1]["number"] == number


def test_a_wrong_key_at_the_welcome_does_not_repeat_the_offer_of_spanish_but_nine_still_works(call, line):
    c = call().press("8")
    assert NOT_A_CHOICE in c.text.lower() and "español" not in c.text.lower()  # heard twice at the welcome
    assert c.text.startswith(line.script("en").words["not_a_choice"])  # the first words say what happened
    c.press("9")
    assert "no es consejo médico" in c.text.lower()


def test_saying_nine_at_the_welcome_chooses_spanish(call):
    assert "no es consejo médico" in call().say("nine").text.lower()


def test_noise_counts_as_silence_so_the_call_still_ends_politely(call, line):
    c = call()
    for _ in range(line.settings.silence_tries):
        c.say("   ", confidence=0.0)
        assert NOT_A_CHOICE not in c.text.lower()
    assert c.ended and "goodbye" in c.text.lower()


@pytest.mark.parametrize("tries", ["\u00b2", "9" * 5000, "-1"])
def test_a_tampered_count_of_tries_is_ignored_not_an_error(signed_post, tries):
    response = signed_post(f"/voice/en/menu/main?tries={quote(tries)}", {"From": CALLER, "To": OUR_NUMBER})
    assert response.status_code == 200
    text = "".join(check_twiml(response.data).itertext()).lower()
    assert "something went wrong" not in text and "main menu" in text


def closed_line_call(make_app, **env) -> Call:
    app = make_app(clock=SATURDAY, **env)
    return Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()


def test_at_the_closed_menu_zero_connects_anyway_and_no_person_is_promised(make_app):
    c = closed_line_call(make_app).press("0")
    assert "is open Monday to Friday" in c.text and "talk with a person" not in c.text.lower()
    c.press("0")
    assert c.dialled and c.dialled[-1]["number"] == "+18004226237"


def test_the_fallback_speaks_the_numbers_language_first(make_app):
    client = make_app(migrate=False, IVR_NUMBER_LANGUAGES=f"{OUR_NUMBER}=es").test_client()
    params = {"To": OUR_NUMBER, "From": CALLER, "ErrorCode": "11200"}
    signature = sign(AUTH_TOKEN, BASE_URL + "/voice/fallback", params)
    response = client.post("/voice/fallback", base_url=BASE_URL, data=params, headers=signature)
    says = list(check_twiml(response.data).iter("Say"))
    assert says[0].get("language") == "es-US" and says[1].get("language") == "en-US"


@pytest.mark.parametrize(("lang_key", "words"), [(None, "cancer"), (None, "cancer cancer"), ("9", "cáncer")])
def test_a_word_every_choice_shares_is_not_a_choice(call, lang_key, words):
    """'cancer' alone is every topic and none: the caller hears the menu again, not a guessed answer."""
    c = call()
    if lang_key:
        c.press(lang_key)
    heard = c.say(words).text.lower()
    assert "not one of the choices" in heard or "no es una de las opciones" in heard
    assert "recurrence is when" not in heard and "la recurrencia es cuando" not in heard and not c.dialled


@pytest.mark.parametrize(("words", "expected"), [("recurrence", "what recurrence is"), ("recurrent cancer", "recurrence is when")])
def test_a_choice_made_of_shared_words_still_works(call, words, expected):
    assert expected in call().say(words).text.lower()


@pytest.mark.parametrize("words", ["cancer", "the cancer", "Cancer.", "my cancer", "cancer dot"])
@pytest.mark.parametrize("keys", ["", "1", "3", "2"])
def test_cancer_alone_is_no_choice_at_any_menu_neither_an_answer_nor_a_transfer(call, twilio, words, keys):
    """One word that several choices share ("recurrent cancer", "National Cancer Institute",
    "cancer dot net") is no wish for any of them: a frightened caller hears the menu again, not a
    26-second answer or a ringing line."""
    c = call()
    for key in keys:
        c.press(key)
    c.say(words)
    heard = c.text.lower()
    assert NOT_A_CHOICE in heard, heard
    assert "what is recurrence?" not in heard and "why does recurrence happen?" not in heard
    assert not c.dialled and twilio.messages == []


@pytest.mark.parametrize(
    "words",
    [
        "I want a person",
        "a real person",
        "person",
        "human",
        "get me a human",
        "nurse",
        "can I talk to a nurse",
        "I'd like to speak to a person please",
    ],
)
def test_asking_for_a_person_reaches_the_talk_menu_as_in_spanish(call, words):
    c = call().say(words)
    assert "talk with someone. to talk with the national cancer institute" in c.text.lower(), c.text
    assert NOT_A_CHOICE not in c.text.lower()


@pytest.mark.parametrize("words", ["persona", "quiero hablar con una persona"])
def test_spanish_asking_for_a_person_still_reaches_the_talk_menu(call, words):
    c = call().press("9").say(words)
    assert "hablar con alguien" in c.text.lower() or "instituto nacional" in c.text.lower(), c.text
    assert "no es una de las opciones" not in c.text.lower()
