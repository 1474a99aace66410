"""``flask --app app prompts check``: every problem in prompts/ and the settings, and what each text costs.

The checks are the start-up checks themselves (config.load_settings, content.load and rendering
every voice response); this module only adds the sizes: characters and segments per SMS text,
length and an estimated speaking time per spoken answer, each recording's duration, and the
call-time budget of each language (voice.budget).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ivr.app import build_line
from ivr.config import ConfigError, Settings, load_settings
from ivr.content import gsm
from ivr.content import prompts as content_module
from ivr.voice import budget as budget_module
from ivr.voice.speech import spoken_text

WORDS_PER_MINUTE = budget_module.WORDS_PER_MINUTE
SETTING_NAME = re.compile(r"^([A-Z][A-Z0-9_]+)(=|: )?(.*)$", re.S)


@dataclass(frozen=True)
class TextSize:
    lang: str
    key: str
    characters: int
    segments: int
    budget: int


@dataclass(frozen=True)
class SpokenSize:
    lang: str
    key: str
    characters: int
    words: int
    seconds: float


@dataclass(frozen=True)
class RecordingSize:
    lang: str
    key: str
    filename: str
    seconds: float


@dataclass
class Report:
    prompts_dir: str = ""
    speech_rate: str = ""
    languages: tuple[str, ...] = ()
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    texts: list[TextSize] = field(default_factory=list)
    spoken: list[SpokenSize] = field(default_factory=list)
    recordings: list[RecordingSize] = field(default_factory=list)
    budgets: list[budget_module.Budget] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def words_per_minute(self) -> int:
        return round(WORDS_PER_MINUTE * int(self.speech_rate.rstrip("%")) / 100)

    def pace(self, lang: str) -> float:
        """Words a minute of ``lang``'s voice at the configured rate (its voice.yaml words_per_minute)."""
        return next((b.words_per_minute for b in self.budgets if b.lang == lang), self.words_per_minute)


def check(env: dict | None = None) -> Report:
    """Run every start-up check on ``env`` (default: the process environment) and measure the texts."""
    env = dict(os.environ if env is None else env)
    report = Report()
    settings = None
    while settings is None:  # each bad setting in turn: report it, leave it out, read the rest again
        try:
            settings = load_settings(env)
        except ConfigError as exc:
            problem = _setting_problem(exc)
            report.problems.append(problem)
            causes = [name for name in (*exc.causes, problem[1]) if name in env]
            if causes:
                for name in causes:
                    del env[name]
            else:  # cannot tell which: check the words with only the settings that say where they are
                settings = load_settings({k: env[k] for k in ("IVR_PROMPTS_DIR", "IVR_DEFAULT_REGION") if k in env})
    report.prompts_dir = str(settings.prompts_dir)
    report.speech_rate = settings.speech_rate
    report.notes = _notes(settings)
    try:
        line = build_line(settings)  # exactly what start-up does: load and check prompts/, render every response
    except content_module.ContentError as exc:
        report.problems.extend(exc.problems)
        return report
    except ConfigError as exc:
        report.problems.append(_setting_problem(exc))
        return report
    line.storage.engine.dispose()
    content = line.content
    report.languages = tuple(content.languages)
    for lang, language in content.languages.items():
        for key, text in content_module._texts(language.sms):
            if key.startswith(content_module.NOT_MESSAGES):
                continue
            rendered = content.render_sms(text, language.sms, lang=lang)
            budget = language.budget(key, content.own_words)
            report.texts.append(TextSize(lang, key, len(rendered), gsm.segments(rendered), budget))
        script = line.scripts[lang]
        report.budgets.append(budget_module.measure(script, settings.speech_rate))
        for key in content.answers:
            say = script.speaker.say(script.words["answers"][key])
            report.spoken.append(_spoken(lang, f"answers.{key}", say, report.pace(lang)))
        for key, recording in sorted(line.recordings.get(lang, {}).items()):
            report.recordings.append(RecordingSize(lang, key, recording.filename, recording.seconds))
    for budget in report.budgets:  # the README promises these to callers: over them is a problem, not a note
        report.problems += over_budget(budget, f"{settings.prompts_dir.name}/{budget.lang}/voice.yaml")
    return report


def over_budget(budget: budget_module.Budget, file: str) -> list[tuple[str, str, str]]:
    """(file, key, reason) for the first choice and each menu that a caller waits for too long."""
    problems = []
    if budget.first_choice > budget_module.FIRST_CHOICE_BUDGET:
        reason = (
            f"the first choice comes after {budget.first_choice:.1f} s; its budget is {budget_module.FIRST_CHOICE_BUDGET:.0f} s"
            " (README: the first choice within 15 s): shorten the welcome or the menu's first choice"
        )
        problems.append((file, "welcome", reason))
    for name, seconds in budget.menus.items():
        if seconds > budget_module.MENU_BUDGET:
            reason = (
                f"menu {name} takes {seconds:.1f} s to its last choice; its budget is {budget_module.MENU_BUDGET:.0f} s"
                " (README: every menu's choices within 25 s): shorten its choices or what is said before them"
            )
            problems.append((file, f"menus.{name}", reason))
    return problems


