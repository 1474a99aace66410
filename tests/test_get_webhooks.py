"""A webhook set to HTTP GET in Twilio's console: refused, with one log line per route that names the fix.

Every caller hears a plain apology (no jargon: they are patients, not the people who run the line),
then the welcome and menu, whose <Gather>s post, so the call goes on; the text line sends its help text (nothing on WhatsApp);
a status callback gets an empty answer. An unsigned GET is refused (403) like any unsigned request.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from ivr.content import prompts as content
from ivr.tools.simulator import check_twiml, message_texts
from ivr.voice.speech import spoken_text
from tests.apps import ACCOUNT_SID, AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER

CALL = {"CallSid": "CA" + "1" * 32, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": OUR_NUMBER, "CallStatus": "ringing"}
TEXT = {"MessageSid": "SM" + "1" * 32, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": OUR_NUMBER, "Body": "RECUR", "NumMedia": "0"}
FIX = "set this webhook to HTTP POST in Twilio's console (or run twilio setup)"


@pytest.fixture
def signed_get(client):
    """GET a path with Twilio's parameters in the query, signed as Twilio signs a GET: over the URL alone."""

    def get(path: str, params: dict, token: str = AUTH_TOKEN):
        url = f"{BASE_URL}{path}?{urlencode(params)}"
        return client.get(url, headers={"X-Twilio-Signature": RequestValidator(token).compute_signature(url, {})})

    return get


def words(response) -> str:
    return " ".join(" ".join(e.itertext()) for e in check_twiml(response.data).iter("Say"))


JARGON = ("http", "get", "post", "webhook", "twilio", "console", "people who run")


def test_a_get_to_voice_says_a_plain_apology_then_the_menu_and_logs_the_fix_once(signed_get, signed_post, caplog):
    voice = content.load(content.Path("prompts")).languages["en"].voice
    caplog.set_level(logging.INFO)
    first = signed_get("/voice", CALL)
    assert first.status_code == 200
    said = words(first)
    assert said.startswith(" ".join(voice["wrong_method"].split())) and said.lower().startswith("we are sorry")
    apology = " ".join(spoken_text(s) for s in next(check_twiml(first.data).iter("Gather")).iter("Say")).lower()
    assert [w for w in JARGON if re.search(rf"\b{w}\b", apology)] == []  # the fix is for the log, not for patients
    assert "This line has National Cancer Institute information" in said and "About recurrence, press 1." in said  # then the welcome
    gathers = list(check_twiml(first.data).iter("Gather"))
    assert gathers[0].get("input") == "dtmf" and gathers[0].get("method") == "POST"  # the apology can be cut short by a key
    # A key posts (the <Gather>'s method), so the call goes on as on a POST-configured number.
    action = gathers[0].get("action")
    pressed = signed_post(action, {**CALL, "Digits": "1"})
    assert pressed.status_code == 200 and "About recurrence." in words(pressed)
    assert signed_get("/voice", CALL).status_code == 200
    refused = [r.getMessage() for r in caplog.records if "refused_get" in r.getMessage() and r.name == "ivr"]
    assert refused == [f'webhook outcome=refused_get route=/voice fix="{FIX}"']  # once per route, however many GETs
    assert all("617555" not in r.getMessage() for r in caplog.records)  # the query's numbers are never logged


def test_a_get_in_spanish_apologises_in_spanish(make_app, env):
    app = make_app(env={**env, "IVR_DEFAULT_LANGUAGE": "es"})
    url = f"{BASE_URL}/voice?{urlencode(CALL)}"
    response = app.test_client().get(url, headers={"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, {})})
    voice = content.load(content.Path("prompts")).languages["es"].voice
    assert words(response).startswith(" ".join(voice["wrong_method"].split())) and words(response).startswith("Lo sentimos")
    assert not re.search(r"\b(HTTP|GET|POST|webhook|Twilio)\b", voice["wrong_method"])


def test_an_unsigned_get_is_refused(client):
    assert client.get(f"/voice?{urlencode(CALL)}").status_code == 403
    assert client.get(f"/sms?{urlencode(TEXT)}").status_code == 403


def test_a_get_to_sms_gets_the_help_text_and_on_whatsapp_nothing(signed_get, signed_post, caplog):
    caplog.set_level(logging.INFO)
    response = signed_get("/sms", TEXT)
    assert response.status_code == 200
    help_text = message_texts(check_twiml(signed_post("/sms", {**TEXT, "Body": "HELP"}).data, kind="sms"))
    assert message_texts(check_twiml(response.data, kind="sms")) == help_text
    whatsapp = signed_get("/sms", {**TEXT, "From": "whatsapp:" + CALLER, "To": "whatsapp:" + OUR_NUMBER})
    assert whatsapp.status_code == 200 and message_texts(check_twiml(whatsapp.data, kind="sms")) == []
    refused = [r.getMessage() for r in caplog.records if "refused_get" in r.getMessage() and r.name == "ivr"]
    assert refused == [f'webhook outcome=refused_get route=/sms fix="{FIX}"']


@pytest.mark.parametrize("path", ["/voice/status", "/sms/status"])
def test_a_get_status_callback_is_answered_empty(signed_get, path):
    response = signed_get(path, {**CALL, "CallStatus": "completed", "MessageStatus": "delivered"})
    assert response.status_code == 200
    root = check_twiml(response.data, kind="sms")
    assert list(root) == []
