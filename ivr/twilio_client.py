"""The only place that calls Twilio's REST API: sending one text, with a hard deadline.

Each request has a socket time-out, and the whole send runs under a wall-clock deadline in a
worker thread, so a caller waiting on the phone is answered even if Twilio hangs.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr import thread_names
from ivr.outcomes import TextOutcome

log = logging.getLogger(__name__)

# Twilio error codes that mean this number will not get a text from us, whatever we retry.
OPTED_OUT = {21610}
CANNOT_RECEIVE = {21211, 21214, 21408, 21612, 21614, 21635}


@dataclass(frozen=True)
class SendResult:
    outcome: TextOutcome  # SENT, OPTED_OUT, CANNOT_RECEIVE or TEMPORARY
    sid: str | None = None
    code: int | None = None
    certain: bool = True  # False when we gave up waiting: the text may still go out

    def __post_init__(self):
        # A plain "sent" once read as not sent (``sent`` compares members): coerced, and anything else refused.
        object.__setattr__(self, "outcome", TextOutcome(self.outcome))

    @property
    def sent(self) -> bool:
        return self.outcome is TextOutcome.SENT


class TwilioSender:
    def __init__(self, account_sid: str, auth_token: str, api_url: str, timeout: float, workers: int = 8):
        self.configured = bool(account_sid and auth_token)
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twilio-rest", initializer=thread_names.show)
        if self.configured:
            http = TwilioHttpClient(timeout=timeout, max_retries=0)
            self.client = Client(account_sid, auth_token, http_client=http)
            self.client.api.base_url = api_url
        else:
            self.client = None

    def _create(self, **kwargs):
        return self.client.messages.create(**kwargs)

    def send_sms(self, to: str, from_: str, body: str, status_callback: str | None = None, wait: float | None = None) -> SendResult:
        """Send one text; wait for Twilio at most ``wait`` seconds (default: the REST time-out and a half second)."""
        if not self.configured:
            log.warning("twilio_rest outcome=temporary reason=no_credentials")
            return SendResult(TextOutcome.TEMPORARY)
        kwargs = {"to": to, "from_": from_, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        wait = self.timeout + 0.5 if wait is None else min(wait, self.timeout + 0.5)
        future = self._pool.submit(self._create, **kwargs)
        try:
            message = future.result(timeout=wait)
        except FutureTimeout:
            if future.cancel():  # still queued behind other sends: it never reached Twilio, and never will
                log.warning("twilio_rest outcome=temporary reason=queued seconds=%.1f", wait)
                return SendResult(TextOutcome.TEMPORARY)
            log.warning("twilio_rest outcome=temporary reason=deadline seconds=%.1f", wait)
            return SendResult(TextOutcome.TEMPORARY, certain=False)
        except (TwilioRestException, TwilioServiceException) as exc:  # the legacy error body, or RFC 9457 problem details
            code = exc.code if isinstance(exc.code, int) else None
            if code in OPTED_OUT:
                return SendResult(TextOutcome.OPTED_OUT, code=code)
            if code in CANNOT_RECEIVE:
                return SendResult(TextOutcome.CANNOT_RECEIVE, code=code)
            log.warning("twilio_rest outcome=temporary status=%s code=%s", exc.status, exc.code)
            return SendResult(TextOutcome.TEMPORARY, code=code)
        except TwilioException as exc:
            log.warning("twilio_rest outcome=temporary error=%s", type(exc).__name__)
            return SendResult(TextOutcome.TEMPORARY, certain=not _maybe_sent(exc))
        except Exception as exc:  # connection refused, read time-out, bad JSON ...
            log.warning("twilio_rest outcome=temporary error=%s", type(exc).__name__)
            return SendResult(TextOutcome.TEMPORARY, certain=not _maybe_sent(exc))
        return SendResult(TextOutcome.SENT, sid=getattr(message, "sid", None))


def _maybe_sent(exc: Exception) -> bool:
    """A read time-out happens after Twilio had the request: the text may have gone out."""
    return "timeout" in type(exc).__name__.lower() or "timed out" in str(exc).lower()
