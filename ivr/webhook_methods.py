"""A webhook set to HTTP GET in Twilio's console by mistake: refused, said once in the log, answered.

Twilio signs a GET over its URL and query, so a signed GET reaches the line; but with GET, ``From``
and ``To`` travel in the query string, which proxies and access logs write down (phone numbers in
logs), and the line's routes read the form of a POST. So a GET is not served: the log says once per
route what to fix, and each package answers it as it answers an error (the voice line a plain
apology and the welcome, never the fix's jargon; the text line the help text; a status callback an
empty answer).
The signature is checked first (security.py): an unsigned GET is a 403 like any other request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, request

from ivr import weblog
from ivr.security import is_webhook

log = logging.getLogger("ivr")
EXTENSION = "ivr_get_answers"
FIX = "set this webhook to HTTP POST in Twilio's console (or run twilio setup)"
MAX_ROUTES = 64  # routes said once each; a signed request cannot invent many, but the set stays bounded

Handler = Callable[[], Response]


def register(app: Flask, prefix: str, handler: Handler) -> None:
    """Answer a GET under ``prefix`` (``/voice``) with ``handler()``."""
    app.extensions.setdefault(EXTENSION, {})[prefix] = handler


def refuse_get():
    """before_request, after the signature check: a GET to a webhook gets its package's answer."""
    if request.method != "GET" or not is_webhook(request.path):
        return None
    route = request.path[:80]  # the path only: the query holds the caller's number
    said = current_app.extensions.setdefault(EXTENSION + "_said", set())
    if route not in said and len(said) < MAX_ROUTES:
        said.add(route)
        log.warning('webhook outcome=refused_get route=%s fix="%s"', route, FIX)
    weblog.note(outcome="refused_get")
    for prefix, handler in current_app.extensions.get(EXTENSION, {}).items():
        if route == prefix or route.startswith(prefix + "/"):
            return handler()
    return None


def init_app(app: Flask) -> None:
    """Register after security's check: only a GET Twilio signed gets this far."""
    app.before_request(refuse_get)
