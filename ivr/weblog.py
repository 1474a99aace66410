"""One log line per webhook: route, choice, outcome, duration. Never a phone number.

Under gunicorn with its access log on (the Procfile's ``--access-logfile -``, and gunicorn.conf.py's
format, which ends with the ``{ivr.webhook}e`` atom), the fields are written at the end of
gunicorn's own access line for the request, so each request is one line, not two. That halves the
log volume a clinic's log service bills for, and it is most of a webhook's cost under load: a
second log handler, locked and written from 8 threads at once, took a quarter of a worker's CPU
(py-spy, bench/run.py). Without that access log (``dev.py serve``, ``flask run``, tests), the line
is logged by the ``ivr.webhook`` logger, as JSON. gunicorn.conf.py's ``post_worker_init`` says
which, once the worker has loaded the app.
"""

from __future__ import annotations

import json
import logging
import time

from flask import Flask, g, request

log = logging.getLogger("ivr.webhook")
_encode = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...) builds an encoder per call
ENVIRON_KEY = "ivr.webhook"  # the access log format's atom: %({ivr.webhook}e)s
STATE_KEY = "ivr.weblog"  # app.extensions: whether the server's access line carries the fields


class Fields(dict):
    """The fields, put in the WSGI environ for gunicorn's access line, which formats them with %s.

    Not a str on purpose: gunicorn escapes the quotes of str atoms (``{\\"route\\":...}``), so the
    JSON would no longer be JSON. It is encoded only when the line is written.
    """

    def __str__(self) -> str:
        return _encode(self)


def note(**fields) -> None:
    """Add fields (choice, outcome, ...) to this request's log line. Never pass a phone number."""
    g.setdefault("log_fields", {}).update(fields)


def start_timer() -> None:
    g.started = time.perf_counter()


def started() -> float:
    """The time.perf_counter() at which this request started (now, outside a timed request)."""
    return g.get("started") or time.perf_counter()


def written_by_server(app: Flask) -> None:
    """The server's access line carries the fields from now on (gunicorn.conf.py, in each worker)."""
    app.extensions[STATE_KEY]["access_line"] = True


def _writer(state: dict):
    def write_line(response):
        req = request._get_current_object()  # once: each use of a proxy is a context look-up
        rule = req.url_rule
        if rule is None and not req.path.startswith(("/voice", "/sms")):
            return response
        if not log.isEnabledFor(logging.INFO):
            return response
        now = time.perf_counter()
        here = g._get_current_object()
        fields = Fields(
            route=rule.rule if rule is not None else req.path[:80],
            status=response.status_code,
            ms=round((now - here.get("started", now)) * 1000, 1),
        )
        fields.update(here.get("log_fields", {}))
        if state["access_line"]:
            req.environ[ENVIRON_KEY] = fields
        else:
            log.info(_encode(fields))
        return response

    return write_line


def init_app(app: Flask) -> None:
    """Register before the signature check, so refused requests are timed and logged too."""
    state = app.extensions.setdefault(STATE_KEY, {"access_line": False})
    app.before_request(start_timer)
    app.after_request(_writer(state))
