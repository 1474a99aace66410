"""A real HTTP fake of the part of Twilio's REST API this line uses, on loopback.

Tests choose how it answers each send: accept, refuse with a Twilio error code, fail with a 5xx,
or hang. It checks HTTP basic auth as Twilio does and records every request it gets.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
NUMBERS = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/IncomingPhoneNumbers(?:/(PN\w+))?\.json$")

ERRORS = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    20003: "Authenticate",
}


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.reset()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake._handle(self, form)

            def do_GET(self):
                fake._handle(self, {k: v[0] for k, v in parse_qs(self.path.partition("?")[2]).items()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        """Accept every send again and forget what was sent."""
        with self.lock:
            self.mode: tuple = ("ok",)
            self.per_number: dict[str, tuple] = {}
            self.numbers: dict[str, dict] = {}  # IncomingPhoneNumbers by sid
            # "legacy": errors as {"code", "message", "status", "more_info"}; "problem": as RFC 9457
            # problem details, which twilio 9.10+ raises as TwilioServiceException, not TwilioRestException.
            self.error_format = "legacy"
            self.requests.clear()

    def answer(self, *mode, to: str | None = None) -> None:
        """("ok",), ("slow", seconds) (accepted after that long), ("error", code), ("status", http_status)
        or ("hang", seconds); for one number or all."""
        with self.lock:
            if to:
                self.per_number[to] = mode
            else:
                self.mode = mode

    @property
    def messages(self) -> list[dict]:
        return [r["form"] for r in self.requests if r["path"].endswith("/Messages.json")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _authorised(self, handler) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return handler.headers.get("Authorization") == expected

    def _handle(self, handler, form: dict) -> None:
        path = handler.path.split("?")[0]
        with self.lock:
            self.requests.append({"path": path, "form": form, "at": time.time()})
            mode = self.per_number.get(form.get("To", ""), self.mode)
        if not self._authorised(handler):
            return self._send(handler, 401, {"code": 20003, "message": ERRORS[20003], "status": 401})
        if NUMBERS.match(path):
            return self._incoming_numbers(handler, form, *NUMBERS.match(path).groups())
        match = MESSAGES.match(path)
        if not match or match.group(1) != self.account_sid:
            return self._send(handler, 404, {"code": 20404, "message": "not found", "status": 404})
        if mode[0] == "hang":
            time.sleep(mode[1])
            return self._send(handler, 504, {"code": 20500, "message": "late", "status": 504})
        if mode[0] == "slow":
            time.sleep(mode[1])
        if mode[0] == "status":
            return self._send(handler, mode[1], {"code": 20500, "message": "Internal Server Error", "status": mode[1]})
        if mode[0] == "error":
            code = mode[1]
            return self._send(
                handler,
                400,
                {
                    "code": code,
                    "message": ERRORS.get(code, "error"),
                    "status": 400,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                },
            )
        sid = "SM" + uuid.uuid4().hex
        return self._send(
            handler,
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            },
        )

    # --- IncomingPhoneNumbers: the numbers this account has bought, and where they send webhooks ---
    def add_number(self, phone_number: str, **fields) -> str:
        """A number on this account, as Twilio's API shows it (fields: voice_url, sms_url, ...)."""
        sid = "PN" + uuid.uuid4().hex
        with self.lock:
            self.numbers[sid] = {
                "sid": sid,
                "account_sid": self.account_sid,
                "phone_number": phone_number,
                "friendly_name": phone_number,
                "voice_url": "https://demo.twilio.com/welcome/voice/",
                "voice_method": "POST",
                "voice_fallback_url": None,
                "voice_fallback_method": "POST",
                "sms_url": "https://demo.twilio.com/welcome/sms/reply",
                "sms_method": "POST",
                "status_callback": None,
                "status_callback_method": "POST",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
                **fields,
            }
        return sid

    def _incoming_numbers(self, handler, form: dict, account: str, sid: str | None) -> None:
        if account != self.account_sid:
            return self._send(handler, 404, {"code": 20404, "message": "not found", "status": 404})
        with self.lock:
            if handler.command == "GET" and sid is None:  # the list, filtered as Twilio filters PhoneNumber
                wanted = form.get("PhoneNumber", "")
                found = [dict(n) for n in self.numbers.values() if wanted in n["phone_number"]]
                page = {"incoming_phone_numbers": found, "next_page_uri": None, "page": 0, "page_size": 50, "start": 0, "end": len(found)}
                return self._send(handler, 200, page)
            number = self.numbers.get(sid or "")
            if number is None:
                return self._send(handler, 404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
            if handler.command == "POST":  # VoiceUrl=... updates voice_url, and so on
                for name, value in form.items():
                    number[re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()] = value
            return self._send(handler, 200, dict(number))

    def _send(self, handler, status: int, payload: dict) -> None:
        content_type = "application/json"
        if status >= 400 and self.error_format == "problem":
            content_type = "application/problem+json"
            payload = {
                "type": f"https://www.twilio.com/docs/errors/{payload['code']}",
                "title": payload["message"],
                "status": status,
                "code": payload["code"],
                "detail": payload["message"],
            }
        body = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as it should
