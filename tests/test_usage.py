"""Usage counts without identities: what each call and text did, never a number or a message body.

The scripted-traffic tests run on SQLite and on the real PostgreSQL server (``database_url``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from ivr.privacy import NumberHasher
from ivr.store.migrate import upgrade
from ivr.store.storage import Storage, opt_outs, texts_sent, usage_events, utcnow
from ivr.store.usage import UsageRecorder, describe
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, close, line_of, make_app
from tests.instances import TEXTER, Router, scripted_traffic, usage_rows


def a_call(transport, caller: str = CALLER) -> Call:
    return Call(transport, AUTH_TOKEN, BASE_URL, caller=caller, called=OUR_NUMBER).start()


def test_a_call_records_each_step_with_the_number_only_as_a_keyed_hash(app_on, twilio):
    line = line_of(app_on)
    c = a_call(FlaskTransport(app_on.test_client()))
    c.press("1").press("2").press("1").press("4")  # about -> why -> hear it again -> text me
    assert "sent you a text" in c.text
    c.press("0").dial_ends("busy")
    rows = usage_rows(line)
    steps = [(r["event"], r["topic"], r["outcome"]) for r in rows]
    assert steps == [
        ("call", None, None),
        ("menu", "about", "menu"),
        ("answer", "why", "answer"),
        ("answer", "why", "repeat"),
        ("text", "numbers", "sent"),
        ("transfer", "nci", "started"),
        ("transfer", "nci", "busy"),
    ]
    assert {r["channel"] for r in rows} == {"voice"} and {r["language"] for r in rows} == {"en"}
    assert rows[0]["number_hash"] == line.hash_number(CALLER) and all(r["number_hash"] is None for r in rows[1:])
    refs = {r["call_ref"] for r in rows}
    assert len(refs) == 1 and None not in refs and c.params["CallSid"] not in refs
    assert rows[1]["input"] == "dtmf" and all(isinstance(r["at"], datetime) for r in rows)
    stored = json.dumps([list(r.values()) for r in rows], default=str)
    assert CALLER[2:] not in stored and CALLER[1:] not in stored


def test_a_key_during_the_fallback_is_a_transfer_not_a_second_fallback(app_on):
    line = line_of(app_on)
    c = Call(FlaskTransport(app_on.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER, path="/voice/fallback")
    c.start().interrupt("1")
    assert c.dialled
    steps = [(r["event"], r["topic"], r["outcome"]) for r in usage_rows(line)]
    assert steps == [("fallback", None, "fallback"), ("transfer", "nci", "started")]


def test_texts_record_the_keyword_never_the_body(app_on):
    line = line_of(app_on)
    texter = Texter(FlaskTransport(app_on.test_client()), AUTH_TOKEN, BASE_URL, sender=TEXTER, to=OUR_NUMBER)
    texter.send("recur please, I am Jane Roe at 617 555 0199")
    texter.send("3")
    texter.send("Zebra crossing mañana")
    texter.send("STOP")
    texter.send("RECUR")  # opted out: no reply
    assert texter.reply == ""
    rows = usage_rows(line)
    assert [(r["event"], r["keyword"], r["topic"], r["outcome"]) for r in rows] == [
        ("text_in", "recur", None, "reply"),
        ("text_in", "where", "where", "reply"),
        ("text_in", "unknown", None, "unknown"),
        ("text_in", "stop", None, "opted_out"),
        ("text_in", "recur", None, "silent_opted_out"),
    ]
    assert {r["channel"] for r in rows} == {"sms"} and {r["number_hash"] for r in rows} == {line.hash_number(TEXTER)}
    stored = json.dumps([list(r.values()) for r in rows], default=str).lower()
    for word in ("jane", "roe", "5550199", "zebra", "please", TEXTER[2:]):
        assert word not in stored


def test_refused_requests_record_nothing(app, client, line):
    assert client.post("/voice", base_url=BASE_URL, data={"From": CALLER}).status_code == 403
    assert client.post("/sms", base_url=BASE_URL, data={"From": CALLER, "Body": "STOP"}).status_code == 403
    assert usage_rows(line) == [] and line.usage.state()["recorded"] == 0


def test_only_short_tokens_are_stored_from_what_routes_note():
    row = describe("sms", "sms.inbound", {}, {"keyword": "I am Jane, call me", "outcome": "reply", "lang": "en"})
    assert row["keyword"] is None and row["outcome"] == "reply" and row["event"] == "text_in"
    row = describe("voice", "voice.choose", {"lang": "es"}, {"menu": "main", "choice": "x" * 300, "outcome": "something_new"})
    assert row == {"event": "choice", "language": "es", "topic": None, "outcome": "something_new", "keyword": None, "input": None}


def test_parallel_calls_through_two_instances_are_all_counted(tmp_path, twilio, database_url, caplog):
    """16 callers at once, each request answered by the next of two instances; limits and counts hold."""
    apps = [make_app(tmp_path, twilio.url, database_url, IVR_TEXTS_PER_CALLER_PER_DAY=2) for _ in range(2)]
    router = Router.of_apps(*apps)
    callers = [f"+1617555{i:04d}" for i in range(200, 216)]
    heard: dict[str, list[str]] = {}

    def caller(number):
        heard[number] = []
        for _ in range(3):
            c = a_call(router, number).press("4")
            heard[number].append(c.text)
            c.press("2").press("1")  # back at the main menu: going through it again -> how it is different

    with caplog.at_level(logging.WARNING):
        threads = [threading.Thread(target=caller, args=(n,)) for n in callers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert all(len(texts) == 3 for texts in heard.values())
    for texts in heard.values():
        assert ["sent you a text" in t for t in texts].count(True) == 2
        assert "already been sent the most text messages" in texts[-1]
    for app in apps:
        assert line_of(app).usage.flush(10)
    line = line_of(apps[0])
    with line.storage.engine.connect() as conn:
        counts = dict(conn.execute(select(usage_events.c.event, func.count()).group_by(usage_events.c.event)).all())
        outcomes = dict(
            conn.execute(select(usage_events.c.outcome, func.count()).where(usage_events.c.event == "text").group_by("outcome")).all()
        )
        sent = conn.execute(select(func.count()).select_from(texts_sent)).scalar_one()
        unique = conn.execute(select(func.count(func.distinct(usage_events.c.number_hash)))).scalar_one()
    assert counts == {"call": 48, "text": 48, "menu": 48, "answer": 48}
    assert outcomes == {"sent": 32, "limited": 16}
    assert sent == 32 and len(twilio.messages) == 32 and unique == 16
    assert sum(line_of(app).usage.state()["written"] for app in apps) == 48 * 4
    assert "locked" not in caplog.text and "usage outcome=failed" not in caplog.text
    assert min(router.served) > 50
    close(*apps)


def test_a_full_queue_drops_and_counts_but_never_blocks(tmp_path):
    """While the database is locked by someone else, recording keeps answering at once."""
    path = tmp_path / "locked.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    storage = Storage(url)
    recorder = UsageRecorder(storage, NumberHasher(b"k"), maxsize=3, batch=1)
    raw = (utcnow(), "voice", "voice.welcome", {}, {"lang": "en"}, CALLER, "CA1", {}, "main")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = datetime.now(UTC)
        for _ in range(6):
            recorder.record(raw)
        assert datetime.now(UTC) - started < timedelta(seconds=0.5)
        assert 1 <= recorder.dropped <= 3 and recorder.recorded + recorder.dropped == 6
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert recorder.flush(15)
    with storage.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar_one() == recorder.recorded == recorder.written
    storage.engine.dispose()


def test_a_recording_failure_is_logged_and_the_caller_hears_the_same(app, line, call, caplog):
    with line.storage.engine.begin() as conn:
        conn.execute(text("DROP TABLE usage_events"))
    with caplog.at_level(logging.ERROR):
        c = call().press("1").press("2")
        assert "scientists do not know" in c.text.lower()
        assert line.usage.flush(10)
    assert line.usage.state()["failed"] == 3 and "usage outcome=failed" in caplog.text
    assert CALLER[2:] not in caplog.text


# --- the report (scripted_traffic: tests/instances.py) -------------------------------------------
def test_the_stats_command_reports_real_numbers(app_on, twilio):
    scripted_traffic(app_on, twilio)
    line = line_of(app_on)
    assert line.usage.flush(10)
    today = datetime.now(UTC).date().isoformat()
    runner = app_on.test_cli_runner()
    result = runner.invoke(args=["stats", "--from", today, "--to", today, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["calls"] == {"total": 4, "daily_unique_callers": 2, "caller_id_withheld": 1, "languages": {"en": 4}}
    topics = {t["topic"]: (t["heard"], t["repeated"], t["texted"]) for t in data["topics"]}
    assert topics == {"why": (1, 0, 2), "harder": (1, 1, 0), "what": (1, 0, 0)}
    assert data["topics"][0]["topic"] == "why"  # most popular first
    assert data["transfers"] == {"asco": {"started": 1, "no-answer": 1}, "nci": {"started": 1, "completed": 1}}
    assert data["texts"]["asked_for"] == {"voice": {"no_caller_id": 1, "sent": 1}}
    assert data["texts"]["sent"] == {"voice": {"accepted": 1}}
    assert data["texts_in"]["total"] == 5 and data["texts_in"]["daily_unique_texters"] == 2
    assert data["texts_in"]["keywords"] == {"why": 2, "help": 1, "recur": 1, "stop": 1}
    assert data["texts_in"]["replies"] == {"reply": 3, "help": 1, "opted_out": 1}
    assert data["opt_outs"] == {
        "stop_texts": 1,
        "stop_texts_by_channel": {"sms": 1},
        "new": 1,
        "in_force_now": 1,
        "in_force_now_by_channel": {"sms": 1},
    }
    assert data["lines"] == {"main": {"calls": 4, "texts_in": 5}} and data["texts_in"]["channels"] == {"sms": 5}
    assert data["per_day"] == [{"day": today, "calls": 4, "texts_in": 5, "texts_asked": 2}]

    table = runner.invoke(args=["stats", "--from", today, "--to", today])
    assert table.exit_code == 0
    for line_text in ("calls", "unique callers", "Topics by popularity", "Transfers by outcome", "no-answer", "opted out now"):
        assert line_text in table.output
    rows = {" ".join(row.split()[:-1]): row.split()[-1] for row in table.output.splitlines() if row.startswith("  ") and row.split()}
    assert (
        rows["calls"] == "4"
        and rows["unique callers (each day's, added up)"] == "2"
        and rows["texts received"] == "5"
        and rows["opted out now"] == "1"
    )
    assert rows["why 1 0"] == "2" and rows["asco 1 0"] == "1"  # topics and transfers rows
    earlier = runner.invoke(args=["stats", "--from", "2020-01-01", "--to", "2020-01-31", "--json"])
    assert json.loads(earlier.output)["calls"]["total"] == 0
    bad = runner.invoke(args=["stats", "--from", "yesterday"])
    assert bad.exit_code != 0 and "not a date" in bad.output


def test_the_purge_command_deletes_what_is_older_than_the_retention(tmp_path, twilio):
    app = make_app(tmp_path, twilio.url, f"sqlite:///{tmp_path / 'p.sqlite3'}", IVR_RETENTION_DAYS=30)
    line = line_of(app)
    a_call(FlaskTransport(app.test_client())).press("4")
    old = utcnow() - timedelta(days=31)
    with line.storage.engine.begin() as conn:
        conn.execute(insert(usage_events).values(at=old, channel="voice", event="call"))
        conn.execute(insert(opt_outs).values(number_hash="f" * 64, created_at=old))
    assert line.usage.flush(10)
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "kept 30 days" in result.output and "deleted 1 usage events, 0 texts sent" in result.output
    assert "opt-outs are kept" in result.output
    assert len(usage_rows(line)) == 2 and line.storage.is_opted_out("f" * 64)
    result = app.test_cli_runner().invoke(args=["purge", "--days", "1"])
    assert "deleted 0 usage events" in result.output
    close(app)
