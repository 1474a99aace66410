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
            echo("line: (no reply)")
        for reply in replies:
            paragraphs = reply.splitlines() or [""]
            echo(textwrap.fill(paragraphs[0], WIDTH, initial_indent="line: ", subsequent_indent="      "))
            for paragraph in paragraphs[1:]:
                echo(textwrap.fill(paragraph, WIDTH, initial_indent="      ", subsequent_indent="      "))
            echo(f"      [{size(reply)}]")


def size(text: str) -> str:
    segments = gsm.segments(text)
    encoding = "GSM-7" if gsm.is_gsm7(text) else "UCS-2, not GSM-7"
    return f"{segments} segment{'s' if segments != 1 else ''}, {len(text)} characters, {encoding}"
