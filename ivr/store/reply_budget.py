"""Reply budgets: no sender, no loop of two machines and no flood can make the text line bill without bound.

Each text that would get a reply is counted, before the reply, in fixed windows (epoch-aligned, so
every instance agrees on them without talking to each other):

1. the loop guard: the same words from the same sender, per IVR_LOOP_MINUTES (10) window; past
   IVR_LOOP_REPEATS (3) it gets silence, no notice (an auto-responder would answer the notice too);
2. the sender's hour and day (IVR_REPLY_BUDGET_HOUR 20, IVR_REPLY_BUDGET_DAY 60, UTC days): the
   first text over a budget gets one short notice (sms.yaml limit_hour / limit_day), the next ones
   silence until the window passes;
3. the whole line's minute (IVR_LINE_REPLIES_PER_MINUTE 60): past it, silence, and the sender's
   counts of this text are rolled back (nothing this sender did).

HELP and the crisis text count against the line's minute only: HELP must answer anyone (CTIA), and
the crisis text is the safety net. STOP and START never come here: they are always recorded.

A text's counters are added in one ``INSERT ... VALUES (...), (...) ON CONFLICT DO UPDATE SET count =
count + 1 RETURNING scope, count`` (SQLite 3.35+ and PostgreSQL), then the counts that the rules above
say do not apply (a budget spent before them) are taken off again by one ``UPDATE``, in the same
transaction: atomic, so concurrent requests and several instances on one PostgreSQL agree, and a
restart forgets nothing. One statement, not one per counter, because a text's counts were most of
its cost (4 statements, about half of a text's time in-process). Subjects are keyed hashes (privacy.py): never a number, never words.
If the database cannot count (down, another process's lock held past 0.5 s, or this process's own
counts queued past 2 s), the process counts in memory
until it can: each process then keeps its own budgets, each counter going on from the last count this
process read from the database for it (starting from zero would give every sender a full budget again
at each outage: 20 replies before it, 21 more during it). A budget of 0 switches that budget off.
``purge`` deletes counters older than two days (storage.purge).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import TextClause, and_, or_, text, update
from sqlalchemy.exc import SQLAlchemyError

from ivr.store.storage import DATABASE_WAIT_SECONDS, reply_counters

HOUR, DAY, MINUTE = 3600, 86400, 60
LINE_SUBJECT = ""  # the whole deployment's counter
# How long a count waits for a lock (another writer) before it gives up and the reply goes out
# uncounted: a text's answer must not wait on the database's locks (reads never do, in WAL mode).
COUNT_WAIT_MS = 500
# How long a count waits for this process's other counts (SQLite: one at a time, in turn): under a
# burst, a queue of a worker's threads, each a few milliseconds, which a busy machine makes longer.
QUEUE_WAIT_MS = 2000
MEMORY_COUNTERS = 20_000  # counters a process keeps while the database cannot count (about 2 MB)
log = logging.getLogger(__name__)


class Verdict(StrEnum):
    REPLY = "reply"
    NOTICE = "notice"  # the one text saying the budget is spent, and when to try again
    SILENT = "silent"


@dataclass(frozen=True)
class Budget:
    """The budgets, from the settings (0: off)."""

    hour: int = 20
    day: int = 60
    loop_repeats: int = 3
    loop_minutes: int = 10
    line_per_minute: int = 60

    @classmethod
    def of(cls, settings) -> Budget:
        return cls(
            settings.reply_budget_hour,
            settings.reply_budget_day,
            settings.loop_repeats,
            settings.loop_minutes,
            settings.line_replies_per_minute,
        )


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str  # ok, loop, hour, day, line
    notice: str | None = None  # the sms.yaml key of the notice (limit_hour, limit_day)


OK = Decision(Verdict.REPLY, "ok")


def window(now: datetime, seconds: int) -> int:
    """The start of the fixed window of ``seconds`` that holds ``now``, in epoch seconds."""
    epoch = int(now.timestamp())
    return epoch - epoch % seconds


class _LineFull(Exception):
    """The line's minute is spent: the counts of this text are to be undone."""


_ADD: dict[int, TextClause] = {}  # by number of counters: the upsert, built once


