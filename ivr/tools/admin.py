"""GET /admin: a small usage dashboard for the people who run the line, behind HTTP basic auth.

Off (404) unless IVR_ADMIN_USER and IVR_ADMIN_PASSWORD are set. It draws what ``flask --app app
stats`` reports (ivr/tools/stats.py, from the per-day counts, under IVR_REPORT_TIMEOUT): calls and
texts per day, topics by popularity, transfer outcomes.
Only counts: no phone number, hash or message is ever on the page. Not a Twilio webhook, so not
under the signature check; the page is self-contained (inline SVG and CSS, nothing fetched).
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, abort, render_template, request
from markupsafe import Markup

from ivr.line import current_line
from ivr.store.storage import ReportTimeout
from ivr.tools import charts, stats

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, template_folder="templates")
PERIODS = (7, 30, 90, 365)
REALM = 'Basic realm="Recurrence line admin", charset="UTF-8"'
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# How a transfer ended (usage outcome) -> (what the chart calls it, colour), in the order shown.
TRANSFER_OUTCOMES = (
    ("completed", "connected", charts.GREEN),
    ("busy", "busy", charts.ORANGE),
    ("no-answer", "no answer", charts.SKY),
    ("failed", "failed", charts.VERMILLION),
    ("canceled", "caller hung up", charts.GREY),
    ("closed", "outside opening hours", charts.PURPLE),
)


@bp.before_request
def check_login():
    settings = current_line().settings
    if not (settings.admin_user and settings.admin_password):
        abort(404)
    auth = request.authorization
    given_user = (auth.username or "") if auth and auth.type == "basic" else ""
    given_password = (auth.password or "") if auth and auth.type == "basic" else ""
    user_ok = hmac.compare_digest(given_user.encode(), settings.admin_user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), settings.admin_password.encode())
    if not (user_ok and password_ok):
        if auth:
            log.warning("admin outcome=refused reason=bad_login")
        return Response("Log in to see the usage of the line.\n", 401, {"WWW-Authenticate": REALM, **HEADERS}, mimetype="text/plain")
    return None


@bp.get("/admin")
def dashboard():
    days = request.args.get("days", "30")
    days = int(days) if days.isdigit() and 1 <= int(days) <= 400 else 30
    end = datetime.now(UTC).date()
    start = end - timedelta(days=days - 1)
    lines = list(current_line().lines.items())
    chosen = request.args.get("line", "")
    chosen = chosen if chosen in current_line().lines else None  # one line of IVR_LINES_FILE, else every line
    timeout = current_line().settings.report_timeout
    try:
        data = stats.report(current_line().storage, start, end, timeout, line=chosen)
    except ReportTimeout:
        log.error("admin outcome=too_slow days=%d timeout=%g", days, timeout)
        message = (
            f"The usage numbers for {days} days took longer than {timeout:g} s to count and were stopped."
            " Choose fewer days, or try again later.\n"
        )
        return Response(message, 503, {**HEADERS, "Retry-After": "60"}, mimetype="text/plain")
    except Exception as exc:
        log.error("admin outcome=no_data error=%s", type(exc).__name__)
        return Response("The usage numbers cannot be read right now (database unreachable?).\n", 503, HEADERS, mimetype="text/plain")
    page = render_template(
        "admin.html",
        data=data,
        days=days,
        periods=PERIODS,
        lines=[(key, number_line.name or key) for key, number_line in lines] if len(lines) > 1 else [],
        chosen=chosen,
        tiles=_tiles(data),
        charts=_charts(data, start, days),
    )
    return Response(page, 200, HEADERS, mimetype="text/html")


def _tiles(data: dict) -> list[tuple[str, int, str]]:
    sent = Counter()
    for by_status in data["texts"]["sent"].values():
        sent.update(by_status)
    delivered = sent["delivered"]
    failed = sum(v for k, v in sent.items() if k in ("failed", "undelivered") or k.startswith("not sent"))
    waiting = sum(sent.values()) - delivered - failed
    return [
        ("calls", data["calls"]["total"], f"{data['calls']['daily_unique_callers']} different callers, counted day by day"),
        ("texts received", data["texts_in"]["total"], f"{data['texts_in']['daily_unique_texters']} different phones, counted day by day"),
        ("numbers texted", sum(sent.values()), f"{delivered} delivered, {failed} failed, {waiting} not yet known"),
        ("opt-outs", data["opt_outs"]["new"], f"{data['opt_outs']['in_force_now']} opted out now"),
        (
            "crisis messages",
            sum(c.get("offered", 0) for c in data["crisis"].values()),
            f"the safety net, by call or text; calls put through to 988: {data['crisis'].get('voice', {}).get('connect', 0)}",
        ),
    ]


def _charts(data: dict, start, days: int) -> list[tuple[str, Markup]]:
    per_day = {d["day"]: d for d in data["per_day"]}
    labels = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    daily = charts.columns(
        "Calls and texts received per day",
        labels,
        [
            ("calls", charts.BLUE, [per_day.get(d, {}).get("calls", 0) for d in labels]),
            ("texts received", charts.ORANGE, [per_day.get(d, {}).get("texts_in", 0) for d in labels]),
        ],
    )
    topics = charts.bars(
        "Topics by popularity",
        [(_topic_title(t["topic"]), [t["heard"], t["repeated"], t["texted"]]) for t in data["topics"]],
        [("heard on the phone", charts.BLUE), ("heard again", charts.SKY), ("asked for by text", charts.ORANGE)],
    )
    transfers = charts.bars(
        "Transfers by outcome",
        [
            (f"{_contact_title(name)} ({c.get('started', 0)} started)", [c.get(key, 0) for key, _, _ in TRANSFER_OUTCOMES])
            for name, c in data["transfers"].items()
        ],
        [(label, colour) for _, label, colour in TRANSFER_OUTCOMES],
    )
    return [
        ("Calls and texts per day", Markup(daily)),
        ("Topics by popularity", Markup(topics)),
        ("Transfers by outcome", Markup(transfers)),
    ]


def _topic_title(name: str) -> str:
    """An answer's own heading from prompts/ (its text before the first pause), else its name."""
    line = current_line()
    answers = line.content.languages[line.default_language].voice.get("answers", {})
    text = answers.get(name)
    if isinstance(text, str) and "{pause}" in text:
        heading = " ".join(text.split("{pause}")[0].split())
        if 0 < len(heading) <= 120:
            return heading
    return name.replace("_", " ")


def _contact_title(name: str) -> str:
    contact = current_line().content.contacts.get(name)
    return (contact.label or contact.name.upper()) if contact else name
