"""How speech is taken: a question word asks for the menu again, a doubtful guess never dials or
texts, a frightened caller's own words reach a fitting choice, and a call the line cannot text is
not offered a text (review 2026-12-01, M1, M2, M6, M8)."""

from __future__ import annotations

import pytest

from ivr.config import ConfigError, load_settings
from ivr.tools.simulator import check_twiml, message_texts
from tests.apps import CALLER, OUR_NUMBER

NOT_A_CHOICE = "not one of the choices"
NO_ES_OPCION = "no es una de las opciones"
NCI = "+18004226237"
TEXT_OFFER = "to get the numbers by text message"
MAIN_MENU = "main menu. about recurrence, press 1."


# --- "What?" alone: the menu again, never an answer -------------------------------------------------


@pytest.mark.parametrize("words", ["what", "what?", "What? What?", "huh, what", "sorry?", "pardon?", "excuse me", "what was that"])
@pytest.mark.parametrize(
    ("keys", "menu"), [("", MAIN_MENU), ("2", "a second time. to hear how"), ("1", "about recurrence. to hear what recurrence is")]
)
def test_a_question_word_alone_says_the_menu_again(call, twilio, words, keys, menu):
    c = call()
    for key in keys:
        c.press(key)
    heard = c.say(words).text.lower()
    assert heard.startswith(menu), heard  # the menu again, not "that is not one of the choices"
    assert "what are important things to remember" not in heard
    assert not c.dialled and twilio.messages == []


@pytest.mark.parametrize("words", ["cómo", "¿Cómo?", "qué", "¿qué?", "perdón", "mande", "¿cómo dice?", "como"])
def test_a_spanish_question_word_alone_says_the_menu_again(call, words):
    c = call().press("9")
    heard = c.say(words).text.lower()
    assert heard.startswith("menú principal. sobre la recurrencia, oprima 1."), heard
    assert "diferente la recurrencia" not in heard and NO_ES_OPCION not in heard


def test_a_question_word_is_no_choice_for_the_understander(line):
    understander = line.script("en").understander
    offered = line.script("en").content.options("main")
    for words in ("what", "what?", "pardon", "huh what"):
        assert understander.target_from_speech(words, offered) is None
    assert understander.target_from_speech("what should I remember", offered) == "remember"  # a question is still one


# --- Confidence: a doubtful guess never transfers or texts -------------------------------------------


@pytest.mark.parametrize("words", ["text me", "operator", "talk to a person", "zero", "cancer dot net"])
def test_a_doubtful_guess_neither_dials_nor_texts(call, twilio, words):
    c = call().say(words, confidence=0.05)
    assert not c.dialled and twilio.messages == []
    heard = c.text.lower()
    assert heard.startswith("sorry, i am not sure i heard that right."), heard
    assert "about recurrence, press 1" in heard or "to talk with the national cancer institute" in heard


def test_the_same_words_said_clearly_still_dial(call):
    c = call().say("operator", confidence=0.92)
    assert c.dialled and c.dialled[-1]["number"] == NCI


def test_no_confidence_sent_is_taken_as_sure(call):
    c = call()
    c._answer_gather({"SpeechResult": "operator"})  # Twilio does not always send Confidence
    assert c.dialled and c.dialled[-1]["number"] == NCI


def test_keys_never_depend_on_confidence(call, twilio):
    c = call()
    c._answer_gather({"Digits": "0", "Confidence": "0.01"})
    assert c.dialled and c.dialled[-1]["number"] == NCI


def test_a_doubtful_menu_choice_still_moves_between_menus(call):
    assert "a second time. to hear how it can be different" in call().say("second time", confidence=0.1).text.lower()


def test_the_threshold_is_a_setting(make_app, twilio):
    from ivr.tools.simulator import Call, FlaskTransport
    from tests.apps import AUTH_TOKEN, BASE_URL

    def said(threshold: str, confidence: float):
        app = make_app(IVR_SPEECH_CONFIDENCE=threshold)
        return (
            Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER)
            .start()
            .say("operator", confidence=confidence)
        )

    assert said("0", 0.05).dialled  # 0: act on any words
    assert not said("0.95", 0.9).dialled  # a stricter line holds back what the default would dial


@pytest.mark.parametrize("raw", ["1.5", "high", "-0.1"])
def test_a_threshold_outside_zero_to_one_is_refused(raw):
    with pytest.raises(ConfigError, match="IVR_SPEECH_CONFIDENCE"):
        load_settings({"IVR_SPEECH_CONFIDENCE": raw})


