"""Settings from the environment, with defaults. Every variable is listed in the README."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TWILIO_DEFAULT_API_URL = "https://api.twilio.com"


# The shorthand for a deployment with one line; with IVR_LINES_FILE, each line's contact is in the file.
SHORTHAND_SETTINGS = ("IVR_LOCAL_NAME", "IVR_LOCAL_PHONE", "IVR_LOCAL_HOURS", "IVR_LOCAL_WEB")


class ConfigError(ValueError):
    """A setting is present but unusable. ``causes``: the variables that make it so, when the message names another."""

    def __init__(self, message: str, causes: tuple[str, ...] = ()):
        super().__init__(message)
        self.causes = causes


def _int(env: dict, name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _float(env: dict, name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _confidence(env: dict, name: str, default: float) -> float:
    """A share of Twilio's speech Confidence, 0 (act on any words) to 1."""
    value = _float(env, name, default)
    if value > 1:
        raise ConfigError(f"{name}={env.get(name, '').strip()!r}: must be from 0 to 1, as Twilio's Confidence")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: use true or false")


# The least IVR_HASH_KEY outside development mode: about 10^10 phone numbers are few enough to try one
# by one against a guessable key; the README's recipe (token_hex(32)) gives 64 characters.
MIN_HASH_KEY_BYTES = 32


@dataclass(frozen=True)
class Settings:
    account_sid: str = ""
    auth_token: str = ""
    api_url: str = TWILIO_DEFAULT_API_URL
    database_url: str = ""
    instance_path: Path = ROOT / "instance"
    prompts_dir: Path = ROOT / "prompts"
    hash_key: bytes = b""
    hash_key_old: bytes = b""  # IVR_HASH_KEY_OLD: the key before a rotation, matched and re-keyed on first sight
    dev_mode: bool = False
    proxy_count: int = 0
    public_base_url: str = ""
    speech_rate: str = "90%"
    gather_timeout: int = 6
    silence_tries: int = 3
    speech_confidence: float = 0.4  # IVR_SPEECH_CONFIDENCE: below it, speech never transfers or texts
    dial_timeout: int = 30
    rest_timeout: float = 4.0
    answer_within: float = 10.0  # seconds from a webhook's start to its answer, whatever the database and Twilio do
    texts_per_caller_per_day: int = 3
    texts_per_hour: int = 60
    reply_budget_hour: int = 20  # replies to one sender an hour (reply_budget.py); 0: off
    reply_budget_day: int = 60
    loop_repeats: int = 3  # the same text from the same sender answered this often per loop window
    loop_minutes: int = 10
    line_replies_per_minute: int = 60  # replies of the whole deployment a minute
    default_region: str = "US"
    text_countries: tuple[str, ...] = ()  # IVR_TEXT_COUNTRIES; empty: the regions of the line's own numbers
    status_callback: bool = True
    default_language: str = "en"
    number_languages: tuple[tuple[str, str], ...] = ()  # (our number in E.164, language) pairs
    local_name: str = ""
    local_phone: str = ""
    local_hours: str = ""
    local_web: str = ""
    retention_days: int = 400
    counts_retention_days: int = 1830  # per-day counts hold no identities: kept five years, longer than the events
    report_timeout: float = 20.0  # seconds a report (stats, /admin) may run before the database stops it
    sms_opt_out_replies: str = "twilio"  # who confirms STOP and START by text: twilio or app
    admin_user: str = ""  # GET /admin (HTTP basic auth) is on only when both are set
    admin_password: str = ""
    metrics_token: str = ""  # GET /metrics is on only with a bearer token, or a user and password (basic auth)
    metrics_user: str = ""
    metrics_password: str = ""
    opt_out_journal: Path | None = None  # IVR_OPT_OUT_JOURNAL; None: instance_path / opt-outs-pending.jsonl
    opt_out_retry_seconds: float = 1.0
    lines_file: Path | None = None  # IVR_LINES_FILE: one line per number (lines.py); else IVR_LOCAL_* is the one line

    @property
    def metrics_on(self) -> bool:
        return bool(self.metrics_token or self.metrics_user)

    @property
    def rest_configured(self) -> bool:
        return bool(self.account_sid and self.auth_token)

    def local_contact(self) -> dict | None:
        """The deployment's own contact for content.load, or None when it is not set."""
        if not (self.local_name or self.local_phone):
            return None
        contact = {"name": self.local_name, "phone": self.local_phone}
        if self.local_hours:
            contact["hours"] = self.local_hours
        if self.local_web:
            contact["web"] = self.local_web
        return contact


def _number_languages(raw: str) -> tuple[tuple[str, str], ...]:
    """IVR_NUMBER_LANGUAGES='+16175550100=es, +16175550101=en' -> pairs."""
    pairs = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        number, sep, lang = item.partition("=")
        if not sep or not number.strip() or not lang.strip():
            raise ConfigError(f"IVR_NUMBER_LANGUAGES: {item!r} should look like +16175550100=es")
        pairs.append((number.strip(), lang.strip().lower()))
    return tuple(pairs)