def _setting_problem(exc: ConfigError) -> tuple[str, str, str]:
    """("environment", "IVR_SOMETHING", "what is wrong") from a ConfigError's message."""
    match = SETTING_NAME.match(str(exc))
    if not match:
        return ("environment", "", str(exc))
    name, separator, rest = match.groups()
    return ("environment", name, rest.strip() if separator else str(exc))


def _notes(settings: Settings) -> list[str]:
    notes = []
    if not settings.rest_configured:
        notes.append("TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is not set: texts cannot be sent")
    if not settings.auth_token and not settings.dev_mode:
        notes.append("TWILIO_AUTH_TOKEN is not set: the line, when served, refuses every webhook (403)")
    if not settings.hash_key:
        notes.append("IVR_HASH_KEY is not set: a key is kept in the instance folder; set one value on every instance")
    return notes


def _spoken(lang: str, key: str, say, words_per_minute: int) -> SpokenSize:
    """Words as a listener hears them: a phone number is one word a digit; each pause adds its time."""
    element = ET.fromstring(say.to_xml())
    heard = spoken_text(element)
    words = budget_module.count_words(heard)
    return SpokenSize(lang, key, len(heard), words, words / words_per_minute * 60 + budget_module.pause_seconds(element))


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


SHOWN_PROBLEMS = 10  # where a command (serve, call ...) cannot start: the first ones; prompts check lists them all


def problem_lines(problems: list[tuple[str, str, str]], limit: int | None = None) -> list[str]:
    """Each problem as "  file: key: reason"; beyond ``limit``, one line that says how many more."""
    shown = problems if limit is None else problems[:limit]
    lines = [f"  {f}: {k}: {r}" if k else f"  {f}: {r}" for f, k, r in shown]
    if len(problems) > len(shown):
        lines.append(f"  ... and {len(problems) - len(shown)} more (prompts check lists them all)")
    return lines


def cannot_start(report: Report) -> str:
    """What a command says when the line cannot start: the problems themselves, the first few."""
    count = len(report.problems)
    return "\n".join(
        [f"the line cannot start: {count} problem{'s' if count != 1 else ''}:", *problem_lines(report.problems, SHOWN_PROBLEMS)]
    )


def format_report(report: Report) -> list[str]:
    """The report as lines for a terminal."""
    lines = [f"Checking {report.prompts_dir}"]
    if report.languages:
        lines.append(f"languages: {', '.join(report.languages)}")
    for lang in report.languages:
        texts = [t for t in report.texts if t.lang == lang]
        if texts:
            lines += ["", f"Texts ({lang}): characters, segments (GSM-7: 160 characters in one, 153 a segment when longer)"]
            width = max(len(t.key) for t in texts)
            for t in texts:
                s = "segment" if t.segments == 1 else "segments"
                lines.append(f"  {t.key:<{width}}  {t.characters:>4} characters  {t.segments} {s} (budget {t.budget})")
        spoken = [s for s in report.spoken if s.lang == lang]
        if spoken:
            rate = f"at {report.speech_rate} speed, about {round(report.pace(lang))} words a minute"
            lines += ["", f"Spoken ({lang}): characters, words, about how long ({rate})"]
            width = max(len(s.key) for s in spoken)
            for s in spoken:
                lines.append(f"  {s.key:<{width}}  {s.characters:>5} characters  {s.words:>4} words  {_duration(s.seconds)}")
        recordings = [r for r in report.recordings if r.lang == lang]
        if recordings:
            lines += ["", f"Recordings ({lang}): played instead of the voice, duration read from the file"]
            width = max(len(r.filename) for r in recordings)
            lines += [f"  {r.filename:<{width}}  {r.seconds:6.1f} s" for r in recordings]
        for budget in (b for b in report.budgets if b.lang == lang):
            lines += ["", *format_budget(budget, report.speech_rate)]
    if report.notes:
        lines += ["", "Notes (not problems):", *(f"  {note}" for note in report.notes)]
    lines.append("")
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s): file, key, reason")
        lines += problem_lines(report.problems)
    else:
        lines.append("No problems found.")
    return lines


def format_budget(budget: budget_module.Budget, speech_rate: str) -> list[str]:
    """The call-time budget of one language as lines: what a new caller waits for, in seconds."""
    first, menu = budget_module.FIRST_CHOICE_BUDGET, budget_module.MENU_BUDGET

    def mark(seconds: float, limit: float) -> str:
        return f"budget {limit:.0f} s" + ("  OVER" if seconds > limit else "")

    rate = f"at {speech_rate} speed, about {round(budget.words_per_minute)} words a minute; recordings: their own length"
    lines = [f"Call-time budget ({budget.lang}): seconds of speech ({rate})"]
    lines.append(f"  {'first choice, from the start of the call':<48} {budget.first_choice:5.1f} s  {mark(budget.first_choice, first)}")
    for name, seconds in budget.menus.items():
        lines.append(f"  {'menu ' + name + ': to its last choice':<48} {seconds:5.1f} s  {mark(seconds, menu)}")
    lines.append(f"  {'answer':<12} {'keys':<8} {'to reach':>9} {'length':>9}")
    for name, (reach, keys, length) in budget.answers.items():
        lines.append(f"  {name:<12} {' '.join(keys) or '-':<8} {reach:7.1f} s {length:7.1f} s")
    seconds, where = budget.longest
    lines.append(f"  longest stretch without a choice: {seconds:.1f} s ({where}; keys still work while it plays)")
    return lines
