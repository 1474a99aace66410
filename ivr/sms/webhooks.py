"""POST /sms: the text line, for SMS and WhatsApp. A keyword in, one reply out (or none), never a 5xx.

Who opted out is the only thing kept (a keyed hash of the number and the channel, in
storage.opt_outs, with the word and whether Twilio's own opt-out acted on it; the SMS ones are
shared with the voice line's "text me"). Opt-ins follow Twilio's rules: after Twilio's STOP, only
Twilio's START, YES or UNSTOP lift it (Twilio blocks the number until then). An opt-out the
database cannot take is honoured at once and kept until it can (store/opt_out_journal.py). Message bodies are never
stored or logged; the log line and the usage counts get the matched keyword only.

WhatsApp comes to the same webhook, with ``From``/``To`` as ``whatsapp:+1...``. It gets the same
keywords and answers. Its opt-outs are the line's alone: Twilio's built-in STOP covers SMS only, so
on WhatsApp the line always confirms STOP and START itself, and an opted-out WhatsApp user gets
nothing, not even HELP, until START (but for the crisis text, below). Opt-outs are per channel: an SMS STOP does not silence WhatsApp.

Every reply but the STOP and START confirmations is counted against the reply budgets first
(ivr/store/reply_budget.py): a sender over a budget gets one notice, then an empty <Response/>.

A text whose words sound like a crisis (prompts/<lang>/crisis.yaml) gets the crisis text first and
only, on either channel, even from a number opted out there (it answers their own message, as HELP
does by SMS), and is counted as a crisis event that carries no number hash. Its words are never kept.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from ivr import weblog
from ivr.channels import Channel, split_address
from ivr.content.prompts import TWILIO_KEYWORDS
from ivr.line import current_line
from ivr.sms import keywords
from ivr.sms.replies import EMPTY, SmsReplies
from ivr.store.reply_budget import OK, Decision, Verdict

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/sms")

APP, TWILIO = "app", "twilio"  # who confirms STOP and START: IVR_SMS_OPT_OUT_REPLIES
# The opt-out and opt-in words Twilio acts on itself; for others (PARAR, ALTO ...) the line confirms.
TWILIO_OPT_WORDS = frozenset(TWILIO_KEYWORDS["stop"] + TWILIO_KEYWORDS["start"])
CONFIRMATIONS = ("stop", "start")  # never budgeted: an opt-out or opt-in is always recorded, and confirmed once


def twiml(xml: bytes) -> Response:
    return Response(xml, mimetype="text/xml")


def _media(form) -> int:
    raw = (form.get("NumMedia") or "0").strip()
    return min(int(raw), 99) if raw.isdigit() and len(raw) < 4 else 0


def _body(form) -> str | None:
    """What the texter wrote: the Body, or the label of a WhatsApp quick-reply button pressed."""
    body = form.get("Body")
    return body if (body or "").strip() or not form.get("ButtonText") else form.get("ButtonText")


@bp.post("")
@bp.post("/")
def inbound():
    the_line = current_line()
    form = request.form
    channel, number = split_address(form.get("From"))
    replies = the_line.for_number(form.get("To")).sms  # the number's own line: its name and contact
    body = _body(form)
    crisis = replies.content.crisis_words.language_of(body)
    sender = the_line.person(number)  # one hash per person, on any channel
    if crisis:  # before anything else, opted out or not: the one reply is the offer of help
        budget = _budget(the_line, sender, body, compliance=True)  # the line's minute only
        outcome = "crisis" if budget.verdict is Verdict.REPLY else f"crisis_{budget.reason}"
        weblog.note(keyword="crisis", lang=crisis, channel=channel if channel != Channel.SMS else None, outcome=outcome)  # never the words
        return twiml(replies.reply(crisis, "crisis", channel) if budget.verdict is Verdict.REPLY else EMPTY)
    match = replies.matcher.match(body)
    opted_out, remembered, read_failed = _texter(the_line, sender, channel)
    pending = the_line.opt_out_pending(sender, channel)
    lang = language(the_line, match, sender, form.get("To"), remembered)
    media = _media(form)
    twilio_word = channel == Channel.SMS and keywords.exact_form(body) in TWILIO_OPT_WORDS
    word = keywords.phrase_form(body or "")[:20] if match.intent in keywords.OPT_INTENTS else None
    key, outcome = decide(
        the_line, match, sender, media, twilio_word, opted_out or pending, channel, word=word, read_failed=read_failed, pending=pending
    )
    if key is not None and key not in CONFIRMATIONS:
        budget = _budget(the_line, sender, body, compliance=key == "help")
        if budget.verdict is not Verdict.REPLY:
            key, outcome = budget.notice, f"budget_{budget.verdict}_{budget.reason}"
    topic = match.intent if match.intent in replies.topics else None
    located = bool(form.get("Latitude")) or None
    weblog.note(
        keyword=match.intent,
        how=match.how,
        lang=lang,
        topic=topic,
        media=media or None,
        location=located,
        channel=channel if channel != Channel.SMS else None,
        outcome=outcome,
    )
    return twiml(replies.reply(lang, key, channel) if key else EMPTY)


def _budget(the_line, sender: str | None, body: str | None, compliance: bool = False) -> Decision:
    """The reply budgets' word on this reply (reply_budget.py). On a database failure: reply (counted nowhere)."""
    if the_line.reply_budget is None:
        return OK
    repeat = None if sender is None else the_line.hash_number.keyed(f"{sender} {keywords.exact_form(body)}")
    try:
        return the_line.reply_budget.check(sender, repeat, the_line.clock(), compliance=compliance)
    except (SQLAlchemyError, TimeoutError) as exc:
        log.error("sms reply budget failed error=%s", type(exc).__name__)
        return OK


