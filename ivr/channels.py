"""The channels a line answers on, and how Twilio's addresses say which: "whatsapp:+1..." or "+1...".

Twilio posts WhatsApp messages to the same Messaging webhook as texts, with ``From`` and ``To`` in the
form ``whatsapp:+14155550100``. Opt-outs, usage counts and the words of a reply depend on the channel.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    WHATSAPP = "whatsapp"


WHATSAPP_PREFIX = "whatsapp:"


def split_address(address: str | None) -> tuple[Channel, str | None]:
    """A messaging ``From`` or ``To``: its channel and the number without the channel's prefix."""
    raw = (address or "").strip()
    if raw[: len(WHATSAPP_PREFIX)].lower() == WHATSAPP_PREFIX:
        return Channel.WHATSAPP, raw[len(WHATSAPP_PREFIX) :].strip()
    return Channel.SMS, address


def address(channel: Channel, number: str) -> str:
    """A number as Twilio's REST API wants it for ``channel`` (WhatsApp needs the prefix on To and From)."""
    return WHATSAPP_PREFIX + number if channel == Channel.WHATSAPP else number
