"""``flask --app app twilio setup``: point a Twilio number's webhooks at this deployment.

Finds the number among the account's IncomingPhoneNumbers (Twilio's REST API, at TWILIO_API_URL)
and sets its Voice URL, voice Fallback URL, Messaging URL and call status callback, all POST.
``--all-lines`` does so for every number of IVR_LINES_FILE (or of IVR_NUMBER_LANGUAGES) in one run.
WhatsApp senders are set up in Twilio's console; their messages come to the same Messaging URL.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.config import Settings
from ivr.lines import LinesError, load_lines
from ivr.privacy import normalise

# What to set: (label, the number's URL field, its method field, the path on this deployment).
WEBHOOKS = (
    ("Voice URL", "voice_url", "voice_method", "/voice"),
    ("Fallback URL", "voice_fallback_url", "voice_fallback_method", "/voice/fallback"),
    ("Messaging URL", "sms_url", "sms_method", "/sms"),
    ("Status callback", "status_callback", "status_callback_method", "/voice/status"),
)
TIMEOUT = 15.0


class SetupError(Exception):
    """Something the person can fix, said in one line."""


@dataclass(frozen=True)
class Change:
    label: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def check_base_url(base_url: str, insecure: bool = False) -> str:
    """The public base URL without a trailing slash; HTTPS unless ``insecure``."""
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SetupError(f"--base-url {base_url!r} is not a web address such as https://line.example.org")
    if parts.query or parts.fragment:
        raise SetupError(f"--base-url {base_url!r} must not have a ? or # part")
    if parts.scheme != "https" and not insecure:
        raise SetupError(f"--base-url {base_url!r} is not HTTPS: Twilio would send patients' calls unencrypted (--insecure to allow)")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def wanted(base_url: str) -> dict[str, tuple[str, str]]:
    """Each URL field of the number -> (URL, method) for this deployment."""
    return {field: (base_url + path, "POST") for _, field, _, path in WEBHOOKS}


def client_for(settings: Settings) -> Client:
    if not settings.rest_configured:
        raise SetupError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set (from the Twilio console)")
    client = Client(settings.account_sid, settings.auth_token, http_client=TwilioHttpClient(timeout=TIMEOUT, max_retries=0))
    client.api.base_url = settings.api_url
    return client


def setup_number(
    settings: Settings,
    number: str,
    base_url: str,
    insecure: bool = False,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Change]:
    """Point ``number`` at ``base_url``; return what was (or, with ``dry_run``, would be) changed."""
    base = check_base_url(base_url, insecure)
    e164 = normalise(number, settings.default_region)
    if e164 is None:
        raise SetupError(f"--number {number!r} is not a valid phone number (write it as +1 and ten digits)")
    client = client_for(settings)
    progress(f"Looking up {e164} on Twilio ({settings.api_url}) ...")
    listed = _twilio(settings, lambda: client.incoming_phone_numbers.list(phone_number=e164, limit=50))
    found = [n for n in listed if n.phone_number == e164]
    if not found:
        raise SetupError(f"{e164} is not a number of this Twilio account ({_account(settings)}): buy it or check TWILIO_ACCOUNT_SID")
    incoming = found[0]
    progress(f"Found {incoming.sid} ({incoming.friendly_name}).")
    changes, update = [], {}
    for label, field, method_field, _ in WEBHOOKS:
        url, method = wanted(base)[field]
        old_url, old_method = getattr(incoming, field) or "", getattr(incoming, method_field) or ""
        changes.append(Change(label, _shown(old_url, old_method), _shown(url, method)))
        if (old_url, old_method.upper()) != (url, method):
            update[field], update[method_field] = url, method
    if update and not dry_run:
        progress("Updating the number ...")
        _twilio(settings, lambda: incoming.update(**update))
    return changes


def run(settings: Settings, number: str, base_url: str, insecure: bool, dry_run: bool, echo: Callable[[str], None]) -> None:
    """The command: set the number up and print each URL, old -> new."""
    changes = setup_number(settings, number, base_url, insecure, dry_run, progress=echo)
    width = max(len(c.label) for c in changes)
    for c in changes:
        echo(f"  {c.label:<{width}}  {c.old} -> {c.new}" if c.changed else f"  {c.label:<{width}}  {c.new} (unchanged)")
    if not any(c.changed for c in changes):
        echo("Nothing to change: the number already points here.")
    else:
        echo("Nothing changed (--dry-run)." if dry_run else "Done: the number now points here.")
    public = settings.public_base_url
    if public and check_base_url(base_url, insecure) != public:
        echo(f"Note: IVR_PUBLIC_BASE_URL is {public}; signatures are checked against it, so it should be {base_url}.")


def configured_numbers(settings: Settings) -> list[tuple[str, str]]:
    """Every (number, line id) the deployment is configured to answer, in the order configured."""
    if settings.lines_file:
        try:
            return [(number, spec.key) for spec in load_lines(settings.lines_file, settings.default_region) for number in spec.numbers]
        except LinesError as exc:
            raise SetupError(str(exc).replace("\n", " ")) from None
    numbers = [(normalise(number, settings.default_region) or number, "main") for number, _ in settings.number_languages]
    if not numbers:
        raise SetupError("no numbers are configured: set IVR_LINES_FILE (or IVR_NUMBER_LANGUAGES), or give --number")
    return numbers


def run_all(settings: Settings, base_url: str, insecure: bool, dry_run: bool, echo: Callable[[str], None]) -> None:
    """--all-lines: set up each configured number; go on past a failure, and fail at the end if any did."""
    check_base_url(base_url, insecure)
    numbers = configured_numbers(settings)
    failed = []
    for number, line_id in numbers:
        echo(f"{number} (line {line_id}):")
        try:
            run(settings, number, base_url, insecure, dry_run, echo)
        except SetupError as exc:
            echo(f"  Not set up: {exc}")
            failed.append(number)
    if failed:
        raise SetupError(f"{len(failed)} of {len(numbers)} numbers were not set up: {', '.join(failed)}")
    echo(f"All {len(numbers)} numbers {'checked (--dry-run)' if dry_run else 'point here'}.")


def _shown(url: str, method: str) -> str:
    return f"{url} ({method.upper()})" if url else "(none)"


def _account(settings: Settings) -> str:
    return settings.account_sid[:6] + "..." + settings.account_sid[-4:]


def _twilio(settings: Settings, request):
    """Run one REST request; a failure becomes a one-line SetupError."""
    try:
        return request()
    except TwilioRestException as exc:
        raise SetupError(_refusal(exc.status, exc.code, exc.msg)) from None
    except TwilioServiceException as exc:  # RFC 9457 problem details (twilio 9.10+)
        raise SetupError(_refusal(exc.status, exc.code, exc.detail or exc.title)) from None
    except TwilioException as exc:  # a page that did not load carries the HTTP response
        response = exc.args[1] if len(exc.args) > 1 else None
        if response is None or not hasattr(response, "status_code"):
            raise SetupError(f"Twilio answered something unexpected: {exc}") from None
        try:
            body = json.loads(response.text)
        except ValueError:
            body = {}
        raise SetupError(_refusal(response.status_code, body.get("code"), body.get("message", ""))) from None
    except OSError as exc:  # requests' connection errors and time-outs are OSErrors
        reason = type(exc).__name__
        raise SetupError(f"cannot reach Twilio at {settings.api_url} ({reason}); check the network or TWILIO_API_URL") from None


def _refusal(status: int, code, message: str) -> str:
    if status == 401:
        return f"Twilio refused the credentials (HTTP 401, error {code}): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
    return f"Twilio refused the request (HTTP {status}, error {code}): {' '.join(str(message).split())}"
