"""The one place that persists anything: opt-outs, text quotas and texts sent.

Numbers arrive here already as keyed hashes (see privacy.py); nothing here ever sees a number.
SQLite is the embedded default (WAL, busy time-out); PostgreSQL is the way to many instances.
The schema is created by Alembic (migrations/), run by ``flask --app app migrate``.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ivr.store import counts

metadata = MetaData()
SMS = "sms"  # channels.Channel.SMS: the channel of an opt-out unless told otherwise (Twilio's, and "text me")

# Opt-outs are per channel ("sms" or "whatsapp"): an SMS STOP does not silence WhatsApp, nor the reverse.
opt_outs = Table(
    "opt_outs",
    metadata,
    Column("number_hash", String(64), primary_key=True),
    Column("channel", String(10), primary_key=True, default=SMS, server_default=SMS),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The word that opted out (folded: "STOP", "PARAR"), and whether Twilio's own opt-out acted on it too:
    # then only Twilio's opt-in words lift it (Twilio blocks every text to the number until one of them).
    # NULL for opt-outs older than revision 0006, and for those Twilio reported (error 21610): Twilio's.
    Column("word", String(20)),
    Column("by_twilio", Boolean),
)

# Reply budgets (reply_budget.py): how many texts a sender (a keyed hash), a repeated text (a keyed
# hash of sender and words) or the whole line ('') sent in one window (its start, in epoch seconds).
reply_counters = Table(
    "reply_counters",
    metadata,
    Column("scope", String(10), primary_key=True),  # loop, hour, day, line
    Column("subject", String(64), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    Index("ix_reply_counters_window", "window_start"),
)

# One row per (caller, day) and per hour: the counters behind the text limits.
text_quota = Table(
    "text_quota",
    metadata,
    Column("bucket", String(100), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
)

texts_sent = Table(
    "texts_sent",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number_hash", String(64), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(10), nullable=False),
    Column("line", String(20)),  # the line's id (lines.py)
    Column("language", String(5), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("message_sid", String(64), index=True),
    Column("status", String(20)),
    Column("error_code", String(10)),
    # The report's texts by delivery status, read from this index alone, already in its groups' order.
    Index("ix_texts_sent_report", "channel", "outcome", "status", "line", "created_at"),
)

# What happened on each call and text (see usage.py): never a number, never a message body.
usage_events = Table(
    "usage_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(10), nullable=False),  # voice, sms, whatsapp
    Column("line", String(20)),  # the line's id (lines.py), for counts per line
    Column("event", String(20), nullable=False),
    Column("language", String(5)),
    Column("topic", String(40)),
    Column("outcome", String(30)),
    Column("keyword", String(20)),
    Column("input", String(10)),
    Column("number_hash", String(64)),
    Column("call_ref", String(32)),
    Index("ix_usage_events_event_at", "event", "at"),
)


# Per-day counts of the usage events, kept by the usage writer in the same transaction (counts.py).
# No identities: kept longer than the events (IVR_COUNTS_RETENTION_DAYS). Key columns say '' for none.
def _key(name: str, length: int) -> Column:
    return Column(name, String(length), nullable=False, server_default="")


usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", Date, nullable=False),
    _key("channel", 10),
    _key("event", 20),
    _key("language", 5),
    _key("topic", 40),
    _key("outcome", 30),
    _key("keyword", 20),
    _key("line", 20),
    Column("events", BigInteger, nullable=False),
    Column("numbered", BigInteger, nullable=False),  # events that carried a number's keyed hash (calls with caller ID)
    # The key with the day last and, on SQLite, the rows kept in its order (WITHOUT ROWID): a report
    # over a year groups by the other columns reading the table in order, with no sort.
    PrimaryKeyConstraint(*counts.KEY_ORDER, name="pk_usage_daily"),
    # PostgreSQL finds a few days out of years by this index (migration 0005); SQLite by its key
    Index("ix_usage_daily_day", "day").ddl_if(dialect="postgresql"),
    sqlite_with_rowid=False,
)

# Different callers, texters and calls per language, per day (exact for each day; see counts.py).
usage_daily_unique = Table(
    "usage_daily_unique",
    metadata,
    Column("day", Date, nullable=False),
    Column("measure", String(20), nullable=False),
    _key("language", 5),
    _key("line", 20),  # '': over every line
    Column("count", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "measure", "language", "line", name="pk_usage_daily_unique"),
    sqlite_with_rowid=False,
)

# Who was counted on a day already: a prefix of a keyed hash. Purged with the events.
usage_seen = Table(
    "usage_seen",
    metadata,
    Column("day", Date, nullable=False),
    Column("measure", String(20), nullable=False),
    _key("language", 5),
    _key("line", 20),
    Column("ref", String(counts.REF_LENGTH), nullable=False),
    PrimaryKeyConstraint("day", "measure", "language", "line", "ref", name="pk_usage_seen"),
    sqlite_with_rowid=False,
)

# The language a texter last used a keyword in, so that a bare topic number ("3") after a Spanish
# menu is answered in Spanish. Kept only for texters who used a language other than the default.
texter_language = Table(
    "texter_language",
    metadata,
    Column("number_hash", String(64), primary_key=True),
    Column("language", String(5), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# "Text me" answered before Twilio did (voice.text_me): the outcome of one send, for whichever instance
# Twilio asks next. ``ticket`` travels in the redirect's URL; ``call_ref``, a keyed hash of the CallSid,
# ties it to its call. The row is written once the send settled; ``answer_by`` is when the caller
# had to hear something, sent or not. No number, no text: purged with the text-limit counters.
# ``call_ref`` is indexed: every "text me" reads the call's rows (_CALL_TEXTED) while its caller waits,
# and without the index that read scans two days of every call's tickets.
text_tickets = Table(
    "text_tickets",
    metadata,
    Column("ticket", String(32), primary_key=True),
    Column("call_ref", String(32), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("answer_by", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20)),
)

# Twilio's message statuses in the order they happen; a late callback never moves a text backwards.
MESSAGE_STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}


# The two reads on the path of every inbound text (and of "text me"), built once: constructing a
# select() costs more than SQLite takes to answer it.
_OPTED_OUT = (
    select(opt_outs.c.number_hash)
    .where(opt_outs.c.number_hash == bindparam("number_hash"), opt_outs.c.channel == bindparam("channel"))
    .limit(1)
)
_TEXTER_LANGUAGE = select(texter_language.c.language).where(texter_language.c.number_hash == bindparam("number_hash"))
_TICKET = select(text_tickets.c.call_ref, text_tickets.c.answer_by, text_tickets.c.outcome).where(
    text_tickets.c.ticket == bindparam("ticket")
)
# "Text me" earlier in this call (any instance): a text sent, or one that may have gone out.
_CALL_TEXTED = select(text_tickets.c.outcome).where(
    text_tickets.c.call_ref == bindparam("call_ref"), text_tickets.c.outcome.in_(("sent", "uncertain"))
)
# Both at once, for every inbound text: one round trip instead of two.
_TEXTER = select(_OPTED_OUT.scalar_subquery(), _TEXTER_LANGUAGE.scalar_subquery())


def where_opt_outs_live(settings) -> str:
    """The start-up warning for SQLite: the file holds every opt-out, so it must outlive the process."""
    path = settings.database_url.removeprefix("sqlite:///")
    return (
        f"opt-outs are kept in the SQLite file {path}: it must be on a disk that persists across restarts "
        "and is backed up (a wiped disk forgets every STOP; see README 'Backups and the hash key'), "
        "or set DATABASE_URL to PostgreSQL"
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReportTimeout(Exception):
    """A report ran longer than its own time-out and was stopped by the database."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped after {seconds:g} s")
        self.seconds = seconds


