"""Shared fixtures: a signed Twilio-like client, a real fake of Twilio's REST API, real SQLite."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from ivr.app import create_app
from ivr.config import ROOT, load_settings
from ivr.store.migrate import upgrade
from ivr.tools.simulator import Call, FlaskTransport, sign
from tests.fake_twilio import FakeTwilio
from tests.postgres import database_url, postgres_server, postgres_url  # noqa: F401 (fixtures for every test module)

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BASE_URL = "https://ivr.example.org"
OUR_NUMBER = "+16175550100"
CALLER = "+16175550123"
OPEN_HOURS = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@pytest.fixture
def prompts(tmp_path):
    """A copy of prompts/ that a test may edit (see tests/prompt_edits.py)."""
    target = tmp_path / "prompts"
    shutil.copytree(ROOT / "prompts", target)
    return target


@pytest.fixture(scope="session")
def fake_twilio():
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    yield fake
    fake.close()


@pytest.fixture
def twilio(fake_twilio):
    fake_twilio.reset()
    yield fake_twilio
    fake_twilio.reset()


def make_env(tmp_path, twilio_url: str, **extra) -> dict:
    env = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "IVR_INSTANCE_PATH": str(tmp_path / "instance"),
        "IVR_HASH_KEY": "test-hash-key",
        "IVR_REST_TIMEOUT": "1.5",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def env(tmp_path, twilio):
    return make_env(tmp_path, twilio.url)


@pytest.fixture
def app(env):
    settings = load_settings(env)
    upgrade(settings.database_url)
    application = create_app(settings)
    # Calls in tests happen on a Wednesday at 11:00 in New York, when the NCI line is open, unless a
    # test pins another time (tests/test_spanish_hours_local.py).
    application.extensions["ivr"].clock = lambda: OPEN_HOURS
    yield application
    application.extensions["ivr"].storage.engine.dispose()


@pytest.fixture
def app_on(tmp_path, twilio, database_url):  # noqa: F811 (database_url is the fixture imported above)
    """An app on each database the tests run against (SQLite, and PostgreSQL where it answers)."""
    from tests.instances import close, make_app  # tests.instances imports this module

    application = make_app(tmp_path, twilio.url, database_url)
    yield application
    close(application)


@pytest.fixture
def line(app):
    return app.extensions["ivr"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def call(client):
    """Start a call: call() or call(caller="+1...", called="+1...")."""

    def start(caller: str = CALLER, called: str = OUR_NUMBER, path: str = "/voice") -> Call:
        return Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=caller, called=called, path=path).start()

    return start


@pytest.fixture
def signed_post(client):
    """POST form parameters to a path, signed as Twilio signs them."""

    def post(path: str, params: dict | None = None, token: str = AUTH_TOKEN, base_url: str = BASE_URL, **kwargs):
        params = params or {}
        headers = {**sign(token, base_url + path, params), **kwargs.pop("headers", {})}
        return client.post(path, base_url=base_url, data=params, headers=headers, **kwargs)

    return post
