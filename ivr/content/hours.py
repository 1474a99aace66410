"""Opening hours of a line we transfer to: when it is open, and how to say so in each language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s+(?P<tz>\S+)\s*$", re.I)


class HoursError(ValueError):
    pass


@dataclass(frozen=True)
class Hours:
    days: tuple[int, ...]  # 0 = Monday
    opens: time
    closes: time
    zone: str

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.zone))
        return local.weekday() in self.days and self.opens <= local.time().replace(tzinfo=None) < self.closes

    def describe(self, words: dict) -> str:
        """Say the hours with a language's ``hours`` words (see prompts/*/voice.yaml and sms.yaml)."""
        names = words["weekdays"]
        days = list(self.days)
        if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
            day_text = words["day_range"].format(first=names[days[0]], last=names[days[-1]])
        elif len(days) == 1:
            day_text = names[days[0]]
        else:
            day_text = ", ".join(names[d] for d in days[:-1]) + f" {words['and']} " + names[days[-1]]
        zone = words.get("zones", {}).get(self.zone, self.zone.split("/")[-1].replace("_", " "))
        return words["open"].format(days=day_text, open=_clock(self.opens, words), close=_clock(self.closes, words), zone=zone)


NIGHT_FROM = 20  # from 8 p.m., a language's optional "night" word (Spanish: "9 de la noche", not "de la tarde")


def _clock(value: time, words: dict) -> str:
    """A time on a 12-hour clock with the language's am/pm words; optional "noon" (12:00-12:59) and
    "night" (from 8 p.m.) words, for languages that say the part of the day ("de la mañana")."""
    minutes = f":{value.minute:02d}" if value.minute else ""
    if int(words.get("clock", 12)) == 24:
        return f"{value.hour}:{value.minute:02d}"
    hour = value.hour % 12 or 12
    if value.hour < 12:
        ampm = words["am"]
    elif value.hour == 12 and words.get("noon"):
        ampm = words["noon"]
    elif value.hour >= NIGHT_FROM and words.get("night"):
        ampm = words["night"]
    else:
        ampm = words["pm"]
    return words["time"].format(hour=hour, minutes=minutes, ampm=ampm)


def _time(text: str) -> time:
    try:
        hour, minute = (int(p) for p in str(text).split(":"))
        return time(23, 59, 59) if (hour, minute) == (24, 0) else time(hour, minute)
    except ValueError:
        raise HoursError(f"{text!r} is not a time like 09:00") from None


def _days(spec) -> tuple[int, ...]:
    parts = spec if isinstance(spec, list) else str(spec).split(",")
    days: list[int] = []
    for part in (str(p).strip().lower() for p in parts):
        first, _, last = part.partition("-")
        if first[:3] not in DAY_NAMES or (last and last[:3] not in DAY_NAMES):
            raise HoursError(f"{part!r} is not a day such as mon or a range such as mon-fri")
        start = DAY_NAMES.index(first[:3])
        end = DAY_NAMES.index(last[:3]) if last else start
        days.extend(range(start, end + 1) if end >= start else [*range(start, 7), *range(end + 1)])
    return tuple(sorted(set(days)))


def parse(spec) -> Hours:
    """Hours from a mapping {days, open, close, time_zone} or a string 'mon-fri 09:00-21:00 America/New_York'."""
    if isinstance(spec, str):
        match = _SPEC.match(spec)
        if not match:
            raise HoursError(f"{spec!r}: write it like 'mon-fri 09:00-21:00 America/New_York'")
        spec = {"days": match["days"], "open": match["open"], "close": match["close"], "time_zone": match["tz"]}
    if not isinstance(spec, dict):
        raise HoursError("must be days, open, close and time_zone")
    zone = str(spec.get("time_zone") or "")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"time_zone {zone!r} is not a known time zone such as America/New_York") from None
    hours = Hours(days=_days(spec.get("days") or ""), opens=_time(spec.get("open")), closes=_time(spec.get("close")), zone=zone)
    if not hours.days:
        raise HoursError("no days given")
    if hours.opens >= hours.closes:
        raise HoursError("open must be before close")
    return hours
