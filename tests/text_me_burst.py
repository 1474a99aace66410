"""A burst of "text me" while Twilio hangs, against a running line: the others' latency, every outcome.

Shared by tests/test_text_me_burst.py (asserts) and bench/run.py --text-me-burst (prints figures).
``texters`` callers reach the main menu, then press 4 within ``spread`` seconds of each other (evenly
spaced; 0: all at the same instant, when the burst is as much the test's own CPU as the line's); ``walkers`` other
callers walk the menus meanwhile, every request timed, each pausing ``listen`` seconds between
presses (a caller listens to a prompt before pressing; without it 32 walkers alone would saturate
two cores, and their latency would measure that, not the texts). Each texter's call is followed as Twilio
would (the simulator waits each <Pause> and <Gather> time-out) until it is back at a menu.

The walkers run in a process of their own: 200 texters' threads in the same interpreter would hold
its GIL and add their own waiting to the walkers' timings, which are the line's to measure.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from ivr.tools.simulator import Call, HttpTransport

NUMBERS_READ = "1-800-422-6237"  # the NCI number, said whenever the text did not go
OUTCOME_WORDS = {
    "sent": "we have sent you a text",
    "temporary": "could not send a text message",
    "uncertain": "may not have been able to send the text",
    "cannot_receive": "cannot receive text messages",
    "opted_out": "asked not to get text messages",
    "limited": "most text messages",
}


class TimedTransport(HttpTransport):
    """HTTP to the server, remembering (start, seconds, status) of every request; status 0 when it failed."""

    def __init__(self, times: list):
        super().__init__(timeout=20)
        self.times = times

    def post(self, url: str, params: dict, headers: dict) -> tuple[int, bytes]:
        started = time.monotonic()
        try:
            status, body = super().post(url, params, headers)
        except OSError:
            self.times.append((started, time.monotonic() - started, 0))
            raise
        self.times.append((started, time.monotonic() - started, status))
        return status, body


def texter_number(n: int) -> str:
    return f"+1617555{1000 + n:04d}"  # 555-1000 and on: fictional


def walker_number(n: int) -> str:
    return f"+1617555{3000 + n:04d}"


def walk(url: str, auth_token: str, our_number: str, walkers: int, listen: float, stop, out) -> None:
    """In its own process: ``walkers`` callers walking the menus until ``stop`` is set; their timings to ``out``."""
    times: list = []

    def walker(n: int) -> int:
        walks = 0
        while not stop.is_set():
            c = Call(TimedTransport(times), auth_token, url, caller=walker_number(n), called=our_number).start()
            for key in "122":
                time.sleep(listen)
                c.press(key)
            time.sleep(listen)
            walks += 1
        return walks

    with ThreadPoolExecutor(walkers) as walking:
        walked = sum(walking.map(walker, range(walkers)))
    out.put((walked, [(time.time() - time.monotonic() + started, seconds, status) for started, seconds, status in times]))


def run(
    url: str,
    auth_token: str,
    our_number: str,
    texters: int = 200,
    walkers: int = 32,
    settle: float = 2.0,
    listen: float = 0.1,
    spread: float = 1.0,
) -> dict:
    """Figures of one burst: walkers' latencies (ms), texters' seconds to an outcome and what they heard."""
    texter_times: list = []
    ready = threading.Barrier(texters + 1)

    def texter(n: int) -> tuple[float, str, bool]:
        c = Call(TimedTransport(texter_times), auth_token, url, caller=texter_number(n), called=our_number).start()
        ready.wait()
        time.sleep(spread * n / texters)
        started = time.monotonic()
        c.press("4")
        return time.monotonic() - started, c.text.lower(), c.waiting == "gather"

    spawn = multiprocessing.get_context("spawn")
    stop, out = spawn.Event(), spawn.Queue()
    walking = spawn.Process(target=walk, args=(url, auth_token, our_number, walkers, listen, stop, out), daemon=True)
    walking.start()
    try:
        time.sleep(settle)  # the walkers under way
        with ThreadPoolExecutor(texters) as texting:
            asking = [texting.submit(texter, n) for n in range(texters)]
            ready.wait()
            burst_started = time.time()
            results = [f.result() for f in asking]
            burst_ended = time.time()
        stop.set()
        walked, walker_times = out.get(timeout=60)
    finally:
        stop.set()
        walking.join(10)
        if walking.is_alive():
            walking.kill()
    during = sorted(seconds * 1000 for started, seconds, status in walker_times if burst_started <= started <= burst_ended)
    before = sorted(seconds * 1000 for started, seconds, status in walker_times if started < burst_started - 0.5)
    heard = Counter(next((k for k, words in OUTCOME_WORDS.items() if words in text), "none") for _, text, _ in results)
    seconds = sorted(s for s, _, _ in results)
    return {
        "texters": texters,
        "spread_seconds": spread,
        "walkers": walkers,
        "walks": walked,
        "burst_seconds": round(burst_ended - burst_started, 2),
        "walker_requests": len(during),
        "walker_p50_ms": round(statistics.median(during), 1) if during else None,
        "walker_p99_ms": round(during[int(len(during) * 0.99) - 1], 1) if during else None,
        "walker_max_ms": round(during[-1], 1) if during else None,
        "walker_p99_ms_before": round(before[int(len(before) * 0.99) - 1], 1) if before else None,
        "statuses": dict(Counter(status for _, _, status in walker_times + texter_times)),
        "outcomes": dict(heard),
        "numbers_read_when_not_sent": all(NUMBERS_READ in text for _, text, _ in results if "we have sent you a text" not in text),
        "back_at_a_menu": sum(1 for _, _, at_menu in results if at_menu),
        "texter_seconds_p50": round(statistics.median(seconds), 2),
        "texter_seconds_max": round(seconds[-1], 2),
        # the slowest of the walkers' requests: when, in seconds after the burst began, and how long (ms)
        "walker_slowest": [
            (round(started - burst_started, 2), round(seconds * 1000))
            for started, seconds, _ in sorted(walker_times, key=lambda t: -t[1])[:12]
            if burst_started <= started <= burst_ended
        ],
    }
