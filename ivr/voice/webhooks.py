"""The voice webhooks: POST /voice and the URLs its TwiML posts back to.

Each route parses Twilio's request once (``Turn``), decides (``respond``, which needs no Flask), and
notes what happened for the log line and usage. Any failure is answered by ``error_response``.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, Response, abort, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from ivr import metrics, weblog
from ivr.content.prompts import Kind
from ivr.line import Line, NumberLine, current_line
from ivr.outcomes import DialOutcome, TextOutcome
from ivr.privacy import normalise
from ivr.voice import text_me
from ivr.voice.script import TEXT_OFF, VoiceScript
from ivr.voice.sends import Sends
from ivr.voice.turn import TEXT_TOLD, Turn

bp = Blueprint("voice", __name__, url_prefix="/voice")
SENDS = "ivr_text_sends"  # app.extensions: this process's pool of "text me" sends (voice.init_app)


EMPTY_RESPONSE = VoiceResponse().to_xml().encode()  # <Response />: for a callback, whose answer Twilio ignores
# Choices that cost money or leave the line: never taken on speech Twilio itself doubts (IVR_SPEECH_CONFIDENCE).
CONSEQUENTIAL = (Kind.TRANSFER, Kind.TEXT, Kind.ANYWAY)


class Reply(NamedTuple):
    xml: bytes
    outcome: str  # for the log line and usage: the kind of choice, or what became of it


def twiml(xml: bytes | str) -> Response:
    return Response(xml, mimetype="text/xml")


def _number_line(line: Line, form=None) -> NumberLine:
    """The line of the number this call came in on (its own contact and words): the form's To."""
    return line.for_number((request.form if form is None else form).get("To"))


def _script(line: Line, lang: str) -> VoiceScript:
    """The script of ``lang`` as it speaks now: after hours, "0 at any time" says what 0 does then."""
    script = _number_line(line).scripts.get(lang)
    if script is None:
        abort(404)
    return script.at(line.clock())


def _turn(script: VoiceScript) -> Turn:
    req = request._get_current_object()  # once: each use of the proxy is a context look-up
    return Turn.parse(req.args, req.form, script.content.answers, script.content.contacts)


_UNKNOWN = object()


def _text_state(line: Line, turn: Turn) -> str | None:
    """TEXT_TOLD (from the URL), else TEXT_OFF when the caller ID is one "text me" would refuse anyway
    (withheld, not in use, abroad, not a mobile: known from From, which every request carries), else None."""
    if turn.text == TEXT_TOLD:
        return TEXT_TOLD
    return TEXT_OFF if text_me.refused_before_sending(line, turn.caller) else None


def _context(line: Line, turn: Turn) -> dict:
    """Where the caller is, for the next document: what to repeat, the line closed, the text state."""
    return {**turn.context, "text": _text_state(line, turn)}


@bp.post("")
@bp.post("/")
def welcome():
    line = current_line()
    form = request.form
    script = _number_line(line, form).script(line.language_of_number(form.get("To"))).at(line.clock())
    weblog.note(choice="welcome", lang=script.lang)
    return twiml(script.welcome(text=TEXT_OFF if text_me.refused_before_sending(line, form.get("From")) else None))


@bp.post("/<lang>/menu/<name>")
def menu(lang: str, name: str):
    line = current_line()
    script = _script(line, lang)
    if name not in script.content.menus:
        abort(404)
    turn = _turn(script)
    weblog.note(menu=name, outcome="silence" if turn.tries else "menu")
    return twiml(script.menu(name, tries=turn.tries, **_context(line, turn)))


@bp.post("/<lang>/answer/<name>")
def answer(lang: str, name: str):
    line = current_line()
    script = _script(line, lang)
    if name not in script.content.answers:
        abort(404)
    weblog.note(choice=name, outcome="answer")
    return twiml(script.answer(name, text=_text_state(line, _turn(script))))


