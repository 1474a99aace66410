"""flask --app app prompts check: every problem with file, key and reason; the size of every text; exit status."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ivr.config import ROOT
from ivr.content import gsm
from ivr.content import prompts as content
from tests.apps import make_env
from tests.cli_helpers import clean_environ, copy_prompts, edit, flask


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, "http://127.0.0.1:9")


def replace_answer(prompts, name: str, text: str) -> None:
    path = prompts / "en" / "voice.yaml"
    source = path.read_text()
    new, count = re.subn(rf"(?ms)^  {name}: >-\n.*?(?=^  \w+: )", f"  {name}: {text!r}\n", source, count=1)
    assert count == 1
    path.write_text(new)


def test_the_shipped_prompts_pass_and_every_text_is_measured(env):
    result = flask("prompts", "check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert out.rstrip().endswith("No problems found.")
    loaded = content.load(ROOT / "prompts")
    english = loaded.languages["en"]
    measured = 0
    for key, text in content._texts(english.sms):
        if key.startswith(content.NOT_MESSAGES):
            continue
        body = loaded.render_sms(text, english.sms)
        segments = gsm.segments(body)
        row = re.search(rf"^  {re.escape(key)} +(\d+) characters  (\d+) segments? \(budget (\d+)\)$", out, re.M)
        assert row, f"no line for the text {key}"
        assert (int(row.group(1)), int(row.group(2))) == (len(body), segments)
        measured += 1
    assert measured >= 1
    for name in loaded.answers:
        row = re.search(rf"^  answers\.{name} +(\d+) characters +(\d+) words  (\d+):(\d\d)$", out, re.M)
        assert row, f"no line for the answer {name}"
        minutes, seconds = int(row.group(3)), int(row.group(4))
        assert 5 <= minutes * 60 + seconds <= 180
    assert "about 135 words a minute" in out  # 150 at the default 90% rate


def test_speaking_time_counts_words_phone_digits_and_pauses_at_the_configured_rate(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    # 10 words, a phone number read as 11 digits, one pause of a second: at 100%, 150 words a minute.
    replace_answer(prompts, "what", "One two three four five six seven eight nine ten.{pause} {nci.phone}")
    env = {**env, "IVR_PROMPTS_DIR": str(prompts)}
    at_100 = flask("prompts", "check", env={**env, "IVR_SPEECH_RATE": "100%"})
    assert at_100.returncode == 0, at_100.stdout
    row = re.search(r"^  answers\.what +\d+ characters +(\d+) words  (\d+):(\d\d)$", at_100.stdout, re.M)
    assert row.group(1) == "21"
    assert int(row.group(3)) == round(21 / 150 * 60 + 1)  # 9 s
    at_50 = flask("prompts", "check", env={**env, "IVR_SPEECH_RATE": "50%"})
    row = re.search(r"^  answers\.what +\d+ characters +(\d+) words  (\d+):(\d\d)$", at_50.stdout, re.M)
    assert int(row.group(3)) == round(21 / 75 * 60 + 1)  # 18 s
    assert "about 75 words a minute" in at_50.stdout


def problem_lines(output: str) -> list[str]:
    head = re.search(r"^(\d+) problem\(s\): file, key, reason$", output, re.M)
    assert head, output
    lines = output[head.end() :].strip().splitlines()
    assert len(lines) == int(head.group(1))
    return [line.strip() for line in lines]


def test_broken_prompts_are_listed_with_file_key_and_reason_and_exit_1(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    edit(prompts / "menu.yaml", '"3": where', '"3": wherever')
    edit(prompts / "en" / "sms.yaml", "Reply STOP", "Reply \u201cSTOP\u201d")
    env = {**env, "IVR_PROMPTS_DIR": str(prompts)}
    result = flask("prompts", "check", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    found = problem_lines(result.stdout)
    assert "prompts/menu.yaml: menus.about.3: unknown target 'wherever'" in found
    assert any(line.startswith("prompts/en/sms.yaml: numbers: has characters outside GSM-7: '\u201c' (U+201C)") for line in found)
    # The line itself refuses to start on the same prompts, and every other command says why in one line.
    served = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env={**clean_environ(), **env}, capture_output=True, text=True)
    assert served.returncode == 1 and "The line cannot start" in served.stderr
    call = flask("call", "--keys", "1", env=env)
    assert call.returncode == 1
    assert call.stderr.strip().splitlines() == [f"Error: the line cannot start: {len(found)} problems:", *(f"  {p}" for p in found)]


def test_a_text_over_its_budget_shows_its_segments(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    edit(prompts / "en" / "sms.yaml", "\n  recur: 2\n", "\n  recur: 1\n")
    result = flask("prompts", "check", env={**env, "IVR_PROMPTS_DIR": str(prompts)})
    assert result.returncode == 1
    [line] = [p for p in problem_lines(result.stdout) if p.startswith("prompts/en/sms.yaml: recur:")]
    assert re.fullmatch(r"prompts/en/sms.yaml: recur: is (\d+) segments \((\d+) characters\); its budget is 1", line)


def test_bad_settings_are_each_reported_and_the_words_still_checked(env):
    env = {**env, "IVR_SPEECH_RATE": "fast", "IVR_GATHER_TIMEOUT": "soon"}
    result = flask("prompts", "check", env=env)
    assert result.returncode == 1
    found = problem_lines(result.stdout)
    assert found == [
        "environment: IVR_SPEECH_RATE: 'fast': use a percentage such as 90%",
        "environment: IVR_GATHER_TIMEOUT: 'soon': not a whole number",
    ]
    assert re.search(r"^  numbers +\d+ characters", result.stdout, re.M)  # the texts were still measured


def test_missing_credentials_are_notes_not_problems(env):
    env = {**env, "TWILIO_AUTH_TOKEN": "", "TWILIO_ACCOUNT_SID": ""}
    result = flask("prompts", "check", env=env)
    assert result.returncode == 0
    assert "TWILIO_AUTH_TOKEN is not set: the line, when served, refuses every webhook (403)" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr  # no log line: prompts check serves no webhook


def test_the_call_time_budget_table_for_each_language(env):
    result = flask("prompts", "check", env=env)
    assert result.returncode == 0, result.stdout
    out = result.stdout
    for lang, pace in (("en", 135), ("es", 117)):  # 150 and 130 words a minute at 100% (voice.yaml), at 90%
        table = out[out.index(f"Call-time budget ({lang})") :]
        assert table.splitlines()[0].endswith(f"(at 90% speed, about {pace} words a minute; recordings: their own length)")
        first = re.search(r"^  first choice, from the start of the call +(\d+\.\d) s  budget 15 s$", table, re.M)
        assert first and float(first.group(1)) <= 15
        for menu in ("main", "about", "again", "talk", "after_answer", "after_failed_transfer", "closed"):
            row = re.search(rf"^  menu {menu}: to its last choice +(\d+\.\d) s  budget 25 s$", table, re.M)
            assert row and float(row.group(1)) <= 25, menu
        for answer, keys in (("what", "1 1"), ("why", "1 2"), ("remember", "2 3"), ("more_info", "1 4")):
            row = re.search(rf"^  {answer} +{keys} +(\d+\.\d) s +(\d+\.\d) s$", table, re.M)
            assert row and float(row.group(1)) > float(first.group(1)) and float(row.group(2)) > 15, answer
        assert re.search(r"^  longest stretch without a choice: \d+\.\d s \([\w.]+; keys still work while it plays\)$", table, re.M)
    assert "OVER" not in out and "over the call-time budget" not in out


def test_a_menu_over_its_budget_is_marked_and_is_a_problem(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    edit(prompts / "en" / "voice.yaml", '  talk: "Talk with someone."', '  talk: "' + "Talk with someone. " * 12 + '"')
    result = flask("prompts", "check", env={**env, "IVR_PROMPTS_DIR": str(prompts)})
    assert result.returncode == 1  # the README promises every menu's choices within 25 s: over it is not a note
    assert re.search(r"^  menu talk: to its last choice +\d+\.\d s  budget 25 s  OVER$", result.stdout, re.M)
    assert re.search(
        r"^  prompts/en/voice.yaml: menus.talk: menu talk takes \d+\.\d s to its last choice; its budget is 25 s .*shorten",
        result.stdout,
        re.M,
    )
    assert "Notes (not problems)" not in result.stdout.split("problem(s)")[0] or "over the call-time budget" not in result.stdout


@pytest.mark.parametrize(
    "local",
    [
        {},
        {"IVR_LOCAL_NAME": "Saint Mary Cancer Center", "IVR_LOCAL_PHONE": "(617) 555-0199"},
        {
            "IVR_LOCAL_NAME": "Clínica San José",
            "IVR_LOCAL_PHONE": "(602) 555-0144",
            "IVR_LOCAL_HOURS": "mon-fri 08:00-17:00 America/Phoenix",
        },
        {"IVR_LOCAL_NAME": "Clínica San José Oncología", "IVR_LOCAL_PHONE": "(617) 555-0111"},  # the README's key 5, long
    ],
    ids=["no local contact", "local contact", "local name with accents", "a long local name"],
)
def test_the_shipped_prompts_pass_with_and_without_a_local_contact(env, local):
    result = flask("prompts", "check", env={**env, **local})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("No problems found.")
