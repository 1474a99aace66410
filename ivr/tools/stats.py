"""Usage report for a date range, from the per-day counts, texts sent and opt-outs. No identities.

``report(storage, start, end, line=None)`` returns plain data (for ``flask --app app stats --json`` and
for the dashboard); ``format_table(report)`` renders it for a terminal. Days are UTC days, both ends
included. With ``line`` (a line id of IVR_LINES_FILE), only that line's calls, texts and texts sent;
opt-outs are a person's, on a channel, whichever line they texted, so they are always counted for all lines.
It reads the per-day counts (ivr/store/counts.py), so it costs O(days), not O(events).
``report_from_events`` counts the same figures from the raw events (slow on a big database): the
truth the counts are tested against, and ``stats --from-events`` to check them on a real one.

Different callers and texters over a range are the sum of each day's exact figure, and say so
(``unique_method``): someone who called on three days counts three times.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import DateTime, String, and_, bindparam, distinct, func, or_, select, text

from ivr.store.counts import ALL_LINES, COUNTED_ONLY
from ivr.store.recount import day_expression
from ivr.store.storage import ReportTimeout, opt_outs, texts_sent, usage_daily, usage_daily_unique, usage_events
from ivr.tools.need import need_line

U = usage_events
D = usage_daily
UNIQUE_METHOD = (
    "each UTC day's different callers (texters), exact, added up over the days: someone who called on three days counts three times"
)
DEFAULT_TIMEOUT = 20.0


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants [start 00:00 UTC, the day after end 00:00 UTC)."""
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def _none(value):
    return value or None  # the counts' key columns say '' for none


def report(storage, start: date, end: date, timeout: float = DEFAULT_TIMEOUT, line: str | None = None) -> dict:
    """Everything the stats command shows, for the UTC days start..end and one line or (None) all, from the per-day counts."""
    if end < start:
        raise ValueError("the end date is before the start date")
    in_days = and_(D.c.day.between(start, end), *((D.c.line == line,) if line else ()))
    Q = usage_daily_unique
    keys = (D.c.channel, D.c.event, D.c.topic, D.c.outcome, D.c.keyword)
    with storage.reporting(timeout) as conn:
        grouped = conn.execute(select(*keys, func.sum(D.c.events), func.sum(D.c.numbered)).where(in_days).group_by(*keys)).all()
        unique = conn.execute(
            select(Q.c.measure, Q.c.language, func.sum(Q.c.count))
            .where(Q.c.day.between(start, end), Q.c.line == (line or ALL_LINES))
            .group_by(Q.c.measure, Q.c.language)
        ).all()
        by_line = conn.execute(
            select(D.c.line, D.c.channel, func.sum(D.c.events))
            .where(in_days, D.c.event.in_(("call", "text_in")))
            .group_by(D.c.line, D.c.channel)
        ).all()
        daily = conn.execute(
            select(D.c.day, D.c.event, func.sum(D.c.events))
            .where(in_days, D.c.event.in_(("call", "text_in", "text")))
            .group_by(D.c.day, D.c.event)
        ).all()
        others = _texts_and_opt_outs(conn, start, end, line)
    tallies = {
        "line": line,
        "by_line": [(_none(line_id), channel, int(n)) for line_id, channel, n in by_line],
        "grouped": [(*(_none(v) for v in row[:5]), int(row[5]), int(row[6])) for row in grouped],
        "unique": {"callers": 0, "texters": 0},
        "languages": Counter(),
        "daily": [(day.isoformat() if isinstance(day, date) else str(day), event, int(n)) for day, event, n in daily],
        **others,
    }
    for measure, language, n in unique:
        if measure == "call_language":
            tallies["languages"][language] += int(n)
        else:
            tallies["unique"][measure] += int(n)
    return _assemble(start, end, tallies)


