"""How long usage is kept: what ``flask --app app purge`` deletes, older than IVR_RETENTION_DAYS.

Deleted: usage events and texts-sent rows older than the retention period (with the first-of-the-day
rows of the counts, which hold hash prefixes), text-limit and reply-budget counters older than two days (they only
matter on the day and hour they count) and "text me" tickets as old (read during their call), and
per-day counts older than IVR_COUNTS_RETENTION_DAYS
(default five years: they hold no identities, so they outlive the events). Kept: opt-outs, for as
long as they stand, because a STOP must be honoured until the person texts START (see the README).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ivr.store.storage import utcnow

QUOTA_DAYS = 2
NAMES = {
    "usage_events": "usage events",
    "texts_sent": "texts sent",
    "text_quota": "text-limit counters",
    "reply_counters": "reply-budget counters",
    "text_tickets": "text-me tickets",
    "usage_seen": "first-of-the-day rows",
    "usage_daily": "per-day count rows",
    "usage_daily_unique": "per-day unique count rows",
}


def cutoffs(retention_days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(delete usage and texts before, delete text-limit counters before)."""
    now = now or utcnow()
    before = now - timedelta(days=retention_days)
    return before, max(before, now - timedelta(days=QUOTA_DAYS))


def purge(storage, retention_days: int, now: datetime | None = None, counts_retention_days: int | None = None) -> dict[str, int]:
    before, quota_before = cutoffs(retention_days, now)
    counts_days = max(counts_retention_days or 0, retention_days)
    return storage.purge(before, quota_before, (now or utcnow()) - timedelta(days=counts_days))
