"""Phone numbers are health information here: normalise them, hash them with a key, never log them."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import phonenumbers

from ivr.remembered import MISSING, Remembered

REMEMBERED_HASHES = 4096  # NumberHasher's memory: texts given, hashed (about 1 MB)
# What Twilio sends in From when caller ID is withheld or unknown.
WITHHELD = {"", "anonymous", "unknown", "restricted", "private", "unavailable", "blocked"}


def _parse(number: str | None, region: str) -> phonenumbers.PhoneNumber | None:
    """The caller ID as phonenumbers reads it; None when withheld, absurdly long or not a number at all."""
    raw = (number or "").strip()
    if raw.lower() in WITHHELD or len(raw) > 32:
        return None
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


def normalise(number: str | None, region: str = "US") -> str | None:
    """``number`` in E.164 if it is a real, textable-looking phone number, else None."""
    parsed = _parse(number, region)
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def unusable(number: str | None, region: str = "US") -> bool:
    """A caller ID that is there, of a possible length, but not a number in use (phonenumbers'
    metadata: an Ofcom drama range, or a range newer than the library): not withheld, just not textable."""
    parsed = _parse(number, region)
    return parsed is not None and phonenumbers.is_possible_number(parsed) and not phonenumbers.is_valid_number(parsed)


def load_key(configured: bytes, instance_path: Path) -> bytes:
    """The HMAC key: IVR_HASH_KEY, else a random key kept in the instance folder (never the database)."""
    if configured:
        return configured
    path = Path(instance_path) / "hash.key"
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


class NumberHasher:
    def __init__(self, key: bytes, region: str = "US", old_key: bytes = b""):
        if not key:
            raise ValueError("a hash key is required")
        self._key = key
        self._old_key = old_key  # IVR_HASH_KEY_OLD, during a key rotation (README "Backups and the hash key")
        self.region = region
        self._memo = Remembered(REMEMBERED_HASHES)  # keyed hash of the text given -> its NumberHash

    @property
    def rotating(self) -> bool:
        return bool(self._old_key)

    def old(self, number: str | None) -> str | None:
        """The number's hash under the key before the rotation (None: no rotation, or no number)."""
        if not number or not self._old_key:
            return None
        canonical = normalise(number, self.region) or number.strip()
        return hmac.new(self._old_key, canonical.encode(), hashlib.sha256).hexdigest()

    def __call__(self, number: str | None) -> NumberHash | None:
        """Keyed hash of the normalised number (or of the raw text if it is not a phone number).

        Remembered for the last 4,096 texts given (a caller's every webhook, a texter's every text, and
        the usage writer after them: phonenumbers costs 25 to 150 µs each time). The memory is keyed by
        a keyed hash of the text given, so it holds no number, only hashes.
        """
        if not number:
            return None
        given = self.keyed("given:" + number)
        found = self._memo.get(given)
        if found is MISSING:
            canonical = normalise(number, self.region)
            found = NumberHash(self.keyed(canonical or number.strip()), canonical is not None)
            self._memo.put(given, found)
        return found

    def keyed(self, canonical: str) -> str:
        """Keyed hash of text used as is: a number already normalised, or a reference such as a CallSid."""
        return hmac.digest(self._key, canonical.encode(), "sha256").hex()  # one call into OpenSSL: half of hmac.new's cost


class NumberHash(str):
    """A keyed hash (a str like any other), which knows whether it is a phone number's or raw text's.

    Usage events hold a hash only for a phone number (usage.py), which this tells without normalising
    the number again.
    """

    def __new__(cls, value: str, is_number: bool):
        made = super().__new__(cls, value)
        made.is_number = is_number
        return made


def mask(number: str | None) -> str:
    """A number as it may appear in a log: only its last two digits."""
    digits = [c for c in (number or "") if c.isdigit()]
    return "*" * max(len(digits) - 2, 0) + "".join(digits[-2:]) if digits else "-"
