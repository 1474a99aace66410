"""The per-day counts: the report they give equals the report counted from the raw events.

On SQLite and on the real PostgreSQL server (``database_url``): a scripted mix of calls and texts
through the webhooks today, events of earlier days through the same usage writer (a caller on
several days, a call across midnight, a Spanish call, texts), two instances writing at once, the
migration that builds the counts from events already stored, recount, purge and the time-out.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, insert, select, text

from ivr.store import recount as recount_module
from ivr.store.migrate import upgrade
from ivr.store.storage import ReportTimeout, Storage, usage_daily, usage_daily_unique, usage_events, usage_seen
from ivr.tools.simulator import Call, FlaskTransport, Texter
from ivr.tools.stats import report, report_from_events
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, close, line_of, make_app
from tests.instances import Router, scripted_traffic

A, B, C = "+16175550131", "+16175550132", "+16175550133"


def midnight(days_ago: int) -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def earlier_days(recorder) -> None:
    """Events of the last week through the app's own usage writer, as the webhooks would queue them."""

    def voice(at, sid, endpoint, notes, caller=None, lang=None):
        line = "north" if sid.endswith(("2", "late")) else "south"  # two lines of one deployment
        recorder.record((at, "voice", endpoint, {"lang": lang} if lang else {}, {"lang": lang or "en", **notes}, caller, sid, {}, line))

    def sms(at, sender, keyword, outcome, topic=None, channel="sms"):
        notes = {"keyword": keyword, "outcome": outcome, "topic": topic, "lang": "en"}
        recorder.record((at, channel, "sms.inbound", {}, notes, sender, None, {}, "north" if sender == A else "south"))

    for days_ago, caller in ((1, A), (1, B), (2, A), (5, A), (5, B), (2, "anonymous")):
        at = midnight(days_ago) + timedelta(hours=14, minutes=days_ago)
        sid = f"CA{days_ago}{caller[-4:]}"
        voice(at, sid, "voice.welcome", {}, caller)
        voice(at + timedelta(seconds=30), sid, "voice.choose", {"outcome": "answer", "choice": "why", "menu": "about"})
        voice(at + timedelta(seconds=60), sid, "voice.choose", {"outcome": "closed", "choice": "nci"})
    # a call across midnight: it began 3 days ago and heard an answer 2 days ago
    late = midnight(2) - timedelta(minutes=1)
    voice(late, "CAlate", "voice.welcome", {}, C)
    voice(late + timedelta(minutes=2), "CAlate", "voice.choose", {"outcome": "answer", "choice": "where"})
    # a Spanish call
    es = midnight(4) + timedelta(hours=9)
    voice(es, "CAes", "voice.welcome", {}, C, lang="es")
    voice(es + timedelta(seconds=20), "CAes", "voice.choose", {"outcome": "answer", "choice": "what"}, lang="es")
    voice(es + timedelta(seconds=40), "CAes", "voice.transfer_done", {"outcome": "dial_busy"}, lang="es")
    for days_ago, sender, keyword, outcome, topic in (
        (1, A, "recur", "reply", None),
        (1, A, "why", "reply", "why"),
        (3, A, "help", "help", None),
        (3, B, "stop", "opted_out", None),
        (6, B, "recur", "silent_opted_out", None),
    ):
        sms(midnight(days_ago) + timedelta(hours=10), sender, keyword, outcome, topic)
    sms(midnight(1) + timedelta(hours=11), A, "recur", "reply", channel="whatsapp")


RANGES = [(0, 0), (6, 0), (2, 1), (3, 2), (5, 5), (30, 0), (40, 35)]  # (days ago, days ago)


def assert_counts_equal_events(storage, lines=(None,)) -> dict:
    """The report from the counts equals the report from the events, for each range of RANGES and each line."""
    today = datetime.now(UTC).date()
    reports = {}
    for line in lines:
        for first, last in RANGES:
            start, end = today - timedelta(days=first), today - timedelta(days=last)
            from_counts, from_events = report(storage, start, end, line=line), report_from_events(storage, start, end, line=line)
            assert from_counts == from_events, f"{start}..{end}, line {line}"
            reports[(first, last) if line is None else (line, first, last)] = from_counts
    return reports


