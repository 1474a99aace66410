"""Never a 5xx to Twilio: each webhook package says how its failures are answered, and this routes them.

A 5xx makes Twilio play "an application error has occurred" to a patient, so every error under a
webhook prefix goes to the answer its package registered (the voice line apologises and offers the
menu; the text line sends the help text). The table is keyed by URL prefix, not by blueprint,
because a URL that matches no route (a 404 or 405 under /voice) belongs to no blueprint but is still
Twilio's request. Refusals (403, a bad signature) stay refusals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("ivr")
EXTENSION = "ivr_webhook_errors"

Handler = Callable[[Exception], Response]


def register(app: Flask, prefix: str, handler: Handler) -> None:
    """Answer every failure under ``prefix`` (``/voice``) with ``handler(exc)``."""
    app.extensions.setdefault(EXTENSION, {})[prefix] = handler


def init_app(app: Flask) -> None:
    app.register_error_handler(Exception, _handle)


def _handle(exc: Exception):
    if isinstance(exc, HTTPException) and exc.code == 403:
        return exc
    if not isinstance(exc, HTTPException):
        log.exception("error in %s", request.path[:80], exc_info=exc)
    path = request.path
    for prefix, handler in current_app.extensions.get(EXTENSION, {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            return handler(exc)
    if isinstance(exc, HTTPException):
        return exc
    return "Internal error", 500
