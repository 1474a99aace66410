#!/usr/bin/env python3
"""Time the usage reports over a year of a busy line: /admin?days=7|30|365 and ``stats`` for a year.

    .venv/bin/python bench/usage_reports.py                     # SQLite and PostgreSQL, 3,000,000 events
    .venv/bin/python bench/usage_reports.py --events 300000 --databases sqlite --no-compare   # a quick look

For each database it:
1. makes the schema of the code before the counts (migrations up to 0003) and fills it with
   ``--events`` usage events over 365 days by bulk inserts (SQLite: executemany in one transaction;
   PostgreSQL: COPY), with texts sent and opt-outs beside them: about 1,600 calls a day with their
   menus, answers, transfers and texts, inbound texts, 300,000 different numbers (keyed-hash-like);
2. runs the migration that builds the per-day counts from them (``flask --app app migrate`` does the
   same) and times it;
3. times ``GET /admin?days=7|30|365`` through the app (Flask's test client, in this process; each 5
   times, median and worst), the year's ``stats`` report (``report`` + ``format_table`` in this
   process) and ``flask --app app stats`` for the year as a new process (Python and the line's
   start-up included), with its peak RSS;
4. with ``--compare`` (the default), the year's report counted from the raw events as before, once;
5. checks the counts against the events for the last 7 days (the same report, both ways).

PostgreSQL is the server at 127.0.0.1:5432, database ``test`` (as for the tests), in a schema of its
own that is dropped at the end. SQLite is a file in a temporary folder, deleted at the end (``--keep``
keeps both). Prints the figures and appends them to bench/usage_results.md. Not a test: run it now and
then, not on every change (it fills about 1.5 GB of disk per database for a while).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.app import create_app  # noqa: E402
from ivr.config import load_settings  # noqa: E402
from ivr.store.migrate import upgrade  # noqa: E402
from ivr.tools import stats  # noqa: E402
from tests.postgres import find_server, schema_url  # noqa: E402

RESULTS = Path(__file__).with_name("usage_results.md")
USER, PASSWORD = "bench", "bench-password"
DAYS = 365
NUMBERS = 300_000
TARGET_SECONDS = 1.0
COLUMNS = ("at", "channel", "event", "language", "topic", "outcome", "keyword", "input", "number_hash", "call_ref")

ANSWERS = ["what", "why", "where", "different", "harder", "remember", "more_info", "treatment", "trials", "coping", "family", "talk"]
MENUS = ["main", "about", "coping", "contacts"]
CONTACTS = ["nci", "asco", "local"]
DIAL = ["completed"] * 6 + ["busy", "no-answer", "failed", "canceled"]
TEXT_OUTCOMES = ["sent"] * 8 + ["limited", "opted_out", "no_caller_id", "cannot_receive"]
KEYWORDS = [("recur", "reply", None)] * 5 + [
    ("why", "reply", "why"),
    ("what", "reply", "what"),
    ("where", "reply", "where"),
    ("help", "help", None),
    ("nci", "reply", "nci"),
    ("unknown", "unknown", None),
    ("stop", "opted_out", None),
    ("start", "opted_in", None),
]
STATUSES = ["delivered"] * 8 + ["undelivered", "failed", "sent", None]


def generate(total: int, seed: int = 17):
    """Yield (usage rows as tuples in COLUMNS order), then (texts sent), then (opt-outs); about ``total`` events."""
    rng = random.Random(seed)
    numbers = [os.urandom(32).hex() for _ in range(NUMBERS)]
    weights = [1 / (1 + i) ** 0.6 for i in range(NUMBERS)]  # some people call often, most once or twice
    cumulative = list(_accumulate(weights))
    per_day = total / DAYS
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    events: list[tuple] = []
    sent: list[tuple] = []
    produced = 0
    for day_index in range(DAYS):
        start = today - timedelta(days=DAYS - 1 - day_index)
        made = 0
        target = int(per_day * (day_index + 1)) - int(per_day * day_index)
        while made < target:
            at = start + timedelta(seconds=rng.randrange(6 * 3600, 86_000))
            number = numbers[_pick(rng, cumulative)]
            if rng.random() < 0.42:  # an inbound text (about 13% of the events)
                keyword, outcome, topic = rng.choice(KEYWORDS)
                events.append((at, "sms", "text_in", "en" if rng.random() < 0.85 else "es", topic, outcome, keyword, None, number, None))
                made += 1
                continue
            language = "en" if rng.random() < 0.85 else "es"
            ref = os.urandom(16).hex()
            caller = number if rng.random() > 0.03 else None  # caller ID withheld
            events.append((at, "voice", "call", language, None, None, None, None, caller, ref))
            made += 1
            for step in range(rng.randrange(1, 7)):
                at += timedelta(seconds=20 + rng.randrange(40))
                kind = rng.random()
                if kind < 0.3:
                    row = ("menu", rng.choice(MENUS), "menu")
                elif kind < 0.75:
                    row = ("answer", rng.choice(ANSWERS), "repeat" if rng.random() < 0.1 else "answer")
                elif kind < 0.87:
                    contact = rng.choice(CONTACTS)
                    events.append((at, "voice", "transfer", language, contact, "started", None, "dtmf", None, ref))
                    made += 1
                    row = ("transfer", contact, rng.choice(DIAL))
                    at += timedelta(seconds=60 + rng.randrange(600))
                elif kind < 0.97:
                    outcome = rng.choice(TEXT_OUTCOMES)
                    row = ("text", "numbers", outcome)
                    if caller and outcome in ("sent", "cannot_receive"):
                        status = rng.choice(STATUSES) if outcome == "sent" else None
                        sent.append((caller, at, "voice", language, outcome, f"SM{os.urandom(16).hex()}", status, None))
                else:
                    row = ("fallback", None, "11200")
                events.append((at, "voice", *row[:1], language, row[1], row[2], None, "dtmf" if step else None, None, ref))
                made += 1
        if len(events) >= 200_000 or day_index == DAYS - 1:
            events = events[: total - produced]  # exactly ``total`` in all
            produced += len(events)
            yield "events", events
            events = []
    yield "texts_sent", sent
    yield "opt_outs", [(numbers[i], today - timedelta(days=rng.randrange(DAYS))) for i in rng.sample(range(NUMBERS), 3_000)]


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    return bisect.bisect_left(cumulative, rng.random() * cumulative[-1])


# --- filling each database ---------------------------------------------------------------------------
def fill_sqlite(path: Path, total: int) -> tuple[int, float]:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    started = time.monotonic()
    count = 0

    def stamp(at: datetime) -> str:  # as SQLAlchemy stores a DateTime on SQLite
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")

    with conn:
        for table, rows in generate(total):
            if table == "events":
                conn.executemany(
                    f"INSERT INTO usage_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                    [(stamp(r[0]), *r[1:]) for r in rows],
                )
                count += len(rows)
                print(f"  sqlite: {count:,} events", file=sys.stderr, end="\r")
            elif table == "texts_sent":
                columns = "number_hash, created_at, channel, language, outcome, message_sid, status, error_code"
                conn.executemany(
                    f"INSERT INTO texts_sent ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(r[0], stamp(r[1]), *r[2:]) for r in rows]
                )
            else:
                conn.executemany(
                    "INSERT OR IGNORE INTO opt_outs (number_hash, created_at) VALUES (?, ?)", [(h, stamp(at)) for h, at in rows]
                )
    conn.close()
    print(file=sys.stderr)
    return count, time.monotonic() - started


def fill_postgres(url: str, total: int) -> tuple[int, float]:
    import psycopg

    started = time.monotonic()
    count = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for table, rows in generate(total):
            columns = {
                "events": ("usage_events", COLUMNS),
                "texts_sent": (
                    "texts_sent",
                    ("number_hash", "created_at", "channel", "language", "outcome", "message_sid", "status", "error_code"),
                ),
                "opt_outs": ("opt_outs", ("number_hash", "created_at")),
            }[table]
            if table == "opt_outs":
                rows = list({r[0]: r for r in rows}.values())
            with cur.copy(f"COPY {columns[0]} ({', '.join(columns[1])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if table == "events":
                count += len(rows)
                print(f"  postgresql: {count:,} events", file=sys.stderr, end="\r")
        conn.commit()
        cur.execute("ANALYZE")
    print(file=sys.stderr)
    return count, time.monotonic() - started


# --- timing ------------------------------------------------------------------------------------------
def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def measure(name: str, database_url: str, folder: Path, compare: bool, repeat: int) -> dict:
    env = {
        "DATABASE_URL": database_url,
        "IVR_INSTANCE_PATH": str(folder / f"instance-{name}"),
        "IVR_HASH_KEY": "bench-" + "0" * 32,  # IVR_HASH_KEY needs 32 bytes or more outside development mode
        "IVR_ADMIN_USER": USER,
        "IVR_ADMIN_PASSWORD": PASSWORD,
    }
    settings = load_settings(env)
    app = create_app(settings)
    client = app.test_client()
    login = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    storage = app.extensions["ivr"].storage
    result: dict = {}
    for days in (7, 30, 365):

        def page(days=days):
            response = client.get(f"/admin?days={days}", headers=login)
            assert response.status_code == 200, response.get_data(as_text=True)

        result[f"/admin?days={days}"] = timed(page, repeat)
    today = datetime.now(UTC).date()
    year = (today - timedelta(days=DAYS - 1), today)
    result["stats report, a year (in process)"] = timed(lambda: stats.format_table(stats.report(storage, *year)), repeat)
    # The command as typed, in a new process: Python's and the line's start-up are in it (see "start-up only")
    command = ["stats", "--from", year[0].isoformat(), "--to", year[1].isoformat()]
    result["flask --app app stats, a year (new process)"], cpu, rss = _command(command, env)
    result["  its CPU time, s"] = cpu
    result["  its peak RSS, MB"] = rss
    empty = {**env, "DATABASE_URL": f"sqlite:///{folder / 'empty.sqlite3'}"}
    upgrade(empty["DATABASE_URL"])
    result["start-up only: the same command on an empty database"], cpu, _ = _command(command, empty)
    result["  its CPU time, s "] = cpu
    data = stats.report(storage, *year)
    result["year"] = {
        "calls": data["calls"]["total"],
        "texts_in": data["texts_in"]["total"],
        "daily_unique_callers": data["calls"]["daily_unique_callers"],
    }
    week = (today - timedelta(days=6), today)
    result["counts equal events, last 7 days"] = stats.report(storage, *week) == stats.report_from_events(storage, *week, timeout=600)
    if compare:
        started = time.perf_counter()
        stats.report_from_events(storage, *year, timeout=600)
        result["before: the year's report from the raw events"] = time.perf_counter() - started
    storage.engine.dispose()
    return result


# Runs the flask command and reports its own CPU time and peak RSS (a child's, not this big process's).
CHILD = """
import resource, runpy, sys
sys.argv = ["flask", "--app", "app", *sys.argv[1:]]
try:
    runpy.run_module("flask", run_name="__main__")
