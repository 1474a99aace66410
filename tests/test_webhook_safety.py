"""Signatures, never a 5xx, the static fallback, and no phone number in logs or the database."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import time
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import text

from ivr.store.storage import DATABASE_WAIT_SECONDS
from ivr.tools.simulator import Call, FlaskTransport, check_twiml, sign
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, SATURDAY, make_env

ROUTES = [
    "/voice",
    "/voice/en/menu/main",
    "/voice/en/choose/main",
    "/voice/en/answer/why",
    "/voice/en/transfer/nci/done",
    "/voice/fallback",
]


@pytest.mark.parametrize("path", ROUTES)
def test_unsigned_or_badly_signed_requests_are_refused_and_do_nothing(client, twilio, path):
    params = {"From": CALLER, "To": "+16175550100", "Digits": "4"}
    assert client.post(path, base_url=BASE_URL, data=params).status_code == 403
    bad = sign("not-the-token", BASE_URL + path, params)
    assert client.post(path, base_url=BASE_URL, data=params, headers=bad).status_code == 403
    # signed for other parameters than the ones sent
    other = sign(AUTH_TOKEN, BASE_URL + path, {**params, "Digits": "1"})
    assert client.post(path, base_url=BASE_URL, data=params, headers=other).status_code == 403
    assert twilio.messages == []


def test_choose_text_unsigned_sends_nothing(client, twilio):
    response = client.post("/voice/en/choose/main", base_url=BASE_URL, data={"From": CALLER, "To": "+16175550100", "Digits": "4"})
    assert response.status_code == 403 and twilio.messages == []


def test_signed_for_the_public_url_behind_a_proxy(make_app):
    client = make_app(IVR_PROXY_COUNT=1).test_client()
    params = {"CallSid": "CA1"}
    headers = {
        **sign(AUTH_TOKEN, "https://line.example.org/voice", params),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "line.example.org",
    }
    # the app itself is reached over plain http on an internal address
    response = client.post("/voice", base_url="http://10.0.0.5:8000", data=params, headers=headers)
    assert response.status_code == 200
    response = client.post("/voice", base_url="http://10.0.0.5:8000", data=params, headers={**headers, "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 403


def test_signed_for_a_configured_public_base_url(make_app):
    client = make_app(migrate=False, IVR_PUBLIC_BASE_URL="https://line.example.org").test_client()
    params = {"CallSid": "CA1"}
    headers = sign(AUTH_TOKEN, "https://line.example.org/voice/en/menu/main?tries=1", params)
    assert client.post("/voice/en/menu/main?tries=1", base_url="http://127.0.0.1:5000", data=params, headers=headers).status_code == 200


def test_without_an_auth_token_every_webhook_is_refused(make_app, tmp_path, twilio):
    env = make_env(tmp_path, twilio.url)
    env.pop("TWILIO_AUTH_TOKEN")
    client = make_app(env=env, migrate=False).test_client()
    assert client.post("/voice", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/voice/xx/menu/main"),
        ("post", "/voice/en/menu/nowhere"),
        ("post", "/voice/en/answer/nothing"),
        ("post", "/voice/en/transfer/nobody/done"),
        ("post", "/voice/en/no/such/route"),
        ("put", "/voice"),
    ],
)
def test_a_voice_route_that_cannot_answer_apologises_with_the_menu(signed_post, client, method, path):
    # (A GET is a console set to HTTP GET: tests/test_get_webhooks.py; its own apology, the fix in the log.)
    if method == "post":
        response = signed_post(path, {"CallSid": "CA1"})
    else:
        headers = sign(AUTH_TOKEN, BASE_URL + path, {})
        response = client.open(path, method=method.upper(), base_url=BASE_URL, headers=headers)
    assert response.status_code == 200
    root = check_twiml(response.data)
    assert "something went wrong" in "".join(root.itertext())
    assert root.find("Gather") is not None


def test_an_exception_in_a_voice_route_becomes_an_apology_and_is_logged(signed_post, line, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(line.scripts["en"], "resolve", broken)
    with caplog.at_level(logging.ERROR):
        response = signed_post("/voice/en/choose/main", {"Digits": "1", "From": CALLER})
    assert response.status_code == 200
    assert "something went wrong" in response.data.decode()
    assert "boom" in caplog.text and CALLER not in caplog.text


def test_the_database_being_down_still_answers_the_text_request(signed_post, line, twilio):
    with line.storage.engine.begin() as conn:
        conn.execute(text("DROP TABLE opt_outs"))
    response = signed_post("/voice/en/choose/main", {"Digits": "4", "From": CALLER, "To": "+16175550100"})
    assert response.status_code == 200
    assert "could not send a text message" in response.data.decode()
    assert twilio.messages == []


class Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"the fallback touched {name}")


def test_fallback_is_static_and_connects_to_a_person(signed_post, line, monkeypatch):
    monkeypatch.setattr(line, "storage", Untouchable())
    monkeypatch.setattr(line, "sender", Untouchable())
    response = signed_post("/voice/fallback", {"ErrorCode": "11200", "ErrorUrl": BASE_URL + "/voice"})
    assert response.status_code == 200
    root = check_twiml(response.data)
    assert root.find("Dial").text == "+18004226237"
    assert "1-800-422-6237" in "".join(root.itertext())


def fallback_call(client) -> Call:
    return Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER, path="/voice/fallback").start()


def test_the_fallbacks_words_can_be_cut_short_by_a_key_that_connects_at_once(client, line, monkeypatch):
    monkeypatch.setattr(line, "storage", Untouchable())
    c = fallback_call(client)
    root = ET.fromstring(client_post_fallback(client))
    assert [verb.tag for verb in root] == ["Gather", "Dial"]  # every word inside the <Gather>
    gather = c.gathers[0]
    # No action: Twilio posts a key to the URL that served the document, the fallback, which answered.
    assert gather.get("input") == "dtmf" and gather.get("action") is None and gather.get("finishOnKey") == ""
    assert "press any key" in c.text
    c.interrupt("7")
    assert c.url == BASE_URL + "/voice/fallback" and c.heard == []  # connected at once, nothing more to listen to
    assert c.dialled[-1]["number"] == "+18004226237" and c.waiting == "dial"
    silent = fallback_call(client).silence()  # nothing pressed: connected after the words
    assert silent.dialled[-1]["number"] == "+18004226237"


def client_post_fallback(client, **form) -> bytes:
    params = {"From": CALLER, "To": OUR_NUMBER, "ErrorCode": "11200", **form}
    headers = sign(AUTH_TOKEN, BASE_URL + "/voice/fallback", params)
    return client.post("/voice/fallback", base_url=BASE_URL, data=params, headers=headers).data


def test_the_fallback_never_dials_the_nci_while_it_is_closed(make_app):
    client = make_app(clock=SATURDAY).test_client()
    c = fallback_call(client)
    assert "closed right now" in c.text and "Monday to Friday" in c.text and "American Society of Clinical Oncology" in c.text
    assert "connect you to the National Cancer Institute" not in c.text
    assert c.silence().dialled[-1]["number"] == "+18886513038"  # Cancer.Net's line has no closed hours
    assert fallback_call(client).interrupt("1").dialled[-1]["number"] == "+18886513038"
    assert "+18004226237" not in client_post_fallback(client).decode()


def test_when_every_line_is_closed_the_fallback_says_when_and_dials_nobody(make_app, tmp_path):
    prompts = tmp_path / "prompts"
    shutil.copytree("prompts", prompts)
    for lang in ("en", "es"):  # the fallback connects to the NCI only: closed on Saturday
        voice = prompts / lang / "voice.yaml"
        voice.write_text(re.sub(r"\n    asco: .*(connect|comunicaremos).*\n", "\n", voice.read_text(), count=1))
    client = make_app(clock=SATURDAY, IVR_PROMPTS_DIR=prompts).test_client()
    c = fallback_call(client)
    assert "closed right now" in c.text and "call again later" in c.text.lower()
    assert c.dialled == [] and c.silence().ended
    pressed = fallback_call(client).interrupt("1")
    assert pressed.dialled == [] and pressed.ended and "call again later" in pressed.text.lower()


def test_no_phone_number_is_logged_or_stored(call, line, caplog, tmp_path):
    with caplog.at_level(logging.DEBUG):
        c = call().press("4").press("0")
        c.dial_ends("busy").press("1")  # "text me" again in the same call: told it was sent, not sent again
        call().press("4")
    digits = CALLER.lstrip("+")
    assert digits not in caplog.text and digits[1:] not in caplog.text
    db = (tmp_path / "ivr.sqlite3").read_bytes()
    wal = tmp_path / "ivr.sqlite3-wal"
    stored = db + (wal.read_bytes() if wal.exists() else b"")
    assert digits.encode() not in stored and digits[1:].encode() not in stored
    assert line.storage.count_texts(line.hash_number(CALLER)) == 2


def test_a_long_sqlite_lock_cannot_hold_a_caller_past_twilios_limit(call, twilio, tmp_path):
    holder = sqlite3.connect(tmp_path / "ivr.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing for longer than any wait
    try:
        c = call()
        started = time.monotonic()
        c.press("4")
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "could not send a text message" in c.text.lower() and "1-800-422-6237" in c.text
    # one wait for the lock (the text limit's update), then the apology: far inside Twilio's 15 s
    assert DATABASE_WAIT_SECONDS - 0.5 < elapsed < 5
    assert twilio.messages == []
