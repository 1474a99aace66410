"""GSM-7: which characters a text may use without turning into 70-character UCS-2 parts."""

from __future__ import annotations

import unicodedata

# GSM 03.38 basic character set and the extension table (extension characters count twice).
BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€\f")

SINGLE, MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67

# Look-alikes people paste in, replaced by their plain GSM-7 form.
_PLAIN = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2012": "-",
    "\u2212": "-",
    "\u2010": "-",
    "\u2011": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\t": " ",
}


def bad_characters(text: str) -> list[str]:
    """Characters of ``text`` that are not GSM-7, in order of first appearance."""
    seen: list[str] = []
    for ch in text:
        if ch not in BASIC and ch not in EXTENSION and ch not in seen:
            seen.append(ch)
    return seen


def is_gsm7(text: str) -> bool:
    return not bad_characters(text)


def septets(text: str) -> int:
    return sum(2 if ch in EXTENSION else 1 for ch in text)


def segments(text: str) -> int:
    """How many message parts Twilio will bill ``text`` as."""
    if not text:
        return 1
    if is_gsm7(text):
        n = septets(text)
        return 1 if n <= SINGLE else -(-n // MULTI)
    n = len(text.encode("utf-16-le")) // 2
    return 1 if n <= UCS2_SINGLE else -(-n // UCS2_MULTI)


def plain_punctuation(text: str) -> str:
    """Curly quotes, dashes, an ellipsis or a non-breaking space as their plain GSM-7 forms; nothing else changes.

    For names a deployment sets (a clinic's "St. Mary’s", typed on a phone or a Mac), not for prompts/,
    whose typing slips start-up names instead.
    """
    return "".join(_PLAIN.get(ch, ch) for ch in text)


def to_gsm7(text: str) -> str:
    """Fold ``text`` into GSM-7: look-alikes to plain forms, accents dropped, the rest removed."""
    out = []
    for ch in text:
        if ch in BASIC or ch in EXTENSION:
            out.append(ch)
            continue
        if ch in _PLAIN:
            out.append(_PLAIN[ch])
            continue
        base = unicodedata.normalize("NFKD", ch)
        out.append("".join(c for c in base if c in BASIC or c in EXTENSION))
    return "".join(out)


def fold_accents(text: str) -> str:
    """Drop the accents GSM-7 lacks (á í ó ú -> a i o u; é ñ ü stay): how a text goes out by SMS.

    Only accented letters are folded. A curly quote, a dash or an emoji is left as it is, so that the
    start-up check still names it: those are typing slips in prompts/, not words to keep elsewhere.
    """
    if is_gsm7(text):
        return text
    out = []
    for ch in text:
        if ch in BASIC or ch in EXTENSION:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFD", ch)
        stripped = "".join(c for c in base if not unicodedata.combining(c))
        out.append(stripped if stripped != ch and stripped and all(c in BASIC for c in stripped) else ch)
    return "".join(out)
