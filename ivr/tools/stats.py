"""Usage report for a date range, from the usage events, texts sent and opt-outs. No identities.

``report(storage, start, end, line=None)`` returns plain data (for ``flask --app app stats --json`` and for a
dashboard); ``format_table(report)`` renders it for a terminal. Days are UTC days, both ends included.
With ``line`` (a line id of IVR_LINES_FILE), only that line's calls, texts and texts sent; opt-outs are
a person's, on a channel, whichever line they texted, so they are always counted for all lines.
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


def report(storage, start: date, end: date, line: str | None = None) -> dict:
    """Everything the stats command shows, for the UTC days start..end, for one line or (None) all."""
    if end < start:
        raise ValueError("the end date is before the start date")
    since, until = day_range(start, end)
    in_range = and_(U.c.at >= since, U.c.at < until, *((U.c.line == line,) if line else ()))
    sent_in_range = and_(texts_sent.c.created_at >= since, texts_sent.c.created_at < until, *((texts_sent.c.line == line,) if line else ()))
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
        by_line = conn.execute(
            select(U.c.line, U.c.channel, func.count()).where(in_range, U.c.event.in_(("call", "text_in"))).group_by(U.c.line, U.c.channel)
        ).all()
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
            .where(sent_in_range)
            .group_by(texts_sent.c.channel, texts_sent.c.outcome, texts_sent.c.status)
        ).all()
        new_opt_outs = conn.execute(
            select(func.count()).select_from(opt_outs).where(opt_outs.c.created_at >= since, opt_outs.c.created_at < until)
        ).scalar_one()
        opted_out_now = dict(conn.execute(select(opt_outs.c.channel, func.count()).group_by(opt_outs.c.channel)).all())

    topics: dict[str, Counter] = defaultdict(Counter)
    transfers: dict[str, Counter] = defaultdict(Counter)
    texts_requested: dict[str, Counter] = defaultdict(Counter)
    keywords: Counter = Counter()
    stops: Counter = Counter()
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
            if keyword == "stop":
                stops[channel] += count
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

    lines: dict[str, Counter] = defaultdict(Counter)
    channels: Counter = Counter()
    for line_id, channel, count in by_line:
        lines[line_id or "?"]["calls" if channel == "voice" else "texts_in"] += count
        if channel != "voice":
            channels[channel] += count

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "line": line,  # None: every line
        "lines": {name: {"calls": c["calls"], "texts_in": c["texts_in"]} for name, c in sorted(lines.items())},
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
        "texts_in": {
            "total": texters[0],
            "unique_texters": texters[1],
            "channels": ranked(channels),
            "keywords": ranked(keywords),
            "replies": ranked(replies),
        },
        "opt_outs": {
            "stop_texts": keywords.get("stop", 0),
            "stop_texts_by_channel": ranked(stops),
            # for every line: an opt-out belongs to a person on a channel, not to the line they texted
            "new": new_opt_outs,
            "in_force_now": sum(opted_out_now.values()),
            "in_force_now_by_channel": ranked(Counter(opted_out_now)),
        },
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
    scope = f"line {data['line']}" if data.get("line") else "all lines"
    out = [f"Usage from {data['from']} to {data['to']} (UTC days, both included), {scope}", ""]
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
            ("opt-outs recorded in range (all lines)", optouts["new"]),
            ("opted out now", optouts["in_force_now"]),
            *[(f"opted out now on {channel}", n) for channel, n in optouts["in_force_now_by_channel"].items()],
            *[(f"{k} (webhook problems)", v) for k, v in data["problems"].items()],
        ],
    )
    if not data.get("line"):
        out += _table("By line", ("line", "calls", "texts in"), [(k, v["calls"], v["texts_in"]) for k, v in data["lines"].items()])
    out += _table("Texts received, by channel", ("channel", "count"), list(texts_in["channels"].items()))
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
@click.option("--line", "line_id", help="Only this line (its id in IVR_LINES_FILE, or its name); default: every line.")
@with_appcontext
def stats_command(start: date | None, end: date | None, as_json: bool, line_id: str | None) -> None:
    """Usage report: calls, callers, topics, transfers, texts and opt-outs. No phone numbers."""
    line = need_line()
    if line_id is not None:
        line_id = find_line(line, line_id)
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=29)
    if end < start:
        raise click.BadParameter("--to is before --from")
    try:
        data = report(line.storage, start, end, line=line_id)
    except Exception as exc:
        raise click.ClickException(f"cannot read usage: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    click.echo(json.dumps(data, indent=2) if as_json else format_table(data), nl=as_json)


def find_line(line, wanted: str) -> str:
    """The id of the line called ``wanted`` (its id or its name, any case); one line of error otherwise."""
    for key, number_line in line.lines.items():
        if wanted.strip().lower() in (key, number_line.name.lower()):
            return key
    raise click.BadParameter(f"no line {wanted!r}; the lines are: {', '.join(line.lines)}", param_hint="--line")
