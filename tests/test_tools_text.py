"""flask --app app text "RECUR": the reply a texter gets, with its segment count, through the real POST /sms."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ivr.content import gsm
from ivr.store.storage import opt_outs
from ivr.tools.simulator import FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL
from tests.cli_helpers import flask


@pytest.fixture
def run_text(app):
    def run(*bodies: str):
        result = app.test_cli_runner().invoke(args=["text", *bodies], catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return run


def replies(output: str) -> list[tuple[str, str, str]]:
    """(what was texted, the reply unwrapped, its size line) for each reply in the output."""
    found, sent, reply = [], None, None
    for raw in output.splitlines():
        if raw.startswith("you:  "):
            sent = raw[6:]
        elif raw.startswith("line: "):
            reply = raw[6:]
            if reply.startswith("(no reply: "):
                found.append((sent, "", reply))  # the size line's place holds why there was no reply
                reply = None
        elif raw.startswith("      [") and reply is not None:
            found.append((sent, reply, raw.strip()[1:-1]))
            reply = None
        elif raw.startswith("      ") and reply is not None:
            reply += " " + raw.strip()
    return found


def expected_size(text: str) -> str:
    segments = gsm.segments(text)
    return f"{segments} segment{'s' if segments != 1 else ''}, {len(text)} characters, GSM-7"


def test_the_reply_to_recur_is_what_a_texter_gets(env, client):
    result = flask("text", "RECUR", env=env)
    assert result.returncode == 0, result.stderr
    [(sent, reply, size)] = replies(result.stdout)
    real = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL).send("RECUR")
    assert sent == "RECUR" and len(real) == 1
    assert reply == " ".join(real[0].split())
    assert size == expected_size(real[0])


def test_a_conversation_opt_out_and_back_in_on_a_throwaway_database(run_text, line):
    result = run_text("stop", "RECUR", "START", "“recur” please")
    assert result.exit_code == 0
    got = replies(result.output)
    assert [sent for sent, _, _ in got][:2] == ["stop", "RECUR"]
    assert got[1][1] == ""  # after STOP, nothing at all until START
    # Each silence says why: in the default mode Twilio itself confirms STOP and START, not the line.
    assert got[0] == (
        "stop",
        "",
        "(no reply: Twilio itself confirms STOP by text (IVR_SMS_OPT_OUT_REPLIES=twilio, the default); the opt-out is recorded)",
    )
    assert got[1][2] == "(no reply: this phone opted out, so the line answers nothing but HELP until START, YES or UNSTOP)"
    assert got[2] == (
        "START",
        "",
        "(no reply: Twilio itself confirms START by text (IVR_SMS_OPT_OUT_REPLIES=twilio, the default); the opt-in is recorded)",
    )
    last_sent, last_reply, last_size = got[-1]
    assert last_sent == "“recur” please" and last_reply and last_size.endswith("GSM-7")
    with line.storage.engine.connect() as conn:  # the line's own database never saw this texter
        assert conn.execute(select(func.count()).select_from(opt_outs)).scalar_one() == 0


def test_in_app_mode_the_line_confirms_stop_itself_and_says_why_a_repeat_gets_nothing(env):
    result = flask("text", "STOP", "STOP", env={**env, "IVR_SMS_OPT_OUT_REPLIES": "app"})
    assert result.returncode == 0, result.stderr
    first, second = replies(result.stdout)
    assert first[1] and "STOP" not in first[2]  # the line's own confirmation, measured
    assert second == ("STOP", "", "(no reply: this phone had opted out already)")


def test_every_reply_is_measured_as_twilio_bills_it(run_text, client):
    bodies = ["HELP", "1", "NCI", "hello"]
    result = run_text(*bodies)
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender="+16175550177")
    for (sent, reply, size), body in zip(replies(result.output), bodies, strict=True):
        [real] = texter.send(body)
        assert sent == body and reply == " ".join(real.split()) and size == expected_size(real)
        assert re.fullmatch(r"\d segments?, \d+ characters, GSM-7", size)


def test_text_needs_at_least_one_text(run_text):
    result = run_text()
    assert result.exit_code == 2
    assert "Missing argument '\"TEXT\"...'" in result.output


def test_every_silence_of_the_line_is_explained_in_words_not_an_outcome_name():
    """Each outcome the text webhook logs when it sends nothing, and each silent reply budget, has words."""
    from pathlib import Path

    from ivr.tools.terminal_text import why_silent

    root = Path(__file__).resolve().parent.parent
    silent = set(re.findall(r'return None, "(\w+)"', (root / "ivr/sms/webhooks.py").read_text()))
    reasons = set(re.findall(r'Decision\(Verdict\.SILENT, "(\w+)"\)', (root / "ivr/store/reply_budget.py").read_text()))
    assert {"opt_in_needs_start", "opt_out_pending"} <= silent and {"loop", "line"} <= reasons
    outcomes = silent | {f"budget_silent_{r}" for r in reasons} | {f"crisis_{r}" for r in reasons}
    for outcome in sorted(outcomes):
        words = why_silent(outcome, "app")
        assert outcome not in words and "outcome" not in words and len(words.split()) >= 5, (outcome, words)


def test_the_loop_guard_and_empezar_after_stop_are_explained(run_text):
    result = run_text("STOP", "EMPEZAR")
    assert "outcome" not in result.output and "opted out with Twilio's STOP" in result.output
    result = run_text(*["RECUR"] * 5)
    assert "outcome" not in result.output and "another machine" in result.output