finally:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # its ru_maxrss would be the forking parent's: VmHWM instead
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1]
    print(f"BENCH {usage.ru_utime + usage.ru_stime} {int(hwm) / 1024}", file=sys.stderr)
"""


def _command(args: list[str], env: dict, repeat: int = 3) -> tuple[tuple[float, float], float, float]:
    times, cpus, rsses = [], [], []
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "DATABASE_URL"))}, **env}
    for _ in range(repeat):
        started = time.perf_counter()
        process = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - started)
        assert process.returncode == 0, process.stderr
        _, cpu, rss = next(line for line in process.stderr.splitlines() if line.startswith("BENCH ")).split()
        cpus.append(float(cpu))
        rsses.append(float(rss))
    return (statistics.median(times), max(times)), statistics.median(cpus), max(rsses)


def count_rows(database_url: str) -> dict:
    from sqlalchemy import func, select

    from ivr.store.storage import make_engine, usage_daily, usage_daily_unique, usage_seen

    engine = make_engine(database_url, webhook_limits=False)
    with engine.connect() as conn:
        out = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (usage_daily, usage_daily_unique, usage_seen)
        }
    engine.dispose()
    return out


def run_one(name: str, args, folder: Path) -> dict:
    print(f"{name}: filling {args.events:,} events over {DAYS} days ...", file=sys.stderr)
    if name == "sqlite":
        path = folder / "bench.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url, "0003")
        count, fill_seconds = fill_sqlite(path, args.events)
        cleanup = None
    else:
        import psycopg

        server, problems = find_server()
        if server is None:
            print(f"postgresql: skipped, not reachable ({problems})", file=sys.stderr)
            return {}
        schema = f"ivr_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        raw = schema_url(server, schema)
        url = "postgresql+psycopg://" + raw[len("postgresql://") :]
        upgrade(url, "0003")
        count, fill_seconds = fill_postgres(raw, args.events)

        def cleanup():
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    print(f"{name}: {count:,} events in {fill_seconds:.0f} s; building the counts (migration 0004) ...", file=sys.stderr)
    started = time.monotonic()
    upgrade(url)
    migration = time.monotonic() - started
    try:
        result = {"events": count, "fill_s": fill_seconds, "migration_s": migration, **count_rows(url)}
        result.update(measure(name, url, folder, args.compare, args.repeat))
    finally:
        if cleanup and not args.keep:
            cleanup()
    if name == "sqlite":
        result["database MB"] = sum(p.stat().st_size for p in folder.glob("bench.sqlite3*")) / 1e6
    return result


def markdown(results: dict, args) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    commit = commit or os.environ.get("BENCH_COMMIT", "not a git checkout")
    lines = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (commit {commit})",
        "",
        f"{_cpu()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {args.events:,} usage events over {DAYS} days; "
        f"each time the median of {args.repeat} (worst in brackets).",
        "",
        "| | " + " | ".join(results) + " |",
        "| --- | " + " | ".join("---:" for _ in results) + " |",
    ]
    keys = [k for k in next(iter(results.values())) if k != "year"]
    for key in keys:
        cells = []
        for result in results.values():
            value = result.get(key)
            if isinstance(value, tuple):
                cells.append(f"{value[0]:.3f} s ({value[1]:.3f})")
            elif isinstance(value, bool):
                cells.append("yes" if value else "**NO**")
            elif isinstance(value, float):
                cells.append(f"{value:,.1f}")
            else:
                cells.append(f"{value:,}" if isinstance(value, int) else str(value))
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    timed_keys = [k for k in keys if k.startswith(("/admin", "stats report"))]
    verdict = []
    for name, result in results.items():
        worst = max(result[k][0] for k in timed_keys)
        verdict.append(
            f"{name}: every median under {TARGET_SECONDS:g} s: {'met' if worst < TARGET_SECONDS else 'MISSED'} (highest {worst:.3f} s)"
        )
    lines += ["", "Year: " + "; ".join(f"{n}: {r['year']}" for n, r in results.items()), "", "Target: " + "; ".join(verdict), ""]
    return "\n".join(lines) + "\n"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip().split(" with")[0]
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-compare", dest="compare", action="store_false", help="skip the year's report from the raw events (slow)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (printed) instead of deleting them")
    parser.add_argument("--no-save", action="store_true", help="do not append to bench/usage_results.md")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ivr-usage-bench-"))
    results = {}
    try:
        for name in args.databases.split(","):
            result = run_one(name.strip(), args, folder)
            if result:
                results[name.strip()] = result
    finally:
        if args.keep:
            print(f"kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if not results:
        return 1
    text = markdown(results, args)
    print(text)
    if not args.no_save:
        if not RESULTS.exists():
            RESULTS.write_text("# Usage report benchmark\n\nAppended by `bench/usage_reports.py`; the newest run is last.\n\n")
        with RESULTS.open("a") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
