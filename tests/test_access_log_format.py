"""ivr/access_log.py writes the very access line gunicorn's own Logger writes, for any format.

Both loggers are gunicorn's, set up from a gunicorn Config as gunicorn sets them up; each formats the
same request, response and environ, and the lines are compared. Only the cheap path differs: the
atoms the format names, and no lock on stdout.
"""

from __future__ import annotations

import ast
import datetime
import logging
import os

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from ivr.access_log import AccessLog
from ivr.config import ROOT


def _line_format() -> str:
    """gunicorn.conf.py's access_log_format, read without running the file (it prepares the metrics folder)."""
    tree = ast.parse((ROOT / "gunicorn.conf.py").read_text())
    found: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ("WEBLOG_ATOM", "access_log_format"):
            found[node.targets[0].id] = eval(compile(ast.Expression(node.value), "gunicorn.conf.py", "eval"), {}, dict(found))
    return found["access_log_format"]


LINE_FORMAT = _line_format()
FORMATS = [
    LINE_FORMAT,
    Config().access_log_format,  # gunicorn's default
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(T)s %(D)s %(M)s %(L)s %(p)s %(q)s %(H)s %(U)s %(m)s',
    "%({X-Forwarded-For}i)s %({x-request-id}i)s %({Content-Type}o)s %({X-DUP}o)s %({remote_addr}e)s %({missing}e)s %({nope}i)s %(z)s",
]


class Fields(dict):
    def __str__(self):
        return '{"route":"/voice","q":"a \\"b\\""}'


class Response:
    def __init__(self, sent):
        self.status = "200 OK"
        self.headers = [("Content-Type", "text/xml"), ("Content-Length", "120"), ("X-Dup", "1"), ("x-dup", "2")]
        self.sent = sent


class Request:
    def __init__(self):
        self.headers = [
            ("HOST", "line.example"),
            ("USER-AGENT", 'TwilioProxy/1.1 "quoted"'),
            ("X-FORWARDED-FOR", "203.0.113.9"),
            ("X-Request-Id", "r1"),
        ]


def environ() -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/voice/en/choose/main?answer=about",
        "PATH_INFO": "/voice/en/choose/main",
        "QUERY_STRING": "answer=about",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": 'TwilioProxy/1.1 "quoted"',
        "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz",
        "ivr.webhook": Fields(),
    }


def line_of(logger_class, access_format: str, sent) -> str:
    config = Config()
    config.set("accesslog", os.devnull)  # a file: both keep gunicorn's own handler, so the message is comparable
    config.set("access_log_format", access_format)
    logger = logger_class(config)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.access_log.addHandler(handler)
    logger.now = lambda: "[01/Dec/2026:20:00:00 +0000]"
    logger.access(Response(sent), Request(), environ(), datetime.timedelta(seconds=1, microseconds=2345))
    logger.access_log.removeHandler(handler)
    return records[-1].getMessage()


@pytest.mark.parametrize("access_format", FORMATS)
@pytest.mark.parametrize("sent", [120, None])
def test_the_line_s_access_log_writes_gunicorn_s_own_line(access_format, sent):
    assert line_of(AccessLog, access_format, sent) == line_of(Logger, access_format, sent)


def test_the_line_s_format_ends_with_its_fields_as_json_not_escaped():
    line = line_of(AccessLog, LINE_FORMAT, 120)
    assert line.endswith('{"route":"/voice","q":"a \\"b\\""}') and '"TwilioProxy/1.1 \\"quoted\\""' in line


def test_the_date_is_gunicorn_s_and_formatted_once_a_second(monkeypatch):
    config = Config()
    logger = AccessLog(config)
    assert logger.now() == Logger(config).now()
    monkeypatch.setattr("gunicorn.glogging.Logger.now", lambda self: "formatted")
    assert logger.now() != "formatted"  # the same second: not formatted again
    logger._second -= 1
    assert logger.now() == "formatted"


def test_to_stdout_each_line_is_one_write_past_logging_and_without_a_lock(capfd, monkeypatch):
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", LINE_FORMAT)
    logger = AccessLog(config)
    logger.now = lambda: "[01/Dec/2026:20:00:00 +0000]"
    [handler] = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]  # pytest adds its own
    assert handler.lock is None and logger._direct is handler
    expected = line_of(Logger, LINE_FORMAT, 120) + "\n"
    monkeypatch.setattr(logger.access_log, "handlers", [handler])  # as under gunicorn: only ours, so written past logging
    monkeypatch.setattr(logging.Logger, "info", lambda *a, **k: pytest.fail("through logging"))
    logger.access(Response(120), Request(), environ(), datetime.timedelta(seconds=1, microseconds=2345))
    out = capfd.readouterr().out
    assert out == expected
    logger.setup(config)  # a reload (HUP) sets it up again: still one handler of ours, not two
    assert len([h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]) == 1


def test_with_syslog_or_a_logging_config_the_line_goes_through_logging():
    config = Config()
    config.set("accesslog", "-")
    config.set("logconfig_dict", {"version": 1, "disable_existing_loggers": False})
    assert AccessLog(config)._direct is None
