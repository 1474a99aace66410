"""flask --app app twilio setup: a number's webhooks pointed here through Twilio's REST API (the fake)."""

from __future__ import annotations

import json
import logging
import socket

import pytest

from ivr.tools.simulator import check_twiml
from tests.apps import ACCOUNT_SID, OUR_NUMBER
from tests.cli_helpers import flask

BASE = "https://line.example.org"


@pytest.fixture
def setup(app, env):
    """Run `twilio setup ARGS` as the command line would, with ``env`` as the environment."""

    def run(*args: str, **overrides):
        environment = {**env, **overrides}
        result = app.test_cli_runner().invoke(args=["twilio", "setup", *args], env=environment, catch_exceptions=False)
        assert "Traceback" not in result.output
        return result

    return run


def updates(twilio) -> list[dict]:
    return [r["form"] for r in twilio.requests if "/IncomingPhoneNumbers/PN" in r["path"] and r["form"]]


def test_points_voice_fallback_messaging_and_status_callback_here(setup, twilio):
    sid = twilio.add_number(OUR_NUMBER, friendly_name="Recurrence line")
    twilio.add_number("+16175550199")  # another number of the account stays as it was
    result = setup("--number", "(617) 555-0100", "--base-url", BASE + "/")
    assert result.exit_code == 0, result.output
    number = twilio.numbers[sid]
    assert (number["voice_url"], number["voice_method"]) == (BASE + "/voice", "POST")
    assert (number["voice_fallback_url"], number["voice_fallback_method"]) == (BASE + "/voice/fallback", "POST")
    assert (number["sms_url"], number["sms_method"]) == (BASE + "/sms", "POST")
    assert (number["status_callback"], number["status_callback_method"]) == (BASE + "/voice/status", "POST")
    others = [n for n in twilio.numbers.values() if n["sid"] != sid]
    assert others[0]["voice_url"] == "https://demo.twilio.com/welcome/voice/"
    lines = result.output.splitlines()
    assert f"Found {sid} (Recurrence line)." in lines
    assert "  Voice URL        https://demo.twilio.com/welcome/voice/ (POST) -> https://line.example.org/voice (POST)" in lines
    assert "  Fallback URL     (none) -> https://line.example.org/voice/fallback (POST)" in lines
    assert "  Messaging URL    https://demo.twilio.com/welcome/sms/reply (POST) -> https://line.example.org/sms (POST)" in lines
    assert "  Status callback  (none) -> https://line.example.org/voice/status (POST)" in lines
    assert lines[-1] == "Done: the number now points here."
    assert len(updates(twilio)) == 1


def test_every_url_it_sets_is_a_route_of_this_line(app, setup, twilio):
    twilio.add_number(OUR_NUMBER)
    setup("--number", OUR_NUMBER, "--base-url", BASE)
    [form] = updates(twilio)
    adapter = app.url_map.bind("line.example.org", url_scheme="https")
    for name in ("VoiceUrl", "VoiceFallbackUrl", "SmsUrl", "StatusCallback"):
        path = form[name].removeprefix(BASE)
        endpoint, _ = adapter.match(path, method="POST")
        assert endpoint, f"{name} {path} is not a route"


def test_a_second_run_changes_nothing(setup, twilio):
    twilio.add_number(OUR_NUMBER)
    setup("--number", OUR_NUMBER, "--base-url", BASE)
    result = setup("--number", OUR_NUMBER, "--base-url", BASE)
    assert result.exit_code == 0
    assert "  Voice URL        https://line.example.org/voice (POST) (unchanged)" in result.output
    assert "Nothing to change: the number already points here." in result.output
    assert len(updates(twilio)) == 1


def test_dry_run_shows_the_changes_and_makes_none(setup, twilio):
    sid = twilio.add_number(OUR_NUMBER)
    result = setup("--number", OUR_NUMBER, "--base-url", BASE, "--dry-run")
    assert result.exit_code == 0
    assert "-> https://line.example.org/voice (POST)" in result.output
    assert "Nothing changed (--dry-run)." in result.output
    assert updates(twilio) == [] and twilio.numbers[sid]["voice_url"] == "https://demo.twilio.com/welcome/voice/"