def _add_all(count: int) -> TextClause:
    """The upsert of ``count`` counters, as SQL text: the same on SQLite and PostgreSQL.

    Text, not SQLAlchemy's insert().values([...]): a multi-row VALUES is compiled again on every run
    (SQLAlchemy does not cache it), 1.2 ms a text; as text, 0.1 ms.
    """
    statement = _ADD.get(count)
    if statement is None:
        rows = ", ".join(f"(:scope_{n}, :subject_{n}, :start_{n}, 1)" for n in range(count))
        statement = _ADD[count] = text(
            f"INSERT INTO {reply_counters.name} (scope, subject, window_start, count) VALUES {rows} "
            f"ON CONFLICT (scope, subject, window_start) DO UPDATE SET count = {reply_counters.name}.count + 1 "
            "RETURNING scope, count"
        )
    return statement


Key = tuple[str, str, int]  # scope, subject, window start


class _DatabaseCounts:
    """Counters in reply_counters, inside one transaction."""

    def __init__(self, conn):
        self.conn = conn
        self.read: dict[Key, int] = {}  # each counter's count as this transaction leaves it, for MemoryCounts

    def add_all(self, keys: list[Key]) -> dict[str, int]:
        """Add one to each counter (at most one per scope) and return each scope's new count, atomically."""
        params = {}
        for n, (scope, subject, start) in enumerate(keys):
            params[f"scope_{n}"], params[f"subject_{n}"], params[f"start_{n}"] = scope, subject, start
        count = dict(self.conn.execute(_add_all(len(keys)), params).all())
        self.read = {key: count[key[0]] for key in keys}
        return count

    def sub_all(self, keys: list[Key]) -> None:
        rows = [and_(reply_counters.c.scope == a, reply_counters.c.subject == b, reply_counters.c.window_start == c) for a, b, c in keys]
        self.conn.execute(update(reply_counters).where(or_(*rows)).values(count=reply_counters.c.count - 1))
        for key in keys:
            self.read[key] -= 1

    def rolled_back(self) -> None:
        """The transaction was undone: every counter is back to what it was before this text."""
        self.read = {key: count - 1 for key, count in self.read.items()}


class MemoryCounts:
    """The same counters in this process, for while the database cannot count: bounded, gone at exit.

    An outage must not lift the budgets (an auto-responder would get every reply meanwhile); counted
    here, each process keeps its own budget until the database is back, the safe side for the bill.
    """

    def __init__(self, limit: int = MEMORY_COUNTERS):
        self.limit = limit
        self._counts: OrderedDict[tuple[str, str, int], int] = OrderedDict()
        self._lock = threading.Lock()
        self._undo: list[tuple[str, str, int]] = []

    def add(self, scope: str, subject: str, start: int) -> int:
        key = (scope, subject, start)
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        while len(self._counts) > self.limit:
            self._counts.popitem(last=False)  # the least recently counted
        self._undo.append(key)
        return count

    def add_all(self, keys: list[Key]) -> dict[str, int]:
        return {key[0]: self.add(*key) for key in keys}

    def sub(self, scope: str, subject: str, start: int) -> None:
        key = (scope, subject, start)
        if key in self._counts:
            self._counts[key] -= 1

    def sub_all(self, keys: list[Key]) -> None:
        for key in keys:
            self.sub(*key)

    def seed(self, read: dict[Key, int]) -> None:
        """Remember the counts the database just gave: an outage goes on from them, not from zero.

        Never lowered: a count made here during an outage stays (the database never saw those
        replies), so a second outage goes on from the higher of the two.
        """
        with self._lock:
            for key, count in read.items():
                self._counts[key] = max(self._counts.pop(key, 0), count)
            while len(self._counts) > self.limit:
                self._counts.popitem(last=False)

    def run(self, decide) -> Decision:
        """``decide(self)`` under this process's lock; the line's minute spent undoes its counts."""
        with self._lock:
            self._undo = []
            try:
                return decide(self)
            except _LineFull:
                for key in self._undo:
                    self.sub(*key)
                return Decision(Verdict.SILENT, "line")


