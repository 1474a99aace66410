"""SQLite with several writers at once: WAL and a busy time-out mean no "database is locked".

Each thread has its own engine (as separate processes on one machine would) and writes everything the
line writes: opt-outs, text limits, texts sent, delivery statuses and usage batches. A control run
with SQLite's defaults and no busy time-out shows the same load does lock without them.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, func, select, text

from ivr.store.migrate import upgrade
from ivr.store.storage import Storage, texts_sent, usage_events, utcnow

THREADS = 12
SECONDS = 1.5


def hammer(storage: Storage, i: int, stop: float, done: dict) -> None:
    n = 0
    while time.monotonic() < stop:
        number = f"{i:02d}{n % 7:062d}"
        storage.opt_out(number)
        storage.take_text_quota(number, 1000, 100000)
        sid = f"SM{i:02d}{n:030d}"
        storage.settle_text(number, "voice", "en", "sent", message_sid=sid, status="accepted")
        storage.update_text_status(sid, "delivered")
        storage.record_usage([{"at": utcnow(), "channel": "voice", "event": "call"}] * 5)
        storage.opt_in(number)
        n += 1
    done[i] = n


def run(stores, seconds: float = SECONDS) -> tuple[dict, list[BaseException]]:
    done: dict[int, int] = {}
    errors: list[BaseException] = []
    stop = time.monotonic() + seconds

    def body(i):
        try:
            hammer(stores[i], i, stop, done)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return done, errors


def test_many_threads_write_without_database_is_locked(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    upgrade(url)
    stores = [Storage(url) for _ in range(THREADS)]
    done, errors = run(stores)
    assert errors == []
    rounds = sum(done.values())
    assert rounds > THREADS  # every thread got work done, concurrently
    with stores[0].engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(select(func.count()).select_from(texts_sent).where(texts_sent.c.status == "delivered")).scalar_one() == rounds
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar_one() == 5 * rounds
    for store in stores:
        store.engine.dispose()


def test_the_same_load_locks_without_wal_and_busy_timeout(tmp_path):
    """The control: proves the test above exercises real contention."""
    url = f"sqlite:///{tmp_path / 'plain.sqlite3'}"
    upgrade(url)
    stores = []
    for _ in range(THREADS):
        store = Storage(url)
        store.engine = create_engine(url, connect_args={"timeout": 0, "check_same_thread": False})
        stores.append(store)
    with stores[0].engine.begin() as conn:
        conn.execute(text("PRAGMA journal_mode=DELETE"))
    _, errors = run(stores)
    assert errors and any("database is locked" in str(e) for e in errors)
    for store in stores:
        store.engine.dispose()
