"""GET /admin: off unless configured, refused without the login, counts only, and readable in a real browser."""

from __future__ import annotations

import base64
import re
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from ivr import security
from ivr.tools import stats
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, line_of

USER, PASSWORD = "clinic", "a long admin password"
CHROMIUM = Path("/usr/bin/chromium")
TEXTER = "+16175550188"


def login(user: str = USER, password: str = PASSWORD) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def admin_app(make_app):
    return make_app(clock=None, IVR_ADMIN_USER=USER, IVR_ADMIN_PASSWORD=PASSWORD)


@pytest.fixture
def used(admin_app):
    """Some real use: calls through the simulator, texts through POST /sms; usage written."""
    client = admin_app.test_client()
    for keys in (["1", "1"], ["1", "1", "1"], ["1", "2"], ["4"]):
        c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER).start()
        for key in keys:
            c.press(key)
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller="+16175550142").start().press("3").press("2")
    c.dial_ends("busy")
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=TEXTER)
    texter.send("RECUR")
    texter.send("1")
    line_of(admin_app).usage.flush()
    return admin_app


def test_off_unless_configured(client):
    assert client.get("/admin").status_code == 404
    assert client.get("/admin", headers=login()).status_code == 404


def test_refused_without_the_right_login(admin_app):
    client = admin_app.test_client()
    for headers in ({}, login(password="wrong"), login(user="admin"), {"Authorization": "Bearer x"}):
        response = client.get("/admin", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="Recurrence line admin"')
        assert "svg" not in response.get_data(as_text=True)
    assert client.get("/admin", headers=login()).status_code == 200


def test_not_a_twilio_webhook(admin_app):
    assert not security.is_webhook("/admin")
    response = admin_app.test_client().get("/admin", headers=login())  # no X-Twilio-Signature
    assert response.status_code == 200


def test_the_page_shows_the_stats_and_no_number_or_hash(used):
    line = line_of(used)
    page = used.test_client().get("/admin?days=7", headers=login())
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    today = datetime.now(UTC).date()
    data = stats.report(line.storage, today - timedelta(days=6), today)
    tiles = dict(re.findall(r'<div class="n">(\d+)</div><div class="what">([^<]+)</div>', html)[i][::-1] for i in range(4))
    assert int(tiles["calls"]) == data["calls"]["total"] == 5
    assert int(tiles["texts received"]) == data["texts_in"]["total"] == 2
    assert int(tiles["numbers texted"]) == 1
    # Topic bars: "What is recurrence?" heard in two calls and again once (1 after it); texted once (reply 1).
    assert "<title>What is recurrence?: 2 heard on the phone</title>" in html
    assert "<title>What is recurrence?: 1 heard again</title>" in html
    assert "<title>What is recurrence?: 1 asked for by text</title>" in html
    assert "<title>ASCO (1 started): 1 busy</title>" in html
    day = today.isoformat()
    assert f"<title>{day}: 5 calls</title>" in html and f"<title>{day}: 2 texts received</title>" in html
    for number in (CALLER, "+16175550142", TEXTER):
        digits = number.lstrip("+")
        assert digits not in html and digits[1:] not in html and digits[-7:] not in html
        assert line.hash_number(number) not in html and line.hash_number(number)[:12] not in html


def test_the_page_is_self_contained_and_not_cached(used):
    response = used.test_client().get("/admin", headers=login())
    html = response.get_data(as_text=True)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<script" not in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_the_database_down_is_one_clear_line(admin_app):
    with line_of(admin_app).storage.engine.begin() as conn:
        conn.execute(text("DROP TABLE usage_daily"))
    response = admin_app.test_client().get("/admin", headers=login())
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "The usage numbers cannot be read right now (database unreachable?).\n"


# --- in a real browser ------------------------------------------------------------------------------
def browser_or_skip():
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip("no /usr/bin/chromium: install Debian's chromium package to run the browser test (dev.py test does on CI)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-dev.txt")
    return playwright


@pytest.fixture
def served(used):
    server = make_server("127.0.0.1", 0, used, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_in_chromium_the_login_is_refused_then_the_charts_are_readable(served, tmp_path):
    sync_api = browser_or_skip()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            # Without a login Chromium stops at the 401 challenge; with a wrong one it shows the 401 page.
            for credentials in (None, {"username": USER, "password": "wrong"}):
                refused = browser.new_context(http_credentials=credentials)
                page = refused.new_page()
                try:
                    response = page.goto(served + "/admin")
                except sync_api.Error as exc:
                    assert credentials is None and "ERR_INVALID_AUTH_CREDENTIALS" in str(exc)
                else:
                    assert response.status == 401
                    assert page.locator("body").inner_text().strip() == "Log in to see the usage of the line."
                assert page.locator("svg").count() == 0
                answer = refused.request.get(served + "/admin")  # what the server said, from the same context
                assert answer.status == 401 and answer.text() == "Log in to see the usage of the line.\n"
                refused.close()
            context = browser.new_context(http_credentials={"username": USER, "password": PASSWORD}, viewport={"width": 900, "height": 900})
            page = context.new_page()
            asked: list[str] = []
            page.on("request", lambda request: asked.append(request.url))
            response = page.goto(served + "/admin?days=7")
            assert response.status == 200
            assert page.get_by_role("heading", name="Recurrence line: usage").is_visible()
            for name in ("Calls and texts received per day", "Topics by popularity", "Transfers by outcome"):
                chart = page.get_by_role("img", name=name)
                assert chart.is_visible()
                box = chart.bounding_box()
                assert box["width"] > 600 and box["height"] > 50, f"{name} is too small to read: {box}"
            topics = page.get_by_role("img", name="Topics by popularity")
            assert "What is recurrence?" in topics.text_content()
            bars = topics.locator("rect[fill='#0072B2']")
            assert bars.count() >= 3  # one 'heard' bar a topic, plus the key
            tile = page.locator(".tile", has_text="calls").first
            assert tile.locator(".n").inner_text() == "5"
            page.get_by_role("link", name="30 days").click()
            page.wait_for_url("**/admin?days=30")
            assert page.locator("a[aria-current=page]").inner_text() == "30 days"
            page.screenshot(path=str(tmp_path / "admin.png"), full_page=True)
            assert (tmp_path / "admin.png").stat().st_size > 20_000
            assert all(url.startswith(served) for url in asked), asked  # nothing fetched from anywhere else
            context.close()
        finally:
            browser.close()
