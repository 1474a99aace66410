"""What an operator watches (GET /metrics, Prometheus' text format): counts and times, never a number or a text.

The metrics live here, in a base module, so that every package can count what it does. Under
gunicorn each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets
it up, empty, at each start) and a scrape adds up every worker's; without it (tests, one process)
they are kept in memory. The route is health.py's neighbour: see ivr/metrics_route.py.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter("ivr_webhooks_total", "Webhooks answered, by route template and HTTP status.", ["route", "status"])
WEBHOOK_SECONDS = Histogram(
    "ivr_webhook_seconds",
    "Time to answer a webhook, by route template.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
TEXT_OUTCOMES = Counter("ivr_text_me_outcomes_total", '"Text me" outcomes the callers heard (sent, temporary, ...).', ["outcome"])
SENDS_IN_FLIGHT = Gauge("ivr_text_sends_in_flight", '"Text me" sends queued or running now.', multiprocess_mode="livesum")
USAGE_WAITING = Gauge("ivr_usage_rows_waiting", "Usage events waiting to be written.", multiprocess_mode="livesum")
USAGE_WRITE_FAILURES = Counter("ivr_usage_write_failures_total", "Batches of usage events that could not be written (dropped).")
USAGE_DROPPED = Counter("ivr_usage_dropped_total", "Usage events dropped because the queue was full.")
