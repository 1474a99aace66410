"""No opt-out is ever lost: the word of each opt-out, opt-ins by Twilio's rules, failed writes and reads,
key rotation, and a line that refuses to start where it would forget opt-outs.

A database "down" here is a real one going away: PostgreSQL behind a TCP proxy on loopback that the
test stops (tests/tcp_proxy.py), or an SQLite file whose schema is not there yet.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import select

from ivr.config import ConfigError, load_settings
from ivr.store.migrate import upgrade
from ivr.store.opt_out_journal import OptOutJournal
from ivr.store.storage import Storage, opt_outs
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, OUR_NUMBER, line_of, make_env, path_to
from tests.tcp_proxy import TcpProxy

PERSON = "+16175550171"


def texter(app, sender: str = PERSON) -> Texter:
    return Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender=sender, to=OUR_NUMBER)


def rows(storage) -> list[tuple]:
    with storage.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(opt_outs.c.channel, opt_outs.c.word, opt_outs.c.by_twilio))]


# --- which word, and what lifts it -----------------------------------------------------------------
def test_each_opt_out_keeps_its_word_and_whether_twilio_acted_on_it(app, line):
    texter(app, "+16175550172").send("stop")
    texter(app, "+16175550173").send("No más")
    Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender="whatsapp:+16175550174", to="whatsapp:" + OUR_NUMBER).send(
        "STOP"
    )
    assert sorted(rows(line.storage), key=str) == sorted(
        [("sms", "STOP", True), ("sms", "NO MAS", False), ("whatsapp", "STOP", False)], key=str
    )


def test_stop_with_punctuation_opts_out_and_the_line_confirms_it(app, line):
    """Twilio acts only on the exact word: "STOP!" is the line's to record and to confirm (once)."""
    person = texter(app)
    assert person.send("STOP!") == [line.sms.text("en", "stop")]
    assert rows(line.storage) == [("sms", "STOP", False)]
    assert person.send("Stop.") == []  # already opted out: no second confirmation
    assert person.send("RECUR") == []
    assert person.send("Start!") == [line.sms.text("en", "start")]  # a line-only opt-out: any opt-in word lifts it
    assert person.send("RECUR")


def test_stop_please_says_how_to_opt_out_and_does_not(app, line):
    person = texter(app)
    assert person.send("stop please") == [line.sms.text("en", "no_more")]
    assert person.send("Cancel my texts now") == [line.sms.text("en", "no_more")]
    assert rows(line.storage) == []
    assert person.send("why did it not stop")  # an opt-out word later in a text: the usual reply
    assert person.send("why did it not stop") != [line.sms.text("en", "no_more")]


def test_empezar_after_twilios_stop_changes_nothing_and_start_does(app, line):
    """Twilio blocks every text to a number that sent its STOP until START, YES or UNSTOP: EMPEZAR cannot lift it."""
    person = texter(app)
    person.send("STOP")
    assert person.send("EMPEZAR") == []  # no reply: Twilio would not deliver one
    assert line.storage.is_opted_out(line.hash_number(PERSON))
    assert person.send("RECUR") == []
    assert person.send("START") == []  # Twilio confirms its own START (IVR_SMS_OPT_OUT_REPLIES=twilio)
    assert not line.storage.is_opted_out(line.hash_number(PERSON))
    assert person.send("RECUR")


def test_empezar_after_parar_lifts_it_and_the_line_confirms(app, line):
    person = texter(app)
    assert person.send("PARAR") == [line.sms.text("es", "stop")]
    assert person.send("EMPEZAR") == [line.sms.text("es", "start")]
    assert not line.storage.is_opted_out(line.hash_number(PERSON))


def test_an_opt_out_from_before_the_word_was_kept_counts_as_twilios(app, line):
    number_hash = line.hash_number(PERSON)
    with line.storage.engine.begin() as conn:
        conn.execute(opt_outs.insert().values(number_hash=number_hash, channel="sms", created_at=time_now()))
    assert texter(app).send("EMPEZAR") == []
    assert line.storage.is_opted_out(number_hash)


def time_now():
    from ivr.store.storage import utcnow

    return utcnow()


# --- a database that went away ---------------------------------------------------------------------
@pytest.fixture
def proxied(postgres_url):
    """(DATABASE_URL through a proxy that the test can stop, the proxy); the schema migrated."""
    upgrade(postgres_url)
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname, parts.port or 5432))
    netloc = f"{parts.username + '@' if parts.username else ''}127.0.0.1:{proxy.port}"
    yield urlunsplit(parts._replace(netloc=netloc)), proxy
    proxy.close()


def wait_until(condition, seconds: float = 10.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


@pytest.mark.postgres
def test_an_opt_out_made_while_the_database_is_down_is_honoured_then_stored(make_app, twilio, proxied, postgres_url, tmp_path):
    url, proxy = proxied
    app = make_app(DATABASE_URL=url, migrate=False, IVR_SMS_OPT_OUT_REPLIES="app", IVR_OPT_OUT_RETRY_SECONDS=0.2)
    line = line_of(app)
    direct = Storage(postgres_url)
    person = texter(app)
    assert person.send("RECUR")
    proxy.down()
    assert person.send("PARAR") == []  # not stored yet: no confirmation of what the database did not take
    assert line.opt_out_journal.pending() == 1
    assert "number_hash" in (tmp_path / "instance" / "opt-outs-pending.jsonl").read_text()
    assert person.send("RECUR") == [] and person.send("3") == []  # silence while it is pending
    assert person.send("EMPEZAR") == []  # START while pending: the opt-out stands (README)
    c = Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=PERSON, called=OUR_NUMBER).start()
    for key in path_to("text"):
        c.press(key)
    assert "asked not to get text messages" in c.text and twilio.messages == []
    assert texter(app, "+16175550175").send("RECUR")  # others are still answered (the read failed: no opt-out known)
    proxy.up()
    took = wait_until(lambda: rows(direct) == [("sms", "PARAR", False)])
    assert took < 3, took
    wait_until(lambda: line.opt_out_journal.pending() == 0)
    assert (tmp_path / "instance" / "opt-outs-pending.jsonl").read_text() == ""
    assert person.send("RECUR") == []  # stored: still honoured
    assert person.send("EMPEZAR") == [line.sms.text("es", "start")]  # and now START works
    direct.engine.dispose()


