"""GET /audio/<lang>/<file>: the recorded prompts that <Play> fetches.

Twilio fetches a <Play> URL with a GET and honours HTTP caching, so each file is served with an
ETag and a year's max-age: the URL carries a hash of the file (?v=...), so a new recording gets a
new URL and a cached copy is never stale. Only files the line checked at start-up are served. The
files say the handout's public words, nothing about a caller, so no signature is asked for (Twilio
does not sign media fetches the way it signs webhooks).
"""

from __future__ import annotations

from flask import Blueprint, abort, send_file

from ivr.line import current_line

bp = Blueprint("audio", __name__, url_prefix="/audio")
MAX_AGE = 365 * 24 * 3600


@bp.get("/<lang>/<filename>")
def recording(lang: str, filename: str):
    by_key = current_line().recordings.get(lang) or {}
    found = next((r for r in by_key.values() if r.filename == filename), None)
    if found is None:
        abort(404)
    response = send_file(found.path, mimetype=found.mimetype, etag=found.version, max_age=MAX_AGE, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
