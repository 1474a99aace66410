"""flask --app app call: the terminal phone shows exactly what a caller hears, transfers and texts; sends nothing."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import pytest
import yaml

from ivr.config import ROOT
from ivr.content import gsm
from ivr.tools.simulator import Call, FlaskTransport
from ivr.tools.terminal_call import HELP
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER
from tests.cli_helpers import clean_environ, copy_prompts, edit, flask

MENU = yaml.safe_load(open("prompts/menu.yaml").read())["menus"]
TALK = next(k for k, v in MENU["main"].items() if v == "talk")
ASCO = next(k for k, v in MENU["talk"].items() if v == "asco")  # ASCO has no opening hours: the same at any time
TEXT = next(k for k, v in MENU["main"].items() if v == "text")
TEXT_AFTER_FAILED = next(k for k, v in MENU["after_failed_transfer"].items() if v == "text")


def parse(output: str) -> list[tuple[str, str]]:
    """The terminal's output as (what, text): line (heard), you (typed), dial, text (sent), end."""
    items: list[tuple[str, str]] = []
    for raw in output.splitlines():
        if raw.startswith("line: "):
            items.append(("line", raw[6:]))
        elif raw.startswith("you> "):
            items.append(("you", raw[5:]))
        elif raw.startswith("-> connecting to "):
            items.append(("dial", raw[len("-> connecting to ") :]))
        elif raw.startswith("-> text to the caller ("):
            items.append(("text", ""))
            items.append(("text-size", raw))
        elif raw.startswith("[") and raw.endswith("]"):
            items.append(("end", raw))
        elif raw.startswith("     ") and items and items[-1][0] == "text-size":
            items[-2] = ("text", (items[-2][1] + " " + raw.strip()).strip())
        elif raw.startswith("      ") and items and items[-1][0] == "line":
            items[-1] = ("line", items[-1][1] + " " + raw.strip())
        elif raw.startswith("     ") and len(items) > 1 and items[-2][0] == "text":
            items[-2] = ("text", items[-2][1] + " " + raw.strip())
    return [i for i in items if i[0] != "text-size"]


def heard(items) -> list[str]:
    return [text for kind, text in items if kind == "line"]


