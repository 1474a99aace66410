#!/usr/bin/env python3
"""Benchmark the line against the limit of its stack, on this machine, with wrk.

    .venv/bin/python bench/run.py                 # about 5 minutes; appends to bench/results.*
    .venv/bin/python bench/run.py --quick --no-save
    .venv/bin/python bench/run.py --text-me-burst  # 200 "text me" while Twilio hangs 30 s; no wrk needed

What it does, in one run:
1. Starts the line exactly as the Procfile's ``web:`` line does (gunicorn, gthread workers), with
   signature checks on (TWILIO_AUTH_TOKEN set) and usage recording on (a fresh SQLite database),
   and beside it ``bench/limit_app.py``: a bare Flask app under the same gunicorn command whose
   routes return, as constants, the very bytes the line answers. Each is started a few times first
   to time start-up (process start to first answer).
2. Drives both with wrk, alternating (limit, line, line, limit, ...), for each scenario and
   connection count, with requests signed by Twilio's RequestValidator (every request its own
   CallSid or MessageSid, so its own signature; bench/signed.lua replays them).
3. Prints requests/s, p50/p99 latency, the ratio line / limit, peak RSS per worker, start-up time,
   and whether every usage event was written; appends the same to bench/results.jsonl and
   bench/results.md.

Fairness on a small machine: the servers are pinned to the first half of the CPUs and wrk to the
other half (taskset), both servers get the same gunicorn command, and a run starts only when both
servers are idle (no CPU used for half a second: the line's usage writer has caught up).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from twilio.request_validator import RequestValidator  # noqa: E402

AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
HASH_KEY = "bench-hash-key-" + "0123456789abcdef" * 4  # at least 32 bytes, as the line requires outside development mode
ACCOUNT_SID = "AC" + "b" * 32
OUR_NUMBER = "+16175550100"
CALLERS = [f"+1617555{n:04d}" for n in range(100, 200)]  # valid US numbers (555-01xx is fictional)
LUA = Path(__file__).with_name("signed.lua")
RESULTS_JSONL = Path(__file__).with_name("results.jsonl")
RESULTS_MD = Path(__file__).with_name("results.md")
# Issue 14's targets: calls at 0.8 of the limit, texts at 0.7, p99 at 16 connections within 1.2 x the limit's own p99.
TARGETS = {"ratio_voice": 0.8, "ratio_sms": 0.7, "p99_of_limit_16": 1.2, "rss_mb": 80.0, "startup_s": 1.5}
INSTALL_WRK = "wrk is not installed. On Debian or Ubuntu: apt-get update && apt-get install -y wrk"


# --- the requests ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    extra: dict
    channel: str = "voice"


SCENARIOS = [
    Scenario("welcome", "/voice", {}),
    Scenario("menu choice", "/voice/en/choose/main", {"Digits": "1"}),
    Scenario("answer", "/voice/en/choose/about", {"Digits": "2"}),
    Scenario("menu again", "/voice/en/menu/main", {}),  # after a silence: the <Redirect> of every menu
    Scenario("transfer done", "/voice/en/transfer/nci/done", {"DialCallStatus": "busy"}),
    Scenario("sms keyword", "/sms", {"Body": "RECUR"}, channel="sms"),
]


def params_for(scenario: Scenario, n: int) -> dict:
    caller = CALLERS[n % len(CALLERS)]
    if scenario.channel == "sms":
        sid = "SM" + uuid.uuid4().hex
        base = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": caller, "To": OUR_NUMBER}
        return {**base, "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01", **scenario.extra}
    base = {"CallSid": "CA" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID, "From": caller, "To": OUR_NUMBER}
    return {**base, "Caller": caller, "Called": OUR_NUMBER, "CallStatus": "in-progress", "ApiVersion": "2010-04-01", **scenario.extra}


def write_requests(scenario: Scenario, base_url: str, count: int, path: Path) -> None:
    """``count`` distinct requests, each signed for its own URL and parameters."""
    validator = RequestValidator(AUTH_TOKEN)
    url = base_url + scenario.path
    with path.open("w", encoding="utf-8") as handle:
        for n in range(count):
            params = params_for(scenario, n)
            handle.write(f"{scenario.path}\t{validator.compute_signature(url, params)}\t{urllib.parse.urlencode(params)}\n")


def post(url: str, params: dict, timeout: float = 2.0) -> tuple[int, bytes]:
    headers = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, params)}
    request = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- the servers ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[4:].strip()
    raise SystemExit("Procfile has no web: line")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User and system CPU seconds of a process (all its threads), or of one of its threads."""
    stat = f"/proc/{pid}/task/{thread}/stat" if thread is not None else f"/proc/{pid}/stat"
    try:
        fields = Path(stat).read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    match = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else 0.0


