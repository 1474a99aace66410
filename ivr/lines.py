"""The lines of one deployment: which of our numbers belongs to which clinic, read from IVR_LINES_FILE.

A cancer center with several clinics runs one deployment with one number per clinic. Each number is
a *line* with its own name, its own local contact (the handout's "For more local information,
please contact") and its own starting language. The file is checked at start-up the way prompts/ is:
every problem at once, with the file, the line and the reason, so a typo stops start-up, not a call.

A deployment with one line may instead use IVR_LOCAL_* and IVR_NUMBER_LANGUAGES (config.py); that
shorthand becomes a single line named ``main`` here, so the rest of the code knows one way only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml

SHORTHAND = "main"  # the one line of a deployment configured with IVR_LOCAL_* (no IVR_LINES_FILE)
LINE_KEYS = {"name", "numbers", "language", "contact"}
CONTACT_KEYS = {"name", "phone", "hours", "web"}
HOURS_KEYS = {"days", "open", "close", "time_zone"}
LINE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")  # stored with each usage event, shown by stats --line
MAX_NAME = 40  # a line's name opens its HELP and STOP texts: a long one would cost a text segment


class LinesError(ValueError):
    """IVR_LINES_FILE cannot be used; ``problems`` lists (line, reason)."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = [f"{path}: {where}: {reason}" if where else f"{path}: {reason}" for where, reason in problems]
        super().__init__(f"IVR_LINES_FILE has {len(problems)} problem(s):\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class LineSpec:
    """One line as configured: ``contact`` is in the form content.load takes as ``local`` (or None)."""

    key: str
    name: str = ""  # "" for the shorthand line: the texts then use the program name of prompts/
    numbers: tuple[str, ...] = ()  # E.164
    language: str | None = None  # None: IVR_DEFAULT_LANGUAGE
    contact: dict | None = None


def e164(number, region: str) -> str | None:
    """``number`` in E.164 when it is a valid phone number, else None."""
    try:
        parsed = phonenumbers.parse(str(number or "").strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def load_lines(path: Path, region: str = "US") -> tuple[LineSpec, ...]:
    """Read and check the lines file; the default line (``default:``, else the first) comes first."""
    path = Path(path)
    problems: list[tuple[str, str]] = []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LinesError(path, [("", "file is missing")]) from None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LinesError(path, [("", "not valid YAML: " + " ".join(str(exc).split()))]) from None
    if not isinstance(data, dict) or not isinstance(data.get("lines"), dict) or not data["lines"]:
        raise LinesError(path, [("", "must have 'lines:', a mapping of line ids to their settings")])
    for key in sorted(set(map(str, data)) - {"lines", "default"}):
        problems.append((key, "unknown key (use lines and default)"))
    owner: dict[str, str] = {}
    specs = []
    for key, entry in data["lines"].items():
        key = str(key)
        where = f"lines.{key}"
        if not LINE_ID.match(key):
            problems.append((where, "a line id is 1-20 lower-case letters, digits, - or _"))
        if not isinstance(entry, dict):
            problems.append((where, "must be a mapping with name, numbers and (optional) language and contact"))
            continue
        for unknown in sorted(set(map(str, entry)) - LINE_KEYS):
            problems.append((f"{where}.{unknown}", f"unknown key (use {', '.join(sorted(LINE_KEYS))})"))
        name = str(entry.get("name") or "").strip()
        if not name:
            problems.append((f"{where}.name", "is missing: the name callers and texters know the line by"))
        elif len(name) > MAX_NAME:
            problems.append((f"{where}.name", f"is {len(name)} characters; at most {MAX_NAME} (it opens the HELP text)"))
        raw_numbers = entry.get("numbers")
        if isinstance(raw_numbers, str | int):
            raw_numbers = [raw_numbers]
        if not isinstance(raw_numbers, list) or not raw_numbers:
            problems.append((f"{where}.numbers", "must list the line's Twilio numbers"))
            raw_numbers = []
        numbers = []
        for raw in raw_numbers:
            number = e164(raw, region)
            if number is None:
                problems.append((f"{where}.numbers", f"{raw!r} is not a valid phone number"))
                continue
            first = owner.setdefault(number, key)
            if first != key or number in numbers:
                problems.append((f"{where}.numbers", f"{number} is listed twice (also in lines.{first})"))
                continue
            numbers.append(number)
        language = entry.get("language")
        if language is not None and not (isinstance(language, str) and language.strip()):
            problems.append((f"{where}.language", "must be a language code of prompts/, such as en or es"))
            language = None
        contact = _contact(entry.get("contact"), f"{where}.contact", region, problems)
        specs.append(LineSpec(key, name, tuple(numbers), language.strip().lower() if language else None, contact))
    default = data.get("default")
    keys = [spec.key for spec in specs]
    if default is not None and str(default) not in keys:
        problems.append(("default", f"{default!r} is not a line of this file ({', '.join(keys)})"))
    if problems:
        raise LinesError(path, problems)
    if default is not None:
        specs.sort(key=lambda spec: spec.key != str(default))
    return tuple(specs)


def _contact(raw, where: str, region: str, problems: list) -> dict | None:
    """A line's local contact, checked here for what the file alone can tell; prompts/ checks the rest."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append((where, "must be a mapping with name, phone and (optional) hours and web"))
        return None
    for unknown in sorted(set(map(str, raw)) - CONTACT_KEYS):
        problems.append((f"{where}.{unknown}", f"unknown key (use {', '.join(sorted(CONTACT_KEYS))})"))
    contact = {part: str(raw[part]).strip() for part in ("name", "phone", "web") if raw.get(part) is not None}
    if not contact.get("name"):
        problems.append((f"{where}.name", "is missing"))
    if e164(contact.get("phone"), region) is None:
        problems.append((f"{where}.phone", f"{raw.get('phone')!r} is not a valid phone number"))
    hours = raw.get("hours")
    if hours is not None:
        if not isinstance(hours, dict):
            problems.append((f"{where}.hours", "must be a mapping with days, open, close and time_zone"))
        else:
            for unknown in sorted(set(map(str, hours)) - HOURS_KEYS):
                problems.append((f"{where}.hours.{unknown}", f"unknown key (use {', '.join(sorted(HOURS_KEYS))})"))
            zone = str(hours.get("time_zone") or "")
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append((f"{where}.hours.time_zone", f"{zone!r} is not a time zone (use one such as America/New_York)"))
            contact["hours"] = hours
    return contact
