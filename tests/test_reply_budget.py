"""Reply budgets (ivr/store/reply_budget.py): per sender, the loop guard, the line's minute; on SQLite and PostgreSQL.

The counters are tested on their own with a clock the test moves, then through the text webhook:
an auto-responder, an exploring texter, STOP, START and HELP from a sender over budget, a notice in
the sender's language, and purge.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ivr.store.migrate import upgrade
from ivr.store.reply_budget import Budget, ReplyBudget, Verdict, window
from ivr.store.retention import purge
from ivr.store.storage import Storage, opt_outs, reply_counters
from ivr.tools.simulator import FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, OPEN_HOURS, OUR_NUMBER, line_of

NOW = datetime(2026, 11, 25, 16, 0, 5, tzinfo=UTC)
EXPLORING = ["RECUR", "1", "2", "3", "4", "5", "6", "7", "NCI", "HELP", "recur", "ASCO"]  # 12 texts


@pytest.fixture
def storage(database_url):
    upgrade(database_url)
    store = Storage(database_url)
    yield store
    store.engine.dispose()


def verdicts(budget: ReplyBudget, count: int, sender="s1", repeat=None, now=NOW, **kwargs) -> list[str]:
    return [str(budget.check(sender, repeat, now, **kwargs).verdict) for _ in range(count)]


def test_a_sender_gets_the_budget_then_one_notice_then_silence_until_the_window_passes(storage):
    budget = ReplyBudget(storage, Budget(hour=3, day=5, loop_repeats=0, line_per_minute=0))
    assert verdicts(budget, 6) == ["reply"] * 3 + ["notice", "silent", "silent"]
    assert budget.check("s1", None, NOW).notice is None
    assert budget.check("s2", None, NOW).verdict is Verdict.REPLY  # another sender has a budget of their own
    next_hour = NOW + timedelta(hours=1)
    decisions = [budget.check("s1", None, next_hour) for _ in range(4)]
    # the day counts only replies the hour let through: 3 of the first hour, 2 of this one, then the day's notice
    assert [(str(d.verdict), d.reason, d.notice) for d in decisions] == [
        ("reply", "ok", None),
        ("reply", "ok", None),
        ("notice", "day", "limit_day"),
        ("silent", "day", None),
    ]
    assert verdicts(budget, 1, now=NOW + timedelta(days=1)) == ["reply"]


def test_the_same_words_more_than_three_times_in_ten_minutes_get_silence(storage):
    budget = ReplyBudget(storage, Budget(hour=100, day=100, loop_repeats=3, loop_minutes=10, line_per_minute=0))
    assert verdicts(budget, 5, repeat="thanks") == ["reply"] * 3 + ["silent", "silent"]
    assert budget.check("s1", "thanks", NOW).reason == "loop"
    assert verdicts(budget, 1, repeat="other words") == ["reply"]
    later = NOW + timedelta(minutes=10)
    assert verdicts(budget, 1, repeat="thanks", now=later) == ["reply"]


def test_the_line_cap_silences_everyone_and_rolls_back_the_senders_counts(storage):
    budget = ReplyBudget(storage, Budget(hour=2, day=10, loop_repeats=0, line_per_minute=3))
    assert [str(budget.check(f"s{i}", None, NOW).verdict) for i in range(5)] == ["reply"] * 3 + ["silent"] * 2
    assert budget.check("s9", None, NOW, compliance=True).reason == "line"  # HELP too, once the line's minute is spent
    assert budget.count("hour", "s4", window(NOW, 3600)) == 0  # not this sender's doing: not counted against them
    next_minute = NOW + timedelta(minutes=1)
    assert budget.check("s4", None, next_minute).verdict is Verdict.REPLY


def test_help_and_compliance_texts_pass_a_spent_sender_budget(storage):
    budget = ReplyBudget(storage, Budget(hour=1, day=1, loop_repeats=1, line_per_minute=0))
    assert verdicts(budget, 3, repeat="x") == ["reply", "silent", "silent"]
    assert verdicts(budget, 3, repeat="x", compliance=True) == ["reply"] * 3


def test_concurrent_requests_count_exactly(storage):
    """40 requests at once from one sender: exactly the budget answered and one notice, on either database."""
    budget = ReplyBudget(storage, Budget(hour=10, day=100, loop_repeats=0, line_per_minute=0))
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def work():
        barrier.wait()
        for _ in range(2):
            verdict = str(budget.check("busy", None, NOW).verdict)
            with lock:
                results.append(verdict)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == sorted(["reply"] * 10 + ["notice"] + ["silent"] * 29)
    assert budget.count("hour", "busy", window(NOW, 3600)) == 40


def test_purge_deletes_counters_older_than_two_days(storage):
    budget = ReplyBudget(storage, Budget())
    budget.check("old", "old words", NOW - timedelta(days=3))
    budget.check("new", "new words", NOW)
    deleted = purge(storage, 400, now=NOW + timedelta(minutes=1))
    assert deleted["reply_counters"] == 4  # the old sender's loop, hour and day counters, and the line's minute then
    with storage.engine.connect() as conn:
        left = set(conn.execute(select(reply_counters.c.subject)).scalars())
    assert left == {"new", "new words", ""}


# --- through the text webhook --------------------------------------------------------------------
@pytest.fixture
def texter(app):
    def make(sender: str = "+16175550131") -> Texter:
        return Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender=sender, to=OUR_NUMBER)

    return make


def test_an_auto_responder_gets_three_replies_then_silence(texter, line):
    robot = texter()
    replies = [robot.send("Thanks! We got your message.") for _ in range(40)]
    assert all(replies[:3]) and replies[3:] == [[]] * 37


def test_an_exploring_texter_is_never_limited(texter, line):
    person = texter()
    for body in EXPLORING:
        reply = person.send(body)
        assert reply and "reached the most replies" not in reply[0], body


def test_a_sender_over_budget_gets_one_notice_in_their_language_then_silence(make_app):
    app = make_app(IVR_REPLY_BUDGET_HOUR=4)
    line = line_of(app)
    person = Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender="+16175550132", to=OUR_NUMBER)
    assert all(person.send(body) for body in ["RECURRENCIA", "1", "2", "3"])
    assert person.send("4") == [line.sms.text("es", "limit_hour")]
    assert "una hora" in line.sms.text("es", "limit_hour")
    assert person.send("5") == [] and person.send("AYUDA") == [line.sms.text("es", "help")]  # HELP answers anyone
    person.send("PARAR")  # STOP is always recorded, over budget or not
    with line.storage.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opt_outs)).scalar_one() == 1
    person.send("START")
    with line.storage.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opt_outs)).scalar_one() == 0


def test_the_window_passing_lifts_the_limit(make_app):
    moments = [OPEN_HOURS]
    app = make_app(IVR_REPLY_BUDGET_HOUR=2, clock=None)
    line = line_of(app)
    line.clock = lambda: moments[0]
    person = Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender="+16175550133", to=OUR_NUMBER)
    assert [bool(person.send(str(n))) for n in range(1, 6)] == [True, True, True, False, False]  # 2, the notice, silence
    moments[0] = OPEN_HOURS + timedelta(hours=1)
    assert person.send("RECUR")


def test_while_the_database_cannot_count_the_process_counts_in_memory(tmp_path, caplog):
    """A database with no counters table (every count fails): the budgets still hold, in this process."""
    broken = Storage(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    budget = ReplyBudget(broken, Budget(hour=3, day=10, loop_repeats=2, line_per_minute=7))
    assert verdicts(budget, 5) == ["reply"] * 3 + ["notice", "silent"]
    assert verdicts(budget, 3, sender="s2", repeat="same words") == ["reply", "reply", "silent"]
    # the line's minute: 4 answered above, 2 here, then 1 more
    assert [str(budget.check(f"o{i}", None, NOW).verdict) for i in range(2)] == ["reply", "silent"]
    assert budget.memory.run(lambda counts: counts.add("hour", "o1", window(NOW, 3600))) == 1  # undone: not theirs
    assert "reply budget counted in memory" in caplog.text
    broken.engine.dispose()


def unreachable(storage: Storage, folder) -> object:
    """Make a SQLite database unreachable mid-test: its folder moved away and the pooled connections
    closed, so every new connection fails ("unable to open database file"). Returns the undo."""
    away = folder.with_name(folder.name + "-away")
    storage.engine.dispose()
    folder.rename(away)
    return lambda: away.rename(folder)


def store_in_a_folder(tmp_path):
    """A migrated SQLite database in a folder of its own, which unreachable() can take away."""
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'ivr.sqlite3'}"
    upgrade(url)
    return Storage(url), folder


def test_an_outage_goes_on_from_the_last_count_the_database_gave_not_from_zero(tmp_path, caplog):
    """15 replies counted in the database, then it goes away: the hour's budget (20) has 5 left,
    then the one notice, then silence; from zero it would have given 20 more and a notice."""
    store, folder = store_in_a_folder(tmp_path)
    budget = ReplyBudget(store, Budget(hour=20, day=60, loop_repeats=3, line_per_minute=60))
    assert verdicts(budget, 15) == ["reply"] * 15
    assert budget.count("hour", "s1", window(NOW, 3600)) == 15
    back = unreachable(store, folder)
    try:
        assert verdicts(budget, 8) == ["reply"] * 5 + ["notice", "silent", "silent"]
        assert "reply budget counted in memory" in caplog.text
        # the line's minute too went on from the database's 15 (+ the 6 texts above that it paid for)
        assert budget.memory.run(lambda counts: counts.add("line", "", window(NOW, 60))) == 22
    finally:
        back()
    store.engine.dispose()


def test_an_outage_goes_on_from_the_counts_left_after_the_rules_took_theirs_off(tmp_path):
    """The counts seeded are those the transaction left: a text the line's minute refused (rolled
    back) and one over the hour (taken off the day) leave the counts as the database has them."""
    store, folder = store_in_a_folder(tmp_path)
    budget = ReplyBudget(store, Budget(hour=2, day=10, loop_repeats=0, line_per_minute=4))
    assert verdicts(budget, 4) == ["reply", "reply", "notice", "silent"]  # the notice is a text: the line's 3rd
    assert verdicts(budget, 2, sender="s2") == ["reply", "silent"]  # the line's 4th, then its minute is spent
    hour, day, line = window(NOW, 3600), window(NOW, 86400), window(NOW, 60)
    keys = [("hour", "s1", hour), ("day", "s1", day), ("hour", "s2", hour), ("day", "s2", day), ("line", "", line)]
    in_database = {(scope, subject): budget.count(scope, subject, start) for scope, subject, start in keys}
    assert in_database == {("hour", "s1"): 4, ("day", "s1"): 2, ("hour", "s2"): 1, ("day", "s2"): 1, ("line", ""): 4}
    back = unreachable(store, folder)
    try:
        memory = budget.memory._counts
        assert {(scope, subject): memory[(scope, subject, start)] for scope, subject, start in keys} == in_database
        assert budget.check("s3", None, NOW).reason == "line"  # still spent, in memory too
    finally:
        back()
    store.engine.dispose()


def test_an_auto_responder_gets_no_more_than_its_budget_when_the_database_goes_away_mid_burst(make_app, tmp_path):
    """Through the text webhook: 15 replies with the database, then it is unreachable; the robot gets
    5 more and the notice (21 in all, as with the database), not 20 more."""
    folder = tmp_path / "db"
    folder.mkdir()
    app = make_app(DATABASE_URL=f"sqlite:///{folder / 'ivr.sqlite3'}")
    line = line_of(app)
    robot = Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender="+16175550135", to=OUR_NUMBER)
    before = [robot.send(f"Thanks! We got your message. Ref {n}") for n in range(15)]
    assert all(before)
    back = unreachable(line.storage, folder)
    try:
        during = [robot.send(f"Thanks! We got your message. Ref {n}") for n in range(15, 40)]
    finally:
        back()
    assert robot.status == 200
    assert all(during[:5]) and during[5] == [line.sms.text("en", "limit_hour")] and during[6:] == [[]] * 19


def test_an_auto_responder_gets_no_more_replies_while_the_database_is_away(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}", migrate=False)
    robot = Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender="+16175550134", to=OUR_NUMBER)
    replies = [robot.send("Thanks! We got your message.") for _ in range(10)]
    assert all(replies[:3]) and replies[3:] == [[]] * 7


def test_the_database_counts_every_sequence_as_the_process_memory_does(storage):
    """One statement counts a text's loop, day, hour and line at once, and one takes off what the rules
    say never counted: 600 random texts from 4 senders in bursts an hour apart, over every budget, decided and counted exactly as
    MemoryCounts (one counter at a time, in this process) decides and counts them."""
    import random

    rules = Budget(hour=5, day=8, loop_repeats=2, loop_minutes=10, line_per_minute=20)
    database = ReplyBudget(storage, rules)
    memory = ReplyBudget(storage, rules)
    chance = random.Random(14)
    start = NOW
    seen: set = set()
    at = start
    for n in range(600):
        at += timedelta(minutes=61) if n % 60 == 59 else timedelta(seconds=2)  # bursts, and each hour's budget again
        sender = chance.choice(["a", "b", "c", "d", None])
        repeat = chance.choice([None, f"{sender}-same", f"{sender}-{n}"]) if sender else None
        compliance = chance.random() < 0.1
        expected = memory.memory.run(lambda counts: memory._decide(counts, sender, repeat, at, compliance))  # noqa: B023
        assert database.check(sender, repeat, at, compliance) == expected, n
        seen.add((str(expected.verdict), expected.reason))
    with storage.engine.connect() as conn:
        stored = {(r.scope, r.subject, r.window_start): r.count for r in conn.execute(reply_counters.select())}
    assert stored == {key: count for key, count in memory.memory._counts.items() if count or key in stored}
    every = {("reply", "ok"), ("silent", "loop"), ("silent", "line")}
    every |= {(verdict, budget) for verdict in ("notice", "silent") for budget in ("hour", "day")}
    assert seen == every  # every rule was met, and each the same way