class Server:
    """One gunicorn, started with the Procfile's web: command (only the app module may differ)."""

    def __init__(self, name: str, module: str, env: dict, cpus: str | None, logs: Path, probe: Scenario, config: str = ""):
        self.name, self.module, self.env, self.cpus, self.logs, self.probe = name, module, env, cpus, logs, probe
        self.config = config  # a gunicorn config file instead of ./gunicorn.conf.py
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        web = procfile_web().replace("0.0.0.0", "127.0.0.1")  # loopback only
        web = re.sub(r"(?<=gunicorn )app:app\b", self.module, web)
        web += " --no-control-socket"  # gunicorn's control socket path is per user: two servers would share it
        if self.config:
            web += f" --config {shlex.quote(self.config)}"
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        return [*pin, "sh", "-c", "exec " + web]

    def start(self) -> float:
        """Start; return the seconds from process start to the first answered webhook."""
        self.port = free_port()
        env = {**self.env, "PORT": str(self.port)}
        out = (self.logs / f"{self.name}.log").open("ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        url = self.base_url + self.probe.path
        while time.perf_counter() - started < 30:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited with {self.process.returncode}; see {self.logs / (self.name + '.log')}")
            try:
                status, body = post(url, params_for(self.probe, 0), timeout=1.0)
            except OSError:
                time.sleep(0.005)
                continue
            if status != 200:
                raise SystemExit(f"{self.name}: {self.probe.path} answered {status}: {body[:200]!r}")
            return time.perf_counter() - started
        raise SystemExit(f"{self.name}: no answer within 30 s")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in [self.process.pid, *self.workers()])

    def cpu_by_thread(self) -> dict[str, float]:
        """CPU seconds of every thread of the server, by what it is (ivr/thread_names.py names the line's own):
        "master", each worker's "main" (gunicorn's loop: accepting, polling), "requests" (the threads
        without a name of their own: gunicorn's request threads), or the name (usage-writer, text-me_0, ...)."""
        found: dict[str, float] = {}
        for pid in [self.process.pid, *self.workers()]:
            try:
                names = {int(task.name): (task / "comm").read_text().strip() for task in Path(f"/proc/{pid}/task").iterdir()}
            except OSError:  # the process, or one of its threads, ended meanwhile
                continue
            for thread, name in names.items():
                if pid == self.process.pid:
                    kind = "master"
                elif thread == pid:
                    kind = "main"
                elif name == names.get(pid):  # the process's own name: a thread that has none of its own
                    kind = "requests"
                else:
                    kind = re.sub(r"_\d+$", "", name)  # a pool's threads together
                found[kind] = found.get(kind, 0.0) + cpu_seconds(pid, thread)
        return found

    def wait_idle(self, quiet: float = 0.5, limit: float = 60.0) -> None:
        """Wait until the server uses (almost) no CPU for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = self.cpu()
            time.sleep(quiet)
            if self.cpu() - before < 0.02 * quiet:
                return

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master), as a platform stops a dyno."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- the load -------------------------------------------------------------------------------------
@dataclass
class Run:
    app: str
    scenario: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: dict = field(default_factory=dict)
    other_cpu: float = 0.0  # share of one CPU used by other processes on the machine during the run
    cpu_us: float = 0.0  # CPU time the server (master and workers, every thread) spent per answered request
    cpu_us_by_thread: dict = field(default_factory=dict)  # the same, by thread (Server.cpu_by_thread)


def wrk(server: Server, requests_file: Path, connections: int, seconds: int, cpus: str | None, threads: int) -> dict:
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["-s", str(LUA), server.base_url, "--", str(requests_file)]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    return summary


def busy_cpu_seconds() -> float:
    """CPU time spent by the whole machine (all CPUs, all processes), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(server: Server, servers: list[Server], requests_file: Path, scenario: str, connections: int, args, cpus, threads) -> Run:
    for each in servers:  # nothing left over from the previous run (the line's usage writer catching up)
        each.wait_idle()
    wrk(server, requests_file, connections, args.warmup, cpus, threads)
    server.wait_idle()
    busy, mine, children = busy_cpu_seconds(), sum(s.cpu() for s in servers), resource.getrusage(resource.RUSAGE_CHILDREN)
    own, own_threads = server.cpu(), server.cpu_by_thread()
    result = wrk(server, requests_file, connections, args.duration, cpus, threads)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    other = busy_cpu_seconds() - busy - (sum(s.cpu() for s in servers) - mine) - wrk_cpu
    server.wait_idle()  # the line's usage writer catching up is part of the request's cost
    cpu_us = (server.cpu() - own) / max(result["requests"], 1) * 1e6
    by_thread = {
        kind: round((seconds - own_threads.get(kind, 0.0)) / max(result["requests"], 1) * 1e6, 1)
        for kind, seconds in server.cpu_by_thread().items()
    }
    errors = {k: v for k, v in result["errors"].items() if v}
    p50, p99 = result["p50_us"] / 1000, result["p99_us"] / 1000
    return Run(server.name, scenario, connections, result["rps"], p50, p99, errors, max(other, 0.0) / args.duration, cpu_us, by_thread)


