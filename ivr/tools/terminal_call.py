"""``flask --app app call``: a phone in the terminal, playing the real line through ivr/tools/simulator.py.

What the caller would hear is printed as it is said; a transfer shows whom it would connect and
asks how the transfer ends; a text the line would send is shown with its segment count.

The line's own warnings (its log, for the people who run it) are not printed between its words, where
they read as part of the call: those this call will meet (its caller ID refused for texts, a number no
line lists) are said once before it starts, any other once after it ends.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.content import gsm
from ivr.outcomes import TextOutcome
from ivr.privacy import mask
from ivr.tools.practice import CALLER, OUR_NUMBER, PracticeLine
from ivr.tools.simulator import Call
from ivr.voice.text_me import refused_before_sending

HANG_UP = {"q", "quit", "hangup", "hang up", "bye"}
# How a transfer can end, as typed: Twilio's DialCallStatus for each.
DIAL_ENDS = {
    "a": "completed",
    "answered": "completed",
    "completed": "completed",
    "b": "busy",
    "busy": "busy",
    "n": "no-answer",
    "no-answer": "no-answer",
    "no answer": "no-answer",
    "f": "failed",
    "failed": "failed",
}
DIAL_QUESTION = "how does the transfer end? [a]nswered, [b]usy, [n]o answer, [f]ailed"
HELP = "Press keys (1-9, 0, *, #) or type words as speech; an empty line is silence; q hangs up."
WIDTH = 88


class HeldWarnings(logging.Handler):
    """The line's warnings (logger "ivr" and below), held while a call runs instead of printed at once."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self._messages: list[str] = []
        self._log = logging.getLogger("ivr")

    def emit(self, record: logging.LogRecord) -> None:
        self._messages.append(record.getMessage())

    def take(self) -> list[str]:
        """The warnings held since the last take, in order."""
        taken, self._messages = self._messages, []
        return taken

    def __enter__(self) -> HeldWarnings:
        self._propagate = self._log.propagate
        self._log.addHandler(self)
        self._log.propagate = False
        return self

    def __exit__(self, *exc) -> None:
        self._log.removeHandler(self)
        self._log.propagate = self._propagate


