"""'Text me the numbers': one text to the caller, honest about what happened, answered in time.

Order matters: an unusable caller ID is never texted, nor a number of a country or type the line
does not text (text_gate.py); an opt-out is honoured before anything is
sent; the limits are taken atomically before the send and given back when nothing went out.

Time matters too: the caller waits in silence while this runs, and Twilio gives up on a webhook
after 15 s. Everything here fits in IVR_ANSWER_WITHIN seconds from the webhook's start (10 by
default): the send waits only as long as leaves room to record what happened, and is not made at
all when the database was so slow that no room is left (the caller then hears the numbers).

The send itself runs off the request thread (``sends``, a bounded pool: voice/sends.py). A send done
within about a second is answered at once, as before. A slower one is answered "one moment" with a
ticket: the caller hears a short pause and Twilio comes back to /voice/<lang>/text/<ticket>, which
any instance answers from storage (``outcome_of``): the outcome once known, another short pause
until then, and at the deadline, with nothing known, the "temporary problem" answer and the numbers.
The send is made once, by the request that asked; the ticket's URL only ever reads.

Once per call: a text sent (or one that may have gone out: Twilio did not answer in time) is kept
as a row of text_tickets under the call's keyed hash, and a second "text me" in the same call is
told so (ALREADY_SENT, UNCERTAIN) without sending or taking the quota: the first text is on its way.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from ivr.outcomes import TextOutcome
from ivr.privacy import normalise, unusable
from ivr.remembered import MISSING, Remembered
from ivr.store.storage import DATABASE_WAIT_SECONDS
from ivr.voice import text_gate

log = logging.getLogger(__name__)

# Kept for recording the outcome after the send: one transaction, one wait for a lock at most.
RECORD_RESERVE_SECONDS = DATABASE_WAIT_SECONDS + 0.5
# A send given less than this is not worth starting: Twilio usually takes 0.2 to 1 s to accept one.
SHORTEST_SEND_SECONDS = 1.0
# How long the request that asked waits for the send before it answers "one moment": Twilio's usual time.
FIRST_ANSWER_SECONDS = 1.0
TICKET = re.compile(r"[A-Za-z0-9_\-]{22}")  # secrets.token_urlsafe(16): what a ticket in a URL must look like


@dataclass(frozen=True)
class Waiting:
    """The send goes on after this answer: Twilio asks for its outcome at the ticket's URL, until ``due``."""

    ticket: str
    due: int  # Unix time (ms) by which the caller hears an outcome, sent or not: travels in the URL


def text_the_numbers(
    line,
    lang: str,
    caller: str | None,
    called: str | None,
    channel: str = "voice",
    answer_by: float | None = None,
    sends=None,
    call_sid: str | None = None,
) -> TextOutcome | Waiting:
    """Send the numbers text to ``caller`` from ``called``; say what became of it.

    ``answer_by``: the time.perf_counter() by which the caller must be answered (default: now plus
    IVR_ANSWER_WITHIN). ``sends`` (voice/sends.py): everything below, database included, runs in
    its pool, and Waiting is the answer when it takes longer than FIRST_ANSWER_SECONDS; without it,
    it runs here.
    """
    if answer_by is None:
        answer_by = time.perf_counter() + line.settings.answer_within
    ref = call_ref(line, call_sid) if call_sid else None
    text = partial(_text, line, lang, caller, called, channel, answer_by, line.status_callback_url(), ref=ref)  # the URL needs the request
    if sends is None:
        return text()
    return _in_background(line, sends, text, call_sid, answer_by)