# Where a sample of the line's CPU belongs: the first rule with a frame on its stack (py-spy's raw
# stacks; --nonblocking may cut a stack's outer frames, so a rule names inner frames too). Form
# parsing comes before the signature check, which reads the form first.
PROFILE_PARTS = [
    ("usage writer (its thread: describing events, SQLite)", ("_writer (ivr/store/usage.py", "record_usage (ivr/store")),
    ('"text me" sends (their threads)', ("ivr/voice/sends.py", "ivr/twilio_client.py")),
    ("reading the form (werkzeug)", ("_load_form_data (", "formparser.py")),
    ("signature check (the HMAC, the public URL)", ("(ivr/security.py",)),
    ("log line (the line's fields, gunicorn's access line)", ("(ivr/weblog.py", "(ivr/access_log.py", "glogging.py")),
    ("usage hook (queueing the event)", ("after_request (ivr/store/usage.py",)),
    ("the route itself (menus, answers, texts, reply budget)", ("dispatch_request (flask", "(ivr/voice/", "(ivr/sms/", "(ivr/content/")),
    ("the line's other hooks, and Flask's around them", ("preprocess_request (flask/app.py", "process_response (flask/app.py", "(ivr/")),
    ("Flask and werkzeug (request context, routing, response)", ("(flask/", "(werkzeug/")),
    ("gunicorn (HTTP parsing, sockets, thread pool, its loop)", ("(gunicorn/", "(selectors.py", "(socket.py", "(concurrent/")),
    ("no Python frame (C code holding the interpreter lock)", ("",)),
]


def profile_parts(raw: Path) -> list[tuple[str, float]]:
    """Shares of py-spy's samples (raw format: "frame;frame;... count" per line) by PROFILE_PARTS."""
    counts = dict.fromkeys((name for name, _ in PROFILE_PARTS), 0)
    for text in raw.read_text(errors="replace").splitlines():
        stack, _, number = text.rpartition(" ")
        if not number.isdigit():
            continue
        name = next(name for name, frames in PROFILE_PARTS if any(frame in stack for frame in frames))
        counts[name] += int(number)
    total = sum(counts.values()) or 1
    return [(name, n / total) for name, n in counts.items() if n]