# How long one statement of a webhook may wait: for a locked SQLite database; on PostgreSQL, for a
# connection, a pooled connection, a lock (a migration's ALTER TABLE) or a slow statement. "Text
# me" makes two such waits before its REST call and one after, and fits all of it in
# IVR_ANSWER_WITHIN (text_me.py), well inside Twilio's 15 s webhook limit.
DATABASE_WAIT_SECONDS = 3


def make_engine(url: str, webhook_limits: bool = True) -> Engine:
    """The engine for ``url``. ``webhook_limits=False`` (migrations) lifts PostgreSQL's statement time-out."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": DATABASE_WAIT_SECONDS, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={DATABASE_WAIT_SECONDS * 1000}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=DATABASE_WAIT_SECONDS,
        # tcp_user_timeout: a server that vanished from the network (no RST) fails a statement in
        # seconds, not after the kernel's 15 minutes of retransmissions.
        connect_args={"connect_timeout": DATABASE_WAIT_SECONDS, "tcp_user_timeout": DATABASE_WAIT_SECONDS * 1000},
    )
    if webhook_limits:

        @event.listens_for(engine, "connect")
        def _statement_timeout(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {DATABASE_WAIT_SECONDS * 1000}")
            dbapi_connection.commit()

    return engine


class Storage:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._counting = None

    @contextmanager
    def unhurried(self):
        """A transaction free of the webhooks' statement time-out, for reports and purges of many rows."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            yield conn

    @contextmanager
    def reporting(self, seconds: float):
        """A transaction for a report that the database stops ``seconds`` after it began: ReportTimeout.

        One deadline for the whole report, not for each statement: before each statement the time
        left is checked and, on PostgreSQL, given to it as its statement_timeout (not the webhooks'
        3 s, not none); on SQLite a progress handler interrupts a statement once the time is up.
        Either way a heavy report ends with a clear message, before gunicorn's 30 s kill the worker.
        """
        postgres = self.engine.dialect.name == "postgresql"
        deadline = time.monotonic() + seconds

        def time_left(_conn, cursor, _statement, _parameters, _context, _executemany):
            left = deadline - time.monotonic()
            if left <= 0:
                raise ReportTimeout(seconds)
            if postgres:
                cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(left * 1000))}")

        try:
            with self.engine.begin() as conn:
                raw = conn.connection.dbapi_connection
                event.listen(conn, "before_cursor_execute", time_left)
                if not postgres:
                    raw.set_progress_handler(lambda: time.monotonic() > deadline, 2000)
                try:
                    yield conn
                finally:
                    event.remove(conn, "before_cursor_execute", time_left)
                    if not postgres:
                        raw.set_progress_handler(None, 0)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014" or "interrupted" in str(exc.orig):
                raise ReportTimeout(seconds) from None
            raise

    # --- opt-outs -----------------------------------------------------------------------------
    def is_opted_out(self, number_hash: str, channel: str = SMS) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(_OPTED_OUT, {"number_hash": number_hash, "channel": channel}).first() is not None

    def opt_out(self, number_hash: str, channel: str = SMS, word: str | None = None, by_twilio: bool | None = None) -> bool:
        """Record an opt-out on ``channel`` and the word that made it; True if it is new."""
        with self.engine.begin() as conn:
            row = {"number_hash": number_hash, "channel": channel, "created_at": utcnow(), "word": word, "by_twilio": by_twilio}
            return conn.execute(self._insert_ignore(opt_outs, **row)).rowcount == 1

    def opt_in(self, number_hash: str, channel: str = SMS, twilio_word: bool = True) -> bool | None:
        """Remove an opt-out on ``channel``; True if there was one, False if none.

        None: the opt-out stands, because Twilio's own opt-out made it (or an older one, of unknown
        word) and ``twilio_word`` is False: only Twilio's START, YES or UNSTOP lift Twilio's block.
        """
        with self.engine.begin() as conn:
            mine = opt_outs.c.number_hash == number_hash, opt_outs.c.channel == channel
            liftable = (opt_outs.c.by_twilio.is_(False),) if channel == SMS and not twilio_word else ()
            if conn.execute(delete(opt_outs).where(*mine, *liftable)).rowcount > 0:
                return True
            if liftable and conn.execute(select(opt_outs.c.number_hash).where(*mine)).first() is not None:
                return None
            return False

    def store_opt_outs(self, rows: list[dict]) -> int:
        """Store opt-outs kept while the database was away (opt_out_journal.py), in one transaction; how many were new."""
        now = utcnow()
        with self.engine.begin() as conn:
            return sum(conn.execute(self._insert_ignore(opt_outs, created_at=now, **row)).rowcount == 1 for row in rows)

    def adopt_old_hash(self, old_hash: str, new_hash: str) -> bool:
        """Key rotation: re-key this person's opt-outs and language from the old key's hash; True if any."""
        with self.engine.connect() as conn:
            found = conn.execute(_TEXTER, {"number_hash": old_hash, "channel": SMS}).one()
            other = conn.execute(select(opt_outs.c.channel).where(opt_outs.c.number_hash == old_hash).limit(1)).first()
        if found == (None, None) and other is None:
            return False
        with self.engine.begin() as conn:
            for table in (opt_outs, texter_language):
                mine = select(table.c.number_hash).where(table.c.number_hash == new_hash)
                if table is texter_language and conn.execute(mine).first() is not None:
                    conn.execute(delete(table).where(table.c.number_hash == old_hash))  # the new key's row is newer
                    continue
                if table is opt_outs:  # a channel opted out under both keys: keep the new key's row
                    new_channels = select(opt_outs.c.channel).where(opt_outs.c.number_hash == new_hash)
                    conn.execute(delete(opt_outs).where(opt_outs.c.number_hash == old_hash, opt_outs.c.channel.in_(new_channels)))
                conn.execute(update(table).where(table.c.number_hash == old_hash).values(number_hash=new_hash))
        return True

    # --- a texter's language ---------------------------------------------------------------------
    def texter(self, number_hash: str, channel: str = SMS) -> tuple[bool, str | None]:
        """Whether this texter opted out on ``channel``, and the language they last used (None: the default)."""
        with self.engine.connect() as conn:
            opted_out, language = conn.execute(_TEXTER, {"number_hash": number_hash, "channel": channel}).one()
            return opted_out is not None, language

    def remember_language(self, number_hash: str, language: str | None) -> None:
        """Keep ``language`` for this texter; None forgets it (the default language needs no row)."""
        with self.engine.begin() as conn:
            conn.execute(delete(texter_language).where(texter_language.c.number_hash == number_hash))
            if language:
                conn.execute(insert(texter_language).values(number_hash=number_hash, language=language, updated_at=utcnow()))

    # --- text limits ----------------------------------------------------------------------------
    @staticmethod
    def _buckets(number_hash: str, now: datetime) -> tuple[str, str]:
        return f"caller:{number_hash}:{now:%Y-%m-%d}", f"all:{now:%Y-%m-%dT%H}"

    def _take(self, conn, bucket: str, limit: int, now: datetime) -> bool:
        """Atomically add one to ``bucket`` unless it is at ``limit``."""
        if limit <= 0:
            return False
        conn.execute(self._insert_ignore(text_quota, bucket=bucket, count=0, created_at=now))
        guarded = text_quota.c.bucket == bucket, text_quota.c.count < limit
        return conn.execute(update(text_quota).where(*guarded).values(count=text_quota.c.count + 1)).rowcount == 1

    def _insert_ignore(self, table, **values):
        """INSERT ... ON CONFLICT DO NOTHING, in the dialect's own words."""
        dialect_insert = sqlite_insert if self.engine.dialect.name == "sqlite" else postgresql_insert
        # preserve_rowcount: without it psycopg's INSERT rowcount is not kept (-1), and opt_out() could not tell
        # a new opt-out from a repeated one on PostgreSQL.
        return dialect_insert(table).values(**values).on_conflict_do_nothing().execution_options(preserve_rowcount=True)

    def take_text_quota(self, number_hash: str, per_caller_per_day: int, per_hour: int, now: datetime | None = None) -> str:
        """Reserve one text for this caller today and for everyone this hour.

        Returns "ok"; or, with nothing reserved, "caller" (this number had its texts for today) or
        "line" (the whole line sent its texts for this hour): the caller is told which.
        """
        now = now or utcnow()
        mine, everyone = self._buckets(number_hash, now)
        with self.engine.begin() as conn:
            if not self._take(conn, mine, per_caller_per_day, now):
                return "caller"
            if not self._take(conn, everyone, per_hour, now):
                conn.execute(update(text_quota).where(text_quota.c.bucket == mine).values(count=text_quota.c.count - 1))
                return "line"
        return "ok"

    # --- texts sent -------------------------------------------------------------------------------
    def settle_text(
        self,
        number_hash: str,
        channel: str,
        language: str,
        outcome: str,
        *,
        opted_out: bool = False,
        give_back: bool = False,
        message_sid: str | None = None,
        status: str | None = None,
        error_code: str | None = None,
        line: str | None = None,
    ) -> None:
        """After a send (or a send not made): the opt-out Twilio reported, the limit given back when
        nothing went out, and the text-sent row, in one transaction: one wait for a lock at most."""
        now = utcnow()
        with self.engine.begin() as conn:
            if opted_out:  # Twilio's own block (error 21610): only Twilio's opt-in words lift it
                conn.execute(self._insert_ignore(opt_outs, number_hash=number_hash, channel=SMS, created_at=now, by_twilio=True))
            if give_back:
                for bucket in self._buckets(number_hash, now):
                    still_counted = text_quota.c.bucket == bucket, text_quota.c.count > 0
                    conn.execute(update(text_quota).where(*still_counted).values(count=text_quota.c.count - 1))
            values = {"channel": channel, "line": line, "language": language, "outcome": outcome}
            values.update(message_sid=message_sid, status=status)
            conn.execute(insert(texts_sent).values(number_hash=number_hash, created_at=now, error_code=error_code, **values))

    # --- "text me" tickets (voice.text_me): outcomes any instance can read ---------------------------
    def record_ticket(self, ticket: str, call_ref: str, answer_by: datetime, outcome: str) -> None:
        """What became of the send of ``ticket`` (the row exists only once it is known)."""
        row = {"ticket": ticket, "call_ref": call_ref, "created_at": utcnow(), "answer_by": answer_by, "outcome": outcome}
        with self.engine.begin() as conn:
            conn.execute(insert(text_tickets).values(**row))

    def call_texted(self, call_ref: str) -> str | None:
        """ "sent" when a text went out during the call ``call_ref``, "uncertain" when one may have; else None."""
        with self.engine.connect() as conn:
            outcomes = set(conn.execute(_CALL_TEXTED, {"call_ref": call_ref}).scalars())
        return "sent" if "sent" in outcomes else ("uncertain" if outcomes else None)

    def ticket(self, ticket: str) -> tuple[str, datetime, str | None] | None:
        """(call_ref, answer_by, outcome), or None while the send runs (or for a ticket never given)."""
        with self.engine.connect() as conn:
            row = conn.execute(_TICKET, {"ticket": ticket}).first()
        if row is None:
            return None
        answer_by = row.answer_by if row.answer_by.tzinfo else row.answer_by.replace(tzinfo=UTC)  # SQLite keeps no zone
        return row.call_ref, answer_by, row.outcome

    def count_texts(self, number_hash: str | None = None) -> int:
        query = select(func.count()).select_from(texts_sent)
        if number_hash:
            query = query.where(texts_sent.c.number_hash == number_hash)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except Exception:
            return False

    # --- usage, delivery status, retention (usage.py, delivery.py, retention.py) ---------------------
    def record_usage(self, rows: list[dict]) -> None:
        """Append usage events (one INSERT for the batch) and add them to the per-day counts, in one transaction.

        Either all of it is stored or none of it (a retried batch is never counted twice). The
        counts are upserts (``n = n + added``), exact whoever else writes at the same time; the
        first-of-the-day rows (usage_seen) are inserted unless present, and only those inserted
        add to the different callers, texters and calls per language. Crisis events are only
        counted (counts.COUNTED_ONLY): no row of theirs sits among a call's events.
        """
        if not rows:
            return
        daily, seen = counts.deltas(rows)
        seen_insert, add_unique, add_daily = self._count_statements()
        kept = [row for row in rows if row.get("event") not in counts.COUNTED_ONLY]
        with self.engine.begin() as conn:
            if kept:
                conn.execute(insert(usage_events), kept)
            if seen:
                unique = counts.unique_deltas(conn.execute(seen_insert, seen).all())
                if unique:
                    conn.execute(add_unique, unique)
            conn.execute(add_daily, daily)

    def _count_statements(self):
        """The three statements that keep the counts, built once: built per batch, compiling them cost more than running them."""
        if self._counting is None:
            dialect_insert = sqlite_insert if self.engine.dialect.name == "sqlite" else postgresql_insert
            returning = (usage_seen.c.day, usage_seen.c.measure, usage_seen.c.language, usage_seen.c.line)
            seen_insert = dialect_insert(usage_seen).on_conflict_do_nothing().returning(*returning)

            def add_to(table, sums):  # INSERT, or add the sums to the row already there with the same key
                statement = dialect_insert(table)
                keys = [column.name for column in table.primary_key.columns]
                return statement.on_conflict_do_update(
                    index_elements=keys, set_={name: table.c[name] + statement.excluded[name] for name in sums}
                )

            self._counting = (seen_insert, add_to(usage_daily_unique, ("count",)), add_to(usage_daily, ("events", "numbered")))
        return self._counting

    def update_text_status(self, message_sid: str, status: str, error_code: str | None = None) -> str:
        """Record a delivery status on the text with this SID: "updated", "stale" (an older status) or "unknown"."""
        rank = MESSAGE_STATUS_RANK[status]
        current = case(MESSAGE_STATUS_RANK, value=texts_sent.c.status, else_=-1)
        values = {"status": status, **({"error_code": error_code} if error_code else {})}
        with self.engine.begin() as conn:
            changed = conn.execute(update(texts_sent).where(texts_sent.c.message_sid == message_sid, current < rank).values(**values))
            if changed.rowcount:
                return "updated"
            known = conn.execute(select(texts_sent.c.id).where(texts_sent.c.message_sid == message_sid).limit(1)).first()
            return "stale" if known else "unknown"

    def purge(self, before: datetime, quota_before: datetime, counts_before: datetime | None = None) -> dict[str, int]:
        """Delete usage events and texts sent older than ``before``, text-limit and reply-budget counters
        older than ``quota_before``, and per-day counts of the days before ``counts_before`` (default: kept)."""
        with self.unhurried() as conn:
            deleted = {
                "usage_events": conn.execute(delete(usage_events).where(usage_events.c.at < before)).rowcount,
                "texts_sent": conn.execute(delete(texts_sent).where(texts_sent.c.created_at < before)).rowcount,
                "text_quota": conn.execute(delete(text_quota).where(text_quota.c.created_at < quota_before)).rowcount,
                "reply_counters": conn.execute(
                    delete(reply_counters).where(reply_counters.c.window_start < int(quota_before.timestamp()))
                ).rowcount,
                "texter_language": conn.execute(delete(texter_language).where(texter_language.c.updated_at < before)).rowcount,
                # a ticket is read for a few seconds, during its call: as short-lived as the counters
                "text_tickets": conn.execute(delete(text_tickets).where(text_tickets.c.created_at < quota_before)).rowcount,
                # whole days only: the day of the cutoff keeps its first-of-the-day rows until tomorrow's purge
                "usage_seen": conn.execute(delete(usage_seen).where(usage_seen.c.day < before.date())).rowcount,
            }
            if counts_before is not None:
                day = counts_before.date()
                deleted["usage_daily"] = conn.execute(delete(usage_daily).where(usage_daily.c.day < day)).rowcount
                deleted["usage_daily_unique"] = conn.execute(delete(usage_daily_unique).where(usage_daily_unique.c.day < day)).rowcount
            return deleted

    def health(self) -> dict:
        """Whether the database answers and every table of the schema is there (for GET /healthz)."""
        try:
            with self.engine.connect() as conn:
                present = set(inspect(conn).get_table_names())
        except SQLAlchemyError as exc:
            return {"reachable": False, "schema": False, "error": type(exc).__name__}
        missing = sorted(set(metadata.tables) - present)
        return {"reachable": True, "schema": not missing, **({"missing_tables": missing} if missing else {})}