@bp.post("/<lang>/choose/<name>")
def choose(lang: str, name: str):
    line = current_line()
    script = _script(line, lang)
    if name not in script.content.menus:
        abort(404)
    turn = _turn(script)
    context = _context(line, turn)
    if turn.heard_nothing:  # heard nothing that is words: as silence, so the goodbye still comes
        weblog.note(menu=name, input="none", outcome="silence")
        return twiml(script.menu(name, tries=turn.tries + 1, **context))
    if turn.speech and script.content.crisis_words.language_of(turn.speech):  # before anything else, at any menu
        weblog.note(menu=name, input=turn.input, outcome="crisis")  # never the words
        return twiml(script.crisis(name, **context))
    key = turn.digits or script.understander.key_from_speech(turn.speech)  # "nine" chooses a language as 9 does
    other = script.language_for(key) or (script.language_named(turn.speech) if turn.speech and not turn.digits else None)
    if other is not None:  # at every menu: 9, or the language's name ("español", "English")
        weblog.note(menu=name, input=turn.input, choice=f"lang_{other.lang}", outcome="language")
        return twiml(other.at(line.clock()).switched_to(name, turn.answer, turn.contact, context["text"]))
    if turn.speech and not turn.digits and script.understander.asks_again(turn.speech):  # "what?", "¿cómo?": the menu again
        weblog.note(menu=name, input=turn.input, outcome="asked_again")
        return twiml(script.menu(name, **context))
    target = script.resolve(name, turn.digits, turn.speech)
    weblog.note(menu=name, input=turn.input, choice=target)
    if target is None:
        weblog.note(outcome="not_a_choice")
        return twiml(script.menu(name, before=("not_a_choice",), **context))  # no language offer again: 9 still works
    if turn.unsure(line.settings.speech_confidence) and script.content.kind(target) in CONSEQUENTIAL:
        weblog.note(outcome="unsure")  # a television taken for "operator": ask again, never dial or text on it
        return twiml(script.menu(name, before=("not_sure",), **context))
    answer_by = weblog.started() + line.settings.answer_within
    reply = respond(line, script, target, turn, answer_by=answer_by, sends=_sends(), menu=name, text=context["text"])
    weblog.note(outcome=reply.outcome)
    return twiml(reply.xml)


def _sends() -> Sends | None:
    return current_app.extensions.get(SENDS)


def respond(
    line: Line,
    script: VoiceScript,
    target: str,
    turn: Turn,
    answer_by: float | None = None,
    sends: Sends | None = None,
    menu: str | None = None,
    text: str | object | None = _UNKNOWN,
) -> Reply:
    """What the caller hears after choosing ``target`` (a choice of the menu they were at).

    ``sends``: "text me" sends in the background (a slow one is answered "one moment"); without it, waited for.
    ``menu``: the menu the choice was made at, when its words may have said that ``target`` is closed.
    ``text``: the turn's text state, when the route has it already (its context); else asked here."""
    kind = script.content.kind(target)
    if text is _UNKNOWN:
        text = _text_state(line, turn)
    if kind is Kind.MENU:
        return Reply(script.menu(target, text=text), kind)
    if kind is Kind.ANSWER:
        return Reply(script.answer(target, text=text), kind)
    if kind is Kind.REPEAT:
        return Reply(script.answer(turn.answer, text=text) if turn.answer else script.menu("main", text=text), kind)
    if kind is Kind.ANYWAY:  # connect although closed: the contact travelled in the URL
        return Reply(script.transfer(turn.contact, _caller_id(line, turn), text) if turn.contact else script.menu("main", text=text), kind)
    if kind is Kind.TRANSFER:
        if target != turn.contact:  # asked again for the line that is closed: connect anyway
            hours = script.content.contacts[target].hours
            if hours and not hours.is_open(line.clock()):
                return Reply(script.closed(target, told=script.said_closed_at(menu, target), text=text), "closed")  # "closed" once
        return Reply(script.transfer(target, _caller_id(line, turn), text), kind)
    if kind is Kind.TEXT:
        if text == TEXT_TOLD:  # told already in this call that no text can reach this phone: say so briefly
            return Reply(script.text_refused_again(), "text_refused_again")
        outcome = text_me.text_the_numbers(
            line, script.lang, turn.caller, turn.called, answer_by=answer_by, sends=sends, call_sid=turn.call
        )
        if isinstance(outcome, text_me.Waiting):
            return Reply(script.text_wait(outcome.ticket, outcome.due), "text_wait")
        metrics.TEXT_OUTCOMES.labels(str(outcome)).inc()
        return Reply(script.text_outcome(outcome, text), f"text_{outcome}")
    raise ValueError(f"no answer for a choice of kind {kind!r}")  # a new Kind must be handled above, never texted by default


