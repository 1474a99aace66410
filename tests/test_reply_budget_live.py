"""Reply budgets through a real gunicorn (the Procfile's command), texts posted at once from many threads.

- 1,000 texts from one auto-responder get at most the budgeted replies: IVR_REPLY_BUDGET_HOUR (20)
  and the one notice, counted exactly across both workers and their threads.
- 100 distinct senders x 5 texts each are all answered, and an exploring texter (RECUR, 1 to 7, NCI,
  HELP ...: 12 texts) is never limited, at the same time.

The line-wide minute is raised here (IVR_LINE_REPLIES_PER_MINUTE=2000): 500 answers in a few
seconds are the point of the test, and the line's cap has its own test (test_reply_budget.py).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.config import load_settings
from ivr.content.prompts import load
from ivr.store.migrate import upgrade
from ivr.tools.simulator import HttpTransport, Texter
from tests.apps import AUTH_TOKEN, OUR_NUMBER, make_env
from tests.live_server import Gunicorn

pytestmark = pytest.mark.slow

EXPLORING = ["RECUR", "1", "2", "3", "4", "5", "6", "7", "NCI", "HELP", "recur", "ASCO"]
HOUR = 20


def texter(url: str, sender: str) -> Texter:
    return Texter(HttpTransport(timeout=20), AUTH_TOKEN, url, sender=sender, to=OUR_NUMBER)


def test_an_auto_responder_gets_the_budget_and_every_person_is_answered(tmp_path, twilio):
    env = make_env(tmp_path, twilio.url, IVR_LINE_REPLIES_PER_MINUTE=2000)
    upgrade(env["DATABASE_URL"])
    settings = load_settings(env)
    notice = load(settings.prompts_dir).languages["en"].sms["limit_hour"].split(":")[1].split(".")[0].strip()
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        robot = "+16175550150"
        hour_before = time.time() // 3600

        def auto_reply(n: int) -> list[str]:
            return texter(server.url, robot).send(f"Thanks! We got your message. Ref {n}")

        def person(n: int) -> list[list[str]]:
            one = texter(server.url, f"+1617555{2000 + n:04d}")
            return [one.send(body) for body in ("RECUR", str(1 + n % 7), "NCI", "HELP", "why")]

        with ThreadPoolExecutor(24) as pool:
            robot_replies = pool.map(auto_reply, range(1000))
            people = pool.map(person, range(100))
            explorer = texter(server.url, "+16175550160")
            explored = [explorer.send(body) for body in EXPLORING]
            robot_replies, people = list(robot_replies), list(people)
        same_hour = time.time() // 3600 == hour_before
        assert server.stop() == 0
        log = server.output()

    answered = [r[0] for r in robot_replies if r]
    notices = [r for r in answered if notice in r]
    if same_hour:
        assert len(answered) == HOUR + 1 and len(notices) == 1, (len(answered), len(notices))
    else:  # the test ran across the top of an hour: two windows
        assert len(answered) <= 2 * (HOUR + 1) and 1 <= len(notices) <= 2
    assert all(len(texts) == 5 and all(texts) for texts in people), [t for t in people if not all(t)][:3]
    assert sum(len(texts) for texts in people) == 500
    assert all(reply and notice not in reply[0] for reply in explored)
    assert "Traceback" not in log


@pytest.mark.postgres
def test_the_counters_add_up_across_two_instances_on_postgresql(tmp_path, twilio, postgres_url):
    """Two gunicorns on one PostgreSQL, an auto-responder's texts sent to both at once: one budget, exactly."""
    from sqlalchemy import select

    from ivr.store.storage import Storage, reply_counters

    upgrade(postgres_url)
    env = make_env(tmp_path, twilio.url, DATABASE_URL=postgres_url, IVR_LINE_REPLIES_PER_MINUTE=2000)
    started = [Gunicorn({**env, "IVR_INSTANCE_PATH": str(tmp_path / f"i{n}")}, tmp_path / f"gunicorn-{n}.log") for n in (1, 2)]
    try:
        for instance in started:
            instance.wait_ready()
        hour_before = time.time() // 3600

        def auto_reply(n: int) -> tuple[int, list[str]]:
            return n % 2, texter(started[n % 2].url, "+16175550151").send(f"Out of office, ticket {n}")

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(auto_reply, range(120)))
        same_hour = time.time() // 3600 == hour_before
    finally:
        for instance in started:
            instance.stop()
    answered_by = [index for index, replies in results if replies]
    if same_hour:
        assert len(answered_by) == HOUR + 1, len(answered_by)
    else:
        assert len(answered_by) <= 2 * (HOUR + 1)
    assert set(answered_by) == {0, 1}  # both instances answered some: one budget between them
    storage = Storage(postgres_url)
    with storage.engine.connect() as conn:
        counted = dict(conn.execute(select(reply_counters.c.scope, reply_counters.c.count).where(reply_counters.c.scope != "line")).all())
    storage.engine.dispose()
    if same_hour:
        assert counted["hour"] == 120 and counted["day"] == HOUR  # every text counted once; the day counts the replies