def profile(line: Server, scenarios: list[Scenario], work: Path, args, cpus, threads, runs: list[Run]) -> list[str]:
    """py-spy on every worker of the line (only the thread holding the GIL: CPU, not waiting) under load:
    an SVG flame graph to read, then a second recording whose samples are summed by PROFILE_PARTS."""
    spy = ROOT / ".venv" / "bin" / "py-spy"
    if not scenarios or not spy.exists():
        print("--profile needs a scenario name from the table and py-spy (pip install -r requirements-dev.txt)", file=sys.stderr)
        return []
    scenario = scenarios[0]
    stem = scenario.name.replace(" ", "_")
    requests_file = work / f"{stem}.line.requests"
    command = [str(spy), "record", "--gil", "--nonblocking", "--subprocesses", "-r", "250", "-d", str(args.duration + 1)]
    outputs = {"flamegraph": work / f"profile-{stem}.svg", "raw": work / f"profile-{stem}.txt"}
    for kind, output in outputs.items():
        recorder = subprocess.Popen([*command, "-f", kind, "-o", str(output), "-p", str(line.process.pid)], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        wrk(line, requests_file, 16, args.duration, cpus, threads)
        recorder.wait()
    print(f"profile of the line under load ({scenario.name}, 16 connections): {outputs['flamegraph']}")
    if not outputs["raw"].exists():
        return []
    measured = [r.cpu_us for r in runs if r.app == "line" and r.scenario == scenario.name and r.connections == 16]
    cpu = statistics.median(measured) if measured else None  # the table's figure
    lines = [
        f"Profile of the line's workers under load ({scenario.name}, 16 connections; py-spy, samples of the thread holding "
        f"the interpreter lock){f', as µs of its {cpu:.0f} µs per request' if cpu else ''}:",
        "",
        "| part | share | µs per request |" if cpu else "| part | share |",
        "| --- | ---: | ---: |" if cpu else "| --- | ---: |",
    ]
    for name, share in profile_parts(outputs["raw"]):
        lines.append(f"| {name} | {share:.0%} | {share * cpu:.0f} |" if cpu else f"| {name} | {share:.0%} |")
    return lines


# --- reporting --------------------------------------------------------------------------------------
def usage_check(database: Path, access_log: Path) -> dict:
    """Usage rows written against webhooks answered 200 (from gunicorn's access log)."""
    import sqlite3

    answered = 0
    for line in access_log.read_text(errors="replace").splitlines():
        if re.search(r'"POST /(voice|sms)[^"]*" 200 ', line):
            answered += 1
    with sqlite3.connect(database) as conn:
        written = conn.execute("SELECT count(*) FROM usage_events").fetchone()[0]
    return {"answered": answered, "written": written, "lost": answered - written}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def summarise(runs: list[Run], scenarios: list[str], connections: list[int]) -> list[dict]:
    rows = []
    for name in scenarios:
        for conns in connections:
            these = [r for r in runs if r.scenario == name and r.connections == conns]
            by_app = {app: [r for r in these if r.app == app] for app in dict.fromkeys(r.app for r in these)}
            if "line" not in by_app:
                continue
            limit = by_app["limit"]
            row = {"scenario": name, "connections": conns}
            for app, mine in by_app.items():
                row[f"{app}_rps"] = round(statistics.median(r.rps for r in mine))
                row[f"{app}_p50_ms"] = round(statistics.median(r.p50_ms for r in mine), 2)
                row[f"{app}_p99_ms"] = round(statistics.median(r.p99_ms for r in mine), 2)
                row[f"{app}_cpu_us"] = round(statistics.median(r.cpu_us for r in mine))
                kinds = dict.fromkeys(k for r in mine for k in r.cpu_us_by_thread)
                row[f"{app}_cpu_us_by_thread"] = {k: round(statistics.median(r.cpu_us_by_thread.get(k, 0.0) for r in mine)) for k in kinds}
                if app != "limit":  # each run against the limit's run of the same round
                    ratio = statistics.median(o.rps / li.rps for o, li in zip(mine, limit, strict=True))
                    row["ratio" if app == "line" else f"{app}_ratio"] = round(ratio, 3)
            row["errors"] = sum(sum(r.errors.values()) for r in these)
            row["other_cpu"] = round(max(r.other_cpu for r in these), 2)
            rows.append(row)
    return rows


def verdicts(record: dict) -> list[tuple[str, bool, str]]:
    rows = record["results"]
    sms = [r for r in rows if r["scenario"].startswith("sms")]
    voice = [r for r in rows if not r["scenario"].startswith("sms")]
    worst_voice = min((r["ratio"] for r in voice), default=1.0)
    worst_sms = min((r["ratio"] for r in sms), default=1.0)
    at_16 = [r for r in rows if r["connections"] == 16]
    worst_p99 = max((r["line_p99_ms"] / r["limit_p99_ms"] for r in at_16 if r["limit_p99_ms"]), default=0.0)
    rss = max(record["line"]["rss_mb_per_worker"])
    startup = record["line"]["startup_s"]
    return [
        (f"every voice ratio >= {TARGETS['ratio_voice']}", worst_voice >= TARGETS["ratio_voice"], f"lowest {worst_voice:.2f}"),
        (f"every text ratio >= {TARGETS['ratio_sms']}", worst_sms >= TARGETS["ratio_sms"], f"lowest {worst_sms:.2f}"),
        (
            f"p99 at 16 connections <= {TARGETS['p99_of_limit_16']} x the limit's p99",
            worst_p99 <= TARGETS["p99_of_limit_16"],
            f"highest {worst_p99:.2f} x",
        ),
        (f"< {TARGETS['rss_mb']:.0f} MB RSS per worker", rss < TARGETS["rss_mb"], f"highest {rss:.1f} MB"),
        (f"start-up < {TARGETS['startup_s']} s", startup < TARGETS["startup_s"], f"{startup:.2f} s"),
        ("no usage event lost", record["usage"]["lost"] == 0, f"{record['usage']['written']} of {record['usage']['answered']} written"),
        ("no error or non-200 answer", all(r["errors"] == 0 for r in rows), ""),
    ]


def markdown(record: dict) -> str:
    out = [
        f"## {record['date']} (commit {record['commit'] or '?'})",
        "",
        f"{record['machine']}; {record['method']}.",
        "",
    ]
    floor = any("form_rps" in r for r in record["results"])
    head = "| scenario | conns | line req/s | limit req/s | ratio | line p50 / p99 ms | limit p50 / p99 ms | CPU µs/request, line / limit |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    if floor:
        head += " form-reading Flask req/s (ratio) |"
        rule += " ---: |"
    out += [head, rule]
    for r in record["results"]:
        row = (
            f"| {r['scenario']} | {r['connections']} | {r['line_rps']} | {r['limit_rps']} | {r['ratio']:.2f} "
            f"| {r['line_p50_ms']:.1f} / {r['line_p99_ms']:.1f} | {r['limit_p50_ms']:.1f} / {r['limit_p99_ms']:.1f} "
            f"| {r.get('line_cpu_us', '?')} / {r.get('limit_cpu_us', '?')} |"
        )
        if floor:
            row += f" {r['form_rps']} ({r['form_ratio']:.2f}) |"
        out.append(row)
    busiest = max(r["other_cpu"] for r in record["results"])
    if busiest > 0.1:
        out += ["", f"Other processes used up to {busiest:.0%} of a CPU during a run: the numbers are noisier than usual."]
    line, limit = record["line"], record["limit"]
    out += [
        "",
        f"Peak RSS per worker: line {', '.join(f'{m:.1f}' for m in line['rss_mb_per_worker'])} MB; "
        f"limit {', '.join(f'{m:.1f}' for m in limit['rss_mb_per_worker'])} MB. "
        f"Start-up to first answer (median of {line['startups']}): line {line['startup_s']:.2f} s; limit {limit['startup_s']:.2f} s.",
        f"Usage events: {record['usage']['written']} written for {record['usage']['answered']} webhooks answered.",
    ]
    out += where_the_cpu_goes(record["results"])
    if record.get("profile"):
        out += ["", *record["profile"]]
    if record.get("notes"):
        out += ["", *[f"Note: {n}" for n in record["notes"]]]
    out += ["", "Targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'} {detail}".strip() for name, ok, detail in verdicts(record))]
    return "\n".join(out) + "\n"


