"""``flask --app app text "RECUR"``: the line's reply to a text, with its size, without Twilio.

Several texts in one run are one conversation from one phone (STOP, then RECUR, then START ...),
on the practice line's throwaway database.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from ivr.content import gsm
from ivr.tools.practice import PracticeLine

WIDTH = 88


def run_texts(practice: PracticeLine, bodies: list[str], echo: Callable[[str], None], sender: str | None = None) -> None:
    texter = practice.texter(sender) if sender else practice.texter()
    for body in bodies:
        echo(f"you:  {body}")
        replies = texter.send(body)
        if not replies:
            echo(f"line: (no reply: {why_silent(practice.last_outcome(), practice.line.settings.sms_opt_out_replies)})")
        for reply in replies:
            paragraphs = reply.splitlines() or [""]
            echo(textwrap.fill(paragraphs[0], WIDTH, initial_indent="line: ", subsequent_indent="      "))
            for paragraph in paragraphs[1:]:
                echo(textwrap.fill(paragraph, WIDTH, initial_indent="      ", subsequent_indent="      "))
            echo(f"      [{size(reply)}]")


# Why the line answered a text with nothing, by the outcome of its log line (for the person trying it).
SILENT = {
    "opted_out": "the opt-out is recorded; the line sends no confirmation, one is enough",
    "already_opted_out": "this phone had opted out already",
    "opted_in": "the opt-in is recorded; the line sends no confirmation, one is enough",
    "not_opted_out": (
        "this phone had not opted out; Twilio itself answers START, YES and UNSTOP"
        " (IVR_SMS_OPT_OUT_REPLIES=twilio, the default), so the line adds no second text"
    ),
    "thanks": "a thank-you alone gets no reply: a paid text saying nothing would be worse than silence",
    "reaction": "an iPhone tapback ('Liked ...', 'Loved ...') gets no reply, and never the text it quotes again",
    "silent_opted_out": "this phone opted out, so the line answers nothing but HELP until START, YES or UNSTOP",
    "opt_out_not_recorded": "the opt-out could not be recorded (database error)",
    "opt_in_not_recorded": "the opt-in could not be recorded (database error)",
    "opt_out_pending": "the opt-out is honoured, and kept until the database can record it; no confirmation yet",
    "opted_out_unread": "the line could not read whether this phone had opted out (database error), so it stays silent to be safe",
    "opt_in_while_pending": "the opt-out is not recorded yet, so it still stands; send START again later",
    "opt_in_needs_start": "this phone opted out with Twilio's STOP, which only START, YES or UNSTOP can undo, "
    "so Twilio would block any reply",
}
# The reply budgets (ivr/store/reply_budget.py), when they leave the line silent.
BUDGET_SILENT = {
    "loop": "the same text came again and again, as from another machine answering this line, so the line stopped replying for now",
    "hour": "this phone had its replies for this hour, and was told so once",
    "day": "this phone had its replies for today, and was told so once",
    "line": "the whole line sent as many replies as it may in one minute",
}


def why_silent(outcome: str, opt_out_replies: str) -> str:
    for prefix in ("budget_silent_", "crisis_"):
        if outcome.startswith(prefix) and outcome[len(prefix) :] in BUDGET_SILENT:
            return BUDGET_SILENT[outcome[len(prefix) :]]
    reason = SILENT.get(outcome, f"the line sent nothing (its log says outcome {outcome or 'unknown'})")
    if outcome in ("opted_out", "opted_in") and opt_out_replies == "twilio":
        word = "STOP" if outcome == "opted_out" else "START"
        reason = f"Twilio itself confirms {word} by text (IVR_SMS_OPT_OUT_REPLIES=twilio, the default); " + reason.split("; ")[0]
    return reason


def size(text: str) -> str:
    segments = gsm.segments(text)
    encoding = "GSM-7" if gsm.is_gsm7(text) else "UCS-2, not GSM-7"
    return f"{segments} segment{'s' if segments != 1 else ''}, {len(text)} characters, {encoding}"