@pytest.fixture
def run_call(app):
    def run(*args: str, input: str | None = None):
        result = app.test_cli_runner().invoke(args=["call", *args], input=input, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return run


def test_a_scripted_run_shows_what_the_simulated_call_hears(env, make_app, twilio):
    keys = ["1", "2", "", "why did it come back", TALK, ASCO]
    result = flask("call", "--keys", ",".join(keys), env=env)
    assert result.returncode == 0, result.stderr
    items = parse(result.stdout)
    # The same call through the tests' own simulator: the terminal must show exactly what it heard.
    # Both on the real clock: after hours, the menus say what 0 does then.
    c = Call(FlaskTransport(make_app(env=env, clock=None).test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    expected = list(c.heard)
    for key in keys:
        c.respond(key)
        expected += c.heard
    c.dial_ends("completed")
    expected += c.heard
    assert heard(items) == expected
    assert [text for kind, text in items if kind == "you"] == keys
    assert ("dial", "ASCO 888-651-3038") in items
    assert "how does the transfer end? [a]nswered, [b]usy, [n]o answer, [f]ailed > completed" in result.stdout
    assert items[-1] == ("end", "[the line hangs up]")
    assert twilio.requests == []


def test_text_me_shows_the_text_and_sends_nothing(run_call, line, twilio):
    result = run_call(input=f"{TEXT}\nq\n")
    assert result.exit_code == 0
    items = parse(result.output)
    body = line.sms_text("en", "numbers")
    assert ("text", " ".join(body.split())) in items
    segments = gsm.segments(body)
    size = f"{segments} segment{'s' if segments > 1 else ''} ({len(body)} characters)"
    assert f"-> text to the caller (*********23), {size}:" in result.output
    *_, outcome, _main_menu, offer = heard(items)  # the main menu ends with the Spanish offer, in its own voice
    assert "sent you a text message" in outcome and offer == "Para español, oprima 9."
    assert items[-1] == ("end", "[you hang up]")
    assert twilio.messages == []
    assert line.storage.count_texts() == 0  # the practice line has its own throwaway database


def test_silence_speech_and_star_interactively(run_call, line):
    words = line.script("en").words
    result = run_call(input="1\n\nwhy did it come back\n*\n")
    items = parse(result.output)
    said = heard(items)
    silence = " ".join(words["silence_warning"].split())
    assert any(s.startswith(silence) for s in said)
    assert any(s.startswith("Why does recurrence happen?") for s in said)
    assert said[-2].startswith(" ".join(words["menus"]["main"].split())) and said[-1] == "Para español, oprima 9."
    assert items[-1] == ("end", "[you hang up]")  # end of input hangs up


def test_a_busy_transfer_comes_back_to_the_menu_and_an_answered_one_ends_the_call(run_call, line):
    words = line.script("en").words
    busy = parse(run_call(input=f"{TALK}\n{ASCO}\nx\nb\n{TEXT_AFTER_FAILED}\nq\n").output)
    assert ("dial", "ASCO 888-651-3038") in busy
    said = heard(busy)
    assert any(s.startswith(" ".join(words["transfer"]["busy"].split())) for s in said)
    assert any(kind == "text" for kind, _ in busy)  # after a failed transfer: the numbers by text
    answered = run_call(input=f"{TALK}\n{ASCO}\na\n")
    assert answered.exit_code == 0
    items = parse(answered.output)
    assert heard(items)[-1] == " ".join(words["goodbye"].split())
    assert items[-1] == ("end", "[the line hangs up]")
    assert "please type a, b, n or f" in run_call(input=f"{TALK}\n{ASCO}\nx\na\n").output


def test_a_withheld_caller_id_gets_the_numbers_read_not_texted(run_call, line):
    result = run_call("--from", "anonymous", "--keys", TEXT)
    items = parse(result.output)
    assert not any(kind == "text" for kind, _ in items)
    assert "1-800-422-6237" in heard(items)[-3]


def test_the_number_given_with_from_gets_the_text(run_call):
    result = run_call("--from", "(617) 555-0142", "--keys", TEXT)
    assert "-> text to the caller (*********42), " in result.output
    assert "617" not in result.output  # a number is shown masked, as in a log


def test_an_unknown_language_is_one_clear_line(run_call, line):
    result = run_call("--lang", "xx")
    assert result.exit_code == 1
    languages = ", ".join(sorted(line.content.languages))
    assert result.output.strip().splitlines()[-1] == f"Error: no language 'xx' in {line.settings.prompts_dir} (there is: {languages})"


def test_lang_starts_in_any_language_present_in_prompts(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    for other in prompts.iterdir():  # only English and a copy of it
        if other.is_dir() and other.name != "en":
            shutil.rmtree(other)
    shutil.copytree(prompts / "en", prompts / "fr")
    edit(prompts / "fr" / "voice.yaml", "welcome: >-\n", "welcome: >-\n  Bonjour, ceci est un essai.\n")
    menu = yaml.safe_load((prompts / "menu.yaml").read_text())
    menu["languages"] = {"en": "9", "fr": "9"}  # each language offered with 9 in the other
    (prompts / "menu.yaml").write_text(yaml.safe_dump(menu))
    env = {**env, "IVR_PROMPTS_DIR": str(prompts)}
    french = flask("call", "--lang", "fr", "--keys", "", env=env)
    assert french.returncode == 0, french.stdout + french.stderr
    assert any("Bonjour, ceci est un essai." in s for s in heard(parse(french.stdout)))
    english = flask("call", "--keys", "", env=env)
    assert not any("Bonjour" in s for s in heard(parse(english.stdout)))


def test_lang_starts_each_shipped_language_with_its_own_welcome(run_call, line):
    for lang, script in line.scripts.items():
        items = parse(run_call("--lang", lang, "--keys", "").output)
        welcome = " ".join(script.text("welcome").split())
        assert any(said.startswith(welcome) for said in heard(items)), lang


def test_the_simulator_presses_hash_as_twilio_would_for_finish_on_key():
    """# posts as a key where finishOnKey="" ; where it is not set (Twilio's default #), # alone is no input."""
    from ivr.tools.simulator import Call

    documents = {
        "/voice": '<Response><Gather action="/k" numDigits="1"><Say>Press.</Say></Gather><Redirect>/quiet</Redirect></Response>',
        "/k": '<Response><Gather action="/k" finishOnKey="" numDigits="1"><Say>Again.</Say></Gather><Hangup/></Response>',
        "/quiet": "<Response><Say>Nothing heard.</Say><Hangup/></Response>",
    }
    posted = []

    class Transport:
        def post(self, url, params, headers):
            posted.append((url.split("example.org")[1], params.get("Digits")))
            return 200, documents[url.split("example.org")[1]].encode()

    c = Call(Transport(), None, "https://ivr.example.org").start().press("#")
    assert c.text == "Nothing heard." and c.ended and posted[-1] == ("/quiet", None)
    c = Call(Transport(), None, "https://ivr.example.org").start().press("1").press("#")
    assert posted[-1] == ("/k", "#") and c.text == "Again."
    c = Call(Transport(), None, "https://ivr.example.org").start().interrupt("#")
    assert c.text == "Nothing heard." and c.ended
    c = Call(Transport(), None, "https://ivr.example.org").start().press("12#")
    assert posted[-1] == ("/k", "12")


def test_the_practice_line_applies_the_daily_text_limit(line):
    """The Outbox's sends count as sent, so staff can hear the "limited" message as a caller would."""
    from ivr.tools.practice import PracticeLine

    limit = line.settings.texts_per_caller_per_day
    with PracticeLine(line.settings) as practice:
        for _ in range(limit):
            assert "we have sent you a text" in practice.call().start().press(TEXT).text.lower()
        assert "most text messages we send in one day" in practice.call().start().press(TEXT).text.lower()
        assert len(practice.outbox.texts) == limit


def test_a_send_result_is_never_a_plain_string_that_reads_as_not_sent():
    from ivr.outcomes import TextOutcome
    from ivr.twilio_client import SendResult

    assert SendResult("sent").sent and SendResult("sent").outcome is TextOutcome.SENT
    assert not SendResult(TextOutcome.TEMPORARY).sent
    with pytest.raises(ValueError):
        SendResult("delivered")


@pytest.mark.parametrize("when", ["sat 12:00", "saturday 12:00 America/Chicago", "2026-12-02T22:00-05:00"])
def test_at_practises_after_hours_on_the_lines_own_clock(run_call, when):
    result = run_call("--at", when, "--keys", "0,q")
    assert result.exit_code == 0, result.output
    items = heard(parse(result.output))
    assert any("is open Monday to Friday" in h for h in items) and not any(k == "dial" for k, _ in parse(result.output))
    assert "The line's clock says" in result.output


def test_at_by_day_connects_and_a_bad_time_is_one_clear_line(run_call):
    result = run_call("--at", "wed 10:00", "--keys", "0,a")
    assert result.exit_code == 0 and any(k == "dial" for k, _ in parse(result.output)), result.output
    assert "closed" not in result.output and "is open Monday" not in result.output
    for bad in ("someday", "sat 25:00", "sat 12:00 Mars/Olympus", "2026-12-05T12:00"):
        result = run_call("--at", bad, "--keys", "q")
        assert result.exit_code != 0 and "--at" in result.output and "sat 12:00" in result.output, bad


def test_parse_when_is_the_next_such_day_in_eastern_time():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ivr.tools.terminal_call import parse_when

    wednesday = datetime(2026, 12, 2, 15, 0, tzinfo=ZoneInfo("America/New_York"))
    assert parse_when("sat 12:00", wednesday) == datetime(2026, 12, 5, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    assert parse_when("wed 09:30", wednesday).date() == wednesday.date()
    assert parse_when("mon 8:00 America/Phoenix", wednesday).utcoffset().total_seconds() == -7 * 3600


def call_as_seen(*args: str, env: dict, tmp_path) -> list[str]:
    """`flask --app app call ARGS` in a new process, its output and its log in one stream, as a terminal shows them."""
    environment = {**clean_environ(), **env, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "call", *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
    return result.stdout.splitlines()


def the_call(lines: list[str]) -> list[str]:
    """From the first thing the line says to the hang-up."""
    first = next(i for i, line in enumerate(lines) if line.startswith("line: "))
    return lines[first : next(i for i, line in enumerate(lines) if line.startswith("[")) + 1]


def test_a_caller_id_that_is_never_texted_is_said_once_before_the_call_not_in_the_middle(env, tmp_path):
    lines = call_as_seen("--from", "+442079460000", "--keys", f"{TEXT},{TEXT},q", env=env, tmp_path=tmp_path)
    said = [i for i, line in enumerate(lines) if "text_me outcome=abroad" in line]
    assert len(said) == 1 and said[0] < lines.index(HELP), lines  # once, before the call starts
    assert lines[said[0]].startswith("note: this caller ID is never texted (abroad)")
    call = the_call(lines)
    assert "you> " + TEXT in call and not [line for line in call if "WARNING" in line or line.startswith("note")], call
    assert "The line logged during the call:" not in lines


def test_a_number_no_line_lists_is_said_once_before_the_call(env, tmp_path):
    lines_file = tmp_path / "lines.yaml"
    lines_file.write_text("lines:\n  solo:\n    name: Solo Clinic\n    numbers: ['+16175550177']\n")
    lines = call_as_seen("--keys", "1,q", env={**env, "IVR_LINES_FILE": str(lines_file)}, tmp_path=tmp_path)
    said = [i for i, line in enumerate(lines) if "unlisted_number" in line]
    assert len(said) == 1 and said[0] < lines.index(HELP), lines
    assert lines[said[0]] == f"note: the line logs: line outcome=unlisted_number to={OUR_NUMBER} line=solo (add it to IVR_LINES_FILE)"
    assert not [line for line in the_call(lines) if "WARNING" in line or "unlisted" in line]


def test_a_warning_nobody_could_foresee_is_said_after_the_call_once_with_its_count(line):
    """What the line logs during the call for another reason is held and said once the call ends."""
    from ivr.tools.practice import PracticeLine
    from ivr.tools.terminal_call import TerminalPhone

    shown: list[str] = []
    typed = iter(["1", "1"])  # then the caller hangs up: three turns

    def ask(prompt: str) -> str | None:
        logging.getLogger("ivr.store.usage").warning("usage outcome=failed")  # as if the database went away
        return next(typed, None)

    with PracticeLine(line.settings) as practice:
        TerminalPhone(practice, shown.append, ask).run()
    end = shown.index("[you hang up]")
    assert shown[end + 1 :] == ["The line logged during the call:", "  usage outcome=failed (3 times)"], shown
    assert not [s for s in shown[:end] if "usage outcome" in s]