def _caller_id(line: Line, turn: Turn) -> str | None:
    """The number the caller dialled (ours), shown as caller ID on a transfer; None if unusable."""
    return normalise(turn.called, line.settings.default_region)


@bp.post("/<lang>/crisis/<name>")
def crisis(lang: str, name: str):
    """After the crisis message at menu ``name``: the crisis key (or "yes") connects to the lifeline;
    an "always" key does what it always does; anything else, or silence, the menu again, as before."""
    line = current_line()
    script = _script(line, lang)
    if name not in script.content.menus:
        abort(404)
    turn = _turn(script)
    context = _context(line, turn)
    words = script.content.crisis_words
    if turn.speech and words.language_of(turn.speech):
        weblog.note(menu=name, input=turn.input, outcome="crisis")
        return twiml(script.crisis(name, **context))
    key = turn.digits[:1] or (script.understander.key_from_speech(turn.speech) if turn.speech else None)
    unsure = turn.unsure(line.settings.speech_confidence)
    if key == script.content.crisis_key or (turn.speech and words.says_yes(turn.speech, lang)):
        if unsure:  # a doubtful "yes" dials no one: the message and the offer again (1 still connects at once)
            weblog.note(menu=name, input=turn.input, outcome="unsure")
            return twiml(script.crisis(name, **context))
        weblog.note(menu=name, input=turn.input, outcome="crisis_connect")
        return twiml(script.crisis_transfer(_own_caller_id(line, turn), context["text"]))
    if key in script.content.always:
        target = script.content.always[key]
        if unsure and script.content.kind(target) in CONSEQUENTIAL:
            weblog.note(menu=name, input=turn.input, outcome="unsure")
            return twiml(script.crisis(name, **context))
        weblog.note(menu=name, input=turn.input, choice=target)
        answer_by = weblog.started() + line.settings.answer_within
        reply = respond(line, script, target, turn, answer_by=answer_by, sends=_sends(), text=context["text"])
        weblog.note(outcome=reply.outcome)
        return twiml(reply.xml)
    weblog.note(menu=name, input=turn.input, outcome="crisis_declined")
    return twiml(script.menu(name, **context))


def _own_caller_id(line: Line, turn: Turn) -> str | None:
    """For the lifeline: the caller's own number when it is one, so that the Lifeline routes the call
    by the caller's area code and can call back if it drops, as if they had dialled 988; else ours."""
    return normalise(turn.caller, line.settings.default_region) or _caller_id(line, turn)


