#!/usr/bin/env python3
"""CPU time per webhook in one process, without gunicorn or the network: what a change to the line costs.

    .venv/bin/python bench/per_request.py            # every scenario of bench/run.py, line and limit
    .venv/bin/python bench/per_request.py --profile "menu choice"   # then cProfile's top 25 for one

bench/run.py's throughput moves with whatever else the machine runs; the CPU time a process spends
on one request barely does, so this is the figure to compare before and after a change. Each
request goes through the app's whole WSGI call (every hook, the signature check with Twilio's
signing, the log line) with its own CallSid or MessageSid, on a fresh SQLite database, and the
usage writer's thread is waited for at the end, so its share is counted (process CPU time, all
threads). The limit is bench/limit_app.py answering the same bytes, bare and reading the form.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.run import ACCOUNT_SID, AUTH_TOKEN, HASH_KEY, SCENARIOS, params_for  # noqa: E402

BASE = "http://127.0.0.1:5000"


def environ_for(path: str, params: dict, signed: bool) -> dict:
    body = urllib.parse.urlencode(params).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:5000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if signed:
        environ["HTTP_X_TWILIO_SIGNATURE"] = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, params)
    return environ


def call(app, environ: dict) -> int:
    status = []
    body = app(environ, lambda s, h, exc_info=None: status.append(s))
    for _ in body:
        pass
    getattr(body, "close", lambda: None)()
    return int(status[0].split()[0])


def measure(app, environs: list[dict], after=lambda: None) -> float:
    """CPU µs per request over ``environs`` (each used once), ``after`` included (the usage writer's catch-up)."""
    for environ in environs:
        environ["wsgi.input"].seek(0)
    started = time.process_time()
    for environ in environs:
        status = call(app, environ)
        if status != 200:
            raise SystemExit(f"{environ['PATH_INFO']} answered {status}")
    after()
    return (time.process_time() - started) / len(environs) * 1e6


def line_app(work: Path):
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": "http://127.0.0.1:9",
        "DATABASE_URL": f"sqlite:///{work / 'ivr.sqlite3'}",
        "IVR_INSTANCE_PATH": str(work / "instance"),
        "IVR_HASH_KEY": HASH_KEY,
        "IVR_PUBLIC_BASE_URL": BASE,
    }
    os.environ.update(env)
    from ivr.app import create_app
    from ivr.line import current_line
    from ivr.store.migrate import upgrade

    upgrade(env["DATABASE_URL"])
    app = create_app()
    with app.app_context():
        line = current_line()
    return app, line


def limit_app(bodies: dict, read_form: bool):
    os.environ["BENCH_LIMIT_READ_FORM"] = "1" if read_form else "0"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(bodies, handle)
    os.environ["BENCH_LIMIT_BODIES"] = handle.name
    import importlib

    import bench.limit_app as module

    return importlib.reload(module).app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="distinct signed requests per scenario and run (default 2000)")
    parser.add_argument("--runs", type=int, default=4, help="runs of each; the lowest is printed (default 4)")
    parser.add_argument("--profile", metavar="SCENARIO", help="then print cProfile's top functions for SCENARIO")
    parser.add_argument("--only", metavar="SCENARIO", help="measure only this scenario")
    args = parser.parse_args()
    logging.disable(logging.NOTSET)
    work = Path(tempfile.mkdtemp(prefix="ivr-per-request-"))
    app, line = line_app(work)
    # The line's log line goes where gunicorn's would: a file, as on a server (not a terminal).
    logging.getLogger().handlers[0].setStream(open(work / "line.log", "a"))
    scenarios = [s for s in SCENARIOS if not args.only or s.name == args.only]
    bodies = {}
    for scenario in scenarios:
        environ = environ_for(scenario.path, params_for(scenario, 0), signed=True)
        chunks: list[bytes] = []
        result = app(environ, lambda s, h, exc_info=None: None)
        chunks.extend(result)
        bodies[scenario.path] = b"".join(chunks).decode()
    line.usage.flush(10)
    bare, form = limit_app(bodies, False), None
    form = limit_app(bodies, True)
    print(f"CPU µs per request, lowest of {args.runs} runs of {args.requests} (Python {sys.version.split()[0]})")
    print(f"{'scenario':<15} {'line':>7} {'limit':>7} {'limit+form':>10} {'line-limit':>10}")
    for scenario in scenarios:
        environs = [environ_for(scenario.path, params_for(scenario, n), signed=True) for n in range(args.requests)]
        figures = {"line": [], "limit": [], "form": []}
        for _ in range(args.runs):
            figures["limit"].append(measure(bare, environs))
            figures["form"].append(measure(form, environs))
            fresh = [environ_for(scenario.path, params_for(scenario, n), signed=True) for n in range(args.requests)]
            figures["line"].append(measure(app, fresh, after=lambda: line.usage.flush(30)))
        best = {name: min(values) for name, values in figures.items()}
        print(
            f"{scenario.name:<15} {best['line']:>7.0f} {best['limit']:>7.0f} {best['form']:>10.0f} {best['line'] - best['limit']:>10.0f}",
            flush=True,
        )
    if args.profile:
        scenario = next(s for s in SCENARIOS if s.name == args.profile)
        environs = [environ_for(scenario.path, params_for(scenario, n), signed=True) for n in range(args.requests)]
        profile = cProfile.Profile()
        profile.enable()
        measure(app, environs, after=lambda: line.usage.flush(30))
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(60)


if __name__ == "__main__":
    main()
