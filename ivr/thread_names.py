"""The line's own threads named for the operating system too, so ``top -H`` and bench/run.py can tell them apart.

Python names a thread for Python only; the kernel still calls every thread of a worker "gunicorn"
(or "python"). Under load, which thread spends the CPU is the first question (the usage writer, a
"text me" send, or the request threads themselves), so each of the line's threads writes its name
(the first 15 characters, the kernel's limit) to /proc/self/task/<id>/comm when it starts. Where
there is no /proc (not Linux), nothing happens.
"""

from __future__ import annotations

import threading


def show() -> None:
    """Give the calling thread's Python name to the operating system (a ThreadPoolExecutor initializer, or a thread's first call)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
            comm.write(threading.current_thread().name[:15])
    except OSError:
        pass
