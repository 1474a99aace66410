"""Every command the README shows, run as written in a fresh clone, after the two set-up commands.

The README's promise (issue 15): a new user types what it shows and it works. So this test clones
the repository (with this working tree's changes), runs ``python3 dev.py serve`` there exactly as the
README says (it creates the clone's own .venv, then serves the line the curl commands need), then
runs every other command of the README's shell blocks (```sh) and every ``$ `` line of its sample
sessions, each in a new shell in the clone, and checks that each exits 0. ``python3 dev.py test`` is
the one command not run again: it is what runs this test. Commands for a server (```text blocks) are
not the README's to run here; the README says so where it shows them.

Only one thing may differ from what is written: when port 5000 is taken on this machine (another
serve), the line runs on a free port and the commands say that port instead.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from ivr.config import ROOT
from tests.cli_helpers import clean_environ

pytestmark = pytest.mark.slow
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
SHELL = {"sh", "bash", "shell"}
SERVE, TEST = "python3 dev.py serve", "python3 dev.py test"


def readme_commands(readme: str) -> list[str]:
    """The commands of the README's shell blocks (joined across backslash line ends) and ``$ `` lines."""
    commands = []
    for language, body in FENCE.findall(readme):
        if language in SHELL:
            lines = body.replace("\\\n", " ").splitlines()
            commands += [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        elif language in ("", "console"):
            commands += [line[2:].strip() for line in body.splitlines() if line.startswith("$ ")]
    return commands


def test_the_readme_commands_are_found():
    commands = readme_commands((ROOT / "README.md").read_text())
    assert SERVE in [c.split("#")[0].strip() for c in commands] and TEST in [c.split("#")[0].strip() for c in commands]
    assert len(commands) >= 8, commands
    bare = [c for c in commands if re.search(r"(^|\s)flask --app", c.split("#")[0])]
    assert not bare, f"the README runs flask through dev.py (a new user has no flask on the PATH): {bare}"


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_clone(target: Path) -> Path:
    """``git clone`` of this repository, with this working tree's uncommitted changes and new files on top."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    changed = subprocess.run(["git", "diff", "--name-only", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    new = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, (changed + new).splitlines()):
        source, copy = ROOT / name, target / name
        if source.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(source.read_bytes())
        elif copy.exists():
            copy.unlink()
    return target


def start_serve(clone: Path, env: dict, log: Path, port: int) -> subprocess.Popen | None:
    """``python3 dev.py serve`` as written, up to its banner; None when the port was taken meanwhile."""
    env = {**env, "PORT": str(port)} if port != 5000 else env
    with log.open("wb") as out:
        serve = subprocess.Popen(["bash", "-c", SERVE], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while "Stop it with Ctrl+C." not in log.read_text(errors="replace"):
            if serve.poll() is not None and "is in use" in log.read_text(errors="replace"):
                return None  # another serve on this machine took the port between our look and dev.py's
            assert serve.poll() is None, f"{SERVE} exited with {serve.returncode}:\n{log.read_text(errors='replace')[-3000:]}"
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
    except AssertionError:
        stop(serve)
        raise
    return serve


def stop(serve: subprocess.Popen) -> None:
    if serve.poll() is None:
        os.killpg(serve.pid, signal.SIGTERM)
    try:
        serve.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(serve.pid, signal.SIGKILL)
        serve.wait()


def test_every_readme_command_runs_as_written_in_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    env = {**clean_environ(), "HOME": os.environ.get("HOME", str(tmp_path))}
    port = 5000 if port_is_free(5000) else free_port()
    serve = start_serve(clone, env, tmp_path / "serve.log", port)  # the first set-up command: it makes .venv and runs the line
    if serve is None:
        port = free_port()
        serve = start_serve(clone, env, tmp_path / "serve.log", port)
    assert serve is not None
    if port != 5000:
        env["PORT"] = str(port)
    commands = [c.replace("127.0.0.1:5000", f"127.0.0.1:{port}") for c in readme_commands((clone / "README.md").read_text())]
    try:
        failed, ran = [], []
        for command in commands:
            if command.split("#")[0].strip() in (SERVE, TEST):
                continue  # the line is running; the tests are what runs this
            done = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=180)
            ran.append(command)
            if done.returncode != 0:
                failed.append(f"$ {command}\n  exit {done.returncode}\n  {(done.stderr or done.stdout)[-800:]}")
            elif command.startswith("curl ") and not re.search(r"<Response>|\"answering\":true", done.stdout):
                failed.append(f"$ {command}\n  answered neither TwiML nor health: {done.stdout[-800:]!r}")  # curl exits 0 on a 500
        assert not failed, "\n".join(failed)
        assert len(ran) >= 6, ran
    finally:
        stop(serve)


def test_every_setting_and_every_variable_of_the_procfile_is_in_the_readmes_table():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    listed = {name for row in re.findall(r"^\| ([^|]+) \|", readme, re.M) for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    config = (root / "ivr" / "config.py").read_text()
    read = set(re.findall(r'env(?:\.get\(|, |\[)"([A-Z][A-Z0-9_]+)"', config))
    procfile = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", (root / "Procfile").read_text()))
    assert {"IVR_HASH_KEY", "WEB_CONCURRENCY", "GUNICORN_THREADS"} <= read | procfile
    assert sorted((read | procfile) - listed) == []
