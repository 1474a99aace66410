"""One deployment, several clinics: each number is a line with its own name, contact and language."""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import UTC, datetime

import pytest

from ivr.app import create_app
from ivr.config import ROOT, ConfigError, load_settings
from ivr.content.prompts import ContentError
from ivr.lines import LinesError, load_lines
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, line_of, make_env
from tests.two_lines import EASTSIDE, LINES_YAML, RIVERSIDE, UNLISTED, lines_env, write_lines


@pytest.fixture
def lines_app(make_app, tmp_path, twilio):
    return make_app(env=lines_env(tmp_path, twilio.url))  # at a time both desks are open (a Wednesday, 11:00 in New York)


def call(app, called: str) -> Call:
    return Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=called).start()


def texter(app, to: str) -> Texter:
    return Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender=CALLER, to=to)


# --- two lines, one deployment -------------------------------------------------------------------------------
def test_a_call_to_each_line_hears_only_its_own_contact(lines_app, twilio):
    c = call(lines_app, RIVERSIDE)
    assert "For Riverside Nurse Line, press 5" in c.text and "Eastside" not in c.text
    c.press("5")
    assert c.dialled[-1]["number"] == "+16175550111" and c.dialled[-1]["callerId"] == RIVERSIDE
    c = call(lines_app, RIVERSIDE).press("1").press("4")
    assert "you can call Riverside Nurse Line, at 1-617-555-0111" in c.text and "Eastside" not in c.text
    call(lines_app, RIVERSIDE).press("4")
    assert twilio.messages[-1]["From"] == RIVERSIDE
    assert "Local: Riverside Nurse Line (617) 555-0111." in twilio.messages[-1]["Body"]
    assert "Eastside" not in twilio.messages[-1]["Body"]

    c = call(lines_app, EASTSIDE)  # starts in Spanish: the line's language
    assert "Eastside Oncology Desk" in c.text and "Riverside" not in c.text
    assert "Para Eastside Oncology Desk, oprima 5" in c.text
    before = len(c.dialled)
    c.press("5")
    assert c.dialled[before:][-1]["number"] == "+16175550122" and c.dialled[-1]["callerId"] == EASTSIDE
    call(lines_app, EASTSIDE).press("4")
    assert twilio.messages[-1]["From"] == EASTSIDE
    assert "Eastside Oncology Desk" in twilio.messages[-1]["Body"] and "Riverside" not in twilio.messages[-1]["Body"]


def test_the_numbers_text_of_each_line_opens_with_its_name_and_says_stop_as_the_others_do(lines_app, twilio):
    call(lines_app, RIVERSIDE).press("4")
    body = twilio.messages[-1]["Body"]
    assert body.startswith("Riverside Cancer Center: ") and body.endswith("Reply STOP to cancel.")  # as HELP and NCI say it
    call(lines_app, EASTSIDE).press("4")
    body = twilio.messages[-1]["Body"]
    assert body.startswith("Eastside Clinic: ") and body.endswith("Responda STOP para cancelar.")


def test_a_texting_session_on_each_line_reads_only_its_own_name_and_contact(lines_app):
    riverside, eastside = texter(lines_app, RIVERSIDE), texter(lines_app, EASTSIDE)
    replies = {"riverside": [], "eastside": []}
    for words in ("RECUR", "7", "NCI", "HELP", "STOP", "START"):
        replies["riverside"] += riverside.send(words)
    for words in ("RECURRENCIA", "7", "NCI", "AYUDA", "PARAR", "START"):
        replies["eastside"] += eastside.send(words)
    assert all("Eastside" not in r for r in replies["riverside"]) and all("Riverside" not in r for r in replies["eastside"])
    help_riverside = next(r for r in replies["riverside"] if "msg/request" in r)
    # HELP names the sender and gives the line's own contact number, not NCI's.
    assert help_riverside.startswith("Riverside Cancer Center: ") and "Help: (617) 555-0111." in help_riverside
    assert "800-422-6237" not in help_riverside
    help_eastside = next(r for r in replies["eastside"] if "msj/pedido" in r)
    assert help_eastside.startswith("Eastside Clinic, no del NCI. Ayuda: (617) 555-0122.")  # the name, then its own number
    assert any(r.startswith("Eastside Clinic: ya no recibira textos") for r in replies["eastside"])  # PARAR: the line confirms
    assert any("Local: Riverside Nurse Line (617) 555-0111." in r for r in replies["riverside"])
    assert any("Local: Eastside Oncology Desk (617) 555-0122." in r for r in replies["eastside"])


