"""The real line in this process, for trying it without Twilio: ``flask --app app call`` and ``text``.

Webhooks are signed with a token made up for the session and posted through Flask's test client,
so every check a real request meets is met. Texts the line would send are kept in an Outbox
instead of going to Twilio, and everything the line records goes to a throwaway SQLite database,
so trying the line neither texts anyone nor changes the real numbers.
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from ivr.app import create_app
from ivr.config import Settings
from ivr.line import current_line
from ivr.outcomes import TextOutcome
from ivr.tools.simulator import Call, FlaskTransport, Texter
from ivr.twilio_client import SendResult

BASE_URL = "https://line.practice.invalid"
CALLER = "+16175550123"  # a 555 number: fictional
OUR_NUMBER = "+16175550100"


@dataclass(frozen=True)
class OutgoingText:
    to: str
    from_: str
    body: str
    status_callback: str | None


class Outbox:
    """A sender for the Line that keeps each text instead of calling Twilio's REST API."""

    def __init__(self):
        self.texts: list[OutgoingText] = []

    def send_sms(self, to: str, from_: str, body: str, status_callback: str | None = None, wait: float | None = None) -> SendResult:
        self.texts.append(OutgoingText(to, from_, body, status_callback))
        return SendResult(TextOutcome.SENT, sid="SM" + uuid.uuid4().hex)


class PracticeLine:
    """Use as a context manager; ``call()`` starts a simulated call."""

    def __init__(self, settings: Settings, clock=None):
        """``clock``: "now" for the line (opening hours, budgets); ``flask call --at`` fixes it."""
        self._folder = tempfile.TemporaryDirectory(prefix="ivr-practice-")
        folder = Path(self._folder.name)
        self.database_url = f"sqlite:///{folder / 'practice.sqlite3'}"
        self.token = secrets.token_hex(16)
        self.outbox = Outbox()
        _quiet_upgrade(self.database_url)
        practice = replace(
            settings,
            auth_token=self.token,
            database_url=self.database_url,
            instance_path=folder,
            public_base_url="",
            proxy_count=0,
            dev_mode=False,
        )
        # One JSON line per request would drown the call: kept here instead of printed (the text tool
        # reads the last one's outcome to say why the line did not reply).
        self._webhook_log = logging.getLogger("ivr.webhook")
        self._webhook_saved = (self._webhook_log.level, self._webhook_log.propagate)
        self._webhook_lines = _LastLine()
        self._webhook_log.setLevel(logging.INFO)
        self._webhook_log.propagate = False
        self._webhook_log.addHandler(self._webhook_lines)
        self.app = create_app(practice, sender=self.outbox, **({"clock": clock} if clock else {}))
        with self.app.app_context():
            self.line = current_line()
        self.transport = FlaskTransport(self.app.test_client())

    def call(self, caller: str = CALLER, called: str = OUR_NUMBER, path: str = "/voice") -> Call:
        """A call, not yet started (``.start()`` it)."""
        return Call(self.transport, self.token, BASE_URL, caller=caller, called=called, path=path)

    def texter(self, sender: str = CALLER, to: str = OUR_NUMBER) -> Texter:
        """A phone that texts the line."""
        return Texter(self.transport, self.token, BASE_URL, sender=sender, to=to)

    def last_outcome(self) -> str:
        """The outcome field of the last webhook's log line ("" when it had none)."""
        return self._webhook_lines.fields.get("outcome", "")

    def close(self) -> None:
        self.line.usage.flush()  # usage is written by a thread: finish before the database goes
        self.line.storage.engine.dispose()
        self._webhook_log.removeHandler(self._webhook_lines)
        self._webhook_log.setLevel(self._webhook_saved[0])
        self._webhook_log.propagate = self._webhook_saved[1]
        self._folder.cleanup()

    def __enter__(self) -> PracticeLine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LastLine(logging.Handler):
    """Keeps the fields of the last webhook log line (weblog writes each as JSON)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.fields: dict = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.fields = json.loads(record.getMessage())
        except ValueError:
            self.fields = {}


def _quiet_upgrade(database_url: str) -> None:
    alembic = logging.getLogger("alembic")
    level = alembic.level
    alembic.setLevel(logging.WARNING)
    try:
        from ivr.store.migrate import upgrade

        upgrade(database_url)
    finally:
        alembic.setLevel(level)
