"""The line's threads carry their names for the operating system (ivr/thread_names.py): top -H and bench/run.py tell them apart."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ivr import thread_names
from ivr.line import EXTENSION

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names for the OS are read from /proc (Linux)")


def os_name() -> str:
    return Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip()


def test_a_pool_thread_shows_its_python_name_to_the_os():
    with ThreadPoolExecutor(1, thread_name_prefix="text-me", initializer=thread_names.show) as pool:
        assert pool.submit(os_name).result() == "text-me_0"


def test_a_name_longer_than_the_kernel_keeps_is_cut_to_15_characters():
    seen = []
    thread = threading.Thread(target=lambda: (thread_names.show(), seen.append(os_name())), name="a-very-long-thread-name")
    thread.start()
    thread.join()
    assert seen == ["a-very-long-thr"]


def test_the_usage_writer_is_named(make_app):
    recorder = make_app().extensions[EXTENSION].usage
    recorder.record(None)  # starts the writer (an event it cannot describe is skipped and counted, never stored)
    assert recorder.flush(5)
    assert Path(f"/proc/self/task/{recorder._thread.native_id}/comm").read_text().strip() == "usage-writer"