def report_from_events(storage, start: date, end: date, timeout: float = DEFAULT_TIMEOUT, line: str | None = None) -> dict:
    """The same report, counted from the raw usage events: O(events). For tests and for checking the counts."""
    if end < start:
        raise ValueError("the end date is before the start date")
    since, until = day_range(start, end)
    in_range = and_(U.c.at >= since, U.c.at < until, *((U.c.line == line,) if line else ()))
    day = day_expression(storage.engine.dialect.name)
    keys = (U.c.channel, U.c.event, U.c.topic, U.c.outcome, U.c.keyword)
    with storage.reporting(timeout) as conn:
        counted = and_(in_range, U.c.event.not_in(COUNTED_ONLY))
        grouped = conn.execute(select(*keys, func.count(), func.count(U.c.number_hash)).where(counted).group_by(*keys)).all()
        # Crisis events are only ever counted (counts.COUNTED_ONLY): their figures come from the counts.
        only_counted = and_(D.c.day.between(start, end), D.c.event.in_(COUNTED_ONLY), *((D.c.line == line,) if line else ()))
        daily_keys = (D.c.channel, D.c.event, D.c.topic, D.c.outcome, D.c.keyword)
        grouped += [
            (*(_none(v) for v in row[:5]), int(row[5]), int(row[6]))
            for row in conn.execute(
                select(*daily_keys, func.sum(D.c.events), func.sum(D.c.numbered)).where(only_counted).group_by(*daily_keys)
            )
        ]
        unique = {}
        for measure, event in (("callers", "call"), ("texters", "text_in")):
            per_day = select(day, func.count(distinct(U.c.number_hash))).where(in_range, U.c.event == event).group_by(day)
            unique[measure] = sum(n for _, n in conn.execute(per_day))
        languages = conn.execute(
            select(day, U.c.language, func.count(distinct(U.c.call_ref)))
            .where(in_range, U.c.channel == "voice", U.c.language.is_not(None), U.c.call_ref.is_not(None))
            .group_by(day, U.c.language)
        ).all()
        daily = conn.execute(
            select(day, U.c.event, func.count()).where(in_range, U.c.event.in_(("call", "text_in", "text"))).group_by(day, U.c.event)
        ).all()
        by_line = conn.execute(
            select(U.c.line, U.c.channel, func.count()).where(in_range, U.c.event.in_(("call", "text_in"))).group_by(U.c.line, U.c.channel)
        ).all()
        others = _texts_and_opt_outs(conn, start, end, line)
    by_language: Counter = Counter()
    for _, language, n in languages:
        by_language[language] += n
    tallies = {
        "line": line,
        "by_line": [tuple(row) for row in by_line],
        "grouped": [tuple(row) for row in grouped],
        "unique": unique,
        "languages": by_language,
        "daily": [(str(day_value), event, n) for day_value, event, n in daily],
        **others,
    }
    return _assemble(start, end, tallies)


_SENT = (
    select(texts_sent.c.channel, texts_sent.c.outcome, texts_sent.c.status, func.count())
    .where(texts_sent.c.created_at >= bindparam("since"), texts_sent.c.created_at < bindparam("until"))
    .where(or_(bindparam("line", type_=String) == None, texts_sent.c.line == bindparam("line", type_=String)))  # noqa: E711
    .group_by(texts_sent.c.channel, texts_sent.c.outcome, texts_sent.c.status)
)
# The same, naming its index: SQLAlchemy's with_hint() writes nothing for SQLite.
_SENT_SQLITE = text(
    "SELECT channel, outcome, status, count(*) FROM texts_sent INDEXED BY ix_texts_sent_report"
    " WHERE created_at >= :since AND created_at < :until AND (:line IS NULL OR line = :line) GROUP BY channel, outcome, status"
).bindparams(
    bindparam("since", type_=DateTime(timezone=True)), bindparam("until", type_=DateTime(timezone=True)), bindparam("line", type_=String)
)


def _texts_and_opt_outs(conn, start: date, end: date, line: str | None = None) -> dict:
    """Texts sent by delivery status, and opt-outs: from their own tables (a text's status changes after it is sent)."""
    since, until = day_range(start, end)
    # O(texts sent), not O(days): a text's status changes after it is sent. Read from one index
    # alone, in its groups' order (SQLite, left to itself, takes the index on created_at and then
    # sorts: five times slower on a year); the texts are bounded by IVR_TEXTS_PER_HOUR (60 an hour).
    sent = conn.execute(_SENT_SQLITE if conn.dialect.name == "sqlite" else _SENT, {"since": since, "until": until, "line": line}).all()
    new_opt_outs = conn.execute(
        select(func.count()).select_from(opt_outs).where(opt_outs.c.created_at >= since, opt_outs.c.created_at < until)
    ).scalar_one()
    opted_out_now = dict(conn.execute(select(opt_outs.c.channel, func.count()).group_by(opt_outs.c.channel)).all())
    return {"sent": sent, "new_opt_outs": new_opt_outs, "opted_out_now": opted_out_now}


