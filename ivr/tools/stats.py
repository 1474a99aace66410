"""Usage report for a date range, from the usage events, texts sent and opt-outs. No identities.

``report(storage, start, end)`` returns plain data (for ``flask --app app stats --json`` and for a
dashboard); ``format_table(report)`` renders it for a terminal. Days are UTC days, both ends included.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import and_, distinct, func, select

from ivr.store.storage import opt_outs, texts_sent, usage_events
from ivr.tools.need import need_line

U = usage_events


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants [start 00:00 UTC, the day after end 00:00 UTC)."""
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def _day(column, dialect: str):
    """A timestamp's UTC day as YYYY-MM-DD, in the database's own words."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)  # SQLite keeps UTC timestamps as text


def report(storage, start: date, end: date) -> dict:
    """Everything the stats command shows, for the UTC days start..end."""
    if end < start:
        raise ValueError("the end date is before the start date")
    since, until = day_range(start, end)
    in_range = and_(U.c.at >= since, U.c.at < until)
    dialect = storage.engine.dialect.name
    with storage.unhurried() as conn:
        grouped = conn.execute(
            select(U.c.channel, U.c.event, U.c.topic, U.c.outcome, U.c.keyword, func.count())
            .where(in_range)
            .group_by(U.c.channel, U.c.event, U.c.topic, U.c.outcome, U.c.keyword)
        ).all()
        callers = conn.execute(
            select(func.count(), func.count(distinct(U.c.number_hash)), func.count(U.c.number_hash)).where(in_range, U.c.event == "call")
        ).one()
        texters = conn.execute(select(func.count(), func.count(distinct(U.c.number_hash))).where(in_range, U.c.event == "text_in")).one()
        languages = conn.execute(
            select(U.c.language, func.count(distinct(U.c.call_ref)))
            .where(in_range, U.c.channel == "voice", U.c.language.is_not(None), U.c.call_ref.is_not(None))
            .group_by(U.c.language)
        ).all()
        day = _day(U.c.at, dialect)
        daily = conn.execute(
            select(day, U.c.event, func.count()).where(in_range, U.c.event.in_(("call", "text_in", "text"))).group_by(day, U.c.event)
        ).all()
        sent = conn.execute(
            select(texts_sent.c.channel, texts_sent.c.outcome, texts_sent.c.status, func.count())
            .where(texts_sent.c.created_at >= since, texts_sent.c.created_at < until)
            .group_by(texts_sent.c.channel, texts_sent.c.outcome, texts_sent.c.status)
        ).all()
        new_opt_outs = conn.execute(
            select(func.count()).select_from(opt_outs).where(opt_outs.c.created_at >= since, opt_outs.c.created_at < until)
        ).scalar_one()
        opted_out_now = conn.execute(select(func.count()).select_from(opt_outs)).scalar_one()

    topics: dict[str, Counter] = defaultdict(Counter)
    transfers: dict[str, Counter] = defaultdict(Counter)
    texts_requested: dict[str, Counter] = defaultdict(Counter)
    keywords: Counter = Counter()
    replies: Counter = Counter()
    other: Counter = Counter()
    for channel, event, topic, outcome, keyword, count in grouped:
        if event == "answer":
            topics[topic or "?"]["repeated" if outcome == "repeat" else "heard"] += count
        elif event == "transfer":
            transfers[topic or "?"][outcome or "?"] += count
        elif event == "text":
            texts_requested[channel][outcome or "?"] += count
        elif event == "text_in":
            keywords[keyword or "none"] += count
            replies[outcome or "?"] += count
            if topic:
                topics[topic]["texted"] += count
        elif event in ("fallback", "error"):
            other[event] += count
    delivery: dict[str, Counter] = defaultdict(Counter)
    for channel, outcome, status, count in sent:
        delivery[channel][(status or "no status") if outcome == "sent" else f"not sent: {outcome}"] += count
    per_day: dict[str, Counter] = defaultdict(Counter)
    for day_text, event, count in daily:
        per_day[str(day_text)][{"call": "calls", "text_in": "texts_in", "text": "texts_asked"}[event]] += count

    def ranked(counter: Counter) -> dict:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "calls": {
            "total": callers[0],
            "unique_callers": callers[1],
            "caller_id_withheld": callers[0] - callers[2],
            "languages": ranked(Counter(dict(languages))),
        },
        "topics": [
            {"topic": name, "heard": c["heard"], "repeated": c["repeated"], "texted": c["texted"]}
            for name, c in sorted(topics.items(), key=lambda kv: (-(kv[1]["heard"] + kv[1]["texted"]), kv[0]))
        ],
        "transfers": {
            name: {"started": c["started"], **ranked(Counter({k: v for k, v in c.items() if k != "started"}))}
            for name, c in sorted(transfers.items())
        },
        "texts": {
            "asked_for": {channel: ranked(c) for channel, c in sorted(texts_requested.items())},
            "sent": {channel: ranked(c) for channel, c in sorted(delivery.items())},
        },
        "texts_in": {"total": texters[0], "unique_texters": texters[1], "keywords": ranked(keywords), "replies": ranked(replies)},
        "opt_outs": {"stop_texts": keywords.get("stop", 0), "new": new_opt_outs, "in_force_now": opted_out_now},
        "problems": ranked(other),
        "per_day": [{"day": d, **{k: c[k] for k in ("calls", "texts_in", "texts_asked")}} for d, c in sorted(per_day.items())],
    }


def _table(title: str, header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    if not rows:
        return [title, "  (none)", ""]
    cells = [tuple(str(c) for c in header), *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row):
        cells = (c.rjust(w) if i and c.isdigit() else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return ("  " + "  ".join(cells)).rstrip()

    return [title, line(cells[0]), "  " + "  ".join("-" * w for w in widths), *[line(r) for r in cells[1:]], ""]


def format_table(data: dict) -> str:
    calls, texts_in, optouts = data["calls"], data["texts_in"], data["opt_outs"]
    out = [f"Usage from {data['from']} to {data['to']} (UTC days, both included)", ""]
    out += _table(
        "Summary",
        ("what", "count"),
        [
            ("calls", calls["total"]),
            ("unique callers", calls["unique_callers"]),
            ("calls with caller ID withheld", calls["caller_id_withheld"]),
            ("texts received", texts_in["total"]),
            ("unique texters", texts_in["unique_texters"]),
            ("opt-outs (STOP texts)", optouts["stop_texts"]),
            ("opt-outs recorded in range", optouts["new"]),
            ("opted out now", optouts["in_force_now"]),
            *[(f"{k} (webhook problems)", v) for k, v in data["problems"].items()],
        ],
    )
    out += _table("Calls by language", ("language", "calls"), list(calls["languages"].items()))
    topics = [(t["topic"], t["heard"], t["repeated"], t["texted"]) for t in data["topics"]]
    out += _table("Topics by popularity", ("topic", "heard", "repeated", "texted"), topics)
    outcomes = sorted({k for c in data["transfers"].values() for k in c if k != "started"})
    out += _table(
        "Transfers by outcome",
        ("to", "started", *outcomes),
        [(name, c["started"], *(c.get(k, 0) for k in outcomes)) for name, c in data["transfers"].items()],
    )
    out += _table(
        "Texts asked for, by outcome",
        ("channel", "outcome", "count"),
        [(ch, k, v) for ch, c in data["texts"]["asked_for"].items() for k, v in c.items()],
    )
    out += _table(
        "Texts sent, by delivery status",
        ("channel", "status", "count"),
        [(ch, k, v) for ch, c in data["texts"]["sent"].items() for k, v in c.items()],
    )
    out += _table("Texts received, by keyword", ("keyword", "count"), list(texts_in["keywords"].items()))
    days = [(d["day"], d["calls"], d["texts_in"], d["texts_asked"]) for d in data["per_day"]]
    out += _table("Per day", ("day", "calls", "texts in", "texts asked"), days)
    return "\n".join(out).rstrip() + "\n"


def _date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-25") from None


@click.command("stats")
@click.option("--from", "start", callback=_date, help="First UTC day, YYYY-MM-DD (default: 29 days before --to).")
@click.option("--to", "end", callback=_date, help="Last UTC day, YYYY-MM-DD (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@with_appcontext
def stats_command(start: date | None, end: date | None, as_json: bool) -> None:
    """Usage report: calls, callers, topics, transfers, texts and opt-outs. No phone numbers."""
    line = need_line()
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=29)
    if end < start:
        raise click.BadParameter("--to is before --from")
    try:
        data = report(line.storage, start, end)
    except Exception as exc:
        raise click.ClickException(f"cannot read usage: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    click.echo(json.dumps(data, indent=2) if as_json else format_table(data), nl=as_json)
