"""Nothing forgets opt-outs silently in production: started as a new deployer would, by the Procfile.

- With TWILIO_AUTH_TOKEN set and no IVR_HASH_KEY, gunicorn refuses to start and says how to make one.
- With SQLite, start-up says once (not once per worker) where the opt-outs live and that the file
  must persist and be backed up.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ivr.config import ROOT
from ivr.store.migrate import upgrade
from tests.apps import make_env
from tests.cli_helpers import clean_environ
from tests.live_server import Gunicorn

pytestmark = pytest.mark.slow
SAID = "opt-outs are kept in the SQLite file"


def test_gunicorn_refuses_to_start_without_a_hash_key_and_says_how_to_make_one(tmp_path, twilio):
    env = make_env(tmp_path, twilio.url)
    del env["IVR_HASH_KEY"]
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        assert server.process.wait(timeout=60) != 0
    finally:
        server.kill()
    output = server.output()
    assert "IVR_HASH_KEY is not set" in output and "python3 -c 'import secrets; print(secrets.token_hex(32))'" in output
    assert not (tmp_path / "instance" / "hash.key").exists()  # no key made up quietly


def test_with_sqlite_start_up_says_once_where_the_opt_outs_live(tmp_path, twilio):
    env = make_env(tmp_path, twilio.url, WEB_CONCURRENCY=2)
    upgrade(env["DATABASE_URL"])
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        deadline = time.monotonic() + 30
        while len(server.answering_workers()) < 2 and time.monotonic() < deadline:  # both loaded the line
            time.sleep(0.1)
        assert len(server.answering_workers()) == 2
        assert server.stop() == 0
    output = server.output()
    assert output.count(SAID) == 1, output[-2000:]
    assert str(tmp_path / "ivr.sqlite3") in output and "backed up" in output
    # the WSGI entry outside gunicorn (python -c, a platform's runner) says it too, once
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env={**clean_environ(), **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count(SAID) == 1
