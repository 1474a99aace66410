""" "Text me" sends off the request threads: a bounded pool, and a short wait for the fast case.

A hanging Twilio once held a request thread per caller until the deadline (6.5 s): 16 callers asking
at once filled an instance and every other caller waited. Here a send takes a pool thread (at most
``workers`` at once; up to ``queued`` more wait their turn and give up at their own deadline, never
sending late; beyond that the caller hears the temporary problem and the numbers at once: they
could not have been sent in time, and a queue of hundreds would only cost every caller CPU),
and the request waits for it only briefly (FIRST_ANSWER_SECONDS), only while few others do
(``waiters``, half of gunicorn's 8 threads), and not at all once a wait ran out in the last SLOW_FOR
seconds (Twilio is slow now: waiting would only hold the thread). Under a burst, the request
threads answer "one moment" at once and stay free for the other callers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ivr import metrics, thread_names
from ivr.outcomes import TextOutcome

log = logging.getLogger(__name__)

WORKERS = 8  # sends at once per process, as many as the Twilio client's own pool
QUEUED = 16  # sends that may wait for a pool thread; more are the temporary problem at once (two rounds of a slow Twilio)
WAITERS = 4  # request threads per process that may wait (FIRST_ANSWER_SECONDS at most) for a send at once
SLOW_FOR = 10.0  # seconds after a wait ran out during which Twilio counts as slow: nobody waits
KNOWN = 10_000  # outcomes this process remembers by ticket (answered from memory, even with the database down)


class _Job:
    __slots__ = ("detached", "done", "lock", "outcome", "sending")

    def __init__(self):
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.sending = threading.Event()  # past the database's checks: the REST call began (or the job ended)
        self.outcome: TextOutcome | None = None
        self.detached = False  # the request answered "one moment": the outcome goes to ``later``


class Sends:
    def __init__(self, workers: int = WORKERS, waiters: int = WAITERS, queued: int = QUEUED):
        self.workers = workers
        self.queued = queued
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="text-me", initializer=thread_names.show)
        self._waiters = threading.BoundedSemaphore(waiters)
        self._lock = threading.Lock()
        self.in_flight = 0  # queued or running: a send that would queue is not worth waiting for
        self._slow_until = 0.0  # time.monotonic() until which Twilio counts as slow
        self._known: OrderedDict[str, tuple[str, TextOutcome]] = OrderedDict()
        self._pending: set[str] = set()

    def start(
        self,
        send: Callable[[threading.Event], TextOutcome],
        later: Callable[[TextOutcome], None],
        wait: float,
        key: tuple[str, str] = ("", ""),
        checks: float = 0.0,
    ) -> TextOutcome | None:
        """Run ``send(sending)`` in the pool; its outcome if it is done in time, else None and
        ``later(outcome)`` is called in the pool's thread once it is known (exactly one of the two).

        In time: within ``checks`` seconds for the database's checks (opt-out, limits: each bounded
        by its own wait, as when this ran in the request), then ``wait`` seconds once the send has
        set ``sending`` (Twilio's part). ``key``: (ticket, call reference): the outcome is also
        remembered here (``known``), and a ticket still running here is ``pending``."""
        job = _Job()
        ticket = key[0]
        with self._lock:
            if self.in_flight >= self.workers + self.queued:  # could not start before its deadline anyway: nothing taken
                log.warning("text_me outcome=temporary reason=busy in_flight=%d", self.in_flight)
                return TextOutcome.TEMPORARY
            self.in_flight += 1
            starts_now = self.in_flight <= self.workers
            self._pending.add(ticket)
        metrics.SENDS_IN_FLIGHT.inc()
        self._pool.submit(self._run, job, send, later, key)
        waited = wait > 0 and starts_now and time.monotonic() >= self._slow_until and self._waiters.acquire(blocking=False)
        if waited:
            try:
                if job.sending.wait(max(checks, wait)):
                    job.done.wait(wait)
            finally:
                self._waiters.release()
        with job.lock:
            if job.outcome is not None:
                with self._lock:
                    self._pending.discard(ticket)
                return job.outcome
            job.detached = True
        if waited and job.sending.is_set():  # Twilio did not answer in time: do not wait on it for a while
            self._slow_until = time.monotonic() + SLOW_FOR
        return None

    def pending(self, ticket: str) -> bool:
        """Whether this process is still sending for ``ticket``."""
        return ticket in self._pending

    def known(self, ticket: str) -> tuple[str, TextOutcome] | None:
        """(call reference, outcome) of a ticket this process sent for, once known."""
        return self._known.get(ticket)

    def _run(self, job: _Job, send, later, key: tuple[str, str]) -> None:
        try:
            outcome = send(job.sending)
        except Exception:  # any failure is a send not made: the caller hears the numbers
            log.exception("text_me outcome=temporary reason=send_failed")
            outcome = TextOutcome.TEMPORARY
        finally:
            with self._lock:
                self.in_flight -= 1
            metrics.SENDS_IN_FLIGHT.dec()
        ticket, ref = key
        with job.lock:
            job.outcome = outcome
            detached = job.detached
            with self._lock:
                if detached:
                    self._known[ticket] = (ref, outcome)
                    while len(self._known) > KNOWN:
                        self._known.popitem(last=False)
                self._pending.discard(ticket)
        job.done.set()
        job.sending.set()
        if detached:
            later(outcome)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=False)