def _regions(raw: str) -> tuple[str, ...]:
    """IVR_TEXT_COUNTRIES='US, CA' -> ('CA', 'US'), each a region phonenumbers knows."""
    import phonenumbers  # here: only this setting needs it

    found = sorted({code.strip().upper() for code in raw.split(",") if code.strip()})
    unknown = [code for code in found if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ConfigError(f"IVR_TEXT_COUNTRIES={raw!r}: {', '.join(unknown)} is not a region code such as US or CA")
    return tuple(found)


def _choice(env: dict, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first is the default)."""
    raw = env.get(name, "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r}: use {' or '.join(choices)}")
    return raw


def _check_local_contact(env: dict, settings: Settings) -> None:
    """IVR_LOCAL_NAME and IVR_LOCAL_PHONE go together; hours and web belong to them. One error names what is missing."""
    if settings.lines_file:
        return
    if settings.local_phone and not settings.local_name:
        raise ConfigError(
            "IVR_LOCAL_NAME: is not set; IVR_LOCAL_PHONE needs it (the name the menu and texts give for that number)", ("IVR_LOCAL_PHONE",)
        )
    if settings.local_name and not settings.local_phone:
        raise ConfigError("IVR_LOCAL_PHONE: is not set; IVR_LOCAL_NAME needs it (the number the menu connects to)", ("IVR_LOCAL_NAME",))
    for name in ("IVR_LOCAL_HOURS", "IVR_LOCAL_WEB"):
        if env.get(name, "").strip() and not settings.local_name:
            raise ConfigError(f"{name}: is set without IVR_LOCAL_NAME and IVR_LOCAL_PHONE, the contact it belongs to", (name,))


def _check_hash_key(settings: Settings) -> None:
    """IVR_HASH_KEY: set where opt-outs must outlive a restart, long enough, and not the old key again."""
    if settings.auth_token and not settings.dev_mode and not settings.hash_key:
        raise ConfigError(
            "IVR_HASH_KEY is not set: with TWILIO_AUTH_TOKEN set (not development mode) the line needs one fixed secret, "
            "the same on every instance and kept safe, or a restart or a lost instance folder forgets every opt-out. "
            "Make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if settings.hash_key and not settings.dev_mode and len(settings.hash_key) < MIN_HASH_KEY_BYTES:
        raise ConfigError(
            f"IVR_HASH_KEY is {len(settings.hash_key)} bytes long; it must be at least {MIN_HASH_KEY_BYTES}: with a short key, "
            "anyone who sees the stored hashes can try every phone number. "
            "Make one with: python3 -c 'import secrets; print(secrets.token_hex(32))' "
            "and set the current key as IVR_HASH_KEY_OLD, so that no opt-out is lost (README: Backups and the hash key)"
        )
    if settings.hash_key_old and settings.hash_key_old == settings.hash_key:
        raise ConfigError("IVR_HASH_KEY_OLD is the same as IVR_HASH_KEY: set it to the key before the rotation, or unset it")


def load_settings(env: dict | None = None, *, hash_key_needed: bool = True, **overrides) -> Settings:
    """Read settings from ``env`` (default: the process environment).

    ``hash_key_needed=False``: for a command that hashes no number and stores nothing (``twilio
    setup``), so IVR_HASH_KEY is not asked for; it is not checked either."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("IVR_INSTANCE_PATH") or ROOT / "instance")
    database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{instance / 'ivr.sqlite3'}"
    # Heroku-style URLs say postgres://; SQLAlchemy wants postgresql+psycopg://.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    raw_key = env.get("IVR_HASH_KEY", "").strip()
    rate = env.get("IVR_SPEECH_RATE", "90%").strip()
    if not (rate.endswith("%") and rate[:-1].isdigit() and 20 <= int(rate[:-1]) <= 200):
        raise ConfigError(f"IVR_SPEECH_RATE={rate!r}: use a percentage such as 90%")
    settings = Settings(
        account_sid=env.get("TWILIO_ACCOUNT_SID", "").strip(),
        auth_token=env.get("TWILIO_AUTH_TOKEN", "").strip(),
        api_url=(env.get("TWILIO_API_URL", "").strip() or TWILIO_DEFAULT_API_URL).rstrip("/"),
        database_url=database_url,
        instance_path=instance,
        prompts_dir=Path(env.get("IVR_PROMPTS_DIR") or ROOT / "prompts"),
        hash_key=raw_key.encode(),
        hash_key_old=env.get("IVR_HASH_KEY_OLD", "").strip().encode(),
        opt_out_journal=Path(env["IVR_OPT_OUT_JOURNAL"].strip()) if env.get("IVR_OPT_OUT_JOURNAL", "").strip() else None,
        opt_out_retry_seconds=_float(env, "IVR_OPT_OUT_RETRY_SECONDS", 1.0, 0.05),
        dev_mode=_bool(env, "IVR_DEV_MODE", False),
        proxy_count=_int(env, "IVR_PROXY_COUNT", 0),
        public_base_url=env.get("IVR_PUBLIC_BASE_URL", "").strip().rstrip("/"),
        speech_rate=rate,
        gather_timeout=_int(env, "IVR_GATHER_TIMEOUT", 6, 1),
        silence_tries=_int(env, "IVR_SILENCE_TRIES", 3, 1),
        speech_confidence=_confidence(env, "IVR_SPEECH_CONFIDENCE", 0.4),
        dial_timeout=_int(env, "IVR_DIAL_TIMEOUT", 30, 5),
        rest_timeout=_float(env, "IVR_REST_TIMEOUT", 4.0, 0.5),
        answer_within=_float(env, "IVR_ANSWER_WITHIN", 10.0, 2.0),
        texts_per_caller_per_day=_int(env, "IVR_TEXTS_PER_CALLER_PER_DAY", 3, 0),
        texts_per_hour=_int(env, "IVR_TEXTS_PER_HOUR", 60, 0),
        reply_budget_hour=_int(env, "IVR_REPLY_BUDGET_HOUR", 20, 0),
        reply_budget_day=_int(env, "IVR_REPLY_BUDGET_DAY", 60, 0),
        loop_repeats=_int(env, "IVR_LOOP_REPEATS", 3, 0),
        loop_minutes=_int(env, "IVR_LOOP_MINUTES", 10, 1),
        line_replies_per_minute=_int(env, "IVR_LINE_REPLIES_PER_MINUTE", 60, 0),
        default_region=env.get("IVR_DEFAULT_REGION", "").strip().upper() or "US",
        text_countries=_regions(env.get("IVR_TEXT_COUNTRIES", "")),
        status_callback=_bool(env, "IVR_STATUS_CALLBACK", True),
        default_language=env.get("IVR_DEFAULT_LANGUAGE", "").strip().lower() or "en",
        number_languages=_number_languages(env.get("IVR_NUMBER_LANGUAGES", "")),
        local_name=env.get("IVR_LOCAL_NAME", "").strip(),
        local_phone=env.get("IVR_LOCAL_PHONE", "").strip(),
        local_hours=env.get("IVR_LOCAL_HOURS", "").strip(),
        local_web=env.get("IVR_LOCAL_WEB", "").strip(),
        retention_days=_int(env, "IVR_RETENTION_DAYS", 400, 1),
        counts_retention_days=_int(env, "IVR_COUNTS_RETENTION_DAYS", 1830, 1),
        report_timeout=_float(env, "IVR_REPORT_TIMEOUT", 20.0, 0.1),
        sms_opt_out_replies=_choice(env, "IVR_SMS_OPT_OUT_REPLIES", ("twilio", "app")),
        admin_user=env.get("IVR_ADMIN_USER", "").strip(),
        admin_password=env.get("IVR_ADMIN_PASSWORD", ""),
        metrics_token=env.get("IVR_METRICS_TOKEN", "").strip(),
        metrics_user=env.get("IVR_METRICS_USER", "").strip(),
        metrics_password=env.get("IVR_METRICS_PASSWORD", ""),
        lines_file=Path(env["IVR_LINES_FILE"].strip()) if env.get("IVR_LINES_FILE", "").strip() else None,
    )
    if hash_key_needed:
        _check_hash_key(settings)
    if settings.rest_timeout > 8:
        raise ConfigError("IVR_REST_TIMEOUT must stay well inside Twilio's 15 s webhook limit (at most 8)")
    if settings.answer_within > 13:
        raise ConfigError("IVR_ANSWER_WITHIN must leave room inside Twilio's 15 s webhook limit for the network (at most 13)")
    if settings.counts_retention_days < settings.retention_days:
        raise ConfigError("IVR_COUNTS_RETENTION_DAYS must be at least IVR_RETENTION_DAYS: the counts outlive the events they count")
    if settings.report_timeout >= 30:
        raise ConfigError("IVR_REPORT_TIMEOUT must stay below gunicorn's --timeout of 30 s, or /admin's worker is killed first")
    if bool(settings.metrics_user) != bool(settings.metrics_password):
        raise ConfigError("IVR_METRICS_USER and IVR_METRICS_PASSWORD: set both to turn on GET /metrics with a login, or neither")
    if bool(settings.admin_user) != bool(settings.admin_password):
        raise ConfigError("IVR_ADMIN_USER and IVR_ADMIN_PASSWORD: set both to turn on GET /admin, or neither")
    _check_local_contact(env, settings)
    if settings.lines_file:
        shorthand = sorted(n for n in (*SHORTHAND_SETTINGS, "IVR_NUMBER_LANGUAGES") if env.get(n, "").strip())
        if shorthand:
            raise ConfigError(f"IVR_LINES_FILE and {', '.join(shorthand)}: use one or the other (put each line's contact in the file)")
    if overrides:
        settings = replace(settings, **overrides)
    return settings
