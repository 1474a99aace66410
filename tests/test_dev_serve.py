"""python3 dev.py serve as a person runs it: what it says when it cannot start, and that its banner is last.

Each test starts dev.py in a new process, with this project's .venv (already set up by dev.py test).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ivr.config import ROOT
from tests.cli_helpers import clean_environ

BANNER_END = "Stop it with Ctrl+C."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_env(tmp_path: Path, port: int, **extra) -> dict:
    return {
        **clean_environ(),
        "PORT": str(port),
        "IVR_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "IVR_HASH_KEY": "test-hash-key-0123456789abcdef0123456789",
        **extra,
    }


class Serve:
    """``python3 dev.py serve`` in the background; its output (stdout and stderr) in a file."""

    def __init__(self, tmp_path: Path, port: int, **extra):
        self.port = port
        self.log = tmp_path / f"serve-{port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "dev.py", "serve"],
                cwd=ROOT,
                env=dev_env(tmp_path, port, **extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_banner(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while BANNER_END not in self.output():
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.1)

    def get(self, path: str) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            return response.status

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def serve(tmp_path):
    started: list[Serve] = []

    def start(port: int | None = None, **extra) -> Serve:
        started.append(Serve(tmp_path, port or free_port(), **extra))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def test_a_port_in_use_is_said_before_anything_else_with_how_to_choose_another(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "dev.py", "serve"], cwd=ROOT, env=dev_env(tmp_path, port), capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stdout == ""  # no banner, no "running"
    assert result.stderr.strip() == (
        f"Port {port} on 127.0.0.1 is in use (another serve?). Stop it, or choose another port: PORT=5001 python3 dev.py serve"
    )


def test_serve_prints_the_problems_themselves_when_the_line_cannot_start(tmp_path):
    env = dev_env(tmp_path, free_port(), IVR_LOCAL_NAME="Riverside Nurse Line", IVR_LOCAL_PHONE="555-1234")
    result = subprocess.run([sys.executable, "dev.py", "serve"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "running" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines[next(i for i, line in enumerate(lines) if line.startswith("Error: ")) :] == [
        "Error: the line cannot start: 1 problem:",
        "  environment: IVR_LOCAL_PHONE: '555-1234' is not a valid phone number",
    ]


def test_the_banner_is_the_last_thing_before_traffic_and_two_serves_keep_their_own_control_socket(tmp_path, serve):
    first = serve()
    first.wait_for_banner()
    assert first.get("/healthz") == 200  # answered by a worker: all that it printed at start is in the output
    time.sleep(0.5)
    output = first.output()
    head = output[: output.index("INFO ivr.webhook")]
    assert head[: head.rfind("\n")].rstrip().endswith(BANNER_END), output  # the banner, then traffic
    before = output[: output.index("The line is running on")]
    assert before.count("no TWILIO_AUTH_TOKEN: development mode, unsigned webhooks accepted from loopback only") == 1  # gunicorn, once
    assert "alembic" not in before and "Booting worker" not in before and "Listening at" not in before, before
    assert f"http://127.0.0.1:{first.port}/voice" in output and "python3 dev.py flask call" in output
    own = tmp_path / "instance" / f"gunicorn-{first.port}.ctl"
    assert own.exists()
    second = serve()
    second.wait_for_banner()
    assert second.get("/healthz") == 200
    theirs = tmp_path / "instance" / f"gunicorn-{second.port}.ctl"
    deadline = time.monotonic() + 10
    while not theirs.exists() and time.monotonic() < deadline:  # gunicorn opens it as it starts
        time.sleep(0.1)
    assert theirs.exists()
    second.stop()
    assert own.exists()  # the second serve's stop left the first one's socket alone
    assert first.get("/healthz") == 200
