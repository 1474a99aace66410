"""What a caller meant: a pressed key, or spoken words matched to a menu target."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import fuzz, process, utils

THRESHOLD = 72
MENU_BONUS = 3  # a choice offered in the menu the caller is at wins a near tie


QUESTION_BONUS = 8  # a question opens with the word that tells "why" from "where"
GENERIC_TARGETS = 3  # a word in the phrases of this many targets tells none of them apart ("cancer", "recurrence")


def _score(spoken: str, phrase: str, **_kwargs) -> float:
    """Mostly 'are the phrase's words in what was said', partly 'how alike are the two';
    and a phrase that opens with the same word as what was said ranks above one that does not."""
    same_start = spoken.split(" ", 1)[0] == phrase.split(" ", 1)[0]
    return 0.6 * fuzz.token_set_ratio(spoken, phrase) + 0.4 * fuzz.ratio(spoken, phrase) + (QUESTION_BONUS if same_start else 0)


def _fold(text: str) -> str:
    """Lower case, no accents or punctuation: "¿Cómo?" and "como" are the same question."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).split())


def _says_enough_of(spoken: str, phrase: str) -> bool:
    """Two of the phrase's words were said, or all of a one-word phrase."""
    words = phrase.split()
    return len(set(spoken.split()) & set(words)) >= min(2, len(words))


class Understander:
    """Matches speech for one language against the phrases in its voice.yaml."""

    def __init__(self, words: dict, known: set[str] | None = None, transfers: frozenset[str] = frozenset()):
        """``words``: the language's voice.yaml (phrases, key_words, key_prefixes, ignore_words, question_words).

        ``known``: the targets this deployment has (None: all); phrases for others (the clinic's own
        contact when none is configured) are left out, so they are neither heard nor hinted.
        ``transfers``: targets that connect the caller to another line: speech reaches them only when
        two of the phrase's words were said (or all of a one-word phrase), never by one shared word
        ("cancer" is in "cancer dot net", but is no wish to be connected to ASCO).
        """
        self.ignore = {utils.default_process(w) for w in words.get("ignore_words") or []}
        self.prefixes = {utils.default_process(w) for w in words.get("key_prefixes") or []}
        # "What?", "¿Cómo?", "pardon?": the caller did not catch the menu. Longest first, so "what was that"
        # is taken out whole before "what".
        self.questions = sorted({_fold(w) for w in words.get("question_words") or []} - {""}, key=len, reverse=True)
        self._ignore_folded = {_fold(w) for w in words.get("ignore_words") or []}
        # The first word of each key always counts ("one", "zero"); the others are everyday words as
        # well ("oh", "to", "for") and count only after a prefix: "press to", not "I want to".
        self.key_words: dict[str, str] = {}
        self.after_prefix: dict[str, str] = {}
        for key, items in (words.get("key_words") or {}).items():
            for position, word in enumerate(items):
                (self.key_words if position == 0 else self.after_prefix)[utils.default_process(word)] = key
        self.transfers = transfers
        self.choices: list[str] = []
        targets_of: dict[str, set[str]] = {}
        self.targets: list[str] = []
        self.hint_words: list[str] = []
        for target, items in (words.get("phrases") or {}).items():
            if known is not None and target not in known:
                continue
            for phrase in items:
                self.choices.append(self._meaningful(utils.default_process(phrase)) or utils.default_process(phrase))
                self.targets.append(target)
                self.hint_words.append(utils.default_process(phrase))
                for word in self.choices[-1].split():
                    targets_of.setdefault(word, set()).add(target)
        # Words that every other choice has too: said alone, they are no choice (README "What a caller gets").
        self.generic = frozenset(w for w, targets in targets_of.items() if len(targets) >= GENERIC_TARGETS)

    def _meaningful(self, processed: str) -> str:
        """The words that carry meaning: 'um I want the numbers please' -> 'numbers'."""
        return " ".join(w for w in processed.split() if w not in self.ignore)

    def asks_again(self, text: str) -> bool:
        """Only a question word or two ("what?", "huh, what", "¿cómo?"), with fillers: the caller did not
        hear the menu and wants it again. Never a choice: "what" is in "what should I remember", and a
        fuzzy match would play a minute of an answer nobody asked for (README "What a caller gets")."""
        said = " ".join(w for w in _fold(text or "").split() if w not in self._ignore_folded)
        if not said or not self.questions:
            return False
        rest = f" {said} "
        for question in self.questions:
            while f" {question} " in rest:
                rest = rest.replace(f" {question} ", " ")
        return not rest.strip()

    def key_from_speech(self, text: str) -> str | None:
        """'one', '1', 'press one', 'number two' -> the key, when that is all the caller said."""
        said = re.findall(r"[\w*#]+", text.lower())
        prefixed = any(w in self.prefixes for w in said)
        words = [w for w in said if w not in self.prefixes and (w not in self.ignore or (prefixed and w in self.after_prefix))]
        if len(words) != 1:
            return None
        word = words[0]
        if len(word) == 1 and word in "0123456789*#":
            return word
        return self.key_words.get(word) or (self.after_prefix.get(word) if prefixed else None)

    def target_from_speech(self, text: str, offered: dict[str, str]) -> str | None:
        """The target the words best match, preferring the ones ``offered`` at this menu."""
        processed = utils.default_process(text or "")
        key = self.key_from_speech(processed)
        if key is not None:
            return offered.get(key)
        spoken = self._meaningful(processed)
        if self.asks_again(processed):
            return None  # "what?" alone asks for the menu again (webhooks.choose), never for an answer
        if not spoken or (spoken not in self.choices and set(spoken.split()) <= self.generic):
            return None  # "cancer" alone names no choice: not "what is recurrence", not a guess
        here = set(offered.values())
        best, best_score = None, 0.0
        for _, score, index in process.extract(spoken, self.choices, scorer=_score, limit=12, processor=None):
            target = self.targets[index]
            if target == "repeat" and target not in here:
                continue
            if target in self.transfers and not _says_enough_of(spoken, self.choices[index]):
                continue
            score += MENU_BONUS if target in here else 0
            if score > best_score:
                best, best_score = target, score
        return best if best_score >= THRESHOLD else None

    def hints(self, targets) -> str:
        """Twilio's speech hints for a menu: its own targets' phrases, then all the others."""
        ordered = [c for c, t in zip(self.hint_words, self.targets, strict=True) if t in targets]
        ordered += [c for c in self.hint_words if c not in ordered]
        return ", ".join(dict.fromkeys(ordered))
