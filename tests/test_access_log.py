"""gunicorn's access log, as the Procfile's web: line writes it, holds no phone number, even for a GET.

A webhook set to HTTP GET by mistake sends ``From`` and ``To`` in the query string; gunicorn's
default access log writes the request line with it. gunicorn.conf.py's access_log_format writes the
path alone. This test starts the line as the Procfile does, sends signed POST and GET webhooks with a
caller's number, stops it, and reads every line it wrote.
"""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote, urlencode

from twilio.request_validator import RequestValidator

from ivr.store.migrate import upgrade
from ivr.tools.simulator import Call, HttpTransport, Texter
from tests.apps import ACCOUNT_SID, AUTH_TOKEN, make_env
from tests.live_server import Gunicorn

pytestmark = __import__("pytest").mark.slow
CALLER, OURS = "+16175550199", "+16175550100"


def signed_get(url: str) -> int:
    request = urllib.request.Request(url, headers={"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, {})})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status


def test_the_access_log_of_a_live_gunicorn_holds_no_phone_number(tmp_path, twilio):
    env = make_env(tmp_path, twilio.url)
    upgrade(env["DATABASE_URL"])
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        call = Call(HttpTransport(), AUTH_TOKEN, server.url, caller=CALLER, called=OURS).start()
        call.press("1")
        Texter(HttpTransport(), AUTH_TOKEN, server.url, sender=CALLER, to=OURS).send("RECUR")
        call_query = urlencode({"CallSid": "CA" + "2" * 32, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": OURS})
        text_query = urlencode({"MessageSid": "SM" + "2" * 32, "AccountSid": ACCOUNT_SID, "From": CALLER, "To": OURS, "Body": "RECUR"})
        assert signed_get(f"{server.url}/voice?{call_query}") == 200
        assert signed_get(f"{server.url}/sms?{text_query}") == 200
        assert server.stop() == 0
    output = server.output()
    access = [line for line in output.splitlines() if re.search(r'"(GET|POST) /(voice|sms)\S* HTTP/1\.[01]" \d{3} ', line)]
    requests = [re.search(r'"(GET|POST) (\S+) HTTP', line).group(1, 2) for line in access]
    assert ("POST", "/voice") in requests and ("POST", "/voice/en/choose/main") in requests and ("POST", "/sms") in requests
    assert ("GET", "/voice") in requests and ("GET", "/sms") in requests  # the GETs are in the access log, path only
    for number in (CALLER, OURS):
        digits = number[2:]
        for form in (number, quote(number), digits, digits[:3] + "-" + digits[3:6]):
            assert form not in output, f"{form} in gunicorn's output"
    assert "From=" not in output and "?" not in "\n".join(access)


def test_each_webhook_is_one_line_the_access_line_ending_with_the_line_s_own_fields(tmp_path, twilio):
    """ivr/weblog.py: under the Procfile's gunicorn, the line's JSON (route, status, what happened) ends
    gunicorn's access line, as JSON (not escaped), and is not written a second time on a line of its own."""
    env = make_env(tmp_path, twilio.url)
    upgrade(env["DATABASE_URL"])
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        Call(HttpTransport(), AUTH_TOKEN, server.url, caller=CALLER, called=OURS).start().press("1").press("2")
        Texter(HttpTransport(), AUTH_TOKEN, server.url, sender=CALLER, to=OURS).send("RECUR")
        assert server.stop() == 0
    output = server.output()
    assert "ivr.webhook" not in output  # no second line per webhook
    access = [line for line in output.splitlines() if re.search(r'"POST /(voice|sms)\S* HTTP/1\.[01]" \d{3} ', line)]
    assert len(access) == 4, output[-3000:]
    # By path and the key pressed, not by order: two workers each write their line after their answer.
    fields = sorted((json.loads(line[line.index(" {") + 1 :]) for line in access), key=lambda f: (f["route"], f.get("menu", "")))
    assert [f["route"] for f in fields] == ["/sms", "/voice", "/voice/<lang>/choose/<name>", "/voice/<lang>/choose/<name>"]
    assert all(f["status"] == 200 and f["ms"] >= 0 for f in fields)
    assert fields[0]["keyword"] == "recur" and fields[1]["choice"] == "welcome"
    assert (fields[2]["menu"], fields[2]["outcome"]) == ("about", "answer")
    assert (fields[3]["menu"], fields[3]["choice"]) == ("main", "about")
