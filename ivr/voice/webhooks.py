"""The voice webhooks: POST /voice and the URLs its TwiML posts back to."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from ivr import weblog
from ivr.privacy import normalise
from ivr.voice.text_me import text_the_numbers

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
    return min(int(raw), 99) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0


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
    digits = request.form.get("Digits", "").strip()
    speech = request.form.get("SpeechResult", "").strip()
    welcome = _welcome()
    if not digits and not speech:  # heard nothing that is words: as silence, so the goodbye still comes
        weblog.note(menu=name, input="none", outcome="silence")
        context = {"answer": answer_context, "contact": contact_context, "welcome": welcome}
        return twiml(script.menu(name, tries=_tries() + 1, **context))
    key = digits or script.understander.key_from_speech(speech)  # "nine" chooses a language as 9 does
    chosen_language = script.language_for(key) if welcome and key else None
    if chosen_language:
        weblog.note(menu=name, input="dtmf" if digits else "speech", choice=f"lang_{chosen_language}", outcome="language")
        return twiml(line().script(chosen_language).welcome(offer=False))
    target = script.resolve(name, digits, speech)
    weblog.note(menu=name, input="dtmf" if digits else "speech", choice=target)
    if target is None:
        weblog.note(outcome="not_a_choice")
        context = {"answer": answer_context, "contact": contact_context, "welcome": welcome}  # the language offer stays
        return twiml(script.menu(name, before=("not_a_choice",), **context))
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
    if kind == "transfer" and target == contact_context:  # asked again for the line that is closed: connect anyway
        return script.transfer(target, _caller_id())
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
    return twiml(line().script(line().language_of_number(request.form.get("To"))).fallback())  # no database: safe


def error_response(exc: Exception) -> Response:
    """Any failure in a voice route: a short apology and the main menu, never a 5xx."""
    lang = (request.view_args or {}).get("lang")
    weblog.note(outcome="error", error=type(exc).__name__)
    return twiml(line().script(lang).error())
