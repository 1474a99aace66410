"""Load: many calls and texts at once through a real gunicorn (the Procfile's command) for a few seconds.

Every webhook must be answered 200, and after a graceful stop every answered webhook must be in the
usage table: nothing lost between the request, the in-process queue and the database. Calls take
every kind of path (keys, speech, silence, transfers, text me the numbers) and texters send
keywords; each caller has a number of their own, so the text limits never refuse one.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import phonenumbers
import pytest
from sqlalchemy import func, select

from ivr.store.migrate import upgrade
from ivr.store.storage import Storage, texts_sent, usage_events
from ivr.tools.simulator import Call, HttpTransport, Texter
from ivr.voice import text_gate
from tests.apps import AUTH_TOKEN, OUR_NUMBER, make_env
from tests.live_server import Gunicorn

pytestmark = pytest.mark.slow

SECONDS = 4.0  # of load
AT_ONCE = 32  # simulated callers and texters at the same time


def numbers():
    """Distinct valid US numbers in the fictional 555-01XX range of every area code that "text me" texts
    (not Canada's or the Caribbean's, nor toll-free or premium-rate: see ivr/voice/text_gate.py)."""
    for area in range(201, 990):
        for line in range(100, 200):
            number = f"+1{area}555{line:04d}"
            parsed = phonenumbers.parse(number)
            if phonenumbers.is_valid_number(parsed) and text_gate.refusal(number, frozenset({"US"})) is None:
                yield number


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.failures: list[str] = []

    def add(self, **counts: int) -> None:
        with self.lock:
            self.counts.update(counts)

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what[:300])


def a_call(base_url: str, caller: str, rng: random.Random, tally: Tally) -> None:
    call = Call(HttpTransport(timeout=15), AUTH_TOKEN, base_url, caller=caller, called=OUR_NUMBER)
    texts_sent_before = 0
    try:
        call.start()
        journey = rng.choice(["keys", "speech", "silence", "transfer", "text"])
        if journey == "keys":
            call.press("1").press("2").press("1").press("2")  # about, why, hear it again, main menu
        elif journey == "speech":
            call.say("why did it come back").press("2").say("going through it again")
        elif journey == "silence":
            while call.waiting == "gather":  # the warnings, then the goodbye
                call.silence()
        elif journey == "transfer":
            call.press("3").press("1")  # talk with someone, NCI (or its closed-hours menu)
            if call.waiting == "dial":
                call.dial_ends(rng.choice(["completed", "busy", "no-answer", "failed"]))
        else:
            call.press("4")
            texts_sent_before = 1
        # "one moment" and each pause after it (a slow send) are answers, not usage events: the ticket's
        # URL asked N times means N of them (the first "4", then every ask but the last, the outcome)
        holds = sum(1 for e in call.events if e.kind == "http" and "/text/" in e.detail)
        tally.add(calls=1, answered=len(call.statuses), holds=holds, text_me=texts_sent_before, **{f"journey_{journey}": 1})
    except AssertionError as exc:  # a non-200 answer or TwiML Twilio would refuse
        tally.add(answered=sum(1 for s in call.statuses if s == 200), calls=1)
        tally.fail(f"call {journey if 'journey' in locals() else ''}: {exc}")


def a_texter(base_url: str, sender: str, rng: random.Random, tally: Tally) -> None:
    texter = Texter(HttpTransport(timeout=15), AUTH_TOKEN, base_url, sender=sender, to=OUR_NUMBER)
    bodies = rng.sample(["RECUR", "help", "3", "what is recurrence", "NCI", "reccur", "", "thank you"], 2)
    for body in bodies:
        try:
            texter.send(body)
            tally.add(texts=1, answered=1)
        except AssertionError as exc:
            tally.add(texts=1)
            tally.fail(f"text {body!r}: {exc}")


def test_many_calls_and_texts_at_once_are_all_answered_and_all_counted(tmp_path, twilio):
    env = make_env(tmp_path, twilio.url, IVR_TEXTS_PER_HOUR=1_000_000)
    upgrade(env["DATABASE_URL"])
    tally = Tally()
    pool_of_numbers = numbers()
    lock = threading.Lock()

    def next_number() -> str:
        with lock:
            return next(pool_of_numbers)

    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        deadline = time.monotonic() + SECONDS

        def simulated_person(seed: int) -> None:
            rng = random.Random(seed)
            while time.monotonic() < deadline:
                if rng.random() < 0.7:
                    a_call(server.url, next_number(), rng, tally)
                else:
                    a_texter(server.url, next_number(), rng, tally)

        with ThreadPoolExecutor(AT_ONCE) as pool:
            list(pool.map(simulated_person, range(AT_ONCE)))
        assert server.stop() == 0, server.output()[-2000:]
        log = server.output()

    counts = tally.counts
    assert tally.failures == [], tally.failures[:5]
    assert counts["calls"] >= 50 and counts["texts"] >= 20, counts  # it was load, not a trickle
    assert all(counts[f"journey_{j}"] for j in ("keys", "speech", "silence", "transfer", "text")), counts
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log

    storage = Storage(env["DATABASE_URL"])
    with storage.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(usage_events)).scalar_one()
        events = dict(conn.execute(select(usage_events.c.event, func.count()).group_by(usage_events.c.event)).all())
        sent_rows = conn.execute(select(func.count()).select_from(texts_sent).where(texts_sent.c.outcome == "sent")).scalar_one()
        text_events = conn.execute(
            select(func.count()).select_from(usage_events).where(usage_events.c.event == "text", usage_events.c.outcome == "sent")
        ).scalar_one()
    storage.engine.dispose()
    # every webhook answered is one usage event: none lost on the way to the database
    assert total == counts["answered"] - counts["holds"], (total, counts)
    assert events.get("call", 0) == counts["calls"]
    assert events.get("text_in", 0) == counts["texts"]
    # each "text me" sent exactly one text, recorded once as sent and once as a usage event
    assert len(twilio.messages) == sent_rows == text_events == counts["text_me"]
