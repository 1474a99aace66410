"""POST /sms: the text line. A keyword in, one reply out (or none), never a 5xx.

Who opted out is the only thing kept (a keyed hash of the number, in storage.opt_outs, shared with
the voice line's "text me"). Message bodies are never stored or logged; the log line and the usage
counts get the matched keyword only.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from ivr import weblog
from ivr.content.prompts import TWILIO_KEYWORDS
from ivr.line import current_line
from ivr.sms import keywords
from ivr.sms.replies import EMPTY

log = logging.getLogger(__name__)
bp = Blueprint("sms", __name__, url_prefix="/sms")

APP, TWILIO = "app", "twilio"  # who confirms STOP and START: IVR_SMS_OPT_OUT_REPLIES
# The opt-out and opt-in words Twilio acts on itself; for others (PARAR, ALTO ...) the line confirms.
TWILIO_OPT_WORDS = frozenset(TWILIO_KEYWORDS["stop"] + TWILIO_KEYWORDS["start"])


def twiml(xml: bytes) -> Response:
    return Response(xml, mimetype="text/xml")


def _media(form) -> int:
    raw = (form.get("NumMedia") or "0").strip()
    return min(int(raw), 99) if raw.isdigit() and len(raw) < 4 else 0


@bp.post("")
@bp.post("/")
def inbound():
    the_line = current_line()
    form = request.form
    match = the_line.sms.matcher.match(form.get("Body"))
    sender = the_line.hash_number(form.get("From")) if (form.get("From") or "").strip() else None
    opted_out, remembered = _texter(the_line, sender)
    lang = language(the_line, match, sender, form.get("To"), remembered)
    media = _media(form)
    twilio_word = keywords.exact_form(form.get("Body")) in TWILIO_OPT_WORDS
    key, outcome = decide(the_line, match, sender, media, twilio_word, opted_out)
    topic = match.intent if match.intent in the_line.sms.topics else None
    weblog.note(keyword=match.intent, how=match.how, lang=lang, topic=topic, media=media or None, outcome=outcome)
    return twiml(the_line.sms.reply(lang, key) if key else EMPTY)


def _texter(the_line, sender: str | None) -> tuple[bool, str | None]:
    """Whether the sender opted out and the language they last used, in one read; on a database
    failure: not opted out as far as we know (Twilio's own block still stops a STOPped number)."""
    if sender is None:
        return False, None
    try:
        return the_line.storage.texter(sender)
    except SQLAlchemyError as exc:  # answer from memory
        log.error("sms texter read failed error=%s", type(exc).__name__)
        return False, None


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
    the_line, match: keywords.Match, sender: str | None, media: int = 0, twilio_word: bool = True, opted_out: bool = False
) -> tuple[str | None, str]:
    """The sms.yaml text to reply with (None: send nothing), and what happened, for the log.

    ``twilio_word``: the text is one of the words Twilio's own opt-out acts on (and confirms).
    ``opted_out``: the sender has opted out (read before, with their language).
    """
    mode = APP if not twilio_word else the_line.settings.sms_opt_out_replies
    if match.intent == keywords.OPT_OUT:
        new = _store(the_line.storage.opt_out, sender)
        if new is None:
            return None, "opt_out_not_recorded"
        # At most one confirmation: only for a new opt-out, and only when Twilio does not send its own.
        return ("stop" if mode == APP and new else None), "opted_out" if new else "already_opted_out"
    if match.intent == keywords.OPT_IN:
        removed = _store(the_line.storage.opt_in, sender)
        if removed is None:
            return None, "opt_in_not_recorded"  # no confirmation of what we could not do
        return ("start" if mode == APP else None), "opted_in" if removed else "not_opted_out"
    if match.intent == keywords.HELP:
        return "help", "help"  # HELP answers anyone, opted out or not (CTIA)
    if opted_out:
        return None, "silent_opted_out"
    if match.intent == keywords.EMPTY or (match.intent == keywords.UNKNOWN and media):
        return "help", "help"  # nothing to read (empty, emoji only, a picture): say what the line does
    key = the_line.sms.key_for(match.intent)
    return key, "reply" if match.intent != keywords.UNKNOWN else "unknown"


def _store(action, sender: str | None) -> bool | None:
    """Run an opt-out/opt-in write; None when there is no number or the database failed."""
    if sender is None:
        return None
    try:
        return action(sender)
    except SQLAlchemyError as exc:
        log.error("sms opt-out write failed error=%s", type(exc).__name__)
        return None


def error_response(exc: Exception) -> Response:
    """Any failure in an SMS route: the help text (never a 5xx, never silence about how to stop)."""
    weblog.note(outcome="error", error=type(exc).__name__)
    return twiml(current_line().sms.reply(None, "help"))
