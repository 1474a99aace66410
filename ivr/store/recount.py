"""Build the per-day counts from the usage events: once by the migration that adds them, and again on demand.

``flask --app app migrate`` (migration 0004) counts every event already stored, a few days at a time,
each batch its own short transaction, showing its progress. The old code may still be serving while
the release step runs and it writes events without counts, so after a deploy that adds the counts,
``flask --app app usage recount --days 2`` (ivr/tools/recount.py) counts those days again, once the new code serves.

Recounting a day replaces its counts with what its events say, in one transaction that holds the
usage writers off for that moment (PostgreSQL: a SHARE lock on usage_events, which waits for the
writers in flight and makes new ones wait; SQLite: its one write lock), so nothing written at the
same time is counted twice or missed. A batch holds about ``BATCH_EVENTS`` events: well under a
second, inside the writers' 3 s wait. Days whose events were purged keep their counts as they are.

Crisis events (counts.COUNTED_ONLY) are kept only in the counts, so a recount keeps their counts as
they are and deletes any crisis row it finds among the events (written by the code before, which
counted it too). Only the migration that creates the counts counts them from the events
(``from_events``): then there are no counts yet, and migration 0008 deletes those rows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, delete, distinct, func, insert, literal, select, text

from ivr.store.counts import ALL_LINES, COUNTED_ONLY, DIMENSIONS, MEASURES, REF_LENGTH
from ivr.store.storage import usage_daily, usage_daily_unique, usage_events, usage_seen

U = usage_events
BATCH_EVENTS = 50_000


def day_expression(dialect: str):
    """An event's UTC day, as the database's own date."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", U.c.at))
    return func.date(U.c.at)  # SQLite keeps UTC timestamps as text


def _batches(per_day: list[tuple[date, int]], limit: int) -> list[tuple[date, date, int]]:
    """Runs of consecutive days of at most ``limit`` events each (a busier day is a batch alone)."""
    batches: list[tuple[date, date, int]] = []
    for day, n in per_day:
        if batches and batches[-1][2] + n <= limit:
            first, _, total = batches[-1]
            batches[-1] = (first, day, total + n)
        else:
            batches.append((day, day, n))
    return batches


def recount(
    engine,
    first: date | None = None,
    last: date | None = None,
    progress: Callable[[int, int, date], None] | None = None,
    from_events: tuple[str, ...] = (),
) -> int:
    """Replace the counts of the days first..last (default: every day with events) with what the events say.

    Returns the number of events counted. ``progress(done, total, last_day_done)`` after each batch.
    The counts of COUNTED_ONLY events are kept, but for those named in ``from_events`` (migration 0005).
    """
    dialect = engine.dialect.name
    day = day_expression(dialect)
    bounds = []
    if first:
        bounds.append(U.c.at >= _midnight(first))
    if last:
        bounds.append(U.c.at < _midnight(last + timedelta(days=1)))
    with engine.connect() as conn:
        per_day = [(_as_date(d), n) for d, n in conn.execute(select(day, func.count()).where(*bounds).group_by(day).order_by(day))]
    total = sum(n for _, n in per_day)
    done = 0
    for first_day, last_day, n in _batches(per_day, BATCH_EVENTS):
        with engine.begin() as conn:
            _recount_days(conn, dialect, first_day, last_day, tuple(e for e in COUNTED_ONLY if e not in from_events))
        done += n
        if progress:
            progress(done, total, last_day)
    if dialect == "postgresql" and total:
        # Statistics now, not at autovacuum's leisure: without them a year's report plans badly (0.6 s, not 0.1 s).
        with engine.connect() as conn:
            conn.execute(text("ANALYZE usage_daily, usage_daily_unique, usage_seen"))
            conn.commit()
    return total


def _recount_days(conn, dialect: str, first: date, last: date, kept: tuple[str, ...] = COUNTED_ONLY) -> None:
    """``kept``: the events whose counts stay as they are (they are nowhere else), and whose rows go."""
    if dialect == "postgresql":
        conn.exec_driver_sql("LOCK TABLE usage_events IN SHARE MODE")  # waits for writers in flight, holds new ones
    for table in (usage_daily_unique, usage_seen):  # a write first: SQLite takes its write lock here
        conn.execute(delete(table).where(table.c.day.between(first, last)))
    conn.execute(delete(usage_daily).where(usage_daily.c.day.between(first, last), usage_daily.c.event.not_in(kept)))
    day = day_expression(dialect)
    in_days = and_(U.c.at >= _midnight(first), U.c.at < _midnight(last + timedelta(days=1)))
    if kept:  # rows the code before wrote, and counted: they are counted already, and must not stay
        conn.execute(delete(U).where(in_days, U.c.event.in_(kept)))
    keys = [func.coalesce(U.c[name], "") for name in DIMENSIONS]
    grouped = select(day, *keys, func.count(), func.count(U.c.number_hash)).where(in_days).group_by(day, *keys)
    conn.execute(insert(usage_daily).from_select(["day", *DIMENSIONS, "events", "numbered"], grouped))
    for measure, (event, field) in MEASURES.items():
        ref = func.substr(U.c[field], 1, REF_LENGTH)
        if event is not None:
            language = literal("")
            where = and_(in_days, U.c.event == event, U.c[field].is_not(None))
        else:
            language = U.c.language
            where = and_(in_days, U.c.channel == "voice", U.c.language.is_not(None), U.c.language != "", U.c[field].is_not(None))
        # once over every line, and once on each line
        for line, on_line in ((literal(ALL_LINES), where), (U.c.line, and_(where, U.c.line.is_not(None), U.c.line != ""))):
            first_seen = select(day, literal(measure), language, line, ref).where(on_line).distinct()
            conn.execute(insert(usage_seen).from_select(["day", "measure", "language", "line", "ref"], first_seen))
    S = usage_seen
    keys = (S.c.day, S.c.measure, S.c.language, S.c.line)
    unique = select(*keys, func.count(distinct(S.c.ref))).where(S.c.day.between(first, last)).group_by(*keys)
    conn.execute(insert(usage_daily_unique).from_select(["day", "measure", "language", "line", "count"], unique))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def echo_progress(done: int, total: int, day: date) -> None:
    """Progress on stderr, one line a batch (the migration's and ``usage recount``'s)."""
    print(
        f"usage counts: {done:,} of {total:,} events counted ({done * 100 // max(total, 1)}%), through {day}", file=sys.stderr, flush=True
    )
