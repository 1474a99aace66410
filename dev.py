#!/usr/bin/env python3
"""Set up and run the line on this machine. Needs only Python 3.11+.

python3 dev.py serve   # install what is needed, create the SQLite database, run the line on 127.0.0.1:5000
python3 dev.py test    # install what is needed, lint, run every test (extra arguments go to pytest)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PORT = os.environ.get("PORT", "5000")


def ensure_env(requirements: str) -> None:
    """Create .venv and install ``requirements`` once; again only when a requirements file changes."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this script is what tells an old Python so)
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    print(f"installing {requirements} into .venv ...", flush=True)
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ROOT / requirements])
    stamp.write_text(digest.hexdigest())


def run(command, env=None) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def serve() -> None:
    ensure_env("requirements.txt")
    env = {**os.environ, "IVR_DEV_MODE": os.environ.get("IVR_DEV_MODE", "true")}
    run([BIN / "flask", "--app", "app", "migrate"], env=env)
    print(
        f"""
The line is running on http://127.0.0.1:{PORT} (local development mode: unsigned requests
are accepted from this machine only; set TWILIO_AUTH_TOKEN for real calls). Try it:

    curl -s -X POST http://127.0.0.1:{PORT}/voice
    curl -s -X POST http://127.0.0.1:{PORT}/voice/en/choose/main -d Digits=1
    curl -s -X POST http://127.0.0.1:{PORT}/voice/en/choose/about -d 'SpeechResult=why did it come back'

or play a whole call, or a text, in another terminal (no Twilio account needed):

    .venv/bin/flask --app app call
    .venv/bin/flask --app app text RECUR

Stop it with Ctrl+C.
""",
        flush=True,
    )
    gunicorn = [BIN / "gunicorn", "app:app", "--bind", f"127.0.0.1:{PORT}", "--worker-class", "gthread", "--workers", "2"]
    os.execve(str(BIN / "gunicorn"), [str(c) for c in [*gunicorn, "--threads", "8"]], env)


def ensure_debian(tool: str, package: str, purpose: str) -> None:
    """On CI only (CI=true, root, Debian): install Debian's ``package`` when /usr/bin/``tool`` is missing.

    Elsewhere nothing is installed: without the tool the tests that need it are skipped, and say so.
    """
    if os.environ.get("CI") != "true" or Path("/usr/bin", tool).exists() or not Path("/usr/bin/apt-get").exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    print(f"installing Debian's {package} for {purpose} ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        try:
            done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, timeout=900)
        except subprocess.TimeoutExpired:
            done = None
        if done is None or done.returncode:
            print(f"could not run {' '.join(command)}: the tests of {purpose} will be skipped", flush=True)
            return


def ensure_chromium() -> None:
    """Debian's chromium, for the /admin browser test."""
    ensure_debian("chromium", "chromium", "the /admin browser test")


def test(args: list[str]) -> None:
    ensure_env("requirements-dev.txt")
    ensure_chromium()
    ensure_debian("pdftoppm", "poppler-utils", "the handout label (tests/test_label.py)")
    run([BIN / "ruff", "check", "."])
    run([BIN / "ruff", "format", "--check", "."])
    run([BIN / "python", "-m", "pytest", *args])


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "serve":
        serve()
    elif what == "test":
        test(sys.argv[2:])
    else:
        sys.exit(__doc__)
