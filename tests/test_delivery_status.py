"""POST /sms/status: Twilio's delivery statuses for our texts, signed, in any order, on both databases."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from ivr.store.storage import texts_sent
from ivr.tools.simulator import Call, FlaskTransport, check_twiml, sign
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, close, line_of, make_app

STATUS_URL = BASE_URL + "/sms/status"


def text_me(app, caller: str = CALLER) -> None:
    c = Call(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, caller=caller, called=OUR_NUMBER).start().press("4")
    assert "sent you a text" in c.text


def post_status(app, sid: str, status: str, token: str = AUTH_TOKEN, **extra):
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status, "AccountSid": "AC" + "1" * 32}
    params.update(extra)
    response = app.test_client().post("/sms/status", base_url=BASE_URL, data=params, headers=sign(token, STATUS_URL, params))
    if response.status_code == 200:
        check_twiml(response.data, kind="sms")
        assert b"<Message" not in response.data
    return response.status_code


def statuses(app) -> dict[str, tuple]:
    with line_of(app).storage.engine.connect() as conn:
        rows = conn.execute(select(texts_sent.c.message_sid, texts_sent.c.status, texts_sent.c.error_code).order_by(texts_sent.c.id)).all()
    return {sid: (status, code) for sid, status, code in rows}


def test_texts_ask_for_a_status_callback_to_our_signed_route(app_on, twilio):
    text_me(app_on)
    assert twilio.messages[0]["StatusCallback"] == STATUS_URL
    (sid,) = statuses(app_on)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)  # the SID the REST API answered with


def test_statuses_in_order_and_out_of_order(app_on, twilio):
    text_me(app_on)
    text_me(app_on, "+16175550124")
    first, second = statuses(app_on)
    assert statuses(app_on)[first] == ("accepted", None)
    for status in ("queued", "sent", "delivered"):
        assert post_status(app_on, first, status) == 200
    assert statuses(app_on)[first] == ("delivered", None)
    assert post_status(app_on, first, "sent") == 200  # a late "sent" after "delivered"
    assert post_status(app_on, first, "queued") == 200
    assert statuses(app_on)[first] == ("delivered", None)
    # the final status may come first; the earlier ones then change nothing
    assert post_status(app_on, second, "undelivered", ErrorCode="30003") == 200
    assert post_status(app_on, second, "sent") == 200
    assert statuses(app_on)[second] == ("undelivered", "30003")


def test_unknown_sids_bad_statuses_and_unsigned_requests_change_nothing(app_on, twilio):
    text_me(app_on)
    (sid,) = statuses(app_on)
    assert post_status(app_on, "SM" + "9" * 32, "delivered") == 200  # not ours: answered, nothing stored
    assert post_status(app_on, sid, "exploded") == 200
    assert post_status(app_on, "'; DROP TABLE texts_sent; --", "delivered") == 200
    assert post_status(app_on, sid, "delivered", token="not-the-token") == 403
    unsigned = {"MessageSid": sid, "MessageStatus": "failed"}
    assert app_on.test_client().post("/sms/status", base_url=BASE_URL, data=unsigned).status_code == 403
    assert statuses(app_on) == {sid: ("accepted", None)}


def test_the_report_shows_delivered_and_failed(app_on, twilio):
    for caller in (CALLER, "+16175550124", "+16175550125"):
        text_me(app_on, caller)
    delivered, failed, _no_news = statuses(app_on)
    post_status(app_on, delivered, "delivered")
    post_status(app_on, failed, "failed", ErrorCode="30006")
    line_of(app_on).usage.flush()
    result = app_on.test_cli_runner().invoke(args=["stats", "--json"])
    assert json.loads(result.output)["texts"]["sent"] == {"voice": {"accepted": 1, "delivered": 1, "failed": 1}}


def test_no_status_callback_when_switched_off(tmp_path, twilio):
    app = make_app(tmp_path, twilio.url, f"sqlite:///{tmp_path / 'off.sqlite3'}", IVR_STATUS_CALLBACK="false")
    text_me(app)
    assert "StatusCallback" not in twilio.messages[0]
    close(app)
