"""Usage counts without identities: what happened on each call and text, written off the hot path.

Each answered webhook (voice or inbound text; not the pauses while "text me" waits for Twilio)
becomes one usage event: the channel (voice, sms or whatsapp), the line (which of the deployment's numbers, lines.py), the event (a call
began, an answer was heard, a transfer started or ended, a text was asked for, a keyword came in),
the language, the topic, the outcome, the time, and at most a keyed hash of the number (only on the
first event of a call and on inbound texts; the other events of a call carry a keyed hash of its
CallSid instead). Never the number, never a message body: the SMS route notes the keyword it
matched, never what was typed. A crisis event (the safety net: a text or words at a menu that sound
like a crisis) carries neither a number hash nor a call reference, and is never stored as an event
at all: only the per-day counts hold it (channel, language, what happened next, the day), because a
row's time and place among a call's rows would tie it to the call's first event and its number hash.

The request itself only puts a small tuple on a bounded in-process queue (a few microseconds); a
writer thread turns the tuples into rows and inserts them in batches, adding each batch to the
per-day counts in the same transaction (storage.record_usage, counts.py). A full queue drops the event
and a failed write drops the batch; both are counted and logged, neither ever touches an answer.
``flush()`` waits until everything recorded so far is written (tests, exit).
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import threading
import time
import weakref
from datetime import UTC, datetime

from flask import g, request

from ivr import metrics, thread_names
from ivr.channels import Channel, split_address
from ivr.line import current_line

log = logging.getLogger(__name__)

CHANNELS = {"voice": Channel.VOICE, "sms": Channel.SMS}  # blueprint -> channel (sms: or whatsapp); others are not usage
TOKEN = re.compile(r"[a-z0-9_\-]+")
LIMITS = {"event": 20, "language": 5, "topic": 40, "outcome": 30, "keyword": 20, "input": 10}
_recorders: weakref.WeakSet[UsageRecorder] = weakref.WeakSet()


def after_request(response):
    """Flask after_request: queue what this webhook did. Costs a tuple and a put on a queue."""
    req = request._get_current_object()  # once: each use of the proxy is a context look-up
    channel = CHANNELS.get(req.blueprint or "")
    if not channel or response.status_code != 200:
        return response
    notes = g.get("log_fields") or {}
    if notes.get("outcome") == "text_wait":  # "text me" still under way: counted once, with its outcome
        return response
    form = req.form
    if channel == Channel.SMS:
        channel = split_address(form.get("From"))[0]
    the_line = current_line()
    the_line.usage.record(
        (
            datetime.now(UTC),
            str(channel),
            req.endpoint,
            req.view_args,
            notes,
            form.get("From"),
            form.get("CallSid") or None,
            req.args,
            the_line.for_number(form.get("To")).key,
        )
    )
    return response


def _token(value, limit: int) -> str | None:
    """A short lower-case token (a menu, topic or outcome name), or None: free text is never stored."""
    if value is None:
        return None
    text = str(value).strip().lower()
    return text if len(text) <= limit and TOKEN.fullmatch(text) else None


def describe(channel: str, endpoint: str | None, view_args: dict | None, notes: dict, args=None) -> dict:
    """The usage event for one webhook, from its route and the fields it noted with weblog.note()."""
    view = (endpoint or "").partition(".")[2]
    args = args or {}
    outcome = notes.get("outcome")
    choice = notes.get("choice")
    event: dict = {"event": view or "unknown", "topic": choice, "outcome": outcome}
    crisis = str(outcome or "")
    if crisis == "crisis" or crisis.startswith("crisis_"):  # offered; then connect, declined, or the dial's end
        event.update(
            event="crisis", topic=None, outcome="offered" if crisis == "crisis" else crisis.removeprefix("crisis_").removeprefix("dial_")
        )
    elif channel in (Channel.SMS, Channel.WHATSAPP):
        event.update(event="text_in", keyword=notes.get("keyword"), topic=notes.get("topic", choice))
    elif outcome == "error":
        event.update(event="error", topic=None, outcome=notes.get("error"))
    elif view == "welcome":
        event.update(event="call", topic=None, outcome=None)
    elif view == "answer":
        event.update(event="answer", outcome="answer")
    elif view == "transfer_done":
        event.update(event="transfer", outcome=str(outcome or "").removeprefix("dial_") or None)
    elif view == "fallback" and outcome == "fallback_key":  # a key during the fallback's words: connected at once
        event.update(event="transfer", outcome="started" if choice else "closed")
    elif view == "fallback":
        event.update(event="fallback", topic=None, outcome=notes.get("error_code") or "fallback")
    elif view == "menu":
        event.update(event="menu", topic=notes.get("menu"))
    elif view == "text_result" and str(outcome or "").startswith("text_"):
        event.update(event="text", topic="numbers", outcome=str(outcome).removeprefix("text_"))
    elif view in ("choose", "crisis", "text_result"):  # an "always" key after the crisis message (or while a text waits) is a choice
        event["input"] = notes.get("input")
        kind = str(outcome or "")
        if kind == "answer":
            event.update(event="answer")
        elif kind == "repeat":  # with no answer to repeat, the main menu
            if args.get("answer"):
                event.update(event="answer", topic=args.get("answer"), outcome="repeat")
            else:
                event.update(event="menu", topic="main")
        elif kind == "transfer":
            event.update(event="transfer", outcome="started")
        elif kind == "closed":  # the person asked for is closed now: the caller heard the hours
            event.update(event="transfer", outcome="closed")
        elif kind == "anyway":  # ... and chose to be connected anyway
            contact = args.get("contact")
            if contact:
                event.update(event="transfer", topic=contact, outcome="started")
            else:
                event.update(event="menu", topic="main")
        elif kind == "language":  # chose another language at a menu: the call goes on in it
            chosen = str(choice or "").removeprefix("lang_")
            event.update(event="language", topic=chosen, outcome=None, language=chosen)
        elif kind.startswith("text_"):
            event.update(event="text", topic="numbers", outcome=kind.removeprefix("text_"))
        elif kind in ("not_a_choice", "asked_again", "unsure"):  # the same menu again: "what?", or speech too unsure to act on
            event.update(event="menu", topic=notes.get("menu"))
        elif kind == "menu":
            event.update(event="menu")
        else:
            event.update(event="choice")
    language = event.get("language") or (view_args or {}).get("lang") or notes.get("lang") or notes.get("language")
    row = {key: _token(event.get(key), limit) for key, limit in LIMITS.items()}
    row["language"] = _token(language, LIMITS["language"])
    row["event"] = row["event"] or "unknown"
    return row


class UsageRecorder:
    """A bounded queue of usage events and the thread that writes them to storage in batches."""

    def __init__(
        self, storage, hash_number, maxsize: int = 20000, batch: int = 500, linger: float = 0.1, default_language: str | None = None
    ):
        self.storage = storage
        self.hash_number = hash_number
        self.batch = batch
        self.linger = linger
        self.default_language = default_language
        self.queue: queue.Queue = queue.Queue(maxsize)
        self.recorded = 0  # events queued
        self.written = 0  # events stored
        self.dropped = 0  # events lost because the queue was full
        self.failed = 0  # events lost because storing them failed
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_warning = 0.0
        _recorders.add(self)

    # --- the hot path -------------------------------------------------------------------------------
    def record(self, raw: tuple) -> None:
        try:
            self.queue.put_nowait(raw)
        except queue.Full:
            self.dropped += 1
            metrics.USAGE_DROPPED.inc()
            self._warn("usage outcome=dropped reason=queue_full dropped=%d", self.dropped)
            return
        self.recorded += 1
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=_writer, args=(weakref.ref(self), self.queue), name="usage-writer", daemon=True)
                self._thread.start()

    # --- the writer thread ----------------------------------------------------------------------------
    def row(self, raw: tuple) -> dict:
        at, channel, endpoint, view_args, notes, caller, call_sid, args, line = raw
        row = describe(channel, endpoint, view_args, notes, args)
        row.update(at=at, channel=channel, line=line, number_hash=None, call_ref=None)
        if channel == "voice" and row["language"] is None and row["event"] != "call":
            row["language"] = self.default_language
        if row["event"] in ("call", "text_in"):
            # one hash per person, on any channel (a texter's route hashed it already: NumberHasher remembers it)
            hashed = self.hash_number(split_address(caller)[1])
            row["number_hash"] = str(hashed) if hashed is not None and hashed.is_number else None
        if call_sid and row["event"] != "crisis":  # a crisis is never tied to a call, so never to a number
            row["call_ref"] = self.hash_number.keyed(f"call:{call_sid}".strip())[:32]
        return row

    def write(self, raws: list[tuple]) -> None:
        rows = []
        for raw in raws:
            try:
                rows.append(self.row(raw))
            except Exception as exc:  # a bug in describing one event must not lose the others
                self.failed += 1
                metrics.USAGE_WRITE_FAILURES.inc()
                log.error("usage outcome=skipped reason=describe error=%s", type(exc).__name__)
        for attempt in (1, 2):
            try:
                self.storage.record_usage(rows)
                self.written += len(rows)
                return
            except Exception as exc:
                self.last_error = type(exc).__name__
                if attempt == 1:
                    time.sleep(0.2)
        self.failed += len(rows)
        metrics.USAGE_WRITE_FAILURES.inc(len(rows))
        self._warn("usage outcome=failed events=%d failed_total=%d error=%s", len(rows), self.failed, self.last_error, level=logging.ERROR)

    def _warn(self, message: str, *args, level: int = logging.WARNING) -> None:
        """Log a recording problem, at most once a second (the line keeps answering)."""
        now = time.monotonic()
        if now - self._last_warning >= 1.0:
            self._last_warning = now
            log.log(level, message, *args)

    # --- for tests, exit and /healthz ----------------------------------------------------------------
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event recorded so far is written (or dropped after a failure); False on time-out."""
        if self.queue.unfinished_tasks and self._thread is None:
            self._start()
        deadline = time.monotonic() + timeout
        with self.queue.all_tasks_done:
            while self.queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.queue.all_tasks_done.wait(remaining)
        return True

    def state(self) -> dict:
        return {
            "queued": self.queue.qsize(),
            "recorded": self.recorded,
            "written": self.written,
            "dropped": self.dropped,
            "failed": self.failed,
            **({"last_error": self.last_error} if self.last_error else {}),
        }


def _writer(ref: weakref.ref, q: queue.Queue) -> None:
    """Drain the queue in batches; end when the recorder is gone (an app discarded by a test)."""
    thread_names.show()
    while True:
        try:
            first = q.get(timeout=1.0)
        except queue.Empty:
            if ref() is None:
                return
            continue
        raws = [first]
        recorder = ref()
        limit = recorder.batch if recorder else 1
        if recorder is not None and recorder.linger and q.qsize() < limit:
            time.sleep(recorder.linger)  # let a batch gather: one INSERT for many events costs far less CPU
        while len(raws) < limit:
            try:
                raws.append(q.get_nowait())
            except queue.Empty:
                break
        try:
            if recorder is not None:
                recorder.write(raws)
        finally:
            del recorder
            for _ in raws:
                q.task_done()
            metrics.USAGE_WAITING.set(q.qsize())


@atexit.register
def _flush_all() -> None:
    for recorder in list(_recorders):
        if not recorder.flush(timeout=5.0):
            log.error("usage outcome=lost_at_exit events=%d", recorder.queue.qsize())