@bp.post("/<lang>/text/<ticket>")
def text_result(lang: str, ticket: str):
    """Where Twilio asks, after "one moment", what became of a "text me" send: any instance answers.

    Never sends: a retried or repeated request reads the same outcome. A key pressed while waiting
    asks at once; an "always" key (0: a person) does what it always does, the text going on anyway.
    """
    line = current_line()
    script = _script(line, lang)
    turn = _turn(script)
    target = script.content.always.get(turn.digits[:1]) if turn.digits else None
    if target is not None and script.content.kind(target) is not Kind.TEXT:
        weblog.note(input=turn.input, choice=target)
        reply = respond(line, script, target, turn, answer_by=weblog.started() + line.settings.answer_within)
        weblog.note(outcome=reply.outcome)
        return twiml(reply.xml)
    due = request.args.get("due", "")
    due_ms = int(due) if due.isascii() and due.isdigit() and len(due) <= 15 else 0
    known = text_me.TICKET.fullmatch(ticket)
    outcome = text_me.outcome_of(line, ticket, turn.call, due_ms, _sends()) if known else TextOutcome.TEMPORARY
    if outcome is None:
        weblog.note(outcome="text_wait")
        return twiml(script.text_wait(ticket, due_ms, first=False))
    weblog.note(choice="text", outcome=f"text_{outcome}")
    metrics.TEXT_OUTCOMES.labels(str(outcome)).inc()
    return twiml(script.text_outcome(outcome, _text_state(line, turn)))


@bp.post("/<lang>/lifeline/done")
def lifeline_done(lang: str):
    line = current_line()
    script = _script(line, lang)
    status = DialOutcome.from_twilio(request.form.get("DialCallStatus"))
    weblog.note(outcome=f"crisis_dial_{status}")
    return twiml(script.crisis_transfer_done(status, _text_state(line, _turn(script))))


@bp.post("/<lang>/transfer/<contact>/done")
def transfer_done(lang: str, contact: str):
    line = current_line()
    script = _script(line, lang)
    if contact not in script.content.contacts:
        abort(404)
    status = request.form.get("DialCallStatus", "failed")
    weblog.note(choice=contact, outcome=f"dial_{status[:20]}")
    text = _text_state(line, _turn(script))
    return twiml(script.transfer_done(DialOutcome.from_twilio(status), contact, text))  # normalised first: the script caches by outcome


@bp.post("/fallback")
def fallback():
    """Twilio's Fallback URL, and where a key pressed during its words comes back (its <Gather> has no action)."""
    line = current_line()
    form = request.form
    script = _number_line(line, form).script(line.language_of_number(form.get("To")))  # no database: safe
    try:
        script = script.at(line.clock())  # a line closed now is not dialled
    except Exception:  # the way to a person must come whatever broke, the clock too
        pass
    if form.get("Digits"):  # the same call pressed a key: not another fallback
        weblog.note(choice=script.fallback_contact(), outcome="fallback_key")
        return twiml(script.fallback_pressed())
    weblog.note(outcome="fallback", error_code=form.get("ErrorCode", "")[:10])
    return twiml(script.fallback())


def error_response(exc: Exception) -> Response:
    """Any failure in a voice route: a short apology and the main menu, never a 5xx."""
    lang = (request.view_args or {}).get("lang")
    weblog.note(outcome="error", error=type(exc).__name__)
    line = current_line()
    script = _number_line(line).script(lang)
    try:
        script = script.at(line.clock())
    except Exception:  # the apology must come whatever broke, the clock too
        pass
    return twiml(script.error(text=_error_text_state(line)))


def _error_text_state(line: Line) -> str | None:
    """The text state for the apology's menu, from the failed request: TEXT_TOLD from its URL, else
    TEXT_OFF from its From. Whatever broke may be in there too: then None (a text offered, as before)."""
    try:
        req = request._get_current_object()
        if req.args.get("text") == TEXT_TOLD:
            return TEXT_TOLD
        return TEXT_OFF if text_me.refused_before_sending(line, req.form.get("From")) else None
    except Exception:
        return None


def get_response() -> Response:
    """A GET (the number's webhook set to HTTP GET in the console): a plain apology, then the welcome and
    menu, whose <Gather>s post, so the call goes on; the fix is in the log (webhook_methods). A status
    callback: nothing."""
    if request.path.startswith("/voice/status"):
        return twiml(EMPTY_RESPONSE)
    line = current_line()
    called = request.args.get("To")
    return twiml(line.for_number(called).script(line.language_of_number(called)).at(line.clock()).wrong_method())
