"""Where "text me" may send: only to the countries of the line's own numbers and to mobile phones.

This is the defence against SMS pumping (twilio.md): a spoofed caller ID of a premium-rate or
foreign number asks for "text me" and the clinic pays for texts a fraudster profits from. So a
number is texted only when ``phonenumbers`` says:

- its region is one the line texts: IVR_TEXT_COUNTRIES (ISO codes, "US,CA"), by default the
  regions of the line's own numbers (IVR_LINES_FILE, IVR_NUMBER_LANGUAGES), else IVR_DEFAULT_REGION
  (US). A US line does not text Canada or the Caribbean's NANP numbers unless listed;
- its type is MOBILE or FIXED_LINE_OR_MOBILE (what phonenumbers reports for most US and Canadian
  numbers, whose type cannot be told from the number). Refused: FIXED_LINE (a landline cannot take
  the text), PREMIUM_RATE, SHARED_COST, TOLL_FREE, VOIP (virtual numbers are the pumpers' tool),
  PERSONAL_NUMBER, PAGER, UAN, VOICEMAIL and UNKNOWN.

A refused caller hears why, honestly, and the numbers read aloud (voice.yaml text.abroad,
text.not_mobile); the usage event carries that outcome. Nothing is stored about them.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from ivr.outcomes import TextOutcome

TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def regions(line) -> frozenset[str]:
    """The regions this deployment texts: IVR_TEXT_COUNTRIES, else those of its own numbers."""
    settings = line.settings
    return _regions(settings.text_countries, tuple(sorted(line.line_by_number)), settings.default_region)


@lru_cache(maxsize=8)
def _regions(configured: tuple[str, ...], ours: tuple[str, ...], default_region: str) -> frozenset[str]:
    if configured:
        return frozenset(configured)
    found = {phonenumbers.region_code_for_number(phonenumbers.parse(number)) for number in ours}
    return frozenset(found - {None}) or frozenset({default_region})


def refusal(e164: str, allowed: frozenset[str]) -> TextOutcome | None:
    """Why ``e164`` (a valid number, normalised) may not be texted, or None when it may."""
    parsed = phonenumbers.parse(e164)
    if phonenumbers.region_code_for_number(parsed) not in allowed:
        return TextOutcome.ABROAD
    if phonenumbers.number_type(parsed) not in TEXTABLE:
        return TextOutcome.NOT_MOBILE
    return None
