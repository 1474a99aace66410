"""POST /voice/status: Twilio's call status callback (set by ``flask --app app twilio setup``).

Twilio posts here when a call ends. The line only logs the final status and duration (never a
number) and answers with empty TwiML; it is signed like every webhook (the path is under /voice).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from ivr import weblog

bp = Blueprint("call_status", __name__)
STATUSES = {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}


@bp.post("/voice/status")
def status():
    call_status = request.form.get("CallStatus", "").strip().lower()
    duration = request.form.get("CallDuration", "").strip()
    weblog.note(
        outcome=f"call_{call_status}" if call_status in STATUSES else "call_unknown",
        seconds=int(duration) if duration.isdigit() and len(duration) < 7 else None,
    )
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', mimetype="text/xml")
