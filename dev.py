#!/usr/bin/env python3
"""Set up and run the line on this machine. Needs only Python 3.11+.

python3 dev.py serve   # install what is needed, create the SQLite database, run the line on 127.0.0.1:5000
python3 dev.py test    # install what is needed, lint, run every test (extra arguments go to pytest)
python3 dev.py flask prompts check   # any flask --app app command, in the project's .venv
"""

from __future__ import annotations

import hashlib
import os
import socket
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
    if _installed(requirements) or (requirements == "requirements.txt" and _installed("requirements-dev.txt")):
        return  # (requirements-dev.txt starts with -r requirements.txt: its install has every runtime package)
    stamp = VENV / f".installed-{requirements}"
    print(f"installing {requirements} into .venv ...", flush=True)
    run([BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ROOT / requirements])
    stamp.write_text(_digest(requirements))


def _digest(requirements: str) -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _installed(requirements: str) -> bool:
    """Whether .venv holds ``requirements`` as the files say now (its stamp matches them)."""
    stamp = VENV / f".installed-{requirements}"
    return stamp.exists() and stamp.read_text() == _digest(requirements)


def run(command, env=None) -> None:
    result = subprocess.run([str(c) for c in command], cwd=ROOT, env=env)
    if result.returncode:
        sys.exit(result.returncode)


def port_is_free(port: str) -> bool:
    """Whether gunicorn can bind 127.0.0.1:``port`` (with SO_REUSEADDR, as gunicorn binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", int(port)))
        except OSError:
            return False
    return True


def control_socket(port: str) -> list[str]:
    """gunicorn's control socket for this port: two serves on two ports never share (or delete) one."""
    path = Path(os.environ.get("IVR_INSTANCE_PATH") or ROOT / "instance") / f"gunicorn-{port}.ctl"
    if len(str(path)) > 100:  # a Unix socket's path has a limit (108 bytes on Linux)
        return ["--no-control-socket"]
    path.parent.mkdir(parents=True, exist_ok=True)
    return ["--control-socket", str(path)]


BANNER = """
The line is running on http://127.0.0.1:{port} (local development mode: unsigned requests
are accepted from this machine only; set TWILIO_AUTH_TOKEN for real calls). Try it:

    curl -s -X POST http://127.0.0.1:{port}/voice
    curl -s -X POST http://127.0.0.1:{port}/voice/en/choose/main -d Digits=1
    curl -s -X POST http://127.0.0.1:{port}/voice/en/choose/about -d 'SpeechResult=why did it come back'

or play a whole call, or a text, in another terminal (no Twilio account needed):

    python3 dev.py flask call
    python3 dev.py flask text RECUR

Stop it with Ctrl+C.
"""


def serve() -> None:
    if not PORT.isdigit() or not 0 < int(PORT) < 65536:
        sys.exit(f"PORT={PORT!r} is not a port number: set PORT=5001, for example")
    if not port_is_free(PORT):
        sys.exit(f"Port {PORT} on 127.0.0.1 is in use (another serve?). Stop it, or choose another port: PORT=5001 python3 dev.py serve")
    ensure_env("requirements.txt")
    # gunicorn.conf.py prints the banner when gunicorn is ready, as the last line before traffic.
    env = {**os.environ, "IVR_DEV_MODE": os.environ.get("IVR_DEV_MODE", "true"), "IVR_SERVE_BANNER": BANNER.format(port=PORT)}
    run([BIN / "flask", "--app", "app", "migrate", "--quiet"], env=env)  # when the line cannot start: its problems
    gunicorn = [BIN / "gunicorn", "app:app", "--bind", f"127.0.0.1:{PORT}", "--worker-class", "gthread", "--workers", "2"]
    gunicorn += ["--threads", "8", "--log-level", "warning", *control_socket(PORT)]  # warning: no start-up lines after the banner
    os.execve(str(BIN / "gunicorn"), [str(c) for c in gunicorn], env)


def flask(args: list[str]) -> None:
    """``flask --app app ARGS`` in the project's .venv: what the README's commands run."""
    ensure_env("requirements.txt")
    os.chdir(ROOT)
    os.execv(str(BIN / "flask"), [str(BIN / "flask"), "--app", "app", *args])


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
    elif what == "flask":
        flask(sys.argv[2:])
    elif what == "test":
        test(sys.argv[2:])
    else:
        sys.exit(__doc__)
