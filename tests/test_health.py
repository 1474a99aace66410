"""GET /healthz, and the line answering from memory when its database is down."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, close, line_of, make_app
from tests.instances import free_port


def health(app) -> dict:
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_healthz_says_the_database_is_there_and_never_touches_twilio(tmp_path, twilio, database_url):
    app = make_app(tmp_path, twilio.url, database_url)
    body = health(app)
    assert body["answering"] is True
    assert body["database"] == {"ok": True, "reachable": True, "schema": True}
    assert body["usage"] == {"queued": 0, "recorded": 0, "written": 0, "dropped": 0, "failed": 0}
    assert twilio.requests == []
    close(app)


def test_healthz_needs_no_signature_and_answers_only_get(tmp_path, twilio):
    app = make_app(tmp_path, twilio.url, f"sqlite:///{tmp_path / 'h.sqlite3'}")
    client = app.test_client()
    assert client.get("/healthz", base_url="http://10.1.2.3:8000").status_code == 200
    assert client.post("/healthz").status_code == 405
    close(app)


def both_channels_answer(app, twilio) -> None:
    """A caller goes through the menus and asks for a text; a texter asks for the topics."""
    c = Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    assert "national cancer institute" in c.text.lower()
    c.press("1").press("2")
    assert "scientists do not know" in c.text.lower()
    c.press("4")
    assert "could not send a text message" in c.text  # honest: nothing was sent
    assert twilio.messages == []
    texter = Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    assert "1 What is recurrence" in texter.send("RECUR")[0]
    assert texter.send("HELP")[0]


def test_with_postgresql_unreachable_the_line_answers_from_memory_and_healthz_says_so(tmp_path, twilio, caplog):
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/test"
    app = make_app(tmp_path, twilio.url, url, migrate=False)
    with caplog.at_level(logging.WARNING):
        both_channels_answer(app, twilio)
        line = line_of(app)
        assert line.usage.flush(15)
    body = health(app)
    assert body["database"] == {"ok": False, "reachable": False, "schema": False, "error": "OperationalError"}
    assert body["usage"]["failed"] == 6 and body["usage"]["written"] == 0 and body["usage"]["last_error"] == "OperationalError"
    assert "usage outcome=failed" in caplog.text and "text_me outcome=temporary reason=database" in caplog.text
    assert CALLER[2:] not in caplog.text
    close(app)


def test_with_sqlite_tables_dropped_the_line_answers_and_healthz_names_them(tmp_path, twilio, caplog):
    app = make_app(tmp_path, twilio.url, f"sqlite:///{tmp_path / 'dropped.sqlite3'}")
    line = line_of(app)
    with line.storage.engine.begin() as conn:
        for table in ("usage_events", "opt_outs", "text_quota"):
            conn.execute(text(f"DROP TABLE {table}"))
    with caplog.at_level(logging.WARNING):
        both_channels_answer(app, twilio)
        assert line.usage.flush(15)
    body = health(app)
    assert body["database"] == {
        "ok": False,
        "reachable": True,
        "schema": False,
        "missing_tables": ["opt_outs", "text_quota", "usage_events"],
    }
    assert body["usage"]["failed"] == 6 and "usage outcome=failed" in caplog.text
    close(app)


@pytest.mark.parametrize("down", ["unreachable", "dropped"])
def test_stats_and_purge_say_in_one_line_that_the_database_is_down(tmp_path, twilio, down):
    if down == "unreachable":
        app = make_app(tmp_path, twilio.url, f"postgresql://nobody@127.0.0.1:{free_port()}/test", migrate=False)
    else:
        app = make_app(tmp_path, twilio.url, f"sqlite:///{tmp_path / 'd.sqlite3'}")
        with line_of(app).storage.engine.begin() as conn:
            conn.execute(text("DROP TABLE usage_daily"))
    runner = app.test_cli_runner()
    for args in (["stats"], ["purge"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and result.output.startswith("Error: ") and "Traceback" not in result.output
        assert "OperationalError" in result.output
    close(app)