def test_a_number_no_line_lists_gets_the_default_line_logged_once(lines_app, caplog):
    with caplog.at_level(logging.WARNING, logger="ivr.line"):
        for _ in range(3):
            c = call(lines_app, UNLISTED)
            assert "Riverside Nurse Line" in c.text  # the first line of the file is the default
        texter(lines_app, UNLISTED).send("HELP")
    logged = [r.getMessage() for r in caplog.records if "unlisted_number" in r.getMessage()]
    assert logged == [f"line outcome=unlisted_number to={UNLISTED} line=riverside (add it to IVR_LINES_FILE)"]
    assert CALLER not in caplog.text


def test_the_readmes_example_lines_file_loads(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(# IVR_LINES_FILE=.*?)```", readme, re.S).group(1)
    specs = load_lines(write_lines(tmp_path, example))
    assert [(s.key, s.numbers, s.language) for s in specs] == [
        ("riverside", ("+16175550100",), "en"),
        ("eastside", ("+16175550140", "+18885550140"), "es"),
    ]
    assert specs[0].contact["hours"]["time_zone"] == "America/New_York"


def test_the_default_line_can_be_named(tmp_path, twilio):
    path = write_lines(tmp_path, LINES_YAML + "default: eastside\n")
    assert [spec.key for spec in load_lines(path)] == ["eastside", "riverside"]


def test_help_of_a_line_without_a_local_contact_gives_ncis_number(make_app, tmp_path):
    path = write_lines(tmp_path, "lines:\n  solo:\n    name: Solo Clinic\n    numbers: ['+16175550100']\n")
    (spec,) = load_lines(path)
    assert spec.contact is None and spec.language is None
    app = make_app(IVR_LINES_FILE=path)
    [help_text] = texter(app, RIVERSIDE).send("HELP")
    assert help_text.startswith("Solo Clinic: NCI facts by text. Not run by NCI. Help: 1-800-422-6237.")
    assert "press 5" not in call(app, RIVERSIDE).text  # no local contact: nothing offers one


# --- the file is checked at start-up ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "where", "reason"),
    [
        (("    language: es\n", "    language: es\n    colour: blue\n"), "lines.eastside.colour", "unknown key"),
        (('["617 555 0140"]', '["617 555 0140", "+1 617 555 0100"]'), "lines.eastside.numbers", "+16175550100 is listed twice"),
        (("America/New_York", "Mars/Base"), "lines.riverside.contact.hours.time_zone", "'Mars/Base' is not a time zone"),
        (('"+1 617 555 0122"', '"555-01"'), "lines.eastside.contact.phone", "'555-01' is not a valid phone number"),
        (('["617 555 0140"]', '["12"]'), "lines.eastside.numbers", "'12' is not a valid phone number"),
        (("    name: Eastside Clinic\n", ""), "lines.eastside.name", "is missing"),
    ],
)
def test_a_bad_lines_file_stops_start_up_with_the_file_the_line_and_the_reason(tmp_path, edit, where, reason):
    path = write_lines(tmp_path, LINES_YAML.replace(*edit))
    with pytest.raises(LinesError) as caught:
        load_lines(path)
    message = str(caught.value)
    assert f"{path}: {where}: {reason}" in message


def test_an_unknown_language_or_a_contact_that_breaks_a_texts_budget_names_the_line(tmp_path, twilio):
    path = write_lines(tmp_path, LINES_YAML.replace("language: es", "language: fr"))
    with pytest.raises(ConfigError, match=r"lines.eastside: language: 'fr' is not a language in prompts/"):
        create_app(load_settings(make_env(tmp_path, twilio.url, IVR_LINES_FILE=path)))
    long_name = "Eastside Oncology Desk of the Greater Metropolitan Area Regional Hospital and Cancer Center of the Northern Counties"
    path = write_lines(tmp_path, LINES_YAML.replace("name: Eastside Oncology Desk", f"name: {long_name}"))
    with pytest.raises(ContentError) as caught:
        create_app(load_settings(make_env(tmp_path, twilio.url, IVR_LINES_FILE=path)))
    assert "with line eastside's name and contact" in str(caught.value) and "segments" in str(caught.value)


def test_the_lines_file_and_the_one_line_shorthand_cannot_be_mixed(tmp_path):
    env = make_env(tmp_path, "http://127.0.0.1:9", IVR_LINES_FILE=write_lines(tmp_path), IVR_LOCAL_NAME="Saint Mary")
    with pytest.raises(ConfigError, match="IVR_LINES_FILE and IVR_LOCAL_NAME: use one or the other"):
        load_settings(env)
    env = make_env(tmp_path, "http://127.0.0.1:9", IVR_LINES_FILE=write_lines(tmp_path), IVR_NUMBER_LANGUAGES="+16175550100=es")
    with pytest.raises(ConfigError, match="IVR_NUMBER_LANGUAGES: use one or the other"):
        load_settings(env)


# --- reports and set-up, per line -----------------------------------------------------------------------------
def test_stats_and_admin_show_one_line_or_all_and_never_a_callers_number(lines_app):
    for _ in range(2):
        call(lines_app, RIVERSIDE).press("1").press("1")
    call(lines_app, EASTSIDE)
    texter(lines_app, EASTSIDE).send("RECURRENCIA")
    assert line_of(lines_app).usage.flush(10)
    today = datetime.now(UTC).date().isoformat()
    runner = lines_app.test_cli_runner()

    def stats(*args):
        result = runner.invoke(args=["stats", "--from", today, "--to", today, *args])
        assert result.exit_code == 0, result.output
        assert CALLER not in result.output and CALLER[2:] not in result.output
        return result.output

    every = json.loads(stats("--json"))
    assert every["line"] is None and every["lines"] == {"eastside": {"calls": 1, "texts_in": 1}, "riverside": {"calls": 2, "texts_in": 0}}
    riverside = json.loads(stats("--json", "--line", "riverside"))
    assert riverside["line"] == "riverside" and riverside["calls"]["total"] == 2 and riverside["texts_in"]["total"] == 0
    assert json.loads(stats("--json", "--line", "Eastside Clinic"))["calls"]["total"] == 1  # by its name too
    table = stats("--line", "eastside")
    assert "line eastside" in table.splitlines()[0]
    assert "riverside 2" in " ".join(stats().split())  # the table of every line, one row a line
    unknown = runner.invoke(args=["stats", "--line", "westside"])
    assert unknown.exit_code != 0 and "no line 'westside'; the lines are: riverside, eastside" in unknown.output

    auth = {"Authorization": "Basic " + base64.b64encode(b"clinic:pw").decode()}
    page = lines_app.test_client().get("/admin?days=7&line=riverside", headers=auth).get_data(as_text=True)
    assert 'aria-current="page">Riverside Cancer Center</a>' in page and "Eastside Clinic</a>" in page
    assert '<div class="n">2</div><div class="what">calls</div>' in page
    page = lines_app.test_client().get("/admin?days=7", headers=auth).get_data(as_text=True)
    assert '<div class="n">3</div><div class="what">calls</div>' in page and CALLER[2:] not in page


def test_twilio_setup_all_lines_points_every_number_here_in_one_run(lines_app, twilio, tmp_path):
    sids = [twilio.add_number(RIVERSIDE), twilio.add_number(EASTSIDE)]
    env = make_env(tmp_path, twilio.url, IVR_LINES_FILE=write_lines(tmp_path))
    result = lines_app.test_cli_runner().invoke(args=["twilio", "setup", "--all-lines", "--base-url", "https://line.example.org"], env=env)
    assert result.exit_code == 0, result.output
    for sid in sids:
        assert twilio.numbers[sid]["voice_url"] == "https://line.example.org/voice"
        assert twilio.numbers[sid]["sms_url"] == "https://line.example.org/sms"
    assert f"{RIVERSIDE} (line riverside):" in result.output and f"{EASTSIDE} (line eastside):" in result.output
    assert result.output.splitlines()[-1] == "All 2 numbers point here."
    both = lines_app.test_cli_runner().invoke(
        args=["twilio", "setup", "--all-lines", "--number", RIVERSIDE, "--base-url", "https://line.example.org"], env=env
    )
    assert both.exit_code != 0 and "give --number +1... or --all-lines (one of them)" in both.output


def test_twilio_setup_all_lines_goes_on_past_a_number_twilio_does_not_know(lines_app, twilio, tmp_path):
    sid = twilio.add_number(EASTSIDE)
    env = make_env(tmp_path, twilio.url, IVR_LINES_FILE=write_lines(tmp_path))
    result = lines_app.test_cli_runner().invoke(args=["twilio", "setup", "--all-lines", "--base-url", "https://line.example.org"], env=env)
    assert result.exit_code == 1
    assert f"  Not set up: {RIVERSIDE} is not a number of this Twilio account" in result.output
    assert twilio.numbers[sid]["voice_url"] == "https://line.example.org/voice"
    assert f"1 of 2 numbers were not set up: {RIVERSIDE}" in result.output
