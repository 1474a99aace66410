"""The line as it runs in production, for tests: the Procfile's ``web:`` command, on loopback.

The only change to that command: gunicorn gets an already listening socket on a free port of
127.0.0.1 (``--bind fd://N``, so two tests never race for a port) and no control socket (its path is
per user, so servers started at the same time would share it). ./gunicorn.conf.py applies, as in
production.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ivr.config import ROOT
from tests.cli_helpers import clean_environ


def procfile_web() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[4:].strip()
    raise AssertionError("Procfile has no web: line")


class Gunicorn:
    """``with Gunicorn(env, log) as server: server.wait_ready(); ... server.url ...``"""

    def __init__(self, env: dict, log: Path, **settings: str):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(256)
        listener.set_inheritable(True)
        self.port = listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        web, bound = re.subn(r"--bind \S+", f"--bind fd://{listener.fileno()}", procfile_web())
        assert bound == 1, "the Procfile's web: line should have one --bind"
        self.command = ["sh", "-c", f"exec {web} --no-control-socket"]
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        full_env = {**clean_environ(), **env, **settings, "PATH": path}
        self.started = time.monotonic()
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
                start_new_session=True,
            )
        listener.close()  # gunicorn holds it now

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, seconds: float = 30) -> float:
        """Wait until GET /healthz answers; return the seconds since start."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=10) as response:  # it waits on a silent database
                    json.loads(response.read())
                    return time.monotonic() - self.started
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        raise AssertionError(f"gunicorn did not answer within {seconds} s:\n{self.output()[-3000:]}")

    def workers(self) -> set[int]:
        pid = self.process.pid
        try:
            return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        except OSError:
            return set()

    def answering_workers(self) -> set[int]:
        """The workers that loaded the line and answer (gunicorn.conf.py logs it), not those still booting."""
        said = {int(pid) for pid in re.findall(r"Worker (\d+) is answering", self.output())}
        return self.workers() & said

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """Graceful stop (SIGTERM to the master, as a platform does); the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"gunicorn did not stop within {timeout} s") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
