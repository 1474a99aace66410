"""GET /metrics: Prometheus' text format, read back with prometheus-client's own parser.

Off unless configured (404), like /admin; a bearer token or a basic-auth login; webhooks by route
template and status with a latency histogram, "text me" outcomes, sends in flight, usage waiting
and failed, the database reachable. Never a phone number or a message's text. Under gunicorn (2
workers, as the Procfile runs it) a scrape adds up both workers, and a start begins from zero.
"""

from __future__ import annotations

import base64
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.store.migrate import upgrade
from ivr.tools.simulator import Call, FlaskTransport, HttpTransport
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, make_env
from tests.live_server import Gunicorn

TOKEN = "metrics-token-0123456789"
CHOOSE = "/voice/<lang>/choose/<name>"


def samples(text: str) -> dict:
    """{(name, sorted labels): value} of every sample, parsed by prometheus-client."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client, token: str = TOKEN) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.data[:200]
    assert response.mimetype == "text/plain"  # Prometheus' text format (prometheus-client's CONTENT_TYPE_LATEST)
    text = response.get_data(as_text=True)
    assert CALLER.lstrip("+") not in text and CALLER[2:] not in text  # never a number
    return samples(text)


def test_metrics_are_off_unless_configured(make_app):
    client = make_app().test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_metrics_need_the_token_or_the_login(make_app):
    client = make_app(IVR_METRICS_TOKEN=TOKEN).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    login = make_app(IVR_METRICS_USER="prom", IVR_METRICS_PASSWORD="secret").test_client()
    refused = login.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    good = base64.b64encode(b"prom:secret").decode()
    bad = base64.b64encode(b"prom:guess").decode()
    assert login.get("/metrics", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    assert login.get("/metrics", headers={"Authorization": f"Basic {good}"}).status_code == 200


def test_webhooks_text_outcomes_usage_and_the_database_are_counted(make_app, twilio):
    app = make_app(IVR_METRICS_TOKEN=TOKEN)
    client = app.test_client()
    before = scrape(client)
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    c.press("1").press("2")
    c.press("4")  # text me: sent (the fake accepts at once)
    after = scrape(client)
    assert (
        value(after, "ivr_webhooks_total", route=CHOOSE, status="200") - value(before, "ivr_webhooks_total", route=CHOOSE, status="200")
        == 3
    )
    assert (
        value(after, "ivr_webhooks_total", route="/voice", status="200") - value(before, "ivr_webhooks_total", route="/voice", status="200")
        == 1
    )
    count = value(after, "ivr_webhook_seconds_count", route=CHOOSE) - value(before, "ivr_webhook_seconds_count", route=CHOOSE)
    within = value(after, "ivr_webhook_seconds_bucket", route=CHOOSE, le="+Inf") - value(
        before, "ivr_webhook_seconds_bucket", route=CHOOSE, le="+Inf"
    )
    assert count == within == 3
    assert value(after, "ivr_text_me_outcomes_total", outcome="sent") - value(before, "ivr_text_me_outcomes_total", outcome="sent") == 1
    assert value(after, "ivr_database_reachable") == 1.0
    assert ("ivr_text_sends_in_flight", ()) in after and ("ivr_usage_rows_waiting", ()) in after
    assert ("ivr_usage_write_failures_total", ()) in after
    # an unsigned request is counted too, by its template (its 403), never by the URL it asked for
    assert client.post("/voice/en/choose/main?tries=5&x=" + CALLER).status_code == 403
    routes = {dict(labels).get("route") for (name, labels) in scrape(client) if name == "ivr_webhooks_total"}
    assert all(route.startswith("/") and "?" not in route and CALLER not in route for route in routes)
    assert value(scrape(client), "ivr_webhooks_total", route=CHOOSE, status="403") >= 1


def test_a_database_out_of_reach_reads_zero(make_app, tmp_path):
    app = make_app(IVR_METRICS_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'no.sqlite3'}", migrate=False)
    assert value(scrape(app.test_client()), "ivr_database_reachable") == 0.0


def http_scrape(url: str) -> dict:
    request = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return samples(response.read().decode())


@pytest.mark.slow
def test_under_gunicorn_a_scrape_adds_up_both_workers_and_a_start_begins_at_zero(tmp_path, twilio):
    folder = tmp_path / "metrics"
    env = make_env(tmp_path, twilio.url, IVR_METRICS_TOKEN=TOKEN, WEB_CONCURRENCY=2)
    upgrade(env["DATABASE_URL"])
    # twice in a folder of ours (the second start must not count the first's), then in gunicorn.conf.py's own
    for run, extra in enumerate([{"PROMETHEUS_MULTIPROC_DIR": str(folder)}, {"PROMETHEUS_MULTIPROC_DIR": str(folder)}, {}]):
        with Gunicorn({**env, **extra}, tmp_path / f"gunicorn-{run}.log") as server:
            server.wait_ready()
            deadline = time.monotonic() + 20
            while len(server.answering_workers()) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(server.answering_workers()) == 2
            workers = server.answering_workers()

            def wrote() -> set[int]:  # the processes with counter files (the master's own, made at import, too)
                return {int(p.stem.rsplit("_", 1)[1]) for p in folder.glob("counter_*.db")}

            calls = 0
            # a new connection each call; on a busy machine one worker can take every connection for a
            # while, so in our folder the calls go on (up to 300) until both workers have counted some
            while calls < 12 or (extra and not workers <= wrote() and calls < 300):
                Call(HttpTransport(), AUTH_TOKEN, server.url, caller=CALLER, called=OUR_NUMBER).start().press("1")
                calls += 1
            if extra:
                assert workers <= wrote(), (workers, wrote(), calls)  # both workers wrote their own values
            for _ in range(3):  # whichever worker answers the scrape, it counts both
                found = http_scrape(server.url)
                assert value(found, "ivr_webhooks_total", route="/voice", status="200") == calls
                assert value(found, "ivr_webhooks_total", route=CHOOSE, status="200") == calls
                assert value(found, "ivr_webhook_seconds_count", route=CHOOSE) == calls
                assert value(found, "ivr_database_reachable") == 1.0
            assert server.stop() == 0
