"""The line's own words for what happened, shared by its parts: never a bare string that a typo could fork.

Each is a StrEnum, so a value still reads and stores as its plain word ("temporary") in TwiML keys,
prompts/ keys, the log line and usage rows, while code compares members. Twilio's words are mapped
to these in one table each, with a loud default (``DialOutcome.from_twilio``).
"""

from __future__ import annotations

from enum import StrEnum


class TextOutcome(StrEnum):
    """What became of "text me the numbers"; each has a ``text.<outcome>`` sentence in voice.yaml."""

    SENT = "sent"
    OPTED_OUT = "opted_out"
    CANNOT_RECEIVE = "cannot_receive"  # a landline, or a number that cannot take texts
    TEMPORARY = "temporary"  # anything else: Twilio, the database or a limit of the whole line
    NO_CALLER_ID = "no_caller_id"  # withheld, unknown, or not a phone number at all
    UNUSABLE_NUMBER = "unusable_number"  # a caller ID is there, but not a number in use: nothing can text it
    LIMITED = "limited"  # this phone had its texts for today
    ABROAD = "abroad"  # a number outside the countries the line texts (voice/text_gate.py)
    NOT_MOBILE = "not_mobile"  # premium-rate, toll-free, shared-cost, VoIP, a landline ...: never texted
    ALREADY_SENT = "already_sent"  # sent earlier in this call: not sent again, no quota taken
    UNCERTAIN = "uncertain"  # Twilio did not answer in time: the text may still arrive, so it is not sent again in this call


class DialOutcome(StrEnum):
    """How a transfer ended (Twilio's DialCallStatus); each but COMPLETED has a ``transfer.<outcome>`` sentence."""

    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"

    @classmethod
    def from_twilio(cls, status: str | None) -> DialOutcome:
        """Twilio's DialCallStatus, or FAILED for anything else (a new or garbled status is not a success)."""
        try:
            return cls((status or "").strip().lower())
        except ValueError:
            return cls.FAILED