def _text(
    line,
    lang: str,
    caller: str | None,
    called: str | None,
    channel: str,
    answer_by: float,
    status_callback,
    sending=None,
    ref: str | None = None,
) -> TextOutcome:
    """The checks, the send and what it leaves in storage, in whichever thread runs them.

    ``sending`` (a threading.Event, from voice/sends.py) is set once the checks are done and the send begins.
    ``ref``: the call's keyed hash (call_ref): a text sent or maybe sent earlier in it is not sent again."""
    settings = line.settings
    if answer_by - time.perf_counter() - RECORD_RESERVE_SECONDS < SHORTEST_SEND_SECONDS:  # waited its turn too long: nothing taken
        log.warning("text_me outcome=temporary reason=queued_too_long")
        return TextOutcome.TEMPORARY
    refused = refused_before_sending(line, caller)
    if refused is not None:
        if refused in (TextOutcome.ABROAD, TextOutcome.NOT_MOBILE):
            log.warning("text_me outcome=%s", refused)  # never the number: its type or country is the reason
        return refused
    to = normalise(caller, settings.default_region)
    from_ = normalise(called, settings.default_region)
    if from_ is None:
        return TextOutcome.TEMPORARY
    number_hash = line.person(to)
    try:
        if line.opt_out_pending(number_hash, "sms") or line.storage.is_opted_out(number_hash):
            return TextOutcome.OPTED_OUT
        earlier = line.storage.call_texted(ref) if ref else None
        if earlier is not None:  # this call had its text (or may have): not again, and no quota taken
            log.info("text_me outcome=%s reason=earlier_in_call", "already_sent" if earlier == "sent" else earlier)
            return TextOutcome.ALREADY_SENT if earlier == "sent" else TextOutcome.UNCERTAIN
        quota = line.storage.take_text_quota(number_hash, settings.texts_per_caller_per_day, settings.texts_per_hour)
    except SQLAlchemyError as exc:
        log.error("text_me outcome=temporary reason=database error=%s", type(exc).__name__)
        return TextOutcome.TEMPORARY
    if quota == "caller":
        return TextOutcome.LIMITED  # this phone had its texts for today: it is told so
    if quota == "line":
        log.warning("text_me outcome=temporary reason=hourly_limit")
        return TextOutcome.TEMPORARY  # the whole line's hourly limit: nothing this caller did; "we could not send a text right now"
    number_line = line.for_number(called)  # the number's own line: its local contact, never another's
    if sending is not None:
        sending.set()
    return _send(line, number_hash, to, from_, channel, lang, number_line, status_callback, answer_by, ref)


REMEMBERED_REFUSALS = 4096
_REFUSALS = Remembered(REMEMBERED_REFUSALS)  # refused_before_sending, by keyed hash of From


def refused_before_sending(line, caller: str | None) -> TextOutcome | None:
    """Why ``caller`` (From, as Twilio sent it) can never be texted, known without a database or Twilio:
    withheld, not a number in use, abroad or not a mobile; None when a text may go. The voice menus ask
    it at every request too, so a call that cannot be texted is never offered one.

    Asked once per caller ID and remembered (the last 4,096): phonenumbers' parsing costs about 150 µs,
    every webhook of a call. The memory is keyed by a keyed hash of From, so it holds no number.
    """
    key = (line.hash_number.keyed(f"from:{caller or ''}"), line.settings.default_region, text_gate.regions(line))
    outcome = _REFUSALS.get(key)
    if outcome is MISSING:
        outcome = _refusal(line, caller)
        _REFUSALS.put(key, outcome)
    return outcome


def _refusal(line, caller: str | None) -> TextOutcome | None:
    region = line.settings.default_region
    to = normalise(caller, region)
    if to is None:
        return TextOutcome.UNUSABLE_NUMBER if unusable(caller, region) else TextOutcome.NO_CALLER_ID
    return text_gate.refusal(to, text_gate.regions(line))


def _send(line, number_hash, to, from_, channel, lang, number_line, status_callback, answer_by: float, ref=None) -> TextOutcome:
    wait = answer_by - time.perf_counter() - RECORD_RESERVE_SECONDS  # the sender also caps it at its REST time-out
    if wait < SHORTEST_SEND_SECONDS:
        log.warning("text_me outcome=temporary reason=no_time_left seconds=%.1f", max(wait, 0.0))
        _settle(line, number_hash, channel, lang, TextOutcome.TEMPORARY, give_back=True)
        return TextOutcome.TEMPORARY
    body = number_line.sms_text(lang, "numbers")
    result = line.sender.send_sms(to=to, from_=from_, body=body, status_callback=status_callback, wait=wait)
    outcome = result.outcome
    if outcome is TextOutcome.TEMPORARY and not result.certain:
        outcome = TextOutcome.UNCERTAIN  # Twilio may have it: "we may not have been able to send", never a second one
    _settle(
        line,
        number_hash,
        channel,
        lang,
        outcome,
        opted_out=result.outcome is TextOutcome.OPTED_OUT,
        give_back=not result.sent and result.certain,
        message_sid=result.sid,
        status="accepted" if result.sent else None,
        error_code=str(result.code) if result.code else None,
        line_id=number_line.key,
    )
    if ref and outcome in (TextOutcome.SENT, TextOutcome.UNCERTAIN):
        _remember_for_call(line, ref, outcome)
    return outcome


