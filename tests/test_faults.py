"""Faults, through a real gunicorn (the Procfile's command): the line keeps answering.

- Twilio's REST API answering 500, refusing (21610, 21614, 21211) or hanging 30 s: each caller
  hears what happened, and the other callers are served as fast as before meanwhile.
- The database refusing connections, never answering, or locked: every answer is still given.
- A broken prompts/: gunicorn refuses to start and says which file, key and why; a HUP reload with a
  broken prompts/ is refused and the running workers keep answering; a worker that dies then is
  started again and fails, and the others keep answering.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ivr.config import load_settings
from ivr.store.migrate import upgrade
from ivr.store.storage import DATABASE_WAIT_SECONDS, Storage, usage_events
from ivr.tools.simulator import Call, HttpTransport, Texter
from ivr.voice.text_me import RECORD_RESERVE_SECONDS, SHORTEST_SEND_SECONDS
from tests.apps import AUTH_TOKEN, OUR_NUMBER, make_env
from tests.instances import free_port
from tests.live_server import Gunicorn
from tests.prompt_edits import edit
from tests.text_me_burst import TimedTransport

pytestmark = pytest.mark.slow


def caller_number(n: int) -> str:
    return f"+1617555{100 + n:04d}"  # fictional 555-01XX numbers, one per caller


def first_words(text: str, count: int = 6) -> str:
    """The opening words of a prompt as they are heard ({pause} and the like are not words)."""
    return " ".join(re.sub(r"\{[a-z_]+\}", " ", text).split()[:count]).lower()


def call(url: str, number: str, times: list | None = None) -> Call:
    transport = TimedTransport(times) if times is not None else HttpTransport(timeout=20)
    return Call(transport, AUTH_TOKEN, url, caller=number, called=OUR_NUMBER).start()


def serve(tmp_path: Path, twilio_url: str, **extra) -> tuple[dict, Gunicorn]:
    env = make_env(tmp_path, twilio_url, **extra)
    if env["DATABASE_URL"].startswith("sqlite"):
        upgrade(env["DATABASE_URL"])
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        server.wait_ready()
    except BaseException:
        server.kill()  # never leave a server running after a failed test
        raise
    return env, server


# --- Twilio's REST API ----------------------------------------------------------------------------
def test_texts_that_fail_or_hang_at_twilio_do_not_slow_the_other_callers(tmp_path, twilio, line):
    words = line.scripts["en"]
    expected = {
        "hang": words.text("text.uncertain"),  # the text may still arrive: never told as a certain failure
        "500": words.text("text.temporary"),
        "21610": words.text("text.opted_out"),
        "21614": words.text("text.cannot_receive"),
        "21211": words.text("text.cannot_receive"),
    }
    faults = {caller_number(n): "hang" for n in range(6)}
    faults.update({caller_number(6): "500", caller_number(7): "21610", caller_number(8): "21614", caller_number(9): "21211"})
    for number, fault in faults.items():
        if fault == "hang":
            twilio.answer("hang", 30, to=number)
        elif fault == "500":
            twilio.answer("status", 500, to=number)
        else:
            twilio.answer("error", int(fault), to=number)
    _, server = serve(tmp_path, twilio.url)
    rest_timeout = 1.5  # IVR_REST_TIMEOUT in make_env
    with server:
        others: list = []
        done = threading.Event()

        def other_caller(n: int) -> int:
            calls = 0
            while not done.is_set():
                call(server.url, caller_number(20 + n), others).press("1").press("2").press("2")
                calls += 1
            return calls

        def faulty_caller(number: str) -> tuple[str, float, float, str]:
            c = call(server.url, number)
            started = time.monotonic()
            c.press("4")
            return number, started, time.monotonic() - started, c.text.lower()

        with ThreadPoolExecutor(8) as background:
            other_calls = [background.submit(other_caller, n) for n in range(6)]
            time.sleep(0.3)  # the other callers are under way
            with ThreadPoolExecutor(len(faults)) as pool:
                results = list(pool.map(faulty_caller, faults))
            done.set()
            assert sum(f.result() for f in other_calls) > 0
        assert server.stop() == 0

    window_start = min(started for _, started, _, _ in results)
    window_end = max(started + seconds for _, started, seconds, _ in results)
    for number, _, seconds, heard in results:
        fault = faults[number]
        assert first_words(expected[fault]) in heard, (fault, heard[:200])
        if fault == "hang":  # given up at the deadline, well inside Twilio's 15 s
            assert rest_timeout - 0.2 < seconds < rest_timeout + 2.5, (fault, seconds)
        else:
            assert seconds < 1.5, (fault, seconds)
    during = [(seconds, status) for started, seconds, status in others if window_start <= started <= window_end]
    assert len(during) >= 20, "the other callers were not served while texts hung"
    assert {status for _, status in during} == {200}
    latencies = sorted(seconds for seconds, _ in during)
    # nobody waited on a hanging text: every answer came well before the REST deadline
    assert latencies[-1] < rest_timeout, latencies[-5:]
    assert statistics.median(latencies) < 0.25, statistics.median(latencies)
    assert [m["To"] for m in twilio.messages if m["To"] in faults] != []  # the REST calls were made


# --- the database ---------------------------------------------------------------------------------
@pytest.fixture
def silent_database():
    """A TCP port that accepts connections and never says a word (a hung database server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener.getsockname()[1]
    listener.close()


@pytest.mark.parametrize("database", ["refused", "silent"])
def test_with_the_database_unreachable_every_answer_is_still_given(tmp_path, twilio, line, silent_database, database):
    port = free_port() if database == "refused" else silent_database
    url = f"postgresql://ivr@127.0.0.1:{port}/ivr"
    _, server = serve(tmp_path, twilio.url, DATABASE_URL=url)
    words = line.scripts["en"]
    with server:
        menus: list = []
        c = call(server.url, caller_number(1), menus).press("1").press("2")  # no database needed: fast
        assert first_words(words.words["answers"]["why"]) in c.text.lower()
        started = time.monotonic()
        c.press("4")  # the opt-out check cannot be made: nothing is sent, the numbers are read
        text_me = time.monotonic() - started
        assert first_words(words.text("text.temporary")) in c.text.lower()
        texter = Texter(HttpTransport(timeout=20), AUTH_TOKEN, server.url, sender=caller_number(2), to=OUR_NUMBER)
        started = time.monotonic()
        reply = texter.send("RECUR")
        sms = time.monotonic() - started
        assert texter.status == 200 and reply and reply[0].strip()
        server.kill()  # the usage writer would wait on the database at exit
    assert twilio.messages == []
    assert max(seconds for _, seconds, _ in menus[:3]) < 1.0
    # each query waits at most the connect time-out (3 s): well inside Twilio's 15 s
    assert text_me < 5 and sms < 10, (text_me, sms)


# Held past DATABASE_WAIT_SECONDS, SQLite's busy time-out gives up by design ("could not send"): the
# lock ends well inside it, and inside what the answer's budget leaves for the checks (text_me.py),
# with HEADROOM for a loaded machine: a late timer thread and SQLite's busy wait polling (up to 0.1 s).
HEADROOM = 1.0


def test_with_sqlite_locked_the_line_answers_and_records_everything_once_it_is_free(tmp_path, twilio, line):
    env, server = serve(tmp_path, twilio.url)
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    words = line.scripts["en"]
    checks_budget = load_settings(env).answer_within - RECORD_RESERVE_SECONDS - SHORTEST_SEND_SECONDS
    locked_for = min(DATABASE_WAIT_SECONDS, checks_budget) - HEADROOM
    assert locked_for >= 1.5, locked_for  # long enough for several calls during the lock
    with server:
        times: list = []
        lock = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        lock.execute("PRAGMA journal_mode=WAL")
        lock.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        locked_at = time.monotonic()
        unlocked = threading.Event()
        unlocked_at: list[float] = []

        def unlock() -> None:  # on time, whatever the callers' requests are doing (they once held it 0.6 s longer)
            lock.execute("COMMIT")
            unlocked_at.append(time.monotonic())
            unlocked.set()

        timer = threading.Timer(locked_for, unlock)
        timer.start()
        try:
            with ThreadPoolExecutor(1) as pool:
                texting = pool.submit(lambda: call(server.url, caller_number(3)).press("4"))
                texter = Texter(TimedTransport(times), AUTH_TOKEN, server.url, sender=caller_number(4), to=OUR_NUMBER)
                assert texter.send("RECUR")  # reads go on while another connection writes
                calls = 0
                while not unlocked.is_set():
                    call(server.url, caller_number(10 + calls), times).press("1").press("2")
                    calls += 1
                text_me = texting.result(timeout=20)
        finally:
            timer.cancel()
            timer.join()
        answered = len(times) + len(text_me.statuses)  # times has the texter too
        assert server.stop() == 0
    held = unlocked_at[0] - locked_at
    assert held < DATABASE_WAIT_SECONDS, f"the lock was held {held:.2f} s: the machine was too slow for the test to mean anything"
    during_lock = [seconds for started, seconds, _ in times if started < unlocked_at[0]]
    assert {status for _, _, status in times} == {200} and len(during_lock) >= 6, len(during_lock)
    assert max(during_lock) < 1.0, max(during_lock)
    # the text waited for the database (SQLite's busy time-out), then went out
    assert first_words(words.text("text.sent")) in text_me.text.lower(), f"lock held {held:.2f} s"
    assert len(twilio.messages) == 1
    storage = Storage(env["DATABASE_URL"])
    with storage.engine.connect() as conn:
        recorded = conn.execute(select(func.count()).select_from(usage_events)).scalar_one()
    storage.engine.dispose()
    assert recorded == answered  # the usage writer waited out the lock too: nothing lost


# --- a broken prompts/ ----------------------------------------------------------------------------
def break_welcome(prompts: Path) -> None:
    edit(prompts / "en" / "voice.yaml", "\nwelcome:", "\nwelcom:")


def test_gunicorn_refuses_to_start_with_a_broken_prompts_folder_and_says_why(tmp_path, twilio, prompts):
    break_welcome(prompts)
    env = make_env(tmp_path, twilio.url, IVR_PROMPTS_DIR=prompts)
    upgrade(env["DATABASE_URL"])
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    with server:
        try:
            status = server.process.wait(timeout=20)
        except Exception:
            raise AssertionError(f"gunicorn kept running with a broken prompts/:\n{server.output()[-2000:]}") from None
    output = server.output()
    assert status != 0
    assert "The line cannot start" in output and "en/voice.yaml: welcome:" in output and "missing" in output
    assert "Booting worker" not in output  # refused before any worker, not a worker restarted forever


def test_a_reload_with_a_broken_prompts_folder_is_refused_and_the_line_keeps_answering(tmp_path, twilio, prompts, line):
    welcome = line.scripts["en"].text("welcome")
    _, server = serve(tmp_path, twilio.url, IVR_PROMPTS_DIR=prompts)
    with server:
        wait_for(lambda: len(server.answering_workers()) == 2, server)  # both loaded prompts/ before it breaks
        workers = server.workers()
        assert first_words(welcome) in call(server.url, caller_number(1)).text.lower()
        times: list = []
        done = threading.Event()

        def keep_calling() -> None:
            n = 0
            while not done.is_set():
                call(server.url, caller_number(30 + n % 50), times).press("1")
                n += 1

        with ThreadPoolExecutor(2) as pool:
            callers = [pool.submit(keep_calling) for _ in range(2)]
            break_welcome(prompts)
            server.signal(signal.SIGHUP)
            wait_for(lambda: "Reload refused" in server.output(), server)
            time.sleep(1.0)  # calls go on after the refused reload
            done.set()
            for f in callers:
                f.result()
        assert "en/voice.yaml: welcome:" in server.output()
        assert server.workers() == workers  # the same workers: nothing was stopped
        assert times and {status for _, _, status in times} == {200}
        assert max(seconds for _, seconds, _ in times) < 1.0

        # fixed (and changed): the next reload takes it, with new workers
        edit(prompts / "en" / "voice.yaml", "\nwelcom: >-\n", "\nwelcome: >-\n  Welcome back.\n")
        server.signal(signal.SIGHUP)
        wait_for(lambda: server.workers() and not server.workers() & workers, server)
        wait_for(lambda: "welcome back" in call(server.url, caller_number(2)).text.lower(), server)
        assert server.stop() == 0


def test_a_worker_that_dies_while_prompts_are_broken_leaves_the_others_answering(tmp_path, twilio, prompts):
    _, server = serve(tmp_path, twilio.url, IVR_PROMPTS_DIR=prompts)
    with server:
        wait_for(lambda: len(server.answering_workers()) == 2, server)  # both loaded prompts/ before it breaks
        break_welcome(prompts)
        victim, survivor = sorted(server.workers())
        server_times: list = []
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            call(server.url, caller_number(5), server_times).press("1")
        assert {status for _, _, status in server_times} == {200}
        assert survivor in server.workers() and server.process.poll() is None
        wait_for(lambda: "The line cannot start" in server.output(), server)  # the new worker says why it cannot start
        assert server.output().count("The line cannot start") <= 2  # and is retried slowly, not in a tight loop


def wait_for(condition, server: Gunicorn, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting:\n{server.output()[-3000:]}")