class ReplyBudget:
    """The counters on one storage's engine (and in memory while it cannot count)."""

    def __init__(self, storage, budget: Budget):
        self.engine = storage.engine
        self.budget = budget
        sqlite = self.engine.dialect.name == "sqlite"
        self._one_writer = threading.Lock() if sqlite else None
        self.memory = MemoryCounts()

    def check(self, sender: str | None, repeat: str | None, now: datetime, compliance: bool = False) -> Decision:
        """Count this reply and say whether to send it, a notice, or nothing.

        ``sender``: the sender's keyed hash (None: no number; only the line's minute applies);
        ``repeat``: a keyed hash of sender and words, for the loop guard; ``compliance``: HELP or the
        crisis text, which only the line's minute limits. When the database cannot count (an error,
        or a lock held past COUNT_WAIT_MS), this process counts in memory: the log says so.
        """

        def decide(counts) -> Decision:
            return self._decide(counts, sender, repeat, now, compliance)

        try:
            return self._in_database(decide)
        except (SQLAlchemyError, TimeoutError) as exc:
            log.error("reply budget counted in memory: the database cannot count error=%s", type(exc).__name__)
            return self.memory.run(decide)

    def _in_database(self, decide) -> Decision:
        if self._one_writer is None:
            with self.engine.connect() as conn:
                return self._transaction(conn, decide)
        # SQLite: one writer at a time in this process, in turn; SQLite's own busy wait (sleep and retry)
        # is left to settle only between processes, where a few writers rarely wait long.
        if not self._one_writer.acquire(timeout=QUEUE_WAIT_MS / 1000):
            raise TimeoutError("reply budget: this process's writers are queued")
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.dbapi_connection  # outside SQLAlchemy's transaction, undone below
                raw.execute(f"PRAGMA busy_timeout={COUNT_WAIT_MS}")
                try:
                    return self._transaction(conn, decide)
                finally:
                    raw.execute(f"PRAGMA busy_timeout={DATABASE_WAIT_SECONDS * 1000}")
        finally:
            self._one_writer.release()

    def _transaction(self, conn, decide) -> Decision:
        counts = _DatabaseCounts(conn)
        with conn.begin() as transaction:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {COUNT_WAIT_MS}")
            try:
                decision = decide(counts)
            except _LineFull:
                transaction.rollback()  # nothing this sender did: their counts of this text are undone
                counts.rolled_back()
                decision = Decision(Verdict.SILENT, "line")
        self.memory.seed(counts.read)  # committed (an error at commit raised above: nothing seeded)
        return decision

    def _decide(self, counts, sender: str | None, repeat: str | None, now: datetime, compliance: bool) -> Decision:
        """Count every counter of this text at once, then apply the rules in order (loop, day, hour, line);
        the counters after the rule that stops the text are taken off again, as if never counted."""
        b = self.budget
        keys: dict[str, Key] = {}
        if sender is not None and not compliance:
            if b.loop_repeats and repeat is not None:
                keys["loop"] = ("loop", repeat, window(now, b.loop_minutes * MINUTE))
            if b.day:
                keys["day"] = ("day", sender, window(now, DAY))
            if b.hour:
                keys["hour"] = ("hour", sender, window(now, HOUR))
        if b.line_per_minute:
            keys["line"] = ("line", LINE_SUBJECT, window(now, MINUTE))
        if not keys:
            return OK
        count = counts.add_all(list(keys.values()))
        decision, undo = self._rules(count, keys)
        if undo:
            counts.sub_all([keys[scope] for scope in undo])
        return decision

    def _rules(self, count: dict[str, int], keys: dict) -> tuple[Decision, list[str]]:
        """The decision, and the scopes whose count of this text is to be taken off."""
        b = self.budget
        after = [scope for scope in ("day", "hour", "line") if scope in keys]
        if "loop" in keys and count["loop"] > b.loop_repeats:
            return Decision(Verdict.SILENT, "loop"), after  # the loop's count stays: its window goes on counting
        # The day first, then the hour: a text the hour refuses is taken off the day again, so the day
        # counts replies (and its own notice), and a sender whose day is spent hears nothing of the hour.
        decision, undo = OK, []
        if "day" in keys and count["day"] > b.day:
            decision = Decision(Verdict.NOTICE, "day", "limit_day") if count["day"] == b.day + 1 else Decision(Verdict.SILENT, "day")
            undo = [scope for scope in ("hour",) if scope in keys]
        elif "hour" in keys and count["hour"] > b.hour:
            decision = Decision(Verdict.NOTICE, "hour", "limit_hour") if count["hour"] == b.hour + 1 else Decision(Verdict.SILENT, "hour")
            undo = [scope for scope in ("day",) if scope in keys]
        if decision.verdict is Verdict.SILENT:
            return decision, undo + [scope for scope in ("line",) if scope in keys]  # silence costs the line nothing
        if "line" in keys and count["line"] > b.line_per_minute:  # a reply or a notice: both are texts the line pays for
            raise _LineFull  # nothing this sender did: every count of this text is undone (the transaction)
        return decision, undo

    def count(self, scope: str, subject: str, start: int) -> int:
        """A counter's value (0 when absent): for reports and tests."""
        with self.engine.connect() as conn:
            found = conn.execute(
                reply_counters.select().where(
                    reply_counters.c.scope == scope, reply_counters.c.subject == subject, reply_counters.c.window_start == start
                )
            ).first()
        return found.count if found else 0
