"""Running ``flask --app app ...`` as a person would: a new process, in the project folder, with an environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ivr.config import ROOT


def clean_environ() -> dict:
    """This process's environment without any of the line's own settings (nor gunicorn's)."""
    own = ("IVR_", "TWILIO_", "DATABASE_URL", "FLASK_", "WEB_CONCURRENCY", "GUNICORN_THREADS")
    return {k: v for k, v in os.environ.items() if not k.startswith(own)}


def flask(*args: str, env: dict, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``flask --app app ARGS`` in a new process; output and errors as text."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env={**clean_environ(), **env},
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_prompts(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