def test_refuses_a_plain_http_base_url_unless_insecure(setup, twilio):
    sid = twilio.add_number(OUR_NUMBER)
    refused = setup("--number", OUR_NUMBER, "--base-url", "http://line.example.org")
    assert refused.exit_code == 1
    assert refused.output.splitlines()[-1].startswith("Error: --base-url 'http://line.example.org' is not HTTPS")
    assert twilio.requests == []
    allowed = setup("--number", OUR_NUMBER, "--base-url", "http://127.0.0.1:5000", "--insecure")
    assert allowed.exit_code == 0
    assert twilio.numbers[sid]["voice_url"] == "http://127.0.0.1:5000/voice"


def one_error_line(result) -> str:
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_a_number_the_account_does_not_have(setup, twilio):
    twilio.add_number("+16175550199")
    error = one_error_line(setup("--number", OUR_NUMBER, "--base-url", BASE))
    assert error == f"Error: {OUR_NUMBER} is not a number of this Twilio account (AC1111...1111): buy it or check TWILIO_ACCOUNT_SID"
    assert updates(twilio) == []


def test_not_a_phone_number(setup, twilio):
    error = one_error_line(setup("--number", "12", "--base-url", BASE))
    assert "--number '12' is not a valid phone number" in error
    assert twilio.requests == []


@pytest.mark.parametrize("error_format", ["legacy", "problem"])
def test_wrong_credentials(setup, twilio, error_format):
    twilio.error_format = error_format
    twilio.add_number(OUR_NUMBER)
    error = one_error_line(setup("--number", OUR_NUMBER, "--base-url", BASE, TWILIO_AUTH_TOKEN="not-the-token"))
    assert error == "Error: Twilio refused the credentials (HTTP 401, error 20003): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    assert len(twilio.requests) == 1


def test_no_credentials(setup, twilio):
    error = one_error_line(setup("--number", OUR_NUMBER, "--base-url", BASE, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN=""))
    assert error == "Error: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set (from the Twilio console)"
    assert twilio.requests == []


def test_twilio_unreachable(setup):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error = one_error_line(setup("--number", OUR_NUMBER, "--base-url", BASE, TWILIO_API_URL=f"http://127.0.0.1:{port}"))
    assert error.startswith(f"Error: cannot reach Twilio at http://127.0.0.1:{port} (ConnectionError)")


def test_needs_no_hash_key_as_typed_on_a_new_server(env, twilio):
    """`twilio setup` hashes no number and stores nothing: on a server where IVR_HASH_KEY is not set
    yet (the line itself refuses to start without it), the number is still pointed here."""
    sid = twilio.add_number(OUR_NUMBER)
    environment = {k: v for k, v in env.items() if k not in ("IVR_HASH_KEY", "IVR_DEV_MODE")}
    result = flask("twilio", "setup", "--number", OUR_NUMBER, "--base-url", BASE, env=environment)
    assert result.returncode == 0, result.stderr
    assert "IVR_HASH_KEY" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "Done: the number now points here."
    assert twilio.numbers[sid]["voice_url"] == BASE + "/voice"


def test_the_line_itself_still_needs_the_hash_key(env, twilio):
    """The other side of the test above: what stores opt-outs still refuses to run without the key."""
    environment = {k: v for k, v in env.items() if k not in ("IVR_HASH_KEY", "IVR_DEV_MODE")}
    result = flask("migrate", env=environment)
    assert result.returncode != 0 and "IVR_HASH_KEY is not set" in result.stderr


def test_the_account_sid_in_the_path_is_ours(setup, twilio):
    twilio.add_number(OUR_NUMBER)
    setup("--number", OUR_NUMBER, "--base-url", BASE)
    assert all(f"/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers" in r["path"] for r in twilio.requests)


def test_the_status_callback_route_is_signed_answers_empty_twiml_and_logs_no_number(signed_post, client, caplog):
    params = {"CallSid": "CA1", "CallStatus": "completed", "CallDuration": "75", "From": "+16175550123", "To": OUR_NUMBER}
    with caplog.at_level(logging.INFO, logger="ivr.webhook"):
        response = signed_post("/voice/status", params)
    assert response.status_code == 200
    assert check_twiml(response.data, kind="messaging").findall("*") == []
    line = [r.getMessage() for r in caplog.records if '"route":"/voice/status"' in r.getMessage()][-1]
    assert json.loads(line)["outcome"] == "call_completed" and json.loads(line)["seconds"] == 75
    assert "5550123" not in caplog.text and "5550100" not in caplog.text
    assert client.post("/voice/status", base_url="https://ivr.example.org", data=params).status_code == 403
