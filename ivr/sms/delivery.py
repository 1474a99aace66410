"""POST /sms/status: Twilio's delivery status for a text we sent, recorded on its texts_sent row.

Signed like every webhook (the path is under /sms). A status never moves a text backwards: a late
"sent" does not overwrite "delivered" (storage.MESSAGE_STATUS_RANK). Unknown SIDs and unknown
statuses are logged and answered 200, so Twilio does not retry; a database failure is logged too.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from ivr import weblog
from ivr.line import current_line
from ivr.store.storage import MESSAGE_STATUS_RANK

log = logging.getLogger(__name__)
bp = Blueprint("delivery", __name__)
MESSAGE_SID = re.compile(r"^[A-Z]{2}[0-9a-f]{32}$")
ERROR_CODE = re.compile(r"^\d{1,10}$")
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@bp.post("/sms/status")
def status():
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    code = (form.get("ErrorCode") or "").strip()
    if not MESSAGE_SID.match(sid) or status not in MESSAGE_STATUS_RANK:
        weblog.note(outcome="ignored", status=status[:20])
        return _empty()
    try:
        outcome = current_line().storage.update_text_status(sid, status, code if ERROR_CODE.match(code) else None)
    except SQLAlchemyError as exc:
        log.error("delivery outcome=record_failed error=%s", type(exc).__name__)
        outcome = "record_failed"
    weblog.note(outcome=outcome, status=status, error_code=code[:10])
    return _empty()


def _empty() -> Response:
    return Response(EMPTY, mimetype="text/xml")