def test_a_journal_left_by_a_stopped_process_is_replayed_at_start_up(tmp_path):
    """The "across a restart" part: the journal on disk, a new process, the database back."""
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    storage = Storage(url)  # not migrated: no opt_outs table, every write fails
    journal_file = tmp_path / "instance" / "opt-outs-pending.jsonl"
    first = OptOutJournal(storage, journal_file, retry_seconds=0.1)
    first.add("a" * 64, "sms", "STOP", True)
    first.add("b" * 64, "whatsapp", "PARAR", False)
    assert first.store_pending() is False and first.pending() == 2
    storage.engine.dispose()
    upgrade(url)  # the database is back; the first process is gone
    second = OptOutJournal(Storage(url), journal_file, retry_seconds=0.1)
    assert second.holds("a" * 64, "sms") and not second.holds("a" * 64, "whatsapp")  # honoured before it is stored
    second.start()
    wait_until(lambda: len(rows(second.storage)) == 2)
    assert sorted(rows(second.storage)) == [("sms", "STOP", True), ("whatsapp", "PARAR", False)]
    wait_until(lambda: journal_file.read_text() == "")
    assert not second.holds("a" * 64, "sms")
    second.storage.engine.dispose()


def test_a_line_only_opt_out_word_after_a_failed_read_gets_no_reply(make_app, twilio, tmp_path):
    """The read fails (a table it reads is gone) but the write works: PARAR is stored and gets no confirmation."""
    url = f"sqlite:///{tmp_path / 'damaged.sqlite3'}"
    upgrade(url)
    app = make_app(DATABASE_URL=url, migrate=False, IVR_SMS_OPT_OUT_REPLIES="app")
    line = line_of(app)
    with line.storage.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE texter_language")
    assert texter(app).send("PARAR") == []
    assert rows(line.storage) == [("sms", "PARAR", False)]
    # Twilio's own word, with Twilio's confirmations off (app): the write said it is new, the line confirms it
    assert texter(app, "+16175550177").send("STOP") == [line.sms.text("en", "stop")]
    assert texter(app, "+16175550178").send("STOP!") == []  # the line's to confirm, but not after a failed read
    assert len(rows(line.storage)) == 3


# --- the key, and where opt-outs live -----------------------------------------------------------
def test_outside_development_mode_the_line_refuses_to_start_without_a_hash_key(tmp_path):
    env = {"TWILIO_AUTH_TOKEN": "x" * 32, "IVR_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"IVR_HASH_KEY is not set.*secrets\.token_hex\(32\)"):
        load_settings(env)
    assert load_settings({**env, "IVR_DEV_MODE": "true"}).hash_key == b""  # development: a key in instance/
    assert load_settings({**env, "IVR_HASH_KEY": "k" * 64}).hash_key == b"k" * 64


@pytest.mark.parametrize("key", ["abc", "k" * 31, "é" * 15])
def test_outside_development_mode_a_short_hash_key_is_refused_with_the_recipe(tmp_path, key):
    env = {"TWILIO_AUTH_TOKEN": "x" * 32, "IVR_INSTANCE_PATH": str(tmp_path), "IVR_HASH_KEY": key}
    refused = r"IVR_HASH_KEY is \d+ bytes long; it must be at least 32.*secrets\.token_hex\(32\).*IVR_HASH_KEY_OLD"
    with pytest.raises(ConfigError, match=refused):
        load_settings(env)
    assert load_settings({**env, "IVR_HASH_KEY": "k" * 32}).hash_key == b"k" * 32
    assert load_settings({**env, "IVR_DEV_MODE": "true"}).hash_key == key.encode()  # development: any key


def test_a_rotated_key_finds_the_old_opt_out_and_rehashes_it(make_app, twilio, tmp_path):
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    old = make_app(DATABASE_URL=url, IVR_HASH_KEY="the-old-key-" + "0" * 32)
    texter(old, PERSON).send("STOP")
    texter(old, "+16175550176").send("RECURRENCIA")  # a remembered language moves too
    old_hash = line_of(old).hash_number(PERSON)
    new = make_app(DATABASE_URL=url, IVR_HASH_KEY="the-new-key-" + "0" * 32, IVR_HASH_KEY_OLD="the-old-key-" + "0" * 32)
    line = line_of(new)
    assert texter(new, PERSON).send("RECUR") == []  # found under the old key's hash: still opted out
    assert line.storage.is_opted_out(line.hash_number(PERSON)) and not line.storage.is_opted_out(old_hash)
    assert texter(new, "+16175550176").send("2")[0].startswith("¿Por qué")
    without_old = make_app(DATABASE_URL=url, IVR_HASH_KEY="the-new-key-" + "0" * 32)
    assert texter(without_old, PERSON).send("RECUR") == []  # re-keyed: the old key is no longer needed for them
    with pytest.raises(ConfigError, match="IVR_HASH_KEY_OLD"):
        load_settings(make_env(tmp_path, twilio.url, IVR_HASH_KEY="same" * 8, IVR_HASH_KEY_OLD="same" * 8))