def _assemble(start: date, end: date, tallies: dict) -> dict:
    topics: dict[str, Counter] = defaultdict(Counter)
    transfers: dict[str, Counter] = defaultdict(Counter)
    texts_requested: dict[str, Counter] = defaultdict(Counter)
    keywords: Counter = Counter()
    stops: Counter = Counter()
    replies: Counter = Counter()
    other: Counter = Counter()
    crisis: dict[str, Counter] = defaultdict(Counter)
    calls = numbered = texts_in = 0
    for channel, event, topic, outcome, keyword, count, with_number in tallies["grouped"]:
        if event == "crisis":  # the safety net: how often, by channel and what happened next; nothing else is kept
            crisis[channel][outcome or "?"] += count
        elif event == "call":
            calls += count
            numbered += with_number
        elif event == "answer":
            topics[topic or "?"]["repeated" if outcome == "repeat" else "heard"] += count
        elif event == "transfer":
            transfers[topic or "?"][outcome or "?"] += count
        elif event == "text":
            texts_requested[channel][outcome or "?"] += count
        elif event == "text_in":
            texts_in += count
            keywords[keyword or "none"] += count
            replies[outcome or "?"] += count
            if keyword == "stop":
                stops[channel] += count
            if topic:
                topics[topic]["texted"] += count
        elif event in ("fallback", "error"):
            other[event] += count
    delivery: dict[str, Counter] = defaultdict(Counter)
    for channel, outcome, status, count in tallies["sent"]:
        delivery[channel][(status or "no status") if outcome == "sent" else f"not sent: {outcome}"] += count
    per_day: dict[str, Counter] = defaultdict(Counter)
    for day_text, event, count in tallies["daily"]:
        per_day[day_text][{"call": "calls", "text_in": "texts_in", "text": "texts_asked"}[event]] += count

    def ranked(counter: Counter) -> dict:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    lines: dict[str, Counter] = defaultdict(Counter)
    channels: Counter = Counter()
    for line_id, channel, count in tallies["by_line"]:
        lines[line_id or "?"]["calls" if channel == "voice" else "texts_in"] += count
        if channel != "voice":
            channels[channel] += count
    opted_out_now = tallies["opted_out_now"]

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "line": tallies["line"],  # None: every line
        "lines": {name: {"calls": c["calls"], "texts_in": c["texts_in"]} for name, c in sorted(lines.items())},
        "unique_method": UNIQUE_METHOD,
        "calls": {
            "total": calls,
            "daily_unique_callers": tallies["unique"]["callers"],
            "caller_id_withheld": calls - numbered,
            "languages": ranked(tallies["languages"]),
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
            "total": texts_in,
            "daily_unique_texters": tallies["unique"]["texters"],
            "channels": ranked(channels),
            "keywords": ranked(keywords),
            "replies": ranked(replies),
        },
        "opt_outs": {
            "stop_texts": keywords.get("stop", 0),
            "stop_texts_by_channel": ranked(stops),
            # for every line: an opt-out belongs to a person on a channel, not to the line they texted
            "new": tallies["new_opt_outs"],
            "in_force_now": sum(opted_out_now.values()),
            "in_force_now_by_channel": ranked(Counter(opted_out_now)),
        },
        "problems": ranked(other),
        "crisis": {channel: ranked(c) for channel, c in sorted(crisis.items())},
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
    out = [
        f"Usage from {data['from']} to {data['to']} (UTC days, both included), {scope}",
        f"Unique callers and texters: {data['unique_method']}.",
        "",
    ]
    out += _table(
        "Summary",
        ("what", "count"),
        [
            ("calls", calls["total"]),
            ("unique callers (each day's, added up)", calls["daily_unique_callers"]),
            ("calls with caller ID withheld", calls["caller_id_withheld"]),
            ("texts received", texts_in["total"]),
            ("unique texters (each day's, added up)", texts_in["daily_unique_texters"]),
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
    out += _table(
        "Crisis messages (the safety net; no numbers, no words)",
        ("channel", "what happened", "count"),
        [(ch, k, v) for ch, c in data["crisis"].items() for k, v in c.items()],
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
@click.option("--line", "line_id", help="Only this line (its id in IVR_LINES_FILE, or its name); default: every line.")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=None, help="Stop the report after this many seconds (default IVR_REPORT_TIMEOUT)."
)
@click.option("--from-events", is_flag=True, help="Count from the raw usage events instead of the per-day counts (slow; to check them).")
@with_appcontext
def stats_command(
    start: date | None, end: date | None, as_json: bool, line_id: str | None, timeout: float | None, from_events: bool
) -> None:
    """Usage report: calls, callers, topics, transfers, texts and opt-outs. No phone numbers."""
    line = need_line()
    if line_id is not None:
        line_id = find_line(line, line_id)
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=29)
    if end < start:
        raise click.BadParameter("--to is before --from")
    timeout = timeout or line.settings.report_timeout
    try:
        data = (report_from_events if from_events else report)(line.storage, start, end, timeout, line=line_id)
    except ReportTimeout:
        raise click.ClickException(
            f"the report took longer than {timeout:g} s and was stopped; ask for fewer days, or give it --timeout SECONDS"
        ) from None
    except Exception as exc:
        raise click.ClickException(f"cannot read usage: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    click.echo(json.dumps(data, indent=2) if as_json else format_table(data), nl=as_json)


def find_line(line, wanted: str) -> str:
    """The id of the line called ``wanted`` (its id or its name, any case); one line of error otherwise."""
    for key, number_line in line.lines.items():
        if wanted.strip().lower() in (key, number_line.name.lower()):
            return key
    raise click.BadParameter(f"no line {wanted!r}; the lines are: {', '.join(line.lines)}", param_hint="--line")
