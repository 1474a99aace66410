"""What a texter meant: a keyword, a topic number, or nothing we know.

The words themselves are data (``keywords:`` in prompts/<lang>/sms.yaml); this module only matches.
Order of tests, first hit wins:

1. opt-out and opt-in words: the whole text, trimmed, any case, exactly as Twilio matches them
   (how "opt"); or the whole text but for punctuation ("STOP!", "Stop.": how "opt_loose": Twilio
   does not act on those, so the line records and confirms them itself). Never fuzzy, never found
   inside a longer text: "stop please" is not an opt-out, for Twilio either; it gets the no_more
   reply (how to opt out), as a text beginning with an opt-out word that matches nothing else does.
2. the whole text is a keyword (after folding case, accents, curly quotes and punctuation).
3. the whole text is a number, or a short text holds one number ("topic 3", "#3"): that topic; or the
   whole text is a number in words of one language ("uno", "three": sms.yaml ``number_words``), that
   topic in that language. Only the whole text: "no one called" is no topic.
4. a keyword or key phrase anywhere in the text: the longest wins; in a tie, RECUR's words beat
   HELP's and the contacts' ("recurrence info", "text RECUR to this number"), else the intent listed first.
5. a misspelled keyword among the first words ("RECURR", "reccur"), over a threshold: only for the
   words the line's texts ask people to send (RECUR, HELP, NCI ... : ASKED_FOR), and typed words of
   5+ letters. A topic's word (WHY, WHERE, COPING ...) forgives only one letter dropped or added
   ("suport"), or one letter changed in a long word ("metastisis"): "because" is not CAUSE, "member"
   is not REMEMBER, "hoping" is not COPING.

A word listed for the same intent in several languages (NCI, STOP, HELP in English and Spanish)
belongs to none: its match has lang None, and the texter's language stays as it was.

HELP and INFO (the compliance words carriers test) are HELP only alone, or misspelled alone ("helpp"):
in a longer text ("help me", "I need help", "necesito ayuda") they are a person asking for help, and
get the contacts reply (people to talk to, and NCI's hours); how "help_words" (decide() gives an
opted-out texter the help text instead, as before).

A greeting ("hello" intent: "Hola", "Hi") is answered as RECUR is, in the greeting's language; it is
listed last in sms.yaml, so any other keyword in the text wins ("hola, quiero hablar" is CONTACTS).

Before all of these, a phone's reaction to a text (an iPhone's tapback, 'Liked “...”': sms.yaml
``reactions``) is REACTION, and a text of thank-you emoji only (``thanks_emoji``: 👍) is THANKS:
neither gets a reply, and a reaction never resends the text it quotes. A question word ("what",
"qué es": ``question_words``) picks its topic alone or in its own phrases, but in a longer text it
gives way to the subject ("What is metastasis?" is WHERE's METASTASIS), or to nothing.

A text that matches nothing, or only a word several languages share ("qué es la metástasis"), gets
the language whose words it uses (the words of every text the line
says or sends in that language, and of its keywords and crisis phrases, less the words another
language uses too), so that "no entiendo" gets the Spanish "did not understand".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from ivr.content.folding import MAX_CHARS, exact_form, phrase_form, unaccent, words

OPT_OUT, OPT_IN, HELP = "stop", "start", "help"
OPT_INTENTS = (OPT_OUT, OPT_IN)
NO_MORE = "no_more"  # asking for no more texts in other words: the reply says how to opt out
RECUR, CONTACTS = "recur", "contacts"
GREETING = "hello"  # sms.yaml keywords of greetings: answered as RECUR, in their language
THANKS = "thanks"  # sms.yaml keywords of thanks: alone in the text, no reply; in a longer text, no keyword
REACTION = "reaction"  # a phone's reaction to a text ('Liked “...”'): never a reply
ASKED_FOR = (RECUR, HELP, CONTACTS)  # the words the line's own texts ask people to send: guessed at
UNKNOWN, EMPTY = "unknown", "empty"
HELP_WORDS = "help_words"  # how a help word in a longer text matched: a person asking for help, not the HELP keyword

SHORT = 3  # words in a text that may pick a topic by number ("topic 3 please")
FUZZY_WORDS = 8  # only the first words are tried for misspellings: a long text is not a typo
FUZZY_MIN_LENGTH = 4  # shorter keywords are too alike to guess at
TYPED_MIN_LENGTH = 5  # nor is a typed word shorter than this ("done" is not DONDE, "were" is not WHERE)
TOPIC_TYPO_MIN_LENGTH = 6  # a typed word this long may be a topic's word with one letter dropped or added
TOPIC_CHANGED_MIN_LENGTH = 8  # and this long, with one letter changed ("metastisis"; "coming" is not COPING)
THRESHOLD_LONG = 82  # rapidfuzz ratio, words of 6+ letters: "RECURR" -> RECUR 91, "recurance" 84; "options" -> EMOTIONS 80 is not
THRESHOLD_SHORT = 88  # for 4-5 letters, only one letter added or dropped ("CALLS" -> CALL: 89)
_QUOTED = r"\s*[\u201c\u201e\u00ab\"'\u2018].*[\u201d\u00bb\"'\u2019]\s*$"  # a reaction's quoted text, to the end
_EMOJI_EXTRAS = re.compile(r"[\s\ufe0f\u200d\U0001f3fb-\U0001f3ff]+")  # spaces, variation selectors, skin tones


def _reaction_pattern(openings: Iterable[str]) -> re.Pattern | None:
    """'Liked “...”', 'Reacted 👍 to “...”' ('Reacted * to'): the whole text, any case, accents ignored."""
    forms = []
    for opening in openings:
        parts = [r".{1,24}?" if part == "*" else re.escape(unaccent(part)) for part in opening.split()]
        if parts:
            forms.append(r"\s+".join(parts))
    return re.compile(rf"^\s*(?:{'|'.join(forms)}){_QUOTED}", re.I | re.S) if forms else None


@dataclass(frozen=True)
class Match:
    intent: str  # stop, start, help, recur, a topic name, UNKNOWN or EMPTY
    lang: str | None  # the language whose keyword matched; None for numbers, no match and shared words
    how: str  # opt, exact, number, phrase, fuzzy, none
    number: int | None = None  # the topic number asked for, also when it is out of range


@dataclass(frozen=True)
class _Entry:
    intent: str
    lang: str | None  # None: the word is listed for this intent in more than one language
    priority: int  # lower wins a tie: the order of intents in sms.yaml


class Matcher:
    """Matches texts against every language's keywords; ``topics`` maps numbers to intents."""

    def __init__(
        self,
        keywords: dict[str, dict[str, list[str]]],
        topics: list[str],
        number_words: dict[str, list[str]] | None = None,
        *,
        question_words: dict[str, list[str]] | None = None,
        reactions: dict[str, list[str]] | None = None,
        thanks_emoji: dict[str, list[str]] | None = None,
        vocabulary: dict[str, set[str]] | None = None,
    ):
        """``keywords``: {lang: {intent: [words]}}, the default language first; ``number_words``:
        {lang: [the word for 1, for 2, ...]}; ``question_words``, ``reactions``, ``thanks_emoji``: sms.yaml's
        lists, by language; ``vocabulary``: {lang: the folded words that language's texts use}."""
        self.topics = list(topics)
        self.question_words = {phrase_form(w) for items in (question_words or {}).values() for w in items} - {""}
        self.reactions = _reaction_pattern(o for items in (reactions or {}).values() for o in items)
        self.thanks_emoji = {_EMOJI_EXTRAS.sub("", e) for items in (thanks_emoji or {}).values() for e in items} - {""}
        shared = [
            w for lang, ws in (vocabulary or {}).items() for other, os in (vocabulary or {}).items() if other != lang for w in ws & os
        ]
        self.vocabulary = {lang: frozenset(ws - set(shared)) for lang, ws in (vocabulary or {}).items()}
        self.number_words: dict[str, tuple[int, str]] = {}  # folded word -> (its number, its language)
        for lang, items in (number_words or {}).items():
            for n, item in enumerate(items, start=1):
                self.number_words.setdefault(phrase_form(item), (n, lang))
        self.opt: dict[str, _Entry] = {}
        self.phrases: dict[str, _Entry] = {}
        for lang, intents in keywords.items():
            for priority, (intent, items) in enumerate(intents.items()):
                table, form = (self.opt, exact_form) if intent in OPT_INTENTS else (self.phrases, phrase_form)
                for item in items:
                    key = form(item)
                    first = table.setdefault(key, _Entry(intent, lang, priority))
                    if first.intent == intent and first.lang not in (lang, None):
                        table[key] = _Entry(intent, None, first.priority)  # the same word in two languages
        self.phrases.pop("", None)
        self.opt_longest = max((len(w.split()) for w in self.opt), default=1)
        self.longest = max((len(p.split()) for p in self.phrases), default=1)
        # In the order given (the default language first): extractOne keeps the first of equal scores.
        asked = [p for p, e in self.phrases.items() if e.intent in ASKED_FOR]
        self.fuzzy_words = [p for p in asked if " " not in p and len(p) >= FUZZY_MIN_LENGTH]
        self.fuzzy_phrases = [p for p in asked if " " in p]
        self.topic_words = [p for p, e in self.phrases.items() if e.intent not in (*ASKED_FOR, GREETING, THANKS) and " " not in p]

    def match(self, text: str | None) -> Match:
        if self.reactions is not None and self.reactions.match(unaccent((text or "")[:MAX_CHARS])):
            return Match(REACTION, None, "reaction")
        if self._emoji_thanks(text):
            return Match(THANKS, None, "exact")
        found = self._match(text)
        if found.intent == GREETING:
            return Match(RECUR, found.lang, found.how)
        if found.intent == THANKS and found.how != "exact":
            found = Match(UNKNOWN, None, "none")  # "thanks, but I have a question": not a thank-you to leave unanswered
        if found.lang is None and found.intent not in (*OPT_INTENTS, NO_MORE, EMPTY):
            # no keyword, or one of several languages' ("metástasis", NCI): the words around it may say whose
            found = Match(found.intent, self.language_of_words(words(text)), found.how, found.number)
        if found.intent == HELP and found.how != "exact" and (found.how != "fuzzy" or len(words(text)) > 1):
            return Match(CONTACTS, found.lang, HELP_WORDS)  # "help me", "necesito ayuda": people to talk to
        return found

    def _match(self, text: str | None) -> Match:
        opt = self.opt.get(exact_form((text or "")[:MAX_CHARS]))
        if opt is not None:
            return Match(opt.intent, opt.lang, "opt")
        found = words(text)
        if not found:
            return Match(EMPTY, None, "none")
        loose = self.opt.get(" ".join(found))
        if loose is not None:
            return Match(loose.intent, loose.lang, "opt_loose")
        whole = " ".join(found)
        if whole in self.phrases:
            entry = self.phrases[whole]
            return Match(entry.intent, entry.lang, "exact")
        if whole in self.number_words:
            n, lang = self.number_words[whole]
            return Match(self.topics[n - 1] if n <= len(self.topics) else RECUR, lang, "number", n)
        by_number = self._number(found)
        if by_number is not None:
            return by_number
        return self._phrase(found) or self._fuzzy(found) or self._opt_first(found) or Match(UNKNOWN, None, "none")

    def _emoji_thanks(self, text: str | None) -> bool:
        """Whether the text is thank-you emoji only ("👍", "🙏🙏", "👍🏽"): what is left without them is nothing."""
        rest = _EMOJI_EXTRAS.sub("", (text or "")[:MAX_CHARS])
        if not rest or not self.thanks_emoji or words(rest):
            return False
        for emoji in sorted(self.thanks_emoji, key=len, reverse=True):
            rest = rest.replace(emoji, "")
        return rest == ""

    def language_of_words(self, found: tuple[str, ...]) -> str | None:
        """The language most of the text's words belong to (words of one language only), if one leads."""
        counts = {lang: sum(1 for w in found if w in vocab) for lang, vocab in self.vocabulary.items()}
        ranked = sorted(counts.values(), reverse=True)
        if not ranked or ranked[0] == 0 or (len(ranked) > 1 and ranked[0] == ranked[1]):
            return None
        return max(counts, key=lambda lang: counts[lang])

    def _opt_first(self, found: tuple[str, ...]) -> Match | None:
        """A text that begins with an opt-out word and matches nothing else ("stop please", "no más por
        favor"): how to opt out."""
        for size in range(min(self.opt_longest, len(found)), 0, -1):
            first = self.opt.get(" ".join(found[:size]))
            if first is not None and first.intent == OPT_OUT:
                return Match(NO_MORE, first.lang, "opt_first")
        return None

    def _number(self, found: tuple[str, ...]) -> Match | None:
        numbers = [w for w in found if w.isdigit()]
        if len(numbers) != 1 or len(found) > SHORT or len(numbers[0]) > 3:
            return None
        n = int(numbers[0])
        if 1 <= n <= len(self.topics):
            return Match(self.topics[n - 1], None, "number", n)
        return Match(RECUR, None, "number", n)  # a number we do not have: show the list of topics

    def _phrase(self, found: tuple[str, ...]) -> Match | None:
        for size in range(min(self.longest, len(found)), 0, -1):  # a longer phrase always beats a shorter one
            hits = [
                (entry.priority, start, entry)
                for start in range(len(found) - size + 1)
                if (phrase := " ".join(found[start : start + size])) not in self.question_words
                and (entry := self.phrases.get(phrase)) is not None
            ]
            if hits:
                _, _, best = min(hits, key=lambda h: (h[0], h[1]))
                recur = [e for _, _, e in hits if e.intent == RECUR]
                if recur and best.intent in (HELP, CONTACTS):  # "recurrence info", "text RECUR to this number"
                    best = recur[0]
                return Match(best.intent, best.lang, "phrase")
        return None

    def _fuzzy(self, found: tuple[str, ...]) -> Match | None:
        candidates: list[tuple[float, int, _Entry]] = []
        for word in found[:FUZZY_WORDS]:
            if len(word) < TYPED_MIN_LENGTH or word.isdigit():
                continue
            cutoff = THRESHOLD_LONG if len(word) >= 6 else THRESHOLD_SHORT
            hit = process.extractOne(word, self.fuzzy_words, scorer=fuzz.ratio, score_cutoff=cutoff)
            if hit:
                entry = self.phrases[hit[0]]
                candidates.append((hit[1], -entry.priority, entry))
            typo = self._topic_typo(word)
            if typo:
                entry = self.phrases[typo]
                candidates.append((fuzz.ratio(word, typo), -entry.priority, entry))
        if self.fuzzy_phrases and len(found) <= FUZZY_WORDS:
            hit = process.extractOne(" ".join(found), self.fuzzy_phrases, scorer=fuzz.ratio, score_cutoff=THRESHOLD_SHORT)
            if hit:
                entry = self.phrases[hit[0]]
                candidates.append((hit[1], -entry.priority, entry))
        if not candidates:
            return None
        _, _, entry = max(candidates, key=lambda c: (c[0], c[1]))
        return Match(entry.intent, entry.lang, "fuzzy")

    def _topic_typo(self, word: str) -> str | None:
        """A topic's word that ``word`` misspells by one letter dropped or added, or changed in a long word."""
        if len(word) < TOPIC_TYPO_MIN_LENGTH:
            return None
        for known in self.topic_words:
            if abs(len(known) - len(word)) <= 1 and Levenshtein.distance(word, known, score_cutoff=1) <= 1:
                if len(known) != len(word) or len(word) >= TOPIC_CHANGED_MIN_LENGTH:
                    return known
        return None
