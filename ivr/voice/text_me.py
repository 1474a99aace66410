"""'Text me the numbers': one text to the caller, honest about what happened, answered in time.

Order matters: an unusable caller ID is never texted, nor a number of a country or type the line
does not text (text_gate.py); an opt-out is honoured before anything is
sent; the limits are taken atomically before the send and given back when nothing went out.

Time matters too: the caller waits in silence while this runs, and Twilio gives up on a webhook
after 15 s. Everything here fits in IVR_ANSWER_WITHIN seconds from the webhook's start (10 by
default): the send waits only as long as leaves room to record what happened, and is not made at
all when the database was so slow that no room is left (the caller then hears the numbers).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from ivr.outcomes import TextOutcome
from ivr.privacy import normalise
from ivr.store.storage import DATABASE_WAIT_SECONDS
from ivr.voice import text_gate

log = logging.getLogger(__name__)

# Kept for recording the outcome after the send: one transaction, one wait for a lock at most.
RECORD_RESERVE_SECONDS = DATABASE_WAIT_SECONDS + 0.5
# A send given less than this is not worth starting: Twilio usually takes 0.2 to 1 s to accept one.
SHORTEST_SEND_SECONDS = 1.0


def text_the_numbers(
    line, lang: str, caller: str | None, called: str | None, channel: str = "voice", answer_by: float | None = None
) -> TextOutcome:
    """Send the numbers text to ``caller`` from ``called``; say what became of it.

    ``answer_by``: the time.perf_counter() by which the caller must be answered (default: now plus
    IVR_ANSWER_WITHIN).
    """
    settings = line.settings
    if answer_by is None:
        answer_by = time.perf_counter() + settings.answer_within
    to = normalise(caller, settings.default_region)
    if to is None:
        return TextOutcome.NO_CALLER_ID
    refused = text_gate.refusal(to, text_gate.regions(line))
    if refused is not None:
        log.warning("text_me outcome=%s", refused)  # never the number: its type or country is the reason
        return refused
    from_ = normalise(called, settings.default_region)
    if from_ is None:
        return TextOutcome.TEMPORARY
    number_hash = line.person(to)
    try:
        if line.opt_out_pending(number_hash, "sms") or line.storage.is_opted_out(number_hash):
            return TextOutcome.OPTED_OUT
        quota = line.storage.take_text_quota(number_hash, settings.texts_per_caller_per_day, settings.texts_per_hour)
    except SQLAlchemyError as exc:
        log.error("text_me outcome=temporary reason=database error=%s", type(exc).__name__)
        return TextOutcome.TEMPORARY
    if quota == "caller":
        return TextOutcome.LIMITED  # this phone had its texts for today: it is told so
    if quota == "line":
        log.warning("text_me outcome=temporary reason=hourly_limit")
        return TextOutcome.TEMPORARY  # the whole line's hourly limit: nothing this caller did; "we could not send a text right now"
    wait = answer_by - time.perf_counter() - RECORD_RESERVE_SECONDS  # the sender also caps it at its REST time-out
    if wait < SHORTEST_SEND_SECONDS:
        log.warning("text_me outcome=temporary reason=no_time_left seconds=%.1f", max(wait, 0.0))
        _settle(line, number_hash, channel, lang, TextOutcome.TEMPORARY, give_back=True)
        return TextOutcome.TEMPORARY
    number_line = line.for_number(called)  # the number's own line: its local contact, never another's
    body = number_line.sms_text(lang, "numbers")
    result = line.sender.send_sms(to=to, from_=from_, body=body, status_callback=line.status_callback_url(), wait=wait)
    _settle(
        line,
        number_hash,
        channel,
        lang,
        result.outcome,
        opted_out=result.outcome is TextOutcome.OPTED_OUT,
        give_back=not result.sent and result.certain,
        message_sid=result.sid,
        status="accepted" if result.sent else None,
        error_code=str(result.code) if result.code else None,
        line_id=number_line.key,
    )
    return result.outcome


def _settle(line, number_hash: str, channel: str, lang: str, outcome: str, line_id: str | None = None, **details) -> None:
    try:
        line.storage.settle_text(number_hash, channel, lang, outcome, line=line_id, **details)
    except SQLAlchemyError as exc:
        log.error("text_me record_failed error=%s", type(exc).__name__)
