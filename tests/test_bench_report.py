"""bench/run.py's "why": a profile's samples summed by part, and the CPU per request by thread, line against limit."""

from __future__ import annotations

from bench.run import profile_parts, where_the_cpu_goes


def test_a_sample_belongs_to_the_first_part_on_its_stack(tmp_path):
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "\n".join(
            [
                "run (threading.py:1);_writer (ivr/store/usage.py:280);record_usage (ivr/store/storage.py:530) 30",
                "handle (gunicorn/workers/gthread.py:1);wsgi_app (flask/app.py:1);check_signature (ivr/security.py:90);"
                "is_signed (ivr/security.py:70);_load_form_data (werkzeug/wrappers/request.py:268) 10",  # the form, read first by the check
                "wsgi_app (flask/app.py:1);check_signature (ivr/security.py:90);signature (ivr/security.py:60) 5",
                "twiml (ivr/voice/webhooks.py:38);respond (ivr/voice/webhooks.py:50) 20",  # a stack cut short by py-spy: still the route
                "handle (gunicorn/workers/gthread.py:1);access (ivr/access_log.py:90) 5",
                "handle (gunicorn/workers/gthread.py:1);parse (gunicorn/http/message.py:1) 25",
                'process 1:"gunicorn" 5',
            ]
        )
        + "\n"
    )
    parts = dict(profile_parts(raw))
    assert parts == {
        "usage writer (its thread: describing events, SQLite)": 0.30,
        "reading the form (werkzeug)": 0.10,
        "signature check (the HMAC, the public URL)": 0.05,
        "log line (the line's fields, gunicorn's access line)": 0.05,
        "the route itself (menus, answers, texts, reply budget)": 0.20,
        "gunicorn (HTTP parsing, sockets, thread pool, its loop)": 0.25,
        "no Python frame (C code holding the interpreter lock)": 0.05,
    }


def test_the_cpu_by_thread_table_puts_the_line_beside_the_limit():
    row = {
        "scenario": "welcome",
        "connections": 16,
        "line_cpu_us": 466,
        "limit_cpu_us": 288,
        "line_cpu_us_by_thread": {"requests": 376, "main": 20, "master": 2, "usage-writer": 66},
        "limit_cpu_us_by_thread": {"requests": 271, "main": 17, "master": 1},
    }
    table = where_the_cpu_goes([row, {**row, "connections": 64}])
    assert table[-1] == "| welcome | 466 | 288 | 178 | 376 / 271 | 22 / 18 | 66 |"  # only the lowest connection count
    assert "usage-writer |" in table[-3]
