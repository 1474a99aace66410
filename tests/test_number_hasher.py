"""NumberHasher remembers what it hashed (phonenumbers is slow), as hashes only, and gives the same hash as without its memory."""

from __future__ import annotations

import hashlib
import hmac

from ivr import privacy
from ivr.privacy import NumberHasher

KEY = b"k" * 32


def plain(number: str) -> str:
    """The hash as NumberHasher gave it before it remembered anything: HMAC-SHA256 of the E.164 form."""
    return hmac.new(KEY, privacy.normalise(number).encode(), hashlib.sha256).hexdigest()


def test_the_remembered_hash_is_the_hash(monkeypatch):
    hasher = NumberHasher(KEY)
    first = hasher("(617) 555-0123")
    assert first == plain("+16175550123") and first.is_number
    monkeypatch.setattr(privacy, "normalise", lambda *a: (_ for _ in ()).throw(AssertionError("normalised again")))
    again = hasher("(617) 555-0123")
    assert again == first and again.is_number
    assert hasher.keyed("call:CA1") == hmac.new(KEY, b"call:CA1", hashlib.sha256).hexdigest()


def test_raw_text_is_hashed_as_raw_text_and_not_as_a_number():
    hasher = NumberHasher(KEY)
    short = hasher(" 12345 ")
    assert not short.is_number and short == hasher.keyed("12345")


def test_its_memory_holds_no_number_and_keeps_the_last_4096(monkeypatch):
    monkeypatch.setattr(privacy, "REMEMBERED_HASHES", 3)
    hasher = NumberHasher(KEY)
    numbers = [f"+1617555{n:04d}" for n in range(100, 105)]
    for number in numbers:
        hasher(number)
    assert len(hasher._memo) == 3
    held = " ".join([*hasher._memo, *hasher._memo.values()])
    assert not any(number[2:] in held or number[-7:] in held for number in numbers)