class TerminalPhone:
    """One call. ``ask(prompt)`` returns what the person typed, or None when they hang up."""

    def __init__(
        self,
        practice: PracticeLine,
        echo: Callable[[str], None],
        ask: Callable[[str], str | None],
        keys: list[str] | None = None,
        caller: str | None = None,
    ):
        self.practice = practice
        self.echo = echo
        self.ask = ask
        self.scripted: Iterator[str] | None = iter(keys) if keys is not None else None
        self.caller = caller
        self._seen_events = 0
        self._seen_texts = 0
        contacts = practice.line.content.contacts
        self._contact_by_phone = {c.phone: c for c in contacts.values()}

    def run(self) -> Call:
        kwargs = {"caller": self.caller} if self.caller else {}
        with HeldWarnings() as held:
            announced = self._before_the_call(held)
            call = self.practice.call(**kwargs)
            self.echo(HELP)
            self.echo("")
            call.start()
            self._show(call)
            while not call.ended:
                if call.waiting == "gather":
                    entry = self._next("you> ")
                    if entry is None:
                        self.echo("[you hang up]")
                        break
                    call.respond(entry)
                else:  # a transfer is ringing
                    call.dial_ends(self._dial_end())
                self._show(call)
            self._after_the_call(held, announced)
        return call

    # --- the line's warnings: once, before or after the call, never between its words ---------------
    def _before_the_call(self, held: HeldWarnings) -> set[str]:
        """Ask the line now what it would warn about during this call; say it once. The warnings said."""
        line = self.practice.line
        line.for_number(OUR_NUMBER)  # a number no line lists: logged once per number, so now, not at the first words
        refused = refused_before_sending(line, self.caller or CALLER)
        announced = set(held.take())
        for message in sorted(announced):
            self.echo(f"note: the line logs: {message}")
        if refused in (TextOutcome.ABROAD, TextOutcome.NOT_MOBILE):
            why = "abroad" if refused is TextOutcome.ABROAD else "not a mobile phone"
            logged = f"text_me outcome={refused}"
            self.echo(f"note: this caller ID is never texted ({why}): the text key reads the numbers instead, and the line logs {logged}")
            announced.add(logged)
        return announced

    def _after_the_call(self, held: HeldWarnings, announced: set[str]) -> None:
        counted = Counter(m for m in held.take() if m not in announced)
        if counted:
            self.echo("The line logged during the call:")
        for message, times in counted.items():
            self.echo(f"  {message}" + (f" ({times} times)" if times > 1 else ""))

    # --- input ----------------------------------------------------------------------------------------
    def _next(self, prompt: str) -> str | None:
        if self.scripted is not None:
            entry = next(self.scripted, None)
            if entry is not None:
                self.echo(f"{prompt}{entry}")
        else:
            entry = self.ask(prompt)
        if entry is None or entry.strip().lower() in HANG_UP:
            return None
        return entry

    def _dial_end(self) -> str:
        if self.scripted is not None:  # a scripted run may say how the transfer ends; else it is answered
            peek = next(self.scripted, None)
            if peek is not None and peek.strip().lower() in DIAL_ENDS:
                status = DIAL_ENDS[peek.strip().lower()]
            else:
                if peek is not None:
                    self.scripted = _chain(peek, self.scripted)
                status = "completed"
            self.echo(f"   {DIAL_QUESTION} > {status}")
            return status
        while True:
            typed = self.ask(f"   {DIAL_QUESTION} > ")
            if typed is None:
                return "completed"
            status = DIAL_ENDS.get(typed.strip().lower() or "a")
            if status:
                return status
            self.echo("   please type a, b, n or f")

    # --- output ---------------------------------------------------------------------------------------
    def _show(self, call: Call) -> None:
        texts = self.practice.outbox.texts[self._seen_texts :]
        self._seen_texts += len(texts)
        for text in texts:  # sent while the request ran, before the line says that it was
            segments = gsm.segments(text.body)
            size = f"{segments} segment{'s' if segments != 1 else ''} ({len(text.body)} characters)"
            self.echo(f"-> text to the caller ({mask(text.to)}), {size}:")
            for line in text.body.splitlines():
                self.echo(textwrap.fill(line, WIDTH, initial_indent="     ", subsequent_indent="     "))
        events = call.events[self._seen_events :]
        self._seen_events = len(call.events)
        for event in events:
            if event.kind == "say" and event.detail:
                self.echo(textwrap.fill(event.detail, WIDTH, initial_indent="line: ", subsequent_indent="      "))
            elif event.kind == "play":
                self.echo(f"line: [plays the recording {event.detail}]")
            elif event.kind == "dial":
                contact = self._contact_by_phone.get(event.detail)
                who = f"{contact.label or contact.name.upper()} {contact.display}" if contact else event.detail
                self.echo(f"-> connecting to {who}")
            elif event.kind == "hangup":
                self.echo("[the line hangs up]")


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def parse_keys(raw: str) -> list[str]:
    """``--keys 1,2,,why did it come back,0,busy``: keys, words, an empty item for silence."""
    return [item.strip() for item in raw.split(",")]


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRACTICE_ZONE = "America/New_York"  # NCI's hours are Eastern time: "sat 12:00" means there, unless a zone is given


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """``--at``: "sat 12:00" (the next Saturday, or today, at 12:00 Eastern time), "sat 12:00 America/Phoenix",
    or an ISO time with its offset ("2026-12-05T12:00-05:00"). Raises ValueError with what to type."""
    words = text.strip().split()
    if len(words) == 1:
        try:
            when = datetime.fromisoformat(words[0])
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when
    if len(words) in (2, 3) and words[0][:3].lower() in DAYS and re.fullmatch(r"\d{1,2}:\d{2}", words[1]):
        try:
            zone = ZoneInfo(words[2] if len(words) == 3 else PRACTICE_ZONE)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"--at {text!r}: unknown time zone {words[2]!r} (e.g. America/Chicago)") from None
        hour, minute = (int(n) for n in words[1].split(":"))
        if hour < 24 and minute < 60:
            today = (now or datetime.now(zone)).astimezone(zone)
            days_ahead = (DAYS.index(words[0][:3].lower()) - today.weekday()) % 7
            return (today + timedelta(days=days_ahead)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    raise ValueError(
        f"--at {text!r}: give a day and a time, 'sat 12:00' (Eastern time, as NCI's hours) or 'sat 12:00 America/Chicago', "
        "or an ISO time with its offset, '2026-12-05T12:00-05:00'"
    )


def practice_settings(line, lang: str | None, called: str):
    """The line's settings for a practice call in ``lang``: our number starts in that language."""
    languages = sorted(line.content.languages)
    if lang is None or lang == line.default_language:
        return line.settings
    if lang not in languages:
        raise ValueError(f"no language {lang!r} in {line.settings.prompts_dir} (there is: {', '.join(languages)})")
    return replace(line.settings, number_languages=((called, lang), *line.settings.number_languages))