def test_a_doubtful_yes_after_the_crisis_message_asks_again(call):
    c = call().say("I want to kill myself")
    assert "988" in c.text
    c.say("yes", confidence=0.05)
    assert not c.dialled and "988" in c.text
    c.say("yes", confidence=0.9)
    assert c.dialled and c.dialled[-1]["number"] == "988"


# --- A frightened caller's own words ----------------------------------------------------------------

FEELINGS = "how will recurrence be different from the first time?"
TALK = "talk with someone. to talk with the national cancer institute"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("I'm scared", FEELINGS),
        ("I am so scared", FEELINGS),
        ("my cancer came back", FEELINGS),
        ("my cancer is back", FEELINGS),
        ("help", TALK),
        ("help me", TALK),
        ("I need help", TALK),
        ("doctor", TALK),
        ("can I talk to a doctor", TALK),
        ("am I going to die", TALK),
        ("how long do I have to live", TALK),
        ("I'm afraid of dying", FEELINGS),
        ("I'm scared to die", FEELINGS),
        ("I don't want to die", FEELINGS),
        ("treatment", TALK),
        ("why did my cancer come back", "why does recurrence happen?"),
        ("is treatment harder", "is cancer treatment more difficult"),
    ],
)
def test_a_frightened_callers_words_reach_a_fitting_choice(call, words, expected):
    heard = call().say(words).text.lower()
    assert heard.startswith(expected), heard
    assert NOT_A_CHOICE not in heard


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tengo miedo", "¿cómo será diferente la recurrencia"),
        ("mi cáncer regresó", "¿cómo será diferente la recurrencia"),
        ("mi cáncer volvió", "¿cómo será diferente la recurrencia"),
        ("ayuda", "hablar con alguien."),
        ("necesito ayuda", "hablar con alguien."),
        ("enfermera", "hablar con alguien."),
        ("doctor", "hablar con alguien."),
        ("médico", "hablar con alguien."),
        ("por qué regresó mi cáncer", "¿por qué sucede la recurrencia?"),
    ],
)
def test_a_frightened_spanish_callers_words_reach_a_fitting_choice(call, words, expected):
    heard = call().press("9").say(words).text.lower()
    assert heard.startswith(expected), heard


# --- A call the line cannot text is not offered a text ------------------------------------------------


REFUSED = [("anonymous", "we cannot see your phone number"), ("+18005550199", "only to mobile phones")]


@pytest.mark.parametrize(("caller", "reason"), REFUSED)
def test_a_caller_the_line_cannot_text_is_not_offered_a_text(call, twilio, caller, reason):
    c = call(caller=caller)
    assert TEXT_OFFER not in c.text.lower() and "press 3" in c.text
    c.press("4")  # the key still works: why, and the numbers, once
    heard = c.text.lower()
    assert reason in heard and heard.count("8 0 0") + heard.count("800") >= 2, heard
    assert TEXT_OFFER not in heard
    c.press("4")  # again: short, not the numbers twice more
    heard = c.text.lower()
    assert heard.startswith("we cannot send a text message to this phone. main menu."), heard
    assert reason not in heard and TEXT_OFFER not in heard
    for key in ("2", "1"):  # nor anywhere later in the call
        c.press(key)
    assert TEXT_OFFER not in c.text.lower() and "press 4" not in c.text.lower()
    assert twilio.messages == []


def test_after_a_refusal_the_state_travels_in_the_url(call, twilio):
    """A number the line cannot tell is a landline until Twilio refuses the text: the menus know from the URL."""
    c = call(caller="+18005550199").press("4")
    assert "text=told" in c._gather.get("action")
    c.press("3")  # the talk menu, still knowing
    assert TEXT_OFFER not in c.text.lower()


def test_a_mobile_caller_is_still_offered_the_text(call):
    assert TEXT_OFFER in call().text.lower()


def test_the_told_state_in_a_failed_transfers_menu(signed_post):
    response = signed_post("/voice/en/transfer/nci/done?text=told", {"From": CALLER, "To": OUR_NUMBER, "DialCallStatus": "busy"})
    text = " ".join("".join(check_twiml(response.data).itertext()).split()).lower()
    assert "you can call another line instead, or go back to the main menu." in text
    assert "text message" not in text


# --- The told state through an apology, the lifeline and the fallback ----------------------------------


def told_call(call, twilio):
    """A mobile caller whose phone Twilio refused to text (21614): told so; the menus now carry text=told."""
    twilio.answer("error", 21614, to=CALLER)
    c = call().press("4")
    assert "this phone cannot receive text messages" in c.text.lower()
    assert "text=told" in c._gather.get("action") and TEXT_OFFER not in c.text.lower()
    return c


