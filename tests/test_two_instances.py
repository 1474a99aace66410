"""Two real web processes (gunicorn, as the Procfile runs them) sharing one PostgreSQL database.

A router sends each request of a call and of a texter to the next instance in turn, as a load
balancer may: the menus work, an opt-out recorded through one is honoured by the other, the text
limits count across both, a delivery status reaches the text whoever sent it, and the usage report
run afterwards counts every call and text.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from sqlalchemy import func, select

from ivr.config import load_settings
from ivr.store.storage import Storage, texts_sent, usage_events
from ivr.tools.simulator import Call, HttpTransport, Texter, sign
from tests.apps import ACCOUNT_SID, AUTH_TOKEN, BASE_URL, OUR_NUMBER
from tests.cli_helpers import clean_environ, flask
from tests.live_server import Gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CALLER = "+16175550142"  # calls, then texts STOP
OTHER = "+16175550143"  # calls three times for a text: the limit is two a day


class Router:
    """Sends each request for the public URL to the next instance in turn; remembers who served what."""

    def __init__(self, instances):
        self.instances = instances
        self.transport = HttpTransport(timeout=15)
        self.count = 0
        self.served: list[tuple[int, str]] = []

    def post(self, url: str, params: dict, headers: dict) -> tuple[int, bytes]:
        index = self.count % len(self.instances)
        self.count += 1
        assert url.startswith(BASE_URL)
        path = url[len(BASE_URL) :]
        self.served.append((index, path.split("?")[0]))
        return self.transport.post(self.instances[index].url + path, params, headers)

    @property
    def last(self) -> int:
        return self.served[-1][0]


@pytest.fixture
def instances(tmp_path, twilio, postgres_url):
    env = {
        **clean_environ(),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_URL": twilio.url,
        "DATABASE_URL": postgres_url,
        "IVR_HASH_KEY": "one-key-for-every-instance-0123456789",
        "IVR_PUBLIC_BASE_URL": BASE_URL,
        "IVR_TEXTS_PER_CALLER_PER_DAY": "2",
        "IVR_REST_TIMEOUT": "2",
        "WEB_CONCURRENCY": "2",
    }
    release = flask("migrate", env={**env, "IVR_INSTANCE_PATH": str(tmp_path / "release")})
    assert release.returncode == 0 and "up to date" in release.stdout, release.stderr
    # each instance runs the Procfile's web: command (tests/live_server.py), on its own free port
    started = [Gunicorn({**env, "IVR_INSTANCE_PATH": str(tmp_path / f"i{n}")}, tmp_path / f"gunicorn-{n}.log") for n in (1, 2)]
    try:
        for instance in started:
            instance.wait_ready()
            with urllib.request.urlopen(instance.url + "/healthz", timeout=5) as response:
                assert json.loads(response.read())["database"]["ok"] is True
        yield started, env
    finally:
        for instance in started:
            instance.stop()


def test_two_instances_share_one_truth(instances, twilio, tmp_path):
    started, env = instances
    router = Router(started)

    # --- a call, each step answered by the other instance ---------------------------------------
    c = Call(router, AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    assert "national cancer institute" in c.text.lower()
    c.press("1")
    assert c.text.startswith("About recurrence.")
    c.press("2")
    assert "scientists do not know" in c.text.lower()
    c.press("4")
    assert "sent you a text" in c.text
    assert {index for index, _ in router.served} == {0, 1}

    # --- a texter: STOP through one instance, honoured by the other ------------------------------
    texter = Texter(router, AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    assert "1 What is recurrence" in texter.send("RECUR")[0]
    texter.send("STOP")
    stopped_at = router.last
    assert texter.send("RECUR") == []  # silence: opted out
    assert router.last != stopped_at
    assert texter.send("3") == [] and router.last == stopped_at
    c.press("*").press("4")  # the same person, on the phone, asks for the text again
    assert "asked not to get text messages from this line" in c.text
    assert len(twilio.messages) == 1

    # --- text limits count across both instances ------------------------------------------------
    asked_at = []
    outcomes = []
    for attempt in range(3):
        other = Call(router, AUTH_TOKEN, BASE_URL, caller=OTHER, called=OUR_NUMBER).start()
        if attempt == 1:
            other.silence()  # one request more: this "text me" goes to the other instance
        other.press("4")
        asked_at.append(router.last)
        outcomes.append("sent you a text" in other.text)
    assert outcomes == [True, True, False] and set(asked_at) == {0, 1}
    assert "already been sent the most text messages" in other.text
    assert len(twilio.messages) == 3

    # --- a delivery status reaches the text through either instance ---------------------------------
    storage = Storage(load_settings(env).database_url)
    with storage.engine.connect() as conn:
        sids = conn.execute(select(texts_sent.c.message_sid).order_by(texts_sent.c.id)).scalars().all()
    assert len(sids) == 3
    for status in ("delivered", "sent"):  # the late "sent" is answered but changes nothing
        params = {"MessageSid": sids[0], "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        status_code, _ = router.post(BASE_URL + "/sms/status", params, sign(AUTH_TOKEN, BASE_URL + "/sms/status", params))
        assert status_code == 200

    # --- every webhook was counted, once ---------------------------------------------------------
    counted = [path for _, path in router.served if path != "/sms/status"]
    for instance in started:
        instance.stop()
    with storage.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(usage_events)).scalar_one() == len(counted)
        statuses = conn.execute(select(texts_sent.c.status).order_by(texts_sent.c.id)).scalars().all()
    storage.engine.dispose()
    assert statuses == ["delivered", "accepted", "accepted"]
    result = flask("stats", "--json", env={**env, "IVR_INSTANCE_PATH": str(tmp_path / "release")})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["calls"]["total"] == 4 and report["calls"]["daily_unique_callers"] == 2
    assert report["texts"]["asked_for"] == {"voice": {"sent": 3, "opted_out": 1, "limited": 1}}
    assert report["texts"]["sent"] == {"voice": {"accepted": 2, "delivered": 1}}
    assert report["texts_in"]["total"] == 4 and report["opt_outs"]["stop_texts"] == 1 and report["opt_outs"]["in_force_now"] == 1
    # the per-day counts both instances kept say what their events say
    checked = flask("stats", "--json", "--from-events", env={**env, "IVR_INSTANCE_PATH": str(tmp_path / "release")})
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == report

    # nothing in either instance's log names the caller
    logs = "".join(instance.log.read_text() for instance in started)
    for number in (CALLER, OTHER):
        assert number[2:] not in logs