def test_the_report_from_the_counts_equals_the_report_from_the_events(app_on, twilio):
    line = line_of(app_on)
    scripted_traffic(app_on, twilio)
    earlier_days(line.usage)
    assert line.usage.flush(10)
    reports = assert_counts_equal_events(line.storage, lines=(None, "north", "south", "nowhere"))
    week = reports[(6, 0)]
    # what the scripted mix makes: not an empty report compared with an empty report
    assert week["calls"]["total"] == 4 + 6 + 2
    assert week["calls"]["caller_id_withheld"] == 2
    # each day's different callers, added up: A on 3 days, B on 2, C on 2 (3 and 4 days ago), and 2 today
    assert week["calls"]["daily_unique_callers"] == 3 + 2 + 2 + 2
    # the call across midnight is in English on both of its days; the Spanish call once
    assert week["calls"]["languages"] == {"en": 4 + 6 + 2, "es": 1}
    assert week["texts_in"]["channels"] == {"sms": 5 + 5, "whatsapp": 1}
    assert week["texts_in"]["total"] - 1 == 5 + 5 and week["texts_in"]["daily_unique_texters"] == 2 + 1 + 2 + 1
    assert week["transfers"]["nci"]["closed"] == 6 and week["transfers"]["nci"]["completed"] == 1
    assert [d["calls"] for d in week["per_day"]] == [0, 2, 1, 1, 2, 2, 4]  # 6 days ago: texts only
    assert reports[(2, 1)]["topics"] == [
        {"topic": "why", "heard": 4, "repeated": 0, "texted": 1},
        {"topic": "where", "heard": 1, "repeated": 0, "texted": 0},
    ]
    assert reports[(40, 35)]["calls"]["total"] == 0
    # one line: that line's people alone (B on days 1 and 5 and C's call across midnight were on "north")
    assert reports[("north", 6, 0)]["calls"]["daily_unique_callers"] == 3
    assert reports[("nowhere", 6, 0)]["calls"]["total"] == 0


