"""Every fact and reassurance of the handout, in each of the four texts: English voice, English SMS,
Spanish voice, Spanish SMS; and every text answer says it is general information and points to the
texter's own care team."""

from __future__ import annotations

import re

import pytest

from ivr.content import gsm
from ivr.content.prompts import sms_form
from tests.apps import CALLER, OUR_NUMBER, path_to
from tests.handout_facts import CARE_NOTE, FACTS, MEANING_CHANGED_WITHOUT_ACCENT

CASES = [(lang, topic) for lang, topics in FACTS.items() for topic in topics]
LANGUAGE_KEY = "9"  # menu.yaml languages: es


def heard_answer(call, lang: str, topic: str) -> str:
    """What a caller hears right after choosing the topic (the answer, before the menu after it)."""
    c = call()
    if lang != "en":
        c.press(LANGUAGE_KEY)
    for key in path_to(topic):
        c.press(key)
    return c.heard[0].lower()


def missing(text: str, facts, sms: bool) -> list:
    def found(phrase: str) -> bool:
        return (gsm.to_gsm7(phrase) if sms else phrase) in text

    return [fact for fact in facts if not any(found(p) for p in (fact if isinstance(fact, tuple) else (fact,)))]


@pytest.mark.parametrize(("lang", "topic"), CASES)
def test_the_spoken_answer_keeps_every_fact(call, lang, topic):
    heard = heard_answer(call, lang, topic)
    assert not missing(heard, FACTS[lang][topic], sms=False), f"{lang} voice {topic}"


@pytest.mark.parametrize(("lang", "topic"), CASES)
def test_the_texted_answer_keeps_every_fact(line, lang, topic):
    text = line.sms.text(lang, f"answers.{topic}").lower()
    assert not missing(text, FACTS[lang][topic], sms=True), f"{lang} SMS {topic}"


@pytest.mark.parametrize(("lang", "topic"), CASES)
def test_every_texted_answer_says_general_information_and_points_to_the_care_team(line, lang, topic):
    text = line.sms.text(lang, f"answers.{topic}")
    note = " ".join(line.content.languages[lang].sms["care_note"].split())
    assert text.endswith(sms_form(note)), f"{lang} {topic} does not end with the care note"  # by SMS: GSM-7's accents only
    assert line.sms.text(lang, f"answers.{topic}", "whatsapp").endswith(note), f"{lang} {topic} on WhatsApp"
    for phrase in CARE_NOTE[lang]:
        assert phrase in sms_form(note).lower(), f"{lang} care_note: no {phrase!r}"


def test_a_topic_number_texted_alone_carries_the_care_note(signed_post):
    for body in ("3", "6"):
        reply = signed_post("/sms", {"From": CALLER, "To": OUR_NUMBER, "Body": body}).data.decode()
        assert "not medical advice" in reply and "care team" in reply


@pytest.mark.parametrize("lang", sorted(MEANING_CHANGED_WITHOUT_ACCENT))
def test_no_spanish_text_drops_an_accent_that_changes_the_meaning(line, lang):
    for (channel, code, key), text in line.sms.texts.items():
        if code != lang or channel != "sms":  # WhatsApp keeps every accent
            continue
        words_only = re.sub(r"\S*\.\S+", " ", text.lower())  # web addresses keep their own spelling
        for form in MEANING_CHANGED_WITHOUT_ACCENT[lang]:
            assert not re.search(rf"\b{form}\b", words_only), f"{code} {key}: {form!r}"


def test_the_spanish_voice_says_the_nci_digits_twice_not_the_english_letters(call):
    heard = heard_answer(call, "es", "more_info")
    assert "4 cancer" not in heard and heard.count("1-800-422-6237") == 2
    assert "www.cancer.gov/espanol" in heard
