"""How the line compares what people text with the keywords in prompts/: case, accents, quotes folded.

A content rule, not the text line's alone: start-up checks the keywords in prompts/ with the same
folding the matcher uses, so a keyword that could never match is refused there.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 2000  # a longer text is read up to here: enough for any keyword, bounded work
_APOSTROPHES = re.compile(r"['\u2018\u2019\u201b\u2032`\u00b4]")
_NOT_WORD = re.compile(r"[^A-Z0-9]+")


def unaccent(text: str) -> str:
    """'Le gustó “…”' -> 'Le gusto “...”': accents off (NFKD), punctuation and quotes kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def exact_form(text: str | None) -> str:
    """How opt-out words compare: trimmed, spaces collapsed, any case, accents ignored."""
    return " ".join(unaccent(text or "").upper().split())


def words(text: str | None) -> tuple[str, ...]:
    """The words of a text, folded: 'What's “recur”?!' -> ('WHATS', 'RECUR')."""
    folded = _APOSTROPHES.sub("", unaccent((text or "")[:MAX_CHARS]).upper())
    return tuple(w for w in _NOT_WORD.split(folded) if w)


def phrase_form(text: str) -> str:
    """A keyword as the matcher stores it: its folded words joined by single spaces."""
    return " ".join(words(text))
