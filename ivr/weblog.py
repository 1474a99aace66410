"""One structured log line per webhook: route, choice, outcome, duration. Never a phone number."""

from __future__ import annotations

import json
import logging
import time

from flask import g, request

log = logging.getLogger("ivr.webhook")
_encode = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...) builds an encoder per call


def note(**fields) -> None:
    """Add fields (choice, outcome, ...) to this request's log line. Never pass a phone number."""
    g.setdefault("log_fields", {}).update(fields)


def start_timer() -> None:
    g.started = time.perf_counter()


def started() -> float:
    """The time.perf_counter() at which this request started (now, outside a timed request)."""
    return g.get("started") or time.perf_counter()


def write_line(response):
    req = request._get_current_object()  # once: each use of a proxy is a context look-up
    rule = req.url_rule
    if rule is None and not req.path.startswith(("/voice", "/sms")):
        return response
    if not log.isEnabledFor(logging.INFO):
        return response
    now = time.perf_counter()
    here = g._get_current_object()
    fields = {
        "route": rule.rule if rule is not None else req.path[:80],
        "status": response.status_code,
        "ms": round((now - here.get("started", now)) * 1000, 1),
    }
    fields.update(here.get("log_fields", {}))
    log.info(_encode(fields))
    return response


def init_app(app) -> None:
    """Register before the signature check, so refused requests are timed and logged too."""
    app.before_request(start_timer)
    app.after_request(write_line)
