"""Helpers for tests of several instances, usage counts and health: free ports, a router, usage rows,
a scripted mix of calls and texts."""

from __future__ import annotations

import itertools
import socket
import threading

from sqlalchemy import select

from ivr.store.storage import usage_events
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER

TEXTER = "+16175550177"


def free_port() -> int:
    """A loopback port that was free a moment ago: for a server to start on, or to find nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Router:
    """A load balancer in front of several instances: each request goes to the next one in turn.

    Every instance checks signatures against the same public URL (as behind a real router), so the
    simulator signs for that URL and the router only chooses who answers.
    """

    def __init__(self, transports):
        self.transports = list(transports)
        self._next = itertools.cycle(range(len(self.transports)))
        self._lock = threading.Lock()
        self.served = [0] * len(self.transports)

    def post(self, url: str, params: dict, headers: dict) -> tuple[int, bytes]:
        with self._lock:
            index = next(self._next)
            self.served[index] += 1
        return self.transports[index].post(url, params, headers)

    @classmethod
    def of_apps(cls, *apps) -> Router:
        return cls(FlaskTransport(app.test_client()) for app in apps)


def usage_rows(line) -> list[dict]:
    """Every usage event, oldest first, after writing what is queued."""
    assert line.usage.flush(10), "usage events were not written in time"
    with line.storage.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(usage_events).order_by(usage_events.c.id))]


def scripted_traffic(app, twilio) -> None:
    """4 calls from 3 callers and 5 texts from 2 texters, with known outcomes."""
    transport = FlaskTransport(app.test_client())

    def a_call(transport, caller: str = CALLER) -> Call:
        return Call(transport, AUTH_TOKEN, BASE_URL, caller=caller, called=OUR_NUMBER).start()

    a_call(transport).press("1").press("2").press("*").press("1").press("1")  # why, what
    a_call(transport).press("2").press("2").press("1").press("4")  # harder (twice), text: sent
    c = a_call(transport, "+16175550124").press("0")
    c.dial_ends("completed")
    c = a_call(transport, "anonymous").press("4")  # no caller ID: never texted
    c.press("3").press("2")
    c.dial_ends("no-answer")
    first = Texter(transport, AUTH_TOKEN, BASE_URL, sender=TEXTER, to=OUR_NUMBER)
    first.send("recur")
    first.send("2")
    first.send("STOP")
    second = Texter(transport, AUTH_TOKEN, BASE_URL, sender="+16175550178", to=OUR_NUMBER)
    second.send("HELP")
    second.send("why")
