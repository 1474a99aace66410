"""The voice webhooks: POST /voice and the URLs its TwiML posts back to."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from . import weblog
from .privacy import normalise
from .text_me import text_the_numbers

bp = Blueprint("voice", __name__, url_prefix="/voice")


def line():
    return current_app.extensions["ivr"]


def twiml(xml: bytes | str) -> Response:
    return Response(xml, mimetype="text/xml")


def _script(lang: str):
    script = line().scripts.get(lang)
    if script is None:
        abort(404)
    return script


def _tries() -> int:
    raw = request.args.get("tries", "0")
    return min(int(raw), 99) if raw.isdigit() else 0


def _answer(script) -> str | None:
    answer = request.args.get("answer")
    return answer if answer in script.content.answers else None


def _contact(script) -> str | None:
    contact = request.args.get("contact")
    return contact if contact in script.content.contacts else None


def _caller_id() -> str | None:
    """The number the caller dialled (ours), shown as caller ID on a transfer; None if unusable."""
    return normalise(request.form.get("To"), line().settings.default_region)


def _welcome() -> bool:
    return request.args.get("welcome") == "1"


@bp.post("")
@bp.post("/")
def welcome():
    script = line().script(line().language_of_number(request.form.get("To")))
    weblog.note(choice="welcome", lang=script.lang)
    return twiml(script.welcome())


@bp.post("/<lang>/menu/<name>")
def menu(lang: str, name: str):
    script = _script(lang)
    if name not in script.content.menus:
        abort(404)
    tries = _tries()
    weblog.note(menu=name, outcome="silence" if tries else "menu")
    return twiml(script.menu(name, tries=tries, answer=_answer(script), contact=_contact(script), welcome=_welcome()))


@bp.post("/<lang>/answer/<name>")
def answer(lang: str, name: str):
    script = _script(lang)
    if name not in script.content.answers:
        abort(404)
    weblog.note(choice=name, outcome="answer")
    return twiml(script.answer(name))


@bp.post("/<lang>/choose/<name>")
def choose(lang: str, name: str):
    script = _script(lang)
    if name not in script.content.menus:
        abort(404)
    answer_context, contact_context = _answer(script), _contact(script)
    digits = request.form.get("Digits", "")
    speech = request.form.get("SpeechResult", "")
    chosen_language = script.language_for(digits) if _welcome() and digits else None
    if chosen_language:
        weblog.note(menu=name, input="dtmf", choice=f"lang_{chosen_language}", outcome="language")
        return twiml(line().script(chosen_language).welcome(offer=False))
    target = script.resolve(name, digits, speech)
    weblog.note(menu=name, input="dtmf" if digits else "speech" if speech else "none", choice=target)
    if target is None:
        weblog.note(outcome="not_a_choice")
        return twiml(script.menu(name, answer=answer_context, contact=contact_context, before=("not_a_choice",)))
    return twiml(respond(script, target, answer_context, contact_context))


def respond(script, target: str, answer_context: str | None, contact_context: str | None = None) -> bytes:
    kind = script.content.kind(target)
    weblog.note(outcome=kind)
    if kind == "menu":
        return script.menu(target)
    if kind == "answer":
        return script.answer(target)
    if kind == "repeat":
        return script.answer(answer_context) if answer_context else script.menu("main")
    if kind == "anyway":  # connect although closed: the contact travelled in the URL
        return script.transfer(contact_context, _caller_id()) if contact_context else script.menu("main")
    if kind == "transfer":
        hours = script.content.contacts[target].hours
        if hours and not hours.is_open(line().clock()):
            weblog.note(outcome="closed")
            return script.closed(target)
        return script.transfer(target, _caller_id())
    answer_by = weblog.started() + line().settings.answer_within
    outcome = text_the_numbers(line(), script.lang, request.form.get("From"), request.form.get("To"), answer_by=answer_by)
    weblog.note(outcome=f"text_{outcome}")
    return script.text_outcome(outcome)


@bp.post("/<lang>/transfer/<contact>/done")
def transfer_done(lang: str, contact: str):
    script = _script(lang)
    if contact not in script.content.contacts:
        abort(404)
    status = request.form.get("DialCallStatus", "failed")
    weblog.note(choice=contact, outcome=f"dial_{status[:20]}")
    return twiml(script.transfer_done(status))


@bp.post("/fallback")
def fallback():
    weblog.note(outcome="fallback", error_code=request.form.get("ErrorCode", "")[:10])
    return twiml(line().script(None).fallback())


def error_response(exc: Exception) -> Response:
    """Any failure in a voice route: a short apology and the main menu, never a 5xx."""
    lang = (request.view_args or {}).get("lang")
    weblog.note(outcome="error", error=type(exc).__name__)
    return twiml(line().script(lang).error())
