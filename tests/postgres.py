"""The real PostgreSQL server for tests: one fresh schema per test, dropped afterwards.

The server is the one at 127.0.0.1:5432, database ``test`` (trust auth), as the first of the
current OS user, ``postgres`` or ``root`` that can log in; or IVR_TEST_POSTGRES_URL. Where no server
answers, PostgreSQL tests are skipped with the reason, unless IVR_REQUIRE_POSTGRES=1 (CI), where
they fail. Each test gets its own schema (a random name, set as the search_path in the URL), so
parallel runs and other sessions never see each other's rows.
"""

from __future__ import annotations

import getpass
import os
import uuid
from urllib.parse import quote

import psycopg
import pytest

HOST, PORT, DATABASE = "127.0.0.1", 5432, "test"


def _candidates() -> list[str]:
    configured = os.environ.get("IVR_TEST_POSTGRES_URL", "").strip()
    if configured:
        return [configured.replace("postgresql+psycopg://", "postgresql://")]
    users = dict.fromkeys([getpass.getuser(), "postgres", "root"])
    return [f"postgresql://{quote(user)}@{HOST}:{PORT}/{DATABASE}" for user in users]


def find_server() -> tuple[str | None, str]:
    """(a libpq URL that logs in, or None; what was tried and why it failed)."""
    problems = []
    for url in _candidates():
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as exc:
            problems.append(f"{url}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    return None, "; ".join(problems)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    url, problems = find_server()
    if url is None:
        message = f"PostgreSQL is not reachable ({problems}); set IVR_TEST_POSTGRES_URL or start the server"
        if os.environ.get("IVR_REQUIRE_POSTGRES", "").strip() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def schema_url(server: str, schema: str) -> str:
    """A DATABASE_URL (as operators write it) whose connections use ``schema``."""
    return f"{server}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_url(postgres_server):
    """DATABASE_URL for a fresh, empty schema on the real server; dropped after the test."""
    schema = f"ivr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema_url(postgres_server, schema)
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '20s'")
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same test on SQLite (a file in tmp_path) and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    return request.getfixturevalue("postgres_url")
