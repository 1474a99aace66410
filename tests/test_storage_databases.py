"""The storage behaves the same on SQLite and on the real PostgreSQL server, also under parallel load.

Every test here runs twice (``database_url``): on a SQLite file and on a fresh PostgreSQL schema.
Parallel tests use one Storage (engine) per thread, as separate web processes would.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from ivr.config import load_settings
from ivr.store.migrate import alembic_config, upgrade
from ivr.store.retention import purge
from ivr.store.storage import Storage, metadata, opt_outs, text_quota, texts_sent, usage_events, utcnow

HASH = "a" * 64


def settings_url(raw: str) -> str:
    """The URL as the app uses it (postgresql:// becomes postgresql+psycopg://)."""
    return load_settings({"DATABASE_URL": raw}).database_url


@pytest.fixture
def url(database_url):
    url = settings_url(database_url)
    upgrade(url)
    return url


@pytest.fixture
def storage(url):
    store = Storage(url)
    yield store
    store.engine.dispose()


def run_parallel(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released at once; return results, re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def body(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


def test_the_migrations_create_exactly_the_schema_of_storage_and_can_run_again(url):
    upgrade(url)  # the release step runs on every deploy: a second run changes nothing
    store = Storage(url)
    with store.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        for table in metadata.sorted_tables:
            columns = {c["name"] for c in inspect(conn).get_columns(table.name)}
            assert columns == set(table.columns.keys()), table.name

        # Alembic's own comparison: columns, types, nullability and indexes of the model and the migrated database
        # (an index the model keeps for one dialect, ddl_if, is compared on that dialect only)
        def on_this_dialect(obj, _name, _type, reflected, _compare_to) -> bool:
            only = getattr(getattr(obj, "_ddl_if", None), "dialect", None)
            return reflected or only in (None, conn.dialect.name)

        context = MigrationContext.configure(conn, opts={"include_object": on_this_dialect})
        differences = compare_metadata(context, metadata)
    store.engine.dispose()
    assert set(metadata.tables) <= tables
    assert version == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert differences == [], differences


def test_a_call_s_earlier_texts_are_found_by_the_index_not_by_a_scan(storage):
    """ "Text me" reads its call's tickets while the caller waits: with two days of tickets, a scan costs more each day."""
    from ivr.store.storage import _CALL_TEXTED

    with storage.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: the plan shows whether an index exists to use
        query = _CALL_TEXTED.params(call_ref="c" * 32).compile(conn, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + str(query)))
    assert "ix_text_tickets_call_ref" in plan, plan


def test_opt_out_and_back_in(storage):
    assert not storage.is_opted_out(HASH)
    assert storage.opt_out(HASH) is True
    assert storage.opt_out(HASH) is False  # already recorded, no error
    assert storage.is_opted_out(HASH)
    assert storage.opt_in(HASH) is True
    assert storage.opt_in(HASH) is False
    assert not storage.is_opted_out(HASH)


def test_a_texter_s_opt_out_and_language_in_one_read(storage):
    assert storage.texter("h1") == (False, None)
    storage.remember_language("h1", "es")
    assert storage.texter("h1") == (False, "es")
    storage.opt_out("h1")
    assert storage.texter("h1") == (True, "es") and storage.texter("h2") == (False, None)
    storage.remember_language("h1", None)
    assert storage.texter("h1") == (True, None)


def test_text_limits_per_caller_and_per_hour(storage):
    assert [storage.take_text_quota(HASH, 2, 3) for _ in range(3)] == ["ok", "ok", "caller"]
    other = "b" * 64
    assert storage.take_text_quota(other, 2, 3) == "ok"
    assert storage.take_text_quota("c" * 64, 2, 3) == "line"  # the line's hourly limit is reached
    storage.settle_text(other, "voice", "en", "temporary", give_back=True)  # a text certainly not sent
    assert storage.take_text_quota("c" * 64, 2, 3) == "ok"


def test_parallel_opt_outs_of_one_number_record_exactly_one(url):
    stores = [Storage(url) for _ in range(12)]
    results = run_parallel(12, lambda i: stores[i].opt_out(HASH))
    assert results.count(True) == 1
    with stores[0].engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opt_outs)).scalar_one() == 1
    for store in stores:
        store.engine.dispose()


