"""What an operator watches: GET /metrics in Prometheus' text format. Counts and times, never a number or a text.

The metrics live in this base module so that every package can count what it does. Under gunicorn
each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes it, empty,
at each start, and marks a worker's files dead when it exits) and a scrape adds up every worker's;
without it (tests, ``flask`` commands, one process) they are kept in memory.

Like /admin, GET /metrics is off (404) unless configured: IVR_METRICS_TOKEN (``Authorization: Bearer``)
or IVR_METRICS_USER and IVR_METRICS_PASSWORD (basic auth). Webhooks are labelled by their route
template (``/voice/<lang>/choose/<name>``), never the URL as requested, so no caller's input and no
unbounded set of labels reaches Prometheus; when /metrics is off, webhooks are not even timed.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ivr.line import current_line

WEBHOOKS = Counter("ivr_webhooks_total", "Webhooks answered, by route template and HTTP status.", ["route", "status"])
WEBHOOK_SECONDS = Histogram(
    "ivr_webhook_seconds",
    "Time to answer a webhook, by route template (from the first hook to the last).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
TEXT_OUTCOMES = Counter("ivr_text_me_outcomes_total", '"Text me" outcomes said to callers (sent, temporary, ...).', ["outcome"])
SENDS_IN_FLIGHT = Gauge("ivr_text_sends_in_flight", '"Text me" sends queued or running now.', multiprocess_mode="livesum")
USAGE_WAITING = Gauge("ivr_usage_rows_waiting", "Usage events waiting to be written.", multiprocess_mode="livesum")
USAGE_WRITE_FAILURES = Counter("ivr_usage_write_failures_total", "Usage events lost because writing them failed.")
USAGE_DROPPED = Counter("ivr_usage_dropped_total", "Usage events dropped because the queue was full.")
WEBHOOK_PREFIXES = ("/voice", "/sms")
REALM = 'Basic realm="ivr metrics", charset="UTF-8"'


class _Database:
    """ivr_database_reachable, asked at scrape time by the process that answers the scrape."""

    def __init__(self, storage):
        self.storage = storage

    def collect(self):
        family = GaugeMetricFamily("ivr_database_reachable", "1 when the database answers a query now, else 0.")
        family.add_metric([], 1.0 if self.storage.ping() else 0.0)
        yield family


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _allowed(settings) -> bool:
    auth = request.authorization
    if auth is None:
        return False
    if settings.metrics_token and auth.type == "bearer":
        return hmac.compare_digest((auth.token or "").encode(), settings.metrics_token.encode())
    if settings.metrics_user and auth.type == "basic":
        user_ok = hmac.compare_digest((auth.username or "").encode(), settings.metrics_user.encode())
        password_ok = hmac.compare_digest((auth.password or "").encode(), settings.metrics_password.encode())
        return user_ok and password_ok
    return False


def scrape():
    line = current_line()
    if not line.settings.metrics_on:
        abort(404)
    if not _allowed(line.settings):
        challenge = REALM if line.settings.metrics_user else 'Bearer realm="ivr metrics"'
        return Response("Credentials needed.\n", 401, {"WWW-Authenticate": challenge, "Cache-Control": "no-store"}, mimetype="text/plain")
    database = CollectorRegistry(auto_describe=True)
    database.register(_Database(line.storage))
    body = generate_latest(_registry()) + generate_latest(database)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


_children: dict = {}  # (route, status) -> (counter, histogram) children: labels() costs more than the count


def _count(response):
    rule = request.url_rule
    path = rule.rule if rule is not None else request.path
    if not path.startswith(WEBHOOK_PREFIXES):
        return response
    route = rule.rule if rule is not None else "unmatched"
    key = (route, response.status_code)
    children = _children.get(key)
    if children is None:
        children = _children.setdefault(key, (WEBHOOKS.labels(route, str(response.status_code)), WEBHOOK_SECONDS.labels(route)))
    started = g.get("started")
    children[0].inc()
    if started is not None:
        children[1].observe(time.perf_counter() - started)
    return response


def init_app(app, settings) -> None:
    """GET /metrics, and the webhooks counted, when ``settings`` turn it on (registered after weblog: its timer)."""
    app.add_url_rule("/metrics", "metrics", scrape, methods=["GET"])
    if settings.metrics_on:
        app.after_request(_count)
