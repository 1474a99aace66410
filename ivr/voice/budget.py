"""The call-time budget: how long a caller listens before each choice, from the rendered plans.

A recording counts for its measured duration (content.recordings, read with mutagen); anything
synthesised is estimated from its words at the configured rate. Each voice.yaml says how many
words a minute its voice says at a 100% rate (``words_per_minute``, WORDS_PER_MINUTE when it does
not); IVR_SPEECH_RATE scales it. Both figures were checked once against espeak-ng and sox (README,
"Call-time budget"). A phone number counts a word a digit (it is read digit by digit), each {pause} its time.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ivr.voice.script import Plan, Said, VoiceScript
from ivr.voice.speech import spoken_text

WORDS_PER_MINUTE = 150  # an unhurried voice at a 100% rate; IVR_SPEECH_RATE scales it
FIRST_CHOICE_BUDGET = 15.0  # seconds from the call's start to the end of the first choice
MENU_BUDGET = 25.0  # seconds from a menu's start to the end of its last choice


def words_per_minute(rate: str, at_full_rate: float = WORDS_PER_MINUTE) -> float:
    """Words a minute at ``rate`` (IVR_SPEECH_RATE) for a voice that says ``at_full_rate`` at 100% (voice.yaml words_per_minute)."""
    return at_full_rate * int(rate.rstrip("%")) / 100


def count_words(heard: str) -> int:
    """Words as a listener hears them: a phone number is one word a digit."""
    return sum(max(len(re.sub(r"\D", "", t)), 1) if any(c.isdigit() for c in t) else 1 for t in heard.split())


def pause_seconds(element: ET.Element) -> float:
    total = 0.0
    for node in element.iter("break"):
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", node.get("time", "").strip())
        if match:
            total += float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
    return total


@dataclass(frozen=True)
class Timed:
    said: Said
    seconds: float
    words: int
    recorded: bool


@dataclass
class Budget:
    lang: str
    words_per_minute: float
    first_choice: float = 0.0  # from the call's start to the end of the main menu's first choice
    menus: dict[str, float] = field(default_factory=dict)  # each menu, from its start to the end of its last choice
    answers: dict[str, tuple[float, tuple[str, ...], float]] = field(default_factory=dict)  # to reach, keys, length
    longest: tuple[float, str] = (0.0, "")  # the longest stretch without a choice, and where

    @property
    def over(self) -> list[str]:
        """What breaks the budget, as sentences; empty when it holds."""
        problems = []
        if self.first_choice > FIRST_CHOICE_BUDGET:
            problems.append(f"{self.lang}: the first choice comes after {self.first_choice:.1f} s (budget {FIRST_CHOICE_BUDGET:.0f} s)")
        for name, seconds in self.menus.items():
            if seconds > MENU_BUDGET:
                problems.append(f"{self.lang}: menu {name} takes {seconds:.1f} s to its last choice (budget {MENU_BUDGET:.0f} s)")
        return problems


class Clock:
    """Times what a script says."""

    def __init__(self, script: VoiceScript, rate: str):
        self.script = script
        self.rate = rate
        self.wpm = self.words_per_minute(script)
        self._cache: dict[Said, Timed] = {}

    def words_per_minute(self, script: VoiceScript) -> float:
        return words_per_minute(self.rate, script.words.get("words_per_minute") or WORDS_PER_MINUTE)

    def time(self, said: Said) -> Timed:
        if said not in self._cache:
            recording = self.script.recording(said)
            voice = self.script._voice(said.lang)
            say = voice.speaker.say(said.text)
            element = ET.fromstring(say.to_xml(xml_declaration=False))
            words = count_words(spoken_text(element))
            wpm = self.words_per_minute(voice)  # the other language's offer at its own pace
            seconds = recording.seconds if recording else words / wpm * 60 + pause_seconds(element)
            self._cache[said] = Timed(said, seconds, words, recording is not None)
        return self._cache[said]

    def timeline(self, plan: Plan) -> list[tuple[Said, float, float]]:
        """(said, start, end) for everything a caller who presses nothing hears, in seconds."""
        out, now = [], 0.0
        for _kind, said in plan.blocks:
            for item in said:
                seconds = self.time(item).seconds
                out.append((item, now, now + seconds))
                now += seconds
        return out

    def until_offer(self, plan: Plan, key: str) -> float | None:
        """Seconds until the end of the sentence that offers ``key``."""
        return next((end for said, _start, end in self.timeline(plan) if said.offers == key), None)

    def until_last_offer(self, plan: Plan) -> float:
        ends = [end for said, _start, end in self.timeline(plan) if said.offers]
        return max(ends, default=0.0)

    def longest_without_choice(self, plan: Plan) -> float:
        longest = stretch = 0.0
        for said, start, end in self.timeline(plan):
            stretch += end - start
            longest = max(longest, stretch)
            if said.offers:
                stretch = 0.0
        return longest


def measure(script: VoiceScript, rate: str) -> Budget:
    clock = Clock(script, rate)
    content = script.content
    budget = Budget(script.lang, clock.wpm)
    welcome = script.plan_menu("main", before=("welcome",), opening=bool(script.offers))
    first_key = next(iter(content.menus["main"]))
    budget.first_choice = clock.until_offer(welcome, first_key) or 0.0
    for name in content.menus:
        # after hours too, when "0 at any time" says what 0 does then (always_hints_closed)
        budget.menus[name] = max(clock.until_last_offer(s.plan_menu(name)) for s in (script, script.all_hours_closed))
    # Shortest key path to each answer: a caller presses as soon as their choice has been said.
    best: dict[str, tuple[float, tuple[str, ...]]] = {}

    def walk(menu: str, plan: Plan, spent: float, keys: tuple[str, ...], depth: int) -> None:
        for key, target in content.menus[menu].items():
            heard = clock.until_offer(plan, key)
            if heard is None:
                continue
            total, path = spent + heard, (*keys, key)
            if target in content.answers and (target not in best or total < best[target][0]):
                best[target] = (total, path)
            elif target in content.menus and target != "main" and depth < 4:
                walk(target, script.plan_menu(target), total, path, depth + 1)

    walk("main", welcome, 0.0, (), 0)
    for name in content.answers:
        length = clock.time(script.said(f"answers.{name}")).seconds
        reach, keys = best.get(name, (float("nan"), ()))
        budget.answers[name] = (reach, keys, length)
    budget.longest = max(((clock.longest_without_choice(plan), label) for label, plan in script.plans()), default=(0.0, ""))
    return budget
