"""Golden TwiML: the exact verbs and attributes of a dozen answers, which tests of what a caller hears do not pin.

What is said is left out (each <Say>'s words become "…"), so a clinic's edit to prompts/ does not
touch these files; ``action``, ``timeout``, ``hints``, ``callerId``, ``language``, ``numDigits`` and the
order of verbs are compared to the letter. After a deliberate change to the TwiML, regenerate with
``IVR_UPDATE_GOLDEN=1 python3 dev.py test tests/test_golden_twiml.py`` and read the diff before committing.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.apps import CALLER, OUR_NUMBER, SATURDAY

GOLDEN = Path(__file__).with_name("golden")
FORM = {"From": CALLER, "To": OUR_NUMBER, "CallSid": "CA" + "0" * 32}

CASES = {
    "welcome": ("/voice", {}),
    "main_menu_after_one_silence": ("/voice/en/menu/main?tries=1&welcome=1", {}),
    "goodbye_after_the_last_silence": ("/voice/en/menu/main?tries=3", {}),
    "an_answer": ("/voice/en/choose/about", {"Digits": "2"}),
    "repeat_the_answer": ("/voice/en/choose/after_answer?answer=why", {"Digits": "1"}),
    "spanish_chosen_at_the_welcome": ("/voice/en/choose/main?welcome=1", {"Digits": "9"}),
    "not_a_choice": ("/voice/en/choose/main", {"Digits": "8"}),
    "transfer_to_nci": ("/voice/en/choose/main", {"Digits": "0"}),
    "transfer_done_completed": ("/voice/en/transfer/nci/done", {"DialCallStatus": "completed"}),
    "transfer_done_busy": ("/voice/en/transfer/nci/done", {"DialCallStatus": "busy"}),
    "transfer_done_unknown_status_as_failed": ("/voice/en/transfer/nci/done", {"DialCallStatus": "exploded"}),
    "text_me_sent": ("/voice/en/choose/main", {"Digits": "4"}),
    "fallback": ("/voice/fallback", {"ErrorCode": "11200"}),
    "error_apology": ("/voice/en/menu/nowhere", {}),
}
CLOSED_CASES = {
    "closed_nci": ("/voice/en/choose/main", {"Digits": "0"}),
    "closed_connect_anyway": ("/voice/en/choose/closed?contact=nci", {"Digits": "2"}),
}


def canonical(xml: bytes) -> str:
    """The TwiML with every <Say>'s words as "…", indented: verbs and attributes only."""
    root = ET.fromstring(xml)
    for say in root.iter("Say"):
        for child in list(say):
            say.remove(child)
        say.text = "…"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def check(name: str, xml: bytes) -> None:
    path = GOLDEN / f"{name}.xml"
    got = canonical(xml)
    if os.environ.get("IVR_UPDATE_GOLDEN") == "1":
        path.write_text(got)
    assert path.exists(), f"no golden file {path.name}: run with IVR_UPDATE_GOLDEN=1 and review it"
    assert got == path.read_text(), f"{path.name} differs: review, and regenerate with IVR_UPDATE_GOLDEN=1 if it is meant"


@pytest.mark.parametrize("name", CASES)
def test_golden_twiml(name, signed_post):
    path, form = CASES[name]
    response = signed_post(path, {**FORM, **form})
    assert response.status_code == 200
    check(name, response.data)


@pytest.mark.parametrize("name", CLOSED_CASES)
def test_golden_twiml_outside_hours(name, make_app):
    from ivr.tools.simulator import sign
    from tests.apps import AUTH_TOKEN, BASE_URL

    client = make_app(clock=SATURDAY).test_client()
    path, form = CLOSED_CASES[name]
    params = {**FORM, **form}
    response = client.post(path, base_url=BASE_URL, data=params, headers=sign(AUTH_TOKEN, BASE_URL + path, params))
    assert response.status_code == 200
    check(name, response.data)
