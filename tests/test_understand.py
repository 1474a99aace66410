"""What callers say, matched to menu choices (rapidfuzz over the phrases in prompts/*/voice.yaml)."""

from __future__ import annotations

import pytest
import yaml

from ivr.config import ROOT
from ivr.voice.understand import Understander

MAIN = {"1": "about", "2": "again", "3": "talk", "4": "text", "0": "nci", "*": "main"}


def understander(lang: str) -> Understander:
    return Understander(yaml.safe_load((ROOT / "prompts" / lang / "voice.yaml").read_text()))


@pytest.mark.parametrize(
    ("said", "target"),
    [
        ("why did it come back", "why"),
        ("why does it come back", "why"),
        ("Where did it come back?", "where"),
        ("will it spread", "where"),
        ("what is recurrence", "what"),
        ("how is it different this time", "different"),
        ("is the treatment going to be harder", "harder"),
        ("did I do something wrong", "remember"),
        ("is it my fault", "remember"),
        ("Is it my fault?", "remember"),
        ("what did I do wrong", "remember"),
        ("more information please", "more_info"),
        ("I want to talk to a person", "nci"),
        ("operator", "nci"),
        ("talk to someone", "talk"),  # not key 2, although "to" sounds like "two"
        ("um the numbers please", "text"),
        ("press one", "about"),
        ("two", "again"),
        ("option 3", "talk"),
        ("star", "main"),
        ("main menu", "main"),
        ("hello", None),
        ("yes", None),
        ("the", None),
        ("I don't know", None),
        ("banana bread recipe", None),
        ("repeat", None),  # only where the menu offers it
        ("", None),
    ],
)
def test_english(said, target):
    assert understander("en").target_from_speech(said, MAIN) == target


@pytest.mark.parametrize(
    ("said", "target"),
    [
        ("¿Por qué regresó mi cáncer?", "why"),
        ("por qué regresa", "why"),
        ("dónde regresa", "where"),
        ("quiero hablar con una persona", "talk"),
        ("oprima uno", "about"),
        ("dos", "again"),
        ("el menú principal por favor", "main"),
        ("hola", None),
        ("¿Es mi culpa?", "remember"),
        ("fue mi culpa", "remember"),
        ("hice algo malo", "remember"),
    ],
)
def test_spanish(said, target):
    assert understander("es").target_from_speech(said, MAIN) == target


def test_repeat_is_understood_after_an_answer():
    after_answer = {"1": "repeat", "2": "main", "3": "talk", "4": "text", "0": "nci", "*": "main"}
    assert understander("en").target_from_speech("say that again", after_answer) == "repeat"