def _remember_for_call(line, ref: str, outcome: TextOutcome) -> None:
    """A row of text_tickets under the call's hash (a ticket no URL carries): what a second "text me" in it finds."""
    try:
        line.storage.record_ticket(secrets.token_urlsafe(16), ref, datetime.now(UTC), str(outcome))
    except SQLAlchemyError as exc:
        log.error("text_me call_record_failed error=%s", type(exc).__name__)


def call_ref(line, call_sid: str | None) -> str:
    """The keyed hash a ticket is tied to its call by (as usage.py refers to a call)."""
    return line.hash_number.keyed(f"call:{call_sid or ''}")[:32]


def _in_background(line, sends, text, call_sid: str | None, answer_by: float) -> TextOutcome | Waiting:
    """No database here: the request thread only hands the work over, and waits a little when it may."""
    ticket = secrets.token_urlsafe(16)
    due = datetime.now(UTC) + timedelta(seconds=answer_by - time.perf_counter())

    ref = call_ref(line, call_sid)

    def later(outcome: TextOutcome) -> None:  # in the pool's thread, once the caller was told "one moment"
        try:
            line.storage.record_ticket(ticket, ref, due, str(outcome))
        except SQLAlchemyError as exc:
            log.error("text_me ticket_failed error=%s", type(exc).__name__)  # the result URL then answers at the deadline

    checks = answer_by - time.perf_counter() - RECORD_RESERVE_SECONDS  # the database part, waited for as before
    outcome = sends.start(text, later, wait=min(FIRST_ANSWER_SECONDS, checks), key=(ticket, ref), checks=checks)
    if outcome is not None:
        return outcome
    return Waiting(ticket, int(due.timestamp() * 1000))


def outcome_of(line, ticket: str, call_sid: str | None, due: int, sends=None) -> TextOutcome | None:
    """What became of the send of ``ticket``, for the result URL; None: not known yet, and still time.

    The ticket's row is written when the outcome is known; until then there is none. At ``due``
    (Unix ms, from the URL: Twilio signed it) with nothing known, UNCERTAIN: the caller hears the
    numbers, and that the text may not have gone out. The outcome of another call's ticket is never said: TEMPORARY. The process that sent
    (``sends``) knows it first, from memory, even when the database cannot store it.
    """
    remembered = sends.known(ticket) if sends is not None else None
    if remembered is not None:
        found = (remembered[0], None, remembered[1])
    elif sends is not None and sends.pending(ticket):
        found = None  # still sending, here: no need to ask the database
    else:
        try:
            found = line.storage.ticket(ticket)
        except SQLAlchemyError as exc:  # the send needs the database too: most likely it could not go out either
            log.error("text_me outcome=temporary reason=ticket_unreadable error=%s", type(exc).__name__)
            return TextOutcome.TEMPORARY
    if found is not None and found[0] != call_ref(line, call_sid):
        log.warning("text_me outcome=temporary reason=other_call")
        return TextOutcome.TEMPORARY
    if found is not None and found[2] is not None:
        return TextOutcome(found[2])
    if time.time() * 1000 < due:
        return None
    log.warning("text_me outcome=uncertain reason=unknown_at_deadline")
    return TextOutcome.UNCERTAIN  # still sending, or never began: "we may not have been able to send", both true


def _settle(line, number_hash: str, channel: str, lang: str, outcome: str, line_id: str | None = None, **details) -> None:
    try:
        line.storage.settle_text(number_hash, channel, lang, outcome, line=line_id, **details)
    except SQLAlchemyError as exc:
        log.error("text_me record_failed error=%s", type(exc).__name__)
