"""Words that sound like a person in crisis (prompts/<lang>/crisis.yaml), found in a text or in speech.

One matcher for both channels, so a texter and a caller who use the same words get the same safety
net. Matching is whole phrases after folding case, accents, apostrophes and punctuation, with the
listed near misses taken out first ("I don't want to die" holds "want to die"). Nothing here keeps
or logs what was said: the answer is only which language's list matched.
"""

from __future__ import annotations

from ivr.content.folding import words


def fold(text: str | None) -> str:
    """' i cant go on ' for "I can’t go on!": the keyword matcher's folding (case, accents, apostrophes,
    punctuation), lower case, each word between spaces so that a phrase matches whole words only."""
    return " " + " ".join(words(text)).lower() + " "


class CrisisWords:
    """Every language's crisis phrases; ``language_of(text)`` says whose list the text matched, if any."""

    def __init__(self, lists: dict[str, dict]):
        """``lists``: {lang: crisis.yaml}, the default language first."""
        self.phrases: list[tuple[str, str]] = []  # (folded phrase, lang), longest first
        self.near_misses: list[str] = []
        self.yes: dict[str, frozenset[str]] = {}
        for lang, crisis_yaml in lists.items():
            self.phrases += [(fold(p), lang) for p in crisis_yaml.get("phrases") or []]
            self.near_misses += [fold(p) for p in crisis_yaml.get("not") or []]
            self.yes[lang] = frozenset(fold(p).strip() for p in crisis_yaml.get("connect_words") or [])
        self.phrases.sort(key=lambda item: -len(item[0]))
        self.near_misses.sort(key=len, reverse=True)

    def language_of(self, text: str | None) -> str | None:
        """The language whose crisis phrase ``text`` holds (after near misses are taken out), else None."""
        folded = fold(text)
        if folded.strip() == "":
            return None
        for miss in self.near_misses:
            folded = folded.replace(miss, " | ")
        return next((lang for phrase, lang in self.phrases if phrase in folded), None)

    def says_yes(self, text: str | None, lang: str) -> bool:
        """Whether a caller's words, all of them, are one of ``lang``'s ways of saying yes."""
        return fold(text).strip() in self.yes.get(lang, frozenset())
