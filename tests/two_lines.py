"""A deployment of two clinics' lines (IVR_LINES_FILE), for the tests of lines and of the label."""

from __future__ import annotations

import textwrap

from tests.apps import make_env

RIVERSIDE, EASTSIDE, UNLISTED = "+16175550100", "+16175550140", "+16175550177"
LINES_YAML = """\
# Two clinics of one cancer center, one number each.
lines:
  riverside:
    name: Riverside Cancer Center
    numbers: ["+1 617-555-0100"]
    contact:
      name: Riverside Nurse Line
      phone: (617) 555-0111
      hours: {days: mon-fri, open: "08:00", close: "17:00", time_zone: America/New_York}
      web: riverside.example.org/cancer
  eastside:
    name: Eastside Clinic
    numbers: ["617 555 0140"]
    language: es
    contact:
      name: Eastside Oncology Desk
      phone: "+1 617 555 0122"
"""


def write_lines(tmp_path, text: str = LINES_YAML):
    path = tmp_path / "lines.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def lines_env(tmp_path, twilio_url: str) -> dict:
    """The two-line deployment's environment, with /admin on (login clinic / pw)."""
    return make_env(tmp_path, twilio_url, IVR_LINES_FILE=write_lines(tmp_path), IVR_ADMIN_USER="clinic", IVR_ADMIN_PASSWORD="pw")
