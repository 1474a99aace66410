"""gunicorn's access log for the line: the same line gunicorn writes, for a fraction of its CPU.

gunicorn's own ``Logger.access`` builds, for every request, a dict of every atom it knows: each
request header, each response header and each of the ~30 WSGI environ entries, each under a key
made with ``%``, then copies it into ``SafeAtoms``, then hands it to ``logging``, whose stdout
handler takes a lock across the write. The line's format (gunicorn.conf.py) uses 12 atoms. That
was 28 to 37 µs a line (a request's environ and headers, in one process); here it is 11 to 12 µs:

- **Only the atoms the format names are computed**, each as gunicorn computes it, with gunicorn's
  escaping (a ``"`` in a value becomes ``\\"``) and ``-`` for one that is missing. So any
  ``--access-logformat`` gives the very line gunicorn would (tests/test_access_log_format.py
  compares them). The ``{...}e`` atom of the line's own fields is not escaped: it is
  not a str (ivr/weblog.py's Fields).
- **The date is formatted once a second**, not once a request.
- **With ``--access-logfile -``** (the Procfile's), each line is one ``os.write`` to stdout: no
  lock and no second thread; and unless syslog or a logging config is set, the line is written
  without a trip through ``logging`` (a record, its time, its caller's frame), which was half the
  rest. A write of a line under ``PIPE_BUF`` (4,096 bytes) is atomic, so
  lines from 8 threads never interleave, and the line's lines are far shorter. An earlier design
  queued each line to a writer thread; on a quiet machine that thread's wake-ups cost more (about
  35 µs a request) than the lock it avoided.
- **Written to a file** (``--access-logfile PATH``), gunicorn's own handler stays, so USR1 still
  reopens the file for log rotation.
"""

from __future__ import annotations

import logging
import os
import re
import time
import traceback

from gunicorn.glogging import Logger

_ATOM = re.compile(r"%\(([^)]+)\)")
_PIPE_BUF = 4096


_MISSING = object()


class _Stdout(logging.Handler):
    """Each record as one os.write to fd 1, without a lock (see the module's docstring)."""

    def __init__(self, formatter: logging.Formatter):
        super().__init__()
        self.setFormatter(formatter)

    def createLock(self) -> None:  # logging's name: no lock, os.write is atomic per line
        self.lock = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write(self.format(record))
        except Exception:
            self.handleError(record)

    @staticmethod
    def write(line: str) -> None:
        data = (line + "\n").encode("utf-8", "replace")
        if len(data) > _PIPE_BUF:  # would not be atomic: cut (the line's own lines are ~300 bytes)
            data = data[: _PIPE_BUF - 4] + b"...\n"
        os.write(1, data)


class AccessLog(Logger):
    """gunicorn's Logger with a cheaper ``access`` (gunicorn.conf.py's logger_class)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        names = sorted(set(_ATOM.findall(cfg.access_log_format or "")))
        self._getters = [(name.lower() if name.startswith("{") else name, self._getter(name)) for name in names]
        self._second = -1
        self._date = ""
        self._direct = None  # the handler access() writes to itself, past logging (stdout, nothing else configured)
        if cfg.accesslog == "-":
            formatter = logging.Formatter(self.access_fmt)
            for handler in list(self.access_log.handlers):
                if getattr(handler, "_gunicorn", False):
                    self.access_log.removeHandler(handler)
            handler = _Stdout(formatter)
            handler._gunicorn = True  # setup() on a reload (HUP) removes it, as it removes its own
            self.access_log.addHandler(handler)
            if not (cfg.syslog or cfg.logconfig_dict or cfg.logconfig_json or cfg.logconfig):
                self._direct = handler

    def access(self, resp, req, environ, request_time) -> None:
        handler = self._direct
        if handler is None or self.access_log.handlers != [handler] or not self.access_log_enabled:
            return super().access(resp, req, environ, request_time)  # a file, syslog or a logging config: gunicorn's way
        try:
            handler.write(self.cfg.access_log_format % self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time)))
        except Exception:
            self.error("access log: %s", traceback.format_exc())

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._date, self._second = super().now(), second
        return self._date

    def atoms(self, resp, req, environ, request_time):
        """The atoms the format names, each computed as gunicorn's Logger.atoms computes it (access()
        then wraps them in SafeAtoms, which escapes them and gives "-" for one that is missing)."""
        found = {}
        for key, atom in self._getters:
            value = atom(resp, req, environ, request_time)
            if value is not _MISSING:
                found[key] = value
        return found

    def _getter(self, name: str):
        """How to compute the atom ``name``, as gunicorn's Logger.atoms computes it."""
        if name.startswith("{"):
            key, kind = name[1:-2].lower(), name[-1:]
            if kind == "e":
                return lambda resp, req, environ, took: _in_environ(environ, key)
            if kind == "i":
                return lambda resp, req, environ, took: _lowered(_pairs(getattr(req, "headers", req)), key)
            if kind == "o":
                return lambda resp, req, environ, took: _lowered(_pairs(resp.headers), key)
            return lambda *_: _MISSING
        simple = {"h": ("REMOTE_ADDR", "-"), "f": ("HTTP_REFERER", "-"), "a": ("HTTP_USER_AGENT", "-")}
        simple.update(
            {"m": ("REQUEST_METHOD", None), "U": ("PATH_INFO", None), "q": ("QUERY_STRING", None), "H": ("SERVER_PROTOCOL", None)}
        )
        if name in simple:
            variable, default = simple[name]
            return lambda resp, req, environ, took: environ.get(variable, default)
        return {
            "l": lambda *_: "-",
            "u": lambda resp, req, environ, took: self._get_user(environ) or "-",
            "t": lambda *_: self.now(),
            "r": lambda resp, req, environ, took: f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": lambda resp, req, environ, took: _status(resp.status),
            "b": lambda resp, req, environ, took: str(resp.sent) if getattr(resp, "sent", None) is not None and str(resp.sent) else "-",
            "B": lambda resp, req, environ, took: getattr(resp, "sent", None),
            "T": lambda resp, req, environ, took: took.seconds,
            "D": lambda resp, req, environ, took: took.seconds * 1000000 + took.microseconds,
            "M": lambda resp, req, environ, took: took.seconds * 1000 + int(took.microseconds / 1000),
            "L": lambda resp, req, environ, took: f"{took.seconds}.{took.microseconds:06d}",
            "p": lambda *_: f"<{os.getpid()}>",
        }.get(name, lambda *_: _MISSING)


def _status(status):
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _pairs(headers):
    return headers.items() if hasattr(headers, "items") else headers


def _in_environ(environ: dict, key: str):
    """gunicorn looks environ names up lowered: the name as written, or in capitals (CGI's), else any case."""
    if key in environ:
        return environ[key]
    upper = key.upper()
    if upper in environ:
        return environ[upper]
    return _lowered(environ.items(), key)


def _lowered(pairs, key: str):
    """The value of the last pair whose lowered name is ``key`` (gunicorn's dict of lowered names keeps the last)."""
    value = _MISSING
    for name, each in pairs:
        if name.lower() == key:
            value = each
    return value