def _texter(the_line, sender: str | None, channel: Channel = Channel.SMS) -> tuple[bool, str | None, bool]:
    """Whether the sender opted out on ``channel``, the language they last used, and whether the read failed.

    On a database failure: by SMS, not opted out as far as we know (Twilio's own block still stops a
    STOPped number, and this host's pending opt-outs are checked apart); on WhatsApp, opted out:
    nothing else would stop a message to someone who said STOP.
    """
    if sender is None:
        return False, None, False
    try:
        return *the_line.storage.texter(sender, channel), False
    except SQLAlchemyError as exc:  # answer from memory
        log.error("sms texter read failed channel=%s error=%s", channel, type(exc).__name__)
        return channel == Channel.WHATSAPP, None, True


def language(the_line, match: keywords.Match, sender: str | None, called: str | None, remembered: str | None = None) -> str:
    """The keyword's language; for a bare number, the texter's last one; else the number's default.

    Only texters who use another language than the default leave a row (a keyed hash and a code).
    """
    default = the_line.language_of_number(called)
    if match.lang is None:
        return remembered or default
    if sender is None:
        return match.lang
    try:
        if match.lang != (remembered or default):
            the_line.storage.remember_language(sender, None if match.lang == default else match.lang)
    except SQLAlchemyError as exc:
        log.error("sms language memory failed error=%s", type(exc).__name__)
    return match.lang


