"""The voice line's decisions without Flask: a caller's Turn parsed from plain mappings, respond() on a built line."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.app import build_line
from ivr.config import load_settings
from ivr.content.prompts import Content, Kind
from ivr.outcomes import DialOutcome
from ivr.store.migrate import upgrade
from ivr.voice.turn import Turn
from ivr.voice.webhooks import respond
from tests.apps import CALLER, OPEN_HOURS, OUR_NUMBER, SATURDAY, make_env


@pytest.fixture
def built(tmp_path, twilio):
    settings = load_settings(make_env(tmp_path, twilio.url))
    upgrade(settings.database_url)
    line = build_line(settings, clock=lambda: OPEN_HOURS)
    yield line
    line.usage.flush(5)
    line.storage.engine.dispose()


def said(xml: bytes) -> str:
    return " ".join(" ".join(ET.fromstring(xml).itertext()).split())


def test_a_turn_is_parsed_from_our_query_and_twilios_form_and_forgives_what_is_malformed():
    answers, contacts = ("why",), {"nci": object()}
    turn = Turn.parse(
        {"tries": "2", "answer": "why", "welcome": "1"}, {"Digits": " 3 ", "From": CALLER, "To": OUR_NUMBER}, answers, contacts
    )  # welcome=1: a URL from before the offer stopped travelling, of a call in progress during an upgrade
    assert turn == Turn(digits="3", tries=2, answer="why", caller=CALLER, called=OUR_NUMBER)
    assert turn.input == "dtmf" and not turn.heard_nothing
    odd = Turn.parse({"tries": "²", "answer": "nope", "contact": "evil"}, {"SpeechResult": "  "}, answers, contacts)
    assert (odd.tries, odd.answer, odd.contact, odd.heard_nothing, odd.input) == (0, None, None, True, "none")
    assert Turn.parse({"tries": "100000"}, {}, answers, contacts).tries == 0 and Turn.parse({"tries": "500"}, {}, (), {}).tries == 99


def test_respond_needs_no_flask(built, twilio):
    script = built.script("en")
    turn = Turn(caller=CALLER, called=OUR_NUMBER)
    assert respond(built, script, "about", turn) == (script.menu("about"), Kind.MENU)
    assert respond(built, script, "why", turn).xml == script.answer("why")
    assert respond(built, script, "repeat", Turn(answer="why", caller=CALLER, called=OUR_NUMBER)).xml == script.answer("why")
    assert respond(built, script, "repeat", Turn(answer="why")).xml == script.answer("why", text="off")  # no caller ID: no text offered
    transfer = respond(built, script, "nci", turn)
    assert transfer.outcome is Kind.TRANSFER and b'callerId="+16175550100"' in transfer.xml
    text = respond(built, script, "text", turn)
    assert text.outcome == "text_sent" and len(twilio.messages) == 1 and twilio.messages[0]["To"] == CALLER


def test_outside_hours_respond_offers_the_text_and_connects_when_asked_again(built):
    built.clock = lambda: SATURDAY
    script = built.script("en")
    assert respond(built, script, "nci", Turn()).outcome == "closed"
    again = respond(built, script, "nci", Turn(contact="nci"))  # the caller asked for the closed line again
    assert again.outcome is Kind.TRANSFER and b"<Dial" in again.xml


def test_a_kind_no_branch_handles_is_an_error_and_never_texts(built, twilio, monkeypatch):
    monkeypatch.setattr(Content, "kind", lambda self, target: "a_new_kind")
    with pytest.raises(ValueError, match="a_new_kind"):
        respond(built, built.script("en"), "text", Turn(caller=CALLER, called=OUR_NUMBER))
    assert twilio.messages == []


def test_a_name_menu_yaml_does_not_define_has_no_kind(built):
    with pytest.raises(KeyError):
        built.content.kind("no_such_choice")


def test_transfer_outcomes_are_mapped_from_twilios_words_with_a_loud_default(built):
    assert [DialOutcome.from_twilio(s) for s in ("completed", " Busy ", "no-answer", "", None, "x" * 500)] == [
        DialOutcome.COMPLETED,
        DialOutcome.BUSY,
        DialOutcome.NO_ANSWER,
        DialOutcome.FAILED,
        DialOutcome.FAILED,
        DialOutcome.FAILED,
    ]
    script = built.script("en")
    cached = script.transfer_done.cache_info().currsize  # one cache for every script: warm() filled this one's
    for n in range(50):  # distinct garbage statuses: the cache holds outcomes, not Twilio's strings
        script.transfer_done(DialOutcome.from_twilio(f"weird-{n}"))
    assert script.transfer_done.cache_info().currsize == cached
