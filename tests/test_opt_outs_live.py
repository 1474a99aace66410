"""Opt-outs made while the database is down, through gunicorn as the Procfile runs it, on PostgreSQL.

The database goes away for real: the line reaches PostgreSQL through a TCP proxy on loopback that
the test stops (tests/tcp_proxy.py). While it is down, three people opt out (a Twilio word, a word
only the line knows, one with punctuation): none gets a reply, nor any reply after, nor a "text
me" text. The server is then killed (as a crash), the database comes back, a new server starts on
the same instance folder, and the opt-outs are in the database within seconds, replayed from the
journal. Then one more opt-out while that server runs reaches the database within seconds of its
return, without a restart.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import select

from ivr.store.migrate import upgrade
from ivr.store.storage import Storage, opt_outs
from ivr.tools.simulator import Call, HttpTransport, Texter
from tests.apps import AUTH_TOKEN, OUR_NUMBER, make_env, path_to
from tests.live_server import Gunicorn
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PEOPLE = {"+16175550181": "STOP", "+16175550182": "PARAR", "+16175550183": "Stop!"}
LATER = "+16175550184"


def words_stored(storage) -> list[str]:
    with storage.engine.connect() as conn:
        return sorted(conn.execute(select(opt_outs.c.word)).scalars())


def wait_until(condition, seconds: float = 15.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def texter(server, sender: str) -> Texter:
    return Texter(HttpTransport(timeout=20), AUTH_TOKEN, server.url, sender=sender, to=OUR_NUMBER)


def test_opt_outs_made_while_the_database_is_down_reach_it_after_and_nobody_is_texted(tmp_path, twilio, postgres_url):
    upgrade(postgres_url)
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname, parts.port or 5432))
    through_proxy = urlunsplit(parts._replace(netloc=f"{parts.username + '@' if parts.username else ''}127.0.0.1:{proxy.port}"))
    env = make_env(tmp_path, twilio.url, DATABASE_URL=through_proxy, IVR_SMS_OPT_OUT_REPLIES="app", IVR_OPT_OUT_RETRY_SECONDS=0.25)
    direct = Storage(postgres_url)
    try:
        with Gunicorn(env, tmp_path / "first.log") as first:
            first.wait_ready()
            assert texter(first, "+16175550181").send("RECUR")  # the database is up
            proxy.down()
            for person, word in PEOPLE.items():
                one = texter(first, person)
                assert one.send(word) == [], word  # no confirmation of what the database did not take
                assert one.send("RECUR") == [] and one.send("2") == [], word  # silence while pending, in any worker
            c = Call(HttpTransport(timeout=20), AUTH_TOKEN, first.url, caller="+16175550182", called=OUR_NUMBER).start()
            for key in path_to("text"):
                c.press(key)
            assert "asked not to get text messages" in c.text
            assert texter(first, "+16175550189").send("RECUR")  # everyone else is still answered
            assert words_stored(direct) == []
            first.kill()  # a crash, with the database still down
        journal = tmp_path / "instance" / "opt-outs-pending.jsonl"
        assert journal.read_text().count("number_hash") >= 3

        proxy.up()
        with Gunicorn(env, tmp_path / "second.log") as second:
            second.wait_ready()
            took = wait_until(lambda: words_stored(direct) == ["PARAR", "STOP", "STOP"])
            assert took < 5, took
            assert all(texter(second, person).send("RECUR") == [] for person in PEOPLE)  # stored: still honoured

            proxy.down()
            assert texter(second, LATER).send("QUIT") == []
            proxy.up()
            back = time.monotonic()
            wait_until(lambda: len(words_stored(direct)) == 4)
            assert time.monotonic() - back < 5
            assert second.stop() == 0
            log = first.output() + second.output()
    finally:
        proxy.close()
        direct.engine.dispose()
    assert twilio.messages == []  # not one text to anyone who opted out
    assert "opt_out outcome=stored_from_journal" in log
    for person in [*PEOPLE, LATER]:
        assert person[2:] not in log
