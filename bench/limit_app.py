"""The limit of this stack: a bare Flask app that answers every POST with constant TwiML.

bench/run.py serves it under the same gunicorn settings as the line. Each path answers with the very
bytes the line answers there (read once at start-up from the JSON file in BENCH_LIMIT_BODIES), so
both move the same bytes; this app does nothing else: no form parsing, no signature, no logging.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response, request

FALLBACK = b'<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello.</Say></Response>'

app = Flask(__name__)
_bodies: dict[str, bytes] = {}
if os.environ.get("BENCH_LIMIT_BODIES"):
    with open(os.environ["BENCH_LIMIT_BODIES"], encoding="utf-8") as handle:
        _bodies = {path: body.encode() for path, body in json.load(handle).items()}


_read_form = os.environ.get("BENCH_LIMIT_READ_FORM") == "1"  # bench/run.py --form-floor: what reading a webhook costs


@app.post("/<path:path>")
def constant(path: str) -> Response:
    if _read_form:
        request.form  # noqa: B018 (parsing the form is the point)
    return Response(_bodies.get("/" + path, FALLBACK), mimetype="text/xml")