def where_the_cpu_goes(results: list[dict]) -> list[str]:
    """Why a ratio is what it is: CPU µs per request by thread, line against limit (the lowest connection count)."""
    rows = [r for r in results if r.get("line_cpu_us_by_thread") and r["connections"] == min(x["connections"] for x in results)]
    if not rows:
        return []
    named = sorted({k for r in rows for k in r["line_cpu_us_by_thread"]} - {"requests", "main", "master"})
    out = [
        "",
        f"Where the CPU goes at {rows[0]['connections']} connections, µs per request by thread (servers share one CPU, so "
        "throughput is about 1 / CPU per request): gunicorn's request threads, the workers' main loops (accepting, "
        "polling) and the master, then the line's own named threads.",
        "",
        "| scenario | line | limit | line - limit | request threads, line / limit | main loops, line / limit | " + " | ".join(named) + " |",
        "| --- | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(named),
    ]
    for r in rows:
        line, limit = r["line_cpu_us_by_thread"], r.get("limit_cpu_us_by_thread", {})
        loops = (line.get("main", 0) + line.get("master", 0), limit.get("main", 0) + limit.get("master", 0))
        cells = [
            r["scenario"],
            str(r["line_cpu_us"]),
            str(r["limit_cpu_us"]),
            str(r["line_cpu_us"] - r["limit_cpu_us"]),
            f"{line.get('requests', 0)} / {limit.get('requests', 0)}",
            f"{loops[0]} / {loops[1]}",
            *(str(line.get(k, 0)) for k in named),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


# --- main -------------------------------------------------------------------------------------------
def text_me_burst(args) -> int:
    """The line (Procfile's web:) against the HTTP fake of Twilio's REST API hanging 30 s on every send:
    ``--texters`` callers press "text me" within a second while 32 others walk the menus (tests/text_me_burst.py)."""
    from ivr.store.migrate import upgrade
    from tests import text_me_burst as burst
    from tests.fake_twilio import FakeTwilio

    work = Path(tempfile.mkdtemp(prefix="ivr-bench-burst-"))
    database = work / "ivr.sqlite3"
    upgrade(f"sqlite:///{database}")
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    fake.answer("hang", 30)
    path = os.pathsep.join([str(ROOT / ".venv" / "bin"), os.environ.get("PATH", "")])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "DATABASE_URL"))},
        "PATH": path,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": fake.url,
        "DATABASE_URL": f"sqlite:///{database}",
        "IVR_INSTANCE_PATH": str(work / "instance"),
        "IVR_HASH_KEY": HASH_KEY,
        "IVR_TEXTS_PER_HOUR": "100000",  # every send tried or queued, none refused by the hourly limit
    }
    line = Server("line", "app:app", env, None, work, SCENARIOS[0])
    try:
        line.start()
        load = os.getloadavg()
        figures = burst.run(line.base_url, AUTH_TOKEN, OUR_NUMBER, texters=args.texters, walkers=32, spread=args.spread)
    finally:
        line.stop()
        fake.close()
    sent_to: dict[str, int] = {}
    for message in fake.messages:
        sent_to[message["To"]] = sent_to.get(message["To"], 0) + 1
    figures["sends_tried"] = len(fake.messages)
    figures["most_texts_to_one_number"] = max(sent_to.values(), default=0)
    figures["load_average_before"] = [round(x, 2) for x in load]
    print(f"text me while Twilio hangs 30 s ({cpu_model()}, {os.cpu_count()} CPUs; gunicorn: {procfile_web()})")
    for key, value in figures.items():
        print(f"  {key}: {value}")
    ok = (
        figures["walker_p99_ms"] is not None
        and figures["walker_p99_ms"] < 100
        and set(figures["statuses"]) == {200}
        and figures["texter_seconds_max"] < 15
        and figures["most_texts_to_one_number"] <= 1
        and sum(figures["outcomes"].values()) == args.texters
        and "none" not in figures["outcomes"]
    )
    print("targets (others' p99 < 100 ms, no 5xx, an outcome within 15 s, no double send):", "met" if ok else "MISSED")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="whole seconds of load per measured run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="whole seconds of load before each run, not measured (default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs of each app per scenario and connection count (median)")
    parser.add_argument("--connections", default="16,64", help="comma-separated connection counts (default 16,64)")
    parser.add_argument("--startups", type=int, default=3, help="starts of each server to time start-up (median)")
    parser.add_argument("--requests", type=int, default=5000, help="distinct signed requests per scenario (default 5000)")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, 1 start-up: a smoke test of the script")
    parser.add_argument("--no-save", action="store_true", help="print only; do not append to bench/results.*")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    parser.add_argument(
        "--profile",
        metavar="SCENARIO",
        help="then record where the line's workers spend CPU under load in SCENARIO (e.g. welcome) with py-spy, as an SVG flame graph",
    )
    parser.add_argument(
        "--form-floor", action="store_true", help="also drive the bare app reading the form (what parsing a webhook costs Flask)"
    )
    parser.add_argument("--text-me-burst", action="store_true", help='only the burst of "text me" while Twilio hangs (see text_me_burst)')
    parser.add_argument("--texters", type=int, default=200, help="callers asking for the text in the burst (default 200)")
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which they press 4 (default 1; 0: the same instant)")
    args = parser.parse_args()
    if args.text_me_burst:
        return text_me_burst(args)
    if args.quick:
        args.duration, args.rounds, args.startups, args.warmup = 2, 1, 1, 1
    connections = [int(c) for c in args.connections.split(",")]
    if not shutil.which("wrk"):
        print(INSTALL_WRK, file=sys.stderr)
        return 2
    cpus = os.sched_getaffinity(0)
    ordered = sorted(cpus)
    if len(ordered) >= 2 and shutil.which("taskset"):
        half = len(ordered) // 2
        server_cpus, wrk_cpus = ",".join(map(str, ordered[:half])), ",".join(map(str, ordered[half:]))
        method = f"servers pinned to CPU {server_cpus}, wrk (1 thread per CPU) to CPU {wrk_cpus}"
        wrk_threads = len(ordered) - half
    else:
        server_cpus = wrk_cpus = None
        wrk_threads = 1
        method = "one CPU: servers and wrk share it (results understate both)"
    work = Path(tempfile.mkdtemp(prefix="ivr-bench-"))
    database = work / "ivr.sqlite3"
    from ivr.store.migrate import upgrade

    upgrade(f"sqlite:///{database}")
    path = os.pathsep.join([str(ROOT / ".venv" / "bin"), os.environ.get("PATH", "")])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("IVR_", "TWILIO_", "DATABASE_URL"))},
        "PATH": path,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": "http://127.0.0.1:9",  # never called by these scenarios; nothing leaves the machine
        "DATABASE_URL": f"sqlite:///{database}",
        "IVR_INSTANCE_PATH": str(work / "instance"),
        "IVR_HASH_KEY": HASH_KEY,
    }
    line = Server("line", "app:app", env, server_cpus, work, SCENARIOS[0])
    limit_env = {**env, "BENCH_LIMIT_BODIES": str(work / "bodies.json")}
    bare = {"module": "bench.limit_app:app", "cpus": server_cpus, "logs": work, "probe": SCENARIOS[0]}
    bare["config"] = "bench/limit_gunicorn.conf.py"
    limit = Server("limit", env=limit_env, **bare)
    others = [limit]
    if args.form_floor:
        others.append(Server("form", env={**limit_env, "BENCH_LIMIT_READ_FORM": "1"}, **bare))
    notes: list[str] = []
    try:
        print(f"gunicorn command (Procfile web:): {shlex.join(line.command())}")
        print(f"method: {method}; work folder {work}")
        startups = {"line": [], "limit": []}
        for _ in range(args.startups):
            startups["line"].append(line.start())
            line.stop()
        line.start()
        scenarios = []
        bodies = {}
        for scenario in SCENARIOS:
            status, body = post(line.base_url + scenario.path, params_for(scenario, 1))
            if status == 404 and scenario.channel == "sms":
                notes.append(f"{scenario.name} skipped: the line has no POST {scenario.path} yet")
                print(notes[-1])
                continue
            if status != 200:
                raise SystemExit(f"line: {scenario.path} answered {status}: {body[:300]!r}")
            bodies[scenario.path] = body.decode()
            scenarios.append(scenario)
        (work / "bodies.json").write_text(json.dumps(bodies))
        for _ in range(args.startups):
            startups["limit"].append(limit.start())
            limit.stop()
        for server in others:
            server.start()
        print(f"start-up: line {statistics.median(startups['line']):.2f} s, limit {statistics.median(startups['limit']):.2f} s")
        servers = [line, *others]
        runs: list[Run] = []
        for scenario in scenarios:
            files = {}
            for server in servers:  # signed for each server's own URL
                files[server.name] = work / f"{scenario.name.replace(' ', '_')}.{server.name}.requests"
                write_requests(scenario, server.base_url, args.requests, files[server.name])
            for conns in connections:
                for round_ in range(args.rounds):
                    order = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]  # alternate who goes first
                    for server in order:
                        run = measure(server, servers, files[server.name], scenario.name, conns, args, wrk_cpus, wrk_threads)
                        runs.append(run)
                        flag = f"  ERRORS {run.errors}" if run.errors else ""
                        busy = f"  (other processes: {run.other_cpu:.0%} of a CPU)" if run.other_cpu > 0.1 else ""
                        print(
                            f"{scenario.name:12} c={conns:<3} {run.app:5} {run.rps:8.0f} req/s  "
                            f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  CPU {run.cpu_us:5.0f} µs/request{flag}{busy}",
                            flush=True,
                        )
        profiled = []
        if args.profile:
            profiled = profile(line, [s for s in scenarios if s.name == args.profile], work, args, wrk_cpus, wrk_threads, runs)
            args.keep = True
        line.wait_idle()
        rss = {s.name: [round(peak_rss_mb(pid), 1) for pid in s.workers()] for s in (line, limit)}
    finally:
        line.stop()
        for server in others:
            server.stop()
    usage = usage_check(database, work / "line.log")
    record = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": f"{cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "method": f"{method}; wrk {args.rounds} x {args.duration:g} s per app, scenario and connection count (median), "
        f"alternating; {args.requests} distinct signed requests per scenario",
        "gunicorn": procfile_web(),
        "results": summarise(runs, [s.name for s in scenarios], connections),
        **{
            name: {"rss_mb_per_worker": rss[name], "startup_s": round(statistics.median(startups[name]), 3), "startups": args.startups}
            for name in ("line", "limit")
        },
        "usage": usage,
        "notes": notes,
        "profile": profiled,
    }
    text = markdown(record)
    print()
    print(text)
    if not args.no_save:
        with RESULTS_JSONL.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        if not RESULTS_MD.exists():
            RESULTS_MD.write_text("# Benchmark results\n\nAppended by `bench/run.py`; the newest run is last.\n\n")
        with RESULTS_MD.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
        print(f"appended to {RESULTS_JSONL.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(ok for _, ok, _ in verdicts(record)) else 1


if __name__ == "__main__":
    sys.exit(main())
