"""Per-day usage counts: what a batch of usage events adds to them, so that a report costs O(days).

A report over a year of events (millions of rows) cannot be counted from the events inside a
web request. So the usage writer, in the same transaction as the events, adds each batch to:

- ``usage_daily``: events per UTC day and per key (``DIMENSIONS``: channel, event, language, topic,
  outcome, keyword), with how many of them carried a number's keyed hash (calls with caller ID);
- ``usage_daily_unique``: per day, the number of different callers, different texters, and
  different calls heard in each language, over every line (line '') and on each line;
- (crisis events, ``COUNTED_ONLY``, live nowhere else: usage_events never holds them);
- ``usage_seen``: who was already counted that day (a day, a measure and the first 16 hex digits of
  a keyed hash; 64 bits, so two people of one day share a prefix about once in 10^11 days). Only
  it holds anything derived from a number, and it is purged with the events.

Different people over a range of days cannot be added up from daily figures. The report shows the
sum of each day's exact figure and says so (someone who called on three days counts three times).
A mergeable sketch (HyperLogLog) would estimate the range instead; the well-kept library for it
(Apache DataSketches) brings numpy into every web worker (about 19 MB of each worker's memory),
and this PostgreSQL has no hll extension, so the exact daily sum it is.

Key columns are NOT NULL, with '' for "none": a unique index treats two NULLs as different, and an
upsert needs one row per key. A new dimension (the line a call came in on, say) is one more column
with the default '' in ``DIMENSIONS``, in the table and in its primary key (``KEY_ORDER``, the day last).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

DIMENSIONS = ("channel", "event", "language", "topic", "outcome", "keyword", "line")
# Events kept only here, in the per-day counts, never as usage_events rows: a crisis row's time and
# place among a call's rows would tie it to that call's first event, which carries the number's hash.
COUNTED_ONLY = ("crisis",)
KEY_ORDER = ("channel", "event", "topic", "outcome", "keyword", "language", "line", "day")  # usage_daily's primary key
ALL_LINES = ""  # the line of the unique counts over every line (a person who called two lines is one person)
# measure -> (the event it counts, or None for any voice event; the field that tells people apart)
MEASURES = {"callers": ("call", "number_hash"), "texters": ("text_in", "number_hash"), "call_language": (None, "call_ref")}
REF_LENGTH = 16


def day_of(at: datetime) -> date:
    """The UTC day of an event's time (naive times are UTC, as SQLite gives them back)."""
    return (at if at.tzinfo is UTC or at.tzinfo is None else at.astimezone(UTC)).date()


def key_of(row: dict, day: date) -> tuple:
    """(day, *DIMENSIONS) of one usage event, '' for a dimension it has not."""
    return (day, *(row.get(name) or "" for name in DIMENSIONS))


def seen_of(row: dict, day: date) -> list[tuple[date, str, str, str, str]]:
    """The (day, measure, language, line, ref) this event may be the first of, on its day: for every line and for its own."""
    found = []
    lines = (ALL_LINES, row["line"]) if row.get("line") else (ALL_LINES,)
    for measure, (event, field) in MEASURES.items():
        ref = row.get(field)
        if not ref:
            continue
        if event is not None and row.get("event") == event:
            found += [(day, measure, "", line, ref[:REF_LENGTH]) for line in lines]
        elif event is None and row.get("channel") == "voice" and row.get("language"):
            found += [(day, measure, row["language"], line, ref[:REF_LENGTH]) for line in lines]
    return found


def deltas(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """What a batch adds: the usage_daily rows to add (sorted by key) and the usage_seen rows it may insert.

    Both come sorted, so that every writer takes its row locks in the same order: two instances
    writing batches that share keys wait for each other, never deadlock.
    """
    events: Counter = Counter()
    numbered: Counter = Counter()
    seen: set = set()
    for row in rows:
        day = day_of(row["at"])
        key = key_of(row, day)
        events[key] += 1
        if row.get("number_hash"):
            numbered[key] += 1
        seen.update(seen_of(row, day))
    daily = [
        {"day": key[0], **dict(zip(DIMENSIONS, key[1:], strict=True)), "events": n, "numbered": numbered[key]}
        for key, n in sorted(events.items())
    ]
    return daily, [{"day": d, "measure": m, "language": lang, "line": line, "ref": ref} for d, m, lang, line, ref in sorted(seen)]


def unique_deltas(inserted: list[tuple]) -> list[dict]:
    """The usage_daily_unique rows to add, from the (day, measure, language, line) of the usage_seen rows just inserted."""
    added = Counter(tuple(row) for row in inserted)
    return [{"day": d, "measure": m, "language": lang, "line": line, "count": n} for (d, m, lang, line), n in sorted(added.items())]
