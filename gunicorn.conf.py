"""gunicorn reads this file by itself (./gunicorn.conf.py) when it starts the line: the Procfile's web: line.

It makes a broken prompts/ (or a bad setting) safe:

- at start, the master runs every start-up check once (prompts_check: exactly what a worker does);
  when one fails it prints the file, key and reason and exits with status 1, instead of letting
  gunicorn start workers that fail and are started again, forever;
- on HUP (reload), it runs the same check first; when it fails, the reload is refused with the same
  message and the running workers go on serving the prompts they have. Fix prompts/, HUP again.

Left as gunicorn does it: a worker that dies on its own while prompts/ is broken on disk is started
again and fails until prompts/ is fixed (one try every 5 s, not a tight loop); the others keep answering.

It also sets the access log's format (paths without their query string, then the line's own fields:
see access_log_format), writes it with ivr/access_log.py's cheaper logger (logger_class),
and freezes what a worker loaded out of the garbage collector's sight (post_worker_init).

Side effect: the master imports the line's code, so the workers it forks start faster and share those
pages; a change of code (not of prompts/ or settings) needs a restart, not a HUP.

GET /metrics (ivr/metrics.py), when IVR_METRICS_TOKEN or IVR_METRICS_USER turns it on: prometheus-client's
multiprocess mode keeps each worker's values in files in PROMETHEUS_MULTIPROC_DIR, which must be named
before anything imports prometheus_client and be empty at each start (a former run's workers would
still be counted). So this file, read first, empties the folder given, or makes one of its own
(removed at exit); a HUP keeps it; a worker that exits has its live gauges dropped (child_exit).
"""

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path


def _metrics_folder() -> None:
    if os.environ.get("IVR_METRICS_FOLDER_READY"):  # a HUP reads this file again: keep the values
        return
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    metrics_on = os.environ.get("IVR_METRICS_TOKEN", "").strip() or os.environ.get("IVR_METRICS_USER", "").strip()
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()
    elif metrics_on:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder = tempfile.mkdtemp(prefix="ivr-metrics-")
        os.environ["IVR_METRICS_FOLDER_MADE"] = folder
    os.environ["IVR_METRICS_FOLDER_READY"] = "1"


_metrics_folder()

# The access log (the Procfile's --access-logfile -) writes each request's path without its query
# string (%(U)s, not the request line %(r)s) and without the referer: a webhook set to HTTP GET by
# mistake sends From and To in the query, and the log must never hold a phone number. This is
# gunicorn's --access-logformat; set here, it holds for every gunicorn started in this folder.
# Its last atom is the line's own fields for the request (ivr/weblog.py: route, status, ms, what
# happened, as JSON; "-" for a request the line does not log): one line per request, not two.
WEBLOG_ATOM = "%({ivr.webhook}e)s"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms ' + WEBLOG_ATOM


# gunicorn's logger, with an access log that computes only the atoms this format names and writes
# each line to stdout in one os.write, without a lock (ivr/access_log.py: the same line, for a
# fraction of the CPU that gunicorn's own access() took on every webhook).
logger_class = "ivr.access_log.AccessLog"


def _problems() -> str | None:
    """The start-up problems, one per line, or None when the line can start."""
    from ivr.tools.prompts_check import check, problem_lines

    problems = check().problems
    if not problems:
        return None
    return "\n".join(problem_lines(problems))


def on_starting(server):
    problems = _problems()
    if problems:
        sys.exit(f"The line cannot start:\n{problems}")  # printed on stderr; gunicorn exits with status 1
    from ivr.app import opt_outs_warning, unsigned_warning
    from ivr.config import load_settings

    settings = load_settings()
    for warning in (unsigned_warning(settings), opt_outs_warning(settings)):
        if warning:  # here, once: this is where webhooks are served (not in every flask command, nor per worker)
            server.log.warning(warning)


def post_worker_init(worker):
    # After the worker loaded the line (prompts/ included): from here on it answers. A worker that
    # says "Booting" and never this cannot load the line; the log above it says why.
    if worker.cfg.accesslog and WEBLOG_ATOM in worker.cfg.access_log_format and hasattr(worker.wsgi, "extensions"):
        from ivr import weblog

        if weblog.STATE_KEY in worker.wsgi.extensions:  # the line, not the commands-only app
            weblog.written_by_server(worker.wsgi)  # the access line carries the line's fields: one line a request
    # Everything loaded so far (prompts, rendered answers, the libraries: about 100,000 objects) lives as
    # long as the worker: out of the garbage collector's sight, a full collection no longer walks it
    # all, which was a pause of milliseconds now and then in the middle of someone's answer.
    gc.freeze()
    worker.log.info("Worker %s is answering", worker.pid)


def when_ready(server):
    # Workers are forked from here on: one that cannot start (prompts/ broken on disk after this
    # check) waits 5 s before it exits (app.py), so gunicorn restarts it slowly, not in a tight loop.
    os.environ["IVR_GUNICORN_SERVING"] = "1"
    reload = server.reload

    def checked_reload():
        problems = _problems()
        if problems:
            server.log.error("Reload refused, the running workers keep serving what they have:\n%s", problems)
            return
        reload()

    server.reload = checked_reload
    banner = os.environ.get("IVR_SERVE_BANNER")
    if banner:  # dev.py serve: how to try the line, once gunicorn listens (its own lines are off: --log-level warning)
        print(banner, flush=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # its live gauges (sends in flight, usage waiting) no longer count


def on_exit(server):
    made = os.environ.get("IVR_METRICS_FOLDER_MADE")
    if made:
        shutil.rmtree(made, ignore_errors=True)
