"""One turn of a caller, parsed once from Twilio's request: what they pressed or said, and where they were.

Twilio's form and our own query string (where the caller is travels in the URLs Twilio posts back)
become one small value before any logic runs, so ``webhooks.respond`` can be tested without Flask
and no route reads ``request`` twice. Anything malformed becomes "absent", never an error: a URL
edited by hand (``tries=²``) is a caller's turn like any other.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_TRIES = 99
TEXT_TOLD = "told"  # ?text=told: this call was told its phone cannot be texted (the menus offer no text)


@dataclass(frozen=True)
class Turn:
    digits: str = ""  # the key pressed (Twilio's Digits), trimmed
    speech: str = ""  # what Twilio heard (SpeechResult), trimmed
    tries: int = 0  # silences so far at this menu
    answer: str | None = None  # the answer just heard, for "repeat"
    contact: str | None = None  # the line that was closed, for "connect anyway"
    caller: str | None = None  # From, as Twilio sent it: the number to text, never logged
    called: str | None = None  # To: our number, the caller ID of a transfer
    call: str | None = None  # CallSid: what a "text me" ticket is tied to
    confidence: float | None = None  # Twilio's Confidence (0.0-1.0) for SpeechResult; None when it sent none
    text: str | None = None  # TEXT_TOLD when the caller heard, earlier in this call, that no text can reach them

    @classmethod
    def parse(cls, args, form, answers, contacts) -> Turn:
        """From the query string (ours) and the form (Twilio's); ``answers``/``contacts``: the known names."""
        answer, contact = _get(args, "answer"), _get(args, "contact")
        return cls(
            digits=(_get(form, "Digits") or "").strip(),
            speech=(_get(form, "SpeechResult") or "").strip(),
            tries=_tries(_get(args, "tries") or "0"),
            answer=answer if answer in answers else None,
            contact=contact if contact in contacts else None,
            caller=_get(form, "From"),
            called=_get(form, "To"),
            call=_get(form, "CallSid"),
            confidence=_confidence(_get(form, "Confidence")),
            text=TEXT_TOLD if _get(args, "text") == TEXT_TOLD else None,
        )

    @property
    def heard_nothing(self) -> bool:
        """No key and no words: as silence, so the goodbye still comes after enough of them."""
        return not self.digits and not self.speech

    def unsure(self, threshold: float) -> bool:
        """Words Twilio itself doubts (Confidence below ``threshold``): too weak a guess to text or
        transfer on. Keys are never unsure; no Confidence at all (Twilio does not always send it) is
        taken as sure, since there is nothing better to go on."""
        return bool(self.speech) and not self.digits and self.confidence is not None and self.confidence < threshold

    @property
    def input(self) -> str:
        return "dtmf" if self.digits else "speech" if self.speech else "none"

    @property
    def context(self) -> dict:
        """What travels on in the next menu's URLs."""
        return {"answer": self.answer, "contact": self.contact, "text": self.text}


def _confidence(raw: str | None) -> float | None:
    try:
        value = float((raw or "").strip()[:20])
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def _tries(raw: str) -> int:
    return min(int(raw), MAX_TRIES) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0


def _get(values, key: str) -> str | None:
    """``values.get(key)`` without the cost of a miss: werkzeug's MultiDict.get raises and catches an
    HTTP exception for each absent key (about 2 µs), and most of these keys are absent on most turns."""
    return values[key] if key in values else None
