"""'Text me the numbers': one text to the caller, honest about what happened.

Order matters: an unusable caller ID is never texted; an opt-out is honoured before anything is
sent; the limits are taken atomically before the send and given back when nothing went out.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from .privacy import normalise

log = logging.getLogger(__name__)


def text_the_numbers(line, lang: str, caller: str | None, called: str | None, channel: str = "voice") -> str:
    """Send the numbers text to ``caller`` from ``called``; return one of content.TEXT_OUTCOMES."""
    settings = line.settings
    to = normalise(caller, settings.default_region)
    if to is None:
        return "no_caller_id"
    from_ = normalise(called, settings.default_region)
    if from_ is None:
        return "temporary"
    number_hash = line.hash_number(to)
    try:
        if line.storage.is_opted_out(number_hash):
            return "opted_out"
        allowed = line.storage.take_text_quota(number_hash, settings.texts_per_caller_per_day, settings.texts_per_hour)
    except SQLAlchemyError as exc:
        log.error("text_me outcome=temporary reason=database error=%s", type(exc).__name__)
        return "temporary"
    if not allowed:
        return "limited"
    body = line.sms_text(lang, "numbers")
    result = line.sender.send_sms(to=to, from_=from_, body=body, status_callback=line.status_callback_url())
    try:
        if result.outcome == "opted_out":
            line.storage.opt_out(number_hash)
        if not result.sent and result.certain:
            line.storage.give_back_text_quota(number_hash)
        line.storage.record_text(
            number_hash,
            channel,
            lang,
            result.outcome,
            result.sid,
            status="accepted" if result.sent else None,
            error_code=str(result.code) if result.code else None,
        )
    except SQLAlchemyError as exc:
        log.error("text_me record_failed error=%s", type(exc).__name__)
    return result.outcome
