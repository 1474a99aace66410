"""What the README and docs/deploy.md state as fact about the code, checked against the code.

A guide that a clinic's IT person follows must not drift from what the line does: the connections
each worker opens (and the database plan the walkthrough picks with them).
"""

from __future__ import annotations

import re

from ivr.config import ROOT
from ivr.store.storage import make_engine

DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
ONE_OFF = 5  # the connections the rule keeps for one-off commands (migrate, purge, a heroku run)


def per_worker() -> int:
    """The most connections one worker's engine opens: its pool and the overflow above it."""
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # no connection is made here
    try:
        return engine.pool.size() + engine.pool._max_overflow
    finally:
        engine.dispose()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_connections_a_worker_opens_are_the_ones_the_docs_state():
    most = per_worker()
    assert f"opens at most **{most}** PostgreSQL connections" in _flat(DEPLOY)
    assert f"web dynos x `WEB_CONCURRENCY` x {most}, plus {ONE_OFF} for one-off commands" in _flat(DEPLOY)
    assert f"each worker process opens at most {most} PostgreSQL connections" in _flat(README)
    assert f"instances x workers x {most}, plus {ONE_OFF} for one-off commands" in _flat(README)


def test_the_walkthroughs_database_plan_fits_its_workers():
    plan = re.search(r"heroku addons:create heroku-postgresql:([\w-]+)", DEPLOY).group(1)
    workers = int(re.search(r"^\s*WEB_CONCURRENCY=(\d+)", DEPLOY, re.M).group(1))
    limits = {}
    for names, connections in re.findall(r"^\| ((?:`[\w-]+`(?:, )?)+) \| (\d+) \|", DEPLOY, re.M):
        for name in re.findall(r"`([\w-]+)`", names):
            limits[name] = int(connections)
    assert plan in limits, f"the plan {plan} is not in the guide's table of connection limits"
    assert 1 * workers * per_worker() + ONE_OFF <= limits[plan], f"{plan} allows {limits[plan]} connections"
    sums = re.findall(r"^\| .*\((\d+) x (\d+) x (\d+) \+ (\d+) = (\d+)\)", DEPLOY, re.M)
    assert len(sums) == 3, sums  # each row of the table shows its sum
    for row in sums:
        dynos, n, each, extra, total = map(int, row)
        assert (each, extra) == (per_worker(), ONE_OFF) and dynos * n * each + extra == total, row