def test_the_told_state_survives_the_apology_after_a_failure(call, twilio, line, monkeypatch):
    c = told_call(call, twilio)
    tried = len(twilio.messages)  # the one Twilio refused

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(line.scripts["en"], "resolve", broken)
    c.press("1")  # the choose URL, with text=told, fails: the apology and the main menu
    heard = c.text.lower()
    assert "something went wrong" in heard and TEXT_OFFER not in heard, heard
    assert "text=told" in c._gather.get("action")
    monkeypatch.undo()
    c.press("4")  # the key still works: short, not the numbers twice more, and nothing sent
    assert c.text.lower().startswith("we cannot send a text message to this phone.")
    assert len(twilio.messages) == tried


def test_the_apology_offers_no_text_to_a_caller_id_the_line_cannot_text(signed_post, line, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(line.scripts["en"], "resolve", broken)
    for caller, offered in (("anonymous", False), (CALLER, True)):
        response = signed_post("/voice/en/choose/main", {"Digits": "1", "From": caller, "To": OUR_NUMBER})
        heard = " ".join("".join(check_twiml(response.data).itertext()).split()).lower()
        assert "something went wrong" in heard and (TEXT_OFFER in heard) is offered, (caller, heard)


def test_the_told_state_survives_a_call_to_the_lifeline_that_did_not_go_through(call, twilio):
    c = told_call(call, twilio).say("I want to die")
    assert "988" in c.text and "text=told" in c._gather.get("action")
    c.press("1")
    assert c.dialled[-1]["number"] == "988"
    c.dial_ends("no-answer")
    heard = c.text.lower()
    assert "the call to 988 did not go through" in heard and "main menu" in heard
    assert TEXT_OFFER not in heard and "text=told" in c._gather.get("action"), heard


def test_a_mobile_caller_after_the_lifeline_is_still_offered_the_text(call):
    c = call().say("I want to die").press("1").dial_ends("busy")
    assert "did not go through" in c.text and TEXT_OFFER in c.text.lower()


def test_the_fallback_offers_no_text_and_leads_to_no_menu(call, twilio):
    """Twilio's Fallback URL carries no state of the call (it is the number's setting): it needs none, since
    it offers no text and ends in a <Dial> without an action (or a goodbye), never a menu."""
    told_call(call, twilio)
    c = call(path="/voice/fallback")
    assert TEXT_OFFER not in c.text.lower() and "text message" not in c.text.lower()
    c.silence()  # nothing pressed: connected after the words
    assert c.waiting == "dial" and "action" not in c._dial.attrib
    c.dial_ends("busy")
    assert c.ended and c.heard == []


# --- Fear of dying: the same answer by voice and by text ----------------------------------------------

# Fear of dying is a feeling: the handout's answer on the emotions of a second time. Asking how long one
# has is a question the handout cannot answer: a person (the talk menu; by text, the contacts).
FEAR_OF_DYING = [
    ("en", "I'm afraid of dying", "different"),
    ("en", "I'm scared to die", "different"),
    ("en", "I don't want to die", "different"),
    ("en", "am I going to die", "talk"),
    ("en", "how long do I have to live", "talk"),
    ("es", "tengo miedo de morir", "different"),
    ("es", "miedo a morir", "different"),
    ("es", "no quiero morir", "different"),
    ("es", "me voy a morir", "talk"),
    ("es", "me estoy muriendo", "talk"),
    ("es", "cuánto tiempo me queda", "talk"),
]
BY_TEXT = {"different": "answers.different", "talk": "contacts"}


@pytest.mark.parametrize(("lang", "words", "target"), FEAR_OF_DYING)
def test_fear_of_dying_gets_the_same_answer_by_voice_and_by_text(call, signed_post, line, lang, words, target):
    script = line.script(lang)
    c = call().press("9") if lang == "es" else call()
    heard = c.say(words).text
    if target == "different":  # the answer on the emotions of a second time, then the menu after it
        assert heard.startswith(script.text("answers.different").split("?")[0]), heard
        assert "answer=different" in c._gather.get("action")
    else:
        assert heard.startswith(script.text("menus.talk")), heard
    params = {"MessageSid": "SM" + "b" * 32, "From": CALLER, "To": OUR_NUMBER, "Body": words, "NumMedia": "0"}
    reply = message_texts(check_twiml(signed_post("/sms", params).data, kind="sms"))
    assert reply == [line.sms.text(lang, BY_TEXT[target])], reply