def decide(
    the_line,
    match: keywords.Match,
    sender: str | None,
    media: int = 0,
    twilio_word: bool = True,
    opted_out: bool = False,
    channel: Channel = Channel.SMS,
    *,
    word: str | None = None,
    read_failed: bool = False,
    pending: bool = False,
) -> tuple[str | None, str]:
    """The sms.yaml text to reply with (None: send nothing), and what happened, for the log.

    ``twilio_word``: the text is exactly one of the words Twilio's own opt-out acts on (and
    confirms); never on WhatsApp, where Twilio does not act on them. ``opted_out``: the sender has
    opted out on ``channel`` (read before, with their language), or has an opt-out ``pending`` (the
    database could not take it yet). ``word``: the opt-out or opt-in word, folded, to record.
    ``read_failed``: that read failed.
    """
    mode = APP if not twilio_word else the_line.settings.sms_opt_out_replies
    if match.intent == keywords.OPT_OUT:
        by_twilio = channel == Channel.SMS and twilio_word  # Twilio blocks the number too: only its START lifts that
        if sender is None:
            return None, "opt_out_not_recorded"
        try:
            new = the_line.storage.opt_out(sender, channel, word, by_twilio)
        except SQLAlchemyError as exc:  # honoured anyway: kept until the database takes it
            log.error("sms opt-out write failed error=%s", type(exc).__name__)
            the_line.opt_out_journal.add(sender, channel, word, by_twilio)
            return None, "opt_out_pending"
        if read_failed and not by_twilio:
            return None, "opted_out_unread"  # a word only the line knows, and a failed read: silence is the safe side
        # At most one confirmation: only for a new opt-out, and only when Twilio does not send its own.
        return ("stop" if mode == APP and new else None), "opted_out" if new else "already_opted_out"
    if match.intent == keywords.OPT_IN:
        if pending:
            return None, "opt_in_while_pending"  # the opt-out is not stored yet: it stands; START again later
        done, removed = _store(lambda h, c: the_line.storage.opt_in(h, c, twilio_word=twilio_word), sender, channel)
        if not done:
            return None, "opt_in_not_recorded"  # no confirmation of what we could not do
        if removed is None:
            return None, "opt_in_needs_start"  # EMPEZAR after Twilio's STOP: Twilio blocks the number (and any reply)
        if not removed:  # "yes" from a number that never opted out (after the crisis text, say): no opt-in to confirm
            # Twilio answers its own START, YES, UNSTOP (its mode): the line adds nothing, no one gets two
            # texts. Where the line is the one answering, the topics, not "you can get texts again".
            return ("recur" if mode == APP else None), "not_opted_out"
        return ("start" if mode == APP else None), "opted_in"
    if opted_out and channel == Channel.WHATSAPP:
        return None, "silent_opted_out"  # nothing at all until START: the line is the only one that honours it
    if match.intent == keywords.REACTION:
        return None, "reaction"  # 'Liked “...”': a tapback is no question, and must never resend what it quotes
    if match.intent == keywords.HELP or (opted_out and match.how == keywords.HELP_WORDS):
        return "help", "help"  # HELP answers anyone, opted out or not (CTIA)
    if opted_out:
        return None, "silent_opted_out"
    if match.intent == keywords.THANKS:
        return None, "thanks"  # a thank-you alone: a paid text saying nothing would be worse than silence
    if match.intent == keywords.EMPTY or (match.intent == keywords.UNKNOWN and media):
        # nothing to read (empty, emoji only, a picture): what to send, RECUR first; HELP's text never names it
        return "unknown", "unreadable"
    key = SmsReplies.key_for(match.intent)
    return key, "reply" if match.intent != keywords.UNKNOWN else "unknown"


def _store(action, sender: str | None, channel: Channel = Channel.SMS) -> tuple[bool, bool | None]:
    """Run an opt-in write: (done, its result); not done when there is no number or the database failed."""
    if sender is None:
        return False, None
    try:
        return True, action(sender, channel)
    except SQLAlchemyError as exc:
        log.error("sms opt-in write failed error=%s", type(exc).__name__)
        return False, None


def error_response(exc: Exception) -> Response:
    """Any failure in an SMS route: the help text (never a 5xx, never silence about how to stop).

    On WhatsApp, nothing: the sender may have opted out, and nothing but the line would stop the help.
    """
    weblog.note(outcome="error", error=type(exc).__name__)
    if split_address(request.form.get("From"))[0] == Channel.WHATSAPP:
        return twiml(EMPTY)
    return twiml(current_line().for_number(request.form.get("To")).sms.reply(None, "help"))


def get_response() -> Response:
    """A GET (the Messaging webhook set to HTTP GET): the help text, which names the line and its number;
    on WhatsApp nothing (the sender may have opted out); a delivery status callback: nothing."""
    if request.path.startswith("/sms/status") or split_address(request.args.get("From"))[0] == Channel.WHATSAPP:
        return twiml(EMPTY)
    return twiml(current_line().for_number(request.args.get("To")).sms.reply(None, "help"))
