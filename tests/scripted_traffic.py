"""A scripted day of traffic through two instances, then the usage report. Not a test: a demonstration.

    .venv/bin/python -m tests.scripted_traffic [--calls 60] [--texts 40] [--database-url URL] [--json]

Plays calls and texts with the simulator (signed like Twilio) through two app instances sharing one
database (a router alternates requests between them), answers each sent text with a signed delivery
status, and prints what ``flask --app app stats`` prints for today. Texts go to the HTTP fake of
Twilio's REST API on loopback; some numbers are landlines (21614). The journeys are chosen with a
fixed seed, so a run is repeatable; the counts in the report come from the database, not from here.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
from pathlib import Path

from sqlalchemy import select

from ivr.store.storage import texts_sent, utcnow
from ivr.tools.simulator import Call, Texter, sign
from ivr.tools.stats import format_table, report
from tests.apps import ACCOUNT_SID, AUTH_TOKEN, BASE_URL, OUR_NUMBER, close, line_of, make_app
from tests.fake_twilio import FakeTwilio
from tests.instances import Router

JOURNEYS = [
    ["1", "1"],  # what is recurrence
    ["1", "2"],  # why
    ["1", "2", "1"],  # why, again
    ["1", "3"],  # where
    ["2", "1"],  # different
    ["2", "2", "4"],  # harder, then text me
    ["2", "3"],  # remember
    ["1", "4"],  # more information
    ["4"],  # text me
    ["0", "dial"],  # NCI
    ["3", "2", "dial"],  # ASCO
    ["silence", "silence", "silence"],  # says nothing: goodbye
    ["7", "1", "2"],  # not a choice, then why
]
TEXTS = ["RECUR", "recur please", "1", "2", "3", "7", "NCI", "HELP", "reccur", "what is it", "hello?", "STOP", "START"]
DIAL = ["completed", "completed", "completed", "busy", "no-answer", "failed"]


def play(router, rng: random.Random, calls: int, texts: int, callers: list[str], landlines: set[str]) -> None:
    for _ in range(calls):
        caller = rng.choice([*callers, "anonymous"])
        c = Call(router, AUTH_TOKEN, BASE_URL, caller=caller, called=OUR_NUMBER).start()
        for step in rng.choice(JOURNEYS):
            if c.waiting is None:
                break
            if step == "dial":
                c.dial_ends(rng.choice(DIAL))
            elif step == "silence":
                c.silence()
            else:
                c.press(step)
    for _ in range(texts):
        texter = Texter(router, AUTH_TOKEN, BASE_URL, sender=rng.choice([c for c in callers if c not in landlines]), to=OUR_NUMBER)
        texter.send(rng.choice(TEXTS))
    # one person opts out by text, is not answered afterwards, and is not texted when they call
    quitter = rng.choice([c for c in callers if c not in landlines])
    texter = Texter(router, AUTH_TOKEN, BASE_URL, sender=quitter, to=OUR_NUMBER)
    texter.send("STOP")
    assert texter.send("RECUR") == []
    c = Call(router, AUTH_TOKEN, BASE_URL, caller=quitter, called=OUR_NUMBER).start().press("4")
    assert "asked not to get text messages" in c.text


def deliver(router, storage, rng: random.Random) -> None:
    """Twilio's status callbacks for each text sent: mostly delivered, some failed, some late "sent"."""
    with storage.engine.connect() as conn:
        sids = conn.execute(select(texts_sent.c.message_sid).where(texts_sent.c.message_sid.is_not(None))).scalars().all()
    url = BASE_URL + "/sms/status"
    for sid in sids:
        fate = rng.random()
        if fate < 0.75:
            statuses = ["sent", "delivered"]
        elif fate < 0.85:
            statuses = ["undelivered"]
        elif fate < 0.95:
            statuses = ["delivered", "sent"]  # a late "sent" that must not undo "delivered"
        else:
            statuses = []  # no callback (yet)
        for status in statuses:
            params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
            if status == "undelivered":
                params["ErrorCode"] = "30003"
            code, _ = router.post(url, params, sign(AUTH_TOKEN, url, params))
            assert code == 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--texts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="ivr-traffic-"))
    database_url = args.database_url or f"sqlite:///{folder / 'ivr.sqlite3'}"
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    callers = [f"+1617555{n:04d}" for n in range(300, 325)]
    landlines = set(callers[:3])
    for number in landlines:
        fake.answer("error", 21614, to=number)
    apps = [make_app(folder / f"instance{n}", fake.url, database_url, IVR_TEXTS_PER_CALLER_PER_DAY=2) for n in (1, 2)]
    try:
        router = Router.of_apps(*apps)
        play(router, rng, args.calls, args.texts, callers, landlines)
        line = line_of(apps[0])
        deliver(router, line.storage, rng)
        for app in apps:
            assert line_of(app).usage.flush(15)
        today = utcnow().date()
        data = report(line.storage, today, today)
        print(json.dumps(data, indent=2) if args.json else format_table(data), end="")
        print(f"\n({router.served[0]} requests answered by instance 1, {router.served[1]} by instance 2; {len(fake.messages)} texts sent)")
    finally:
        close(*apps)
        fake.close()


if __name__ == "__main__":
    main()
