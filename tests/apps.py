"""Apps as the tests build them: one web process's app on a test environment, and its teardown.

Shared by conftest's fixtures and the helper modules; a test builds apps with the ``make_app``
fixture (conftest.py), which closes them afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from flask import Flask

from ivr.app import create_app
from ivr.config import ROOT, Settings, load_settings
from ivr.line import Line, current_line
from ivr.store.migrate import upgrade

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "https://ivr.example.org"
OUR_NUMBER = "+16175550100"
CALLER = "+16175550123"
# Calls in tests happen on a Wednesday at 11:00 in New York, when the NCI line is open, unless a
# test pins another time.
OPEN_HOURS = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # the NCI line is closed
MENU = yaml.safe_load((ROOT / "prompts" / "menu.yaml").read_text())["menus"]


def make_env(tmp_path: Path, twilio_url: str, **extra) -> dict:
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "IVR_INSTANCE_PATH": str(tmp_path / "instance"),
        "IVR_HASH_KEY": "test-hash-key-0123456789abcdef0123456789",
        "IVR_REST_TIMEOUT": "1.5",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def build_app(settings: Settings, migrate: bool = True, clock: datetime | None = OPEN_HOURS, **services) -> Flask:
    """The app on ``settings``, its database migrated, its clock fixed at ``clock`` (None: the real time)."""
    if migrate:
        upgrade(settings.database_url)
    if clock is not None:
        services["clock"] = lambda: clock
    return create_app(settings, **services)


def make_app(tmp_path, twilio_url: str, database_url: str, migrate: bool = True, **extra) -> Flask:
    """An app as one web process would run it, on ``database_url``, at a time the NCI line is open."""
    return build_app(load_settings(make_env(tmp_path, twilio_url, DATABASE_URL=database_url, **extra)), migrate=migrate)


def line_of(app: Flask) -> Line:
    with app.app_context():
        return current_line()


def close(*apps: Flask) -> None:
    """Write what usage has queued, then let go of the database."""
    for app in apps:
        line = line_of(app)
        line.usage.flush(5)
        line.storage.engine.dispose()


def path_to(target: str, menu: str = "main") -> list[str] | None:
    """Keys to press from ``menu`` to reach ``target``, by menu.yaml."""
    for key, option in MENU[menu].items():
        if option == target:
            return [key]
        if option in MENU and option != "main":
            rest = path_to(target, option)
            if rest:
                return [key, *rest]
    return None