def test_two_instances_writing_at_once_keep_the_counts_exact(tmp_path, twilio, database_url):
    """Callers and texters through two instances at once, and writers racing on the same keys."""
    apps = [make_app(tmp_path / f"i{n}", twilio.url, database_url, IVR_TEXTS_PER_CALLER_PER_DAY=1) for n in (1, 2)]
    router = Router.of_apps(*apps)

    def person(i):
        number = f"+1617555{400 + i % 10:04d}"  # 10 people, each calling and texting more than once
        for journey in (["1", "2", "1"], ["4"], ["0"]):
            c = Call(router, AUTH_TOKEN, BASE_URL, caller=number, called=OUR_NUMBER).start()
            for key in journey:
                c.press(key)
        texter = Texter(router, AUTH_TOKEN, BASE_URL, sender=number, to=OUR_NUMBER)
        for body in ("RECUR", "2", "HELP"):
            texter.send(body)

    threads = [threading.Thread(target=person, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not any(t.is_alive() for t in threads)
    for app in apps:
        assert line_of(app).usage.flush(15)
        assert line_of(app).usage.state()["failed"] == 0

    # and the writers themselves, 6 at once, batches that share every key, on earlier days
    stores = [Storage(line_of(apps[0]).settings.database_url) for _ in range(6)]
    rng = random.Random(17)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(40)]

    def writer(i):
        local = random.Random(i)
        for _ in range(15):
            rows = []
            for _ in range(40):
                at = midnight(local.choice((1, 2, 3))) + timedelta(seconds=local.randrange(86400))
                event = local.choice(("call", "answer", "text_in"))
                rows.append(
                    {
                        "at": at,
                        "channel": "sms" if event == "text_in" else "voice",
                        "event": event,
                        "language": local.choice(("en", "es")),
                        "topic": local.choice((None, "why", "what")),
                        "number_hash": local.choice(hashes) if event != "answer" else None,
                        "call_ref": None if event == "text_in" else f"{local.getrandbits(128):032x}",
                        "line": local.choice((None, "north", "south")),
                    }
                )
            for attempt in (1, 2):  # as the usage writer does: one more try after a lock it waited too long for
                try:
                    stores[i].record_usage(rows)
                    written[i] += len(rows)
                    break
                except Exception:
                    if attempt == 2:
                        raise
                    time.sleep(0.2)

    written = [0] * 6
    racers = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in racers:
        t.start()
    for t in racers:
        t.join(60)
    for store in stores:
        store.engine.dispose()
    assert written == [15 * 40] * 6

    storage = line_of(apps[0]).storage
    reports = assert_counts_equal_events(storage, lines=(None, "north", line_of(apps[0]).for_number(OUR_NUMBER).key))
    assert reports[(0, 0)]["calls"]["total"] == 60 and reports[(0, 0)]["calls"]["daily_unique_callers"] == 10
    assert reports[(0, 0)]["texts_in"]["total"] == 60
    with storage.engine.connect() as conn:
        assert (
            conn.execute(select(func.sum(usage_daily.c.events))).scalar_one()
            == conn.execute(select(func.count()).select_from(usage_events)).scalar_one()
        )
    assert min(router.served) > 80
    close(*apps)


def test_the_migration_counts_the_events_already_stored_in_batches(tmp_path, twilio, database_url, monkeypatch, capfd):
    """A database of the code before the counts: the migration builds them, a few days a transaction."""
    upgrade(database_url.replace("postgresql://", "postgresql+psycopg://"), "0003")
    old = make_app(tmp_path, twilio.url, database_url, migrate=False)
    storage = line_of(old).storage
    rng = random.Random(3)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(30)]
    calls = [f"{rng.getrandbits(128):032x}" for _ in range(750)]  # a keyed hash of each call's CallSid
    rows = []
    for i in range(3000):
        event = rng.choice(("call", "menu", "answer", "transfer", "text", "text_in"))
        rows.append(
            {
                "at": midnight(rng.randrange(20)) + timedelta(seconds=rng.randrange(86400)),
                "channel": "sms" if event == "text_in" else "voice",
                "event": event,
                "language": rng.choice(("en", "en", "es", None)),
                "topic": rng.choice((None, "why", "what", "nci")),
                "outcome": rng.choice((None, "sent", "busy", "reply", "repeat")),
                "keyword": rng.choice(("recur", "stop")) if event == "text_in" else None,
                "number_hash": rng.choice([*hashes, None]) if event in ("call", "text_in") else None,
                "call_ref": None if event == "text_in" else calls[i // 4],
            }
        )
    with storage.engine.begin() as conn:
        conn.execute(insert(usage_events), rows)
    monkeypatch.setattr(recount_module, "BATCH_EVENTS", 700)
    capfd.readouterr()
    upgrade(storage.url)
    progress = [line for line in capfd.readouterr().err.splitlines() if line.startswith("usage counts:")]
    assert len(progress) >= 4 and progress[-1].startswith("usage counts: 3,000 of 3,000 events counted (100%)")
    assert_counts_equal_events(storage)
    assert report(storage, *(datetime.now(UTC).date() - timedelta(days=d) for d in (19, 0)))["calls"]["total"] == sum(
        r["event"] == "call" for r in rows
    )
    close(old)


def test_recount_puts_right_what_the_old_code_wrote_without_counts(app_on, twilio):
    line = line_of(app_on)
    scripted_traffic(app_on, twilio)
    earlier_days(line.usage)
    assert line.usage.flush(10)
    today = datetime.now(UTC).date()
    with line.storage.engine.begin() as conn:  # as if today's events had been written by the code before the counts
        for table in (usage_daily, usage_daily_unique, usage_seen):
            conn.execute(delete(table).where(table.c.day == today))
    assert report(line.storage, today, today)["calls"]["total"] == 0
    result = app_on.test_cli_runner().invoke(args=["usage", "recount", "--days", "1"])
    assert result.exit_code == 0, result.output
    assert f"from {today} to {today}" in result.output and re.search(r"usage counts: (\d+) of \1 events counted \(100%\)", result.output)
    assert_counts_equal_events(line.storage)
    assert app_on.test_cli_runner().invoke(args=["usage", "recount", "--all"]).exit_code == 0
    assert_counts_equal_events(line.storage)


def test_purge_keeps_the_counts_longer_than_the_events(tmp_path, twilio):
    app = make_app(tmp_path, twilio.url, f"sqlite:///{tmp_path / 'p.sqlite3'}", IVR_RETENTION_DAYS=30, IVR_COUNTS_RETENTION_DAYS=60)
    line = line_of(app)
    for days_ago in (45, 70):
        line.usage.record(
            (midnight(days_ago) + timedelta(hours=12), "voice", "voice.welcome", {}, {"lang": "en"}, CALLER, f"CA{days_ago}", {}, None)
        )
    Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER).start()
    assert line.usage.flush(10)
    day45 = (midnight(45)).date()
    assert report(line.storage, day45, day45)["calls"]["daily_unique_callers"] == 1
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert (
        "deleted 2 usage events" in result.output
        and "4 first-of-the-day rows, 1 per-day count rows, 2 per-day unique count rows" in result.output
    )
    assert "per-day counts are kept 60 days" in result.output
    kept = report(line.storage, day45, day45)  # its events are gone, its counts stay
    assert kept["calls"]["total"] == 1 and kept["calls"]["daily_unique_callers"] == 1
    assert report_from_events(line.storage, day45, day45)["calls"]["total"] == 0
    day70 = midnight(70).date()
    assert report(line.storage, day70, day70)["calls"]["total"] == 0
    today = datetime.now(UTC).date()
    assert report(line.storage, today, today) == report_from_events(line.storage, today, today)
    with line.storage.engine.connect() as conn:
        assert conn.execute(select(func.min(usage_seen.c.day))).scalar_one() == today
    close(app)


