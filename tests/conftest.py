"""Shared fixtures: a signed Twilio-like client, a real fake of Twilio's REST API, real SQLite."""

from __future__ import annotations

import shutil

import pytest

from ivr.config import ROOT, load_settings
from ivr.tools.simulator import Call, FlaskTransport, sign
from tests.apps import ACCOUNT_SID, AUTH_TOKEN, BASE_URL, CALLER, OPEN_HOURS, OUR_NUMBER, build_app, close, line_of, make_env
from tests.fake_twilio import FakeTwilio
from tests.postgres import database_url, postgres_server, postgres_url  # noqa: F401 (fixtures for every test module)


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


@pytest.fixture
def env(tmp_path, twilio):
    return make_env(tmp_path, twilio.url)


@pytest.fixture
def make_app(tmp_path, twilio):
    """Build apps as a test needs them: make_app(env=..., settings=..., clock=..., sender=...); closed afterwards.

    With neither ``env`` nor ``settings``: the test environment (make_env) with ``extra`` settings.
    """
    built = []

    def make(settings=None, *, env=None, migrate=True, clock=OPEN_HOURS, **extra):
        services = {k: extra.pop(k) for k in ("storage", "sender") if k in extra}
        if settings is None:
            settings = load_settings(env if env is not None else make_env(tmp_path, twilio.url, **extra))
        application = build_app(settings, migrate=migrate, clock=clock, **services)
        built.append(application)
        return application

    yield make
    close(*built)


@pytest.fixture
def app(make_app, env):
    return make_app(env=env)


@pytest.fixture
def app_on(make_app, database_url):  # noqa: F811 (database_url is the fixture imported above)
    """An app on each database the tests run against (SQLite, and PostgreSQL where it answers)."""
    return make_app(DATABASE_URL=database_url)


@pytest.fixture
def line(app):
    return line_of(app)


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
