"""What the README and docs/deploy.md state as fact about the code, checked against the code.

A guide that a clinic's IT person follows must not drift from what the line does: the connections
each worker opens (and the database plan the walkthrough picks with them), and the welcome the
README quotes, with the time to its first choice.
"""

from __future__ import annotations

import re

from ivr.config import ROOT
from ivr.store.storage import make_engine
from ivr.tools.simulator import Call, FlaskTransport
from ivr.voice import budget
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, line_of

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


def _first_bullet(section: str) -> str:
    """The first bullet of a README section, on one line."""
    body = README.split(f"\n## {section}\n", 1)[1]
    return _flat(body.split("\n- ", 2)[1])


def test_the_readmes_welcome_is_what_a_caller_hears_first(app, make_app, call):
    """The README's first promise quotes the welcome: the offer of Spanish, the welcome, the first choice."""
    bullet = _first_bullet("What a caller gets")
    quoted = re.findall(r'"([^"]+)"', bullet)
    offer, welcome, first_choice, english_offer = quoted[:4]  # then the section it points to
    heard = _flat(call().text)
    assert heard.startswith(f"{offer} {welcome} {first_choice}"), heard[:300]
    spanish_line = make_app(IVR_NUMBER_LANGUAGES=f"{OUR_NUMBER}=es")
    spanish = Call(FlaskTransport(spanish_line.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    assert _flat(spanish.text).startswith(english_offer)
    for lang, the_app in (("en", app), ("es", spanish_line)):
        line = line_of(the_app)
        seconds = budget.measure(line.default_line.scripts[lang], line.settings.speech_rate).first_choice
        said = f"about {seconds:.1f} s"
        assert said in bullet, f"the README gives another time to the first choice of a line in {lang}: {said}"