# --- a heavy report stops with a clear message ---------------------------------------------------------
SLOW = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) SELECT count(*) FROM n",
    "postgresql": "SELECT pg_sleep(5)",
}


def test_a_heavy_report_is_stopped_by_the_database_at_its_own_time_out(database_url):
    upgrade(database_url.replace("postgresql://", "postgresql+psycopg://"))
    storage = Storage(database_url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.monotonic()
    with pytest.raises(ReportTimeout), storage.reporting(0.3) as conn:
        conn.execute(text(SLOW[storage.engine.dialect.name])).all()
    assert time.monotonic() - started < 3
    with storage.reporting(0.3) as conn:  # the connection is whole again, and a quick report passes
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    # one deadline for the report, not one for each of its statements
    quick = {
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT count(*) FROM n",
        "postgresql": "SELECT pg_sleep(0.1)",
    }[storage.engine.dialect.name]
    started = time.monotonic()
    with pytest.raises(ReportTimeout), storage.reporting(0.3) as conn:
        for _ in range(100):
            conn.execute(text(quick)).all()
    assert time.monotonic() - started < 2
    storage.engine.dispose()


def test_admin_and_stats_answer_a_stopped_report_with_a_clear_message(tmp_path, twilio, monkeypatch):
    app = make_app(
        tmp_path, twilio.url, f"sqlite:///{tmp_path / 't.sqlite3'}", IVR_ADMIN_USER="u", IVR_ADMIN_PASSWORD="p", IVR_REPORT_TIMEOUT="0.3"
    )

    def heavy(storage, start, end, timeout, line=None):  # a report too heavy for its time-out, stopped by SQLite itself
        with storage.reporting(timeout) as conn:
            conn.execute(text(SLOW["sqlite"])).all()

    from ivr.tools import stats

    monkeypatch.setattr(stats, "report", heavy)
    started = time.monotonic()
    response = app.test_client().get("/admin?days=365", headers={"Authorization": "Basic dTpw"})
    assert time.monotonic() - started < 5
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert response.get_data(as_text=True) == (
        "The usage numbers for 365 days took longer than 0.3 s to count and were stopped. Choose fewer days, or try again later.\n"
    )
    result = app.test_cli_runner().invoke(args=["stats", "--json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == "Error: the report took longer than 0.3 s and was stopped; ask for fewer days, or give it --timeout SECONDS\n"
    close(app)


def test_stats_from_events_checks_the_counts(app_on, twilio):
    scripted_traffic(app_on, twilio)
    assert line_of(app_on).usage.flush(10)
    runner = app_on.test_cli_runner()
    counted = runner.invoke(args=["stats", "--json"])
    checked = runner.invoke(args=["stats", "--json", "--from-events"])
    assert counted.exit_code == checked.exit_code == 0
    assert json.loads(counted.output) == json.loads(checked.output) and json.loads(counted.output)["calls"]["total"] == 4
