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

Each counter is one ``INSERT ... ON CONFLICT DO UPDATE SET count = count + 1 RETURNING count`` (SQLite
3.35+ and PostgreSQL): atomic, so concurrent requests and several instances on one PostgreSQL agree,
and a restart forgets nothing. Subjects are keyed hashes (privacy.py): never a number, never words.
A budget of 0 switches that budget off. ``purge`` deletes counters older than two days (storage.purge).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ivr.store.storage import DATABASE_WAIT_SECONDS, reply_counters

HOUR, DAY, MINUTE = 3600, 86400, 60
LINE_SUBJECT = ""  # the whole deployment's counter
# How long a count waits for a lock (another writer) before it gives up and the reply goes out
# uncounted: a text's answer must not wait on the database's locks (reads never do, in WAL mode).
COUNT_WAIT_MS = 500


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


class ReplyBudget:
    """The counters on one storage's engine."""

    def __init__(self, storage, budget: Budget):
        self.engine = storage.engine
        self.budget = budget
        sqlite = self.engine.dialect.name == "sqlite"
        self._insert = sqlite_insert if sqlite else postgresql_insert
        self._one_writer = threading.Lock() if sqlite else None

    def _count(self, conn, scope: str, subject: str, start: int) -> int:
        """Add one to a counter and return its new count, atomically."""
        statement = self._insert(reply_counters).values(scope=scope, subject=subject, window_start=start, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=["scope", "subject", "window_start"], set_={"count": reply_counters.c.count + 1}
        ).returning(reply_counters.c.count)
        return conn.execute(statement).scalar_one()

    def _uncount(self, conn, scope: str, subject: str, start: int) -> None:
        keys = reply_counters.c.scope == scope, reply_counters.c.subject == subject, reply_counters.c.window_start == start
        conn.execute(update(reply_counters).where(*keys).values(count=reply_counters.c.count - 1))

    def check(self, sender: str | None, repeat: str | None, now: datetime, compliance: bool = False) -> Decision:
        """Count this reply and say whether to send it, a notice, or nothing.

        ``sender``: the sender's keyed hash (None: no number; only the line's minute applies);
        ``repeat``: a keyed hash of sender and words, for the loop guard; ``compliance``: HELP or the
        crisis text, which only the line's minute limits. Raises SQLAlchemyError (or TimeoutError, when
        this process's counts are queued past COUNT_WAIT_MS): the caller decides.
        """
        if self._one_writer is None:
            with self.engine.connect() as conn:
                return self._check(conn, sender, repeat, now, compliance)
        # SQLite: one writer at a time in this process, in turn; SQLite's own busy wait (sleep and retry)
        # is left to settle only between processes, where a few writers rarely wait long.
        if not self._one_writer.acquire(timeout=COUNT_WAIT_MS / 1000):
            raise TimeoutError("reply budget: this process's writers are queued")
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.dbapi_connection  # outside SQLAlchemy's transaction, undone below
                raw.execute(f"PRAGMA busy_timeout={COUNT_WAIT_MS}")
                try:
                    return self._check(conn, sender, repeat, now, compliance)
                finally:
                    raw.execute(f"PRAGMA busy_timeout={DATABASE_WAIT_SECONDS * 1000}")
        finally:
            self._one_writer.release()

    def _check(self, conn, sender: str | None, repeat: str | None, now: datetime, compliance: bool) -> Decision:
        b = self.budget
        with conn.begin() as transaction:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {COUNT_WAIT_MS}")
            decision = OK
            if sender is not None and not compliance:
                decision = self._sender(conn, sender, repeat, now)
                if decision.verdict is Verdict.SILENT:
                    return decision  # the counts stay: this sender's window goes on counting
            if b.line_per_minute and self._count(conn, "line", LINE_SUBJECT, window(now, MINUTE)) > b.line_per_minute:
                transaction.rollback()  # nothing this sender did: their counts of this text are undone
                return Decision(Verdict.SILENT, "line")
            return decision

    def _sender(self, conn, sender: str, repeat: str | None, now: datetime) -> Decision:
        b = self.budget
        if b.loop_repeats and repeat is not None:
            if self._count(conn, "loop", repeat, window(now, b.loop_minutes * MINUTE)) > b.loop_repeats:
                return Decision(Verdict.SILENT, "loop")
        # The day first, then the hour: a text the hour refuses is taken off the day again, so the day
        # counts replies (and its own notice), and a sender whose day is spent hears nothing of the hour.
        day = b.day and self._count(conn, "day", sender, window(now, DAY))
        if day > b.day:
            return Decision(Verdict.NOTICE, "day", "limit_day") if day == b.day + 1 else Decision(Verdict.SILENT, "day")
        if b.hour:
            hour = self._count(conn, "hour", sender, window(now, HOUR))
            if hour > b.hour:
                if b.day:
                    self._uncount(conn, "day", sender, window(now, DAY))
                return Decision(Verdict.NOTICE, "hour", "limit_hour") if hour == b.hour + 1 else Decision(Verdict.SILENT, "hour")
        return OK

    def count(self, scope: str, subject: str, start: int) -> int:
        """A counter's value (0 when absent): for reports and tests."""
        with self.engine.connect() as conn:
            found = conn.execute(
                reply_counters.select().where(
                    reply_counters.c.scope == scope, reply_counters.c.subject == subject, reply_counters.c.window_start == start
                )
            ).first()
        return found.count if found else 0