def test_parallel_texts_never_exceed_the_limits(url):
    stores = [Storage(url) for _ in range(24)]
    # 24 requests from one caller race for 5 texts a day, and 24 others for what is left of 10 an hour
    mine = run_parallel(24, lambda i: stores[i].take_text_quota(HASH, 5, 10))
    assert mine.count("ok") == 5
    others = run_parallel(24, lambda i: stores[i].take_text_quota(f"{i:064d}", 5, 10))
    assert others.count("ok") == 5
    with stores[0].engine.connect() as conn:
        counts = dict(conn.execute(select(text_quota.c.bucket, text_quota.c.count)).all())
    assert max(counts.values()) == 10 and sum(v for k, v in counts.items() if k.startswith("caller:")) == 10
    for store in stores:
        store.engine.dispose()


def test_parallel_usage_writes_lose_nothing(url):
    stores = [Storage(url) for _ in range(8)]
    rows = [{"at": utcnow(), "channel": "voice", "event": "call"}]

    def work(i):
        for _ in range(25):
            stores[i].record_usage(rows * 4)

    run_parallel(8, work)
    with stores[0].engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar_one() == 8 * 25 * 4
    for store in stores:
        store.engine.dispose()


def test_delivery_status_only_moves_forward(storage):
    sid = "SM" + "1" * 32
    storage.settle_text(HASH, "voice", "en", "sent", message_sid=sid, status="accepted")
    assert storage.update_text_status(sid, "sent") == "updated"
    assert storage.update_text_status(sid, "delivered") == "updated"
    assert storage.update_text_status(sid, "sent") == "stale"  # late, out of order
    assert storage.update_text_status(sid, "queued") == "stale"
    assert storage.update_text_status("SM" + "2" * 32, "delivered") == "unknown"
    failed = "SM" + "3" * 32
    storage.settle_text(HASH, "voice", "en", "sent", message_sid=failed, status="accepted")
    assert storage.update_text_status(failed, "undelivered", "30003") == "updated"
    assert storage.update_text_status(failed, "delivered") == "stale"  # both final: the first one stands
    with storage.engine.connect() as conn:
        rows = conn.execute(select(texts_sent.c.message_sid, texts_sent.c.status, texts_sent.c.error_code)).all()
    assert {sid: (status, code) for sid, status, code in rows} == {sid: ("delivered", None), failed: ("undelivered", "30003")}


def test_purge_keeps_recent_rows_and_every_opt_out(storage):
    now = utcnow()
    old, recent = now - timedelta(days=401), now - timedelta(days=399)
    with storage.engine.begin() as conn:
        for at in (old, recent):
            conn.execute(usage_events.insert().values(at=at, channel="voice", event="call"))
            conn.execute(texts_sent.insert().values(number_hash=HASH, created_at=at, channel="voice", language="en", outcome="sent"))
        conn.execute(opt_outs.insert().values(number_hash=HASH, created_at=old))
        conn.execute(text_quota.insert().values(bucket="caller:x:2020-01-01", count=1, created_at=now - timedelta(days=3)))
        conn.execute(text_quota.insert().values(bucket="all:now", count=1, created_at=now))
    deleted = purge(storage, 400, now)
    assert (deleted["usage_events"], deleted["texts_sent"], deleted["text_quota"]) == (1, 1, 1)
    with storage.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(texts_sent)).scalar_one() == 1
        assert conn.execute(select(text_quota.c.bucket)).scalars().all() == ["all:now"]
    assert storage.is_opted_out(HASH)
    assert set(purge(storage, 400, now).values()) == {0}


def test_health_says_when_a_table_is_missing(storage):
    assert storage.health() == {"reachable": True, "schema": True}
    with storage.engine.begin() as conn:
        conn.execute(text("DROP TABLE usage_events"))
    assert storage.health() == {"reachable": True, "schema": False, "missing_tables": ["usage_events"]}


def test_the_downgrade_of_the_usage_migration_works(url):
    from alembic import command

    command.downgrade(alembic_config(url), "0001")
    store = Storage(url)
    assert "usage_events" in store.health()["missing_tables"]
    upgrade(url)
    assert store.health()["schema"] is True
    store.engine.dispose()
