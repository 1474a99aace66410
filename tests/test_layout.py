"""ivr/ shows its plan: packages by concern, imports one way (tests/layout.py reads them with ast)."""

from __future__ import annotations

from ivr.config import ROOT
from tests.layout import PACKAGES, upward_imports

IVR = ROOT / "ivr"


def test_no_module_of_ivr_imports_upward():
    assert upward_imports(IVR) == []


def test_each_package_says_what_it_holds_and_what_it_must_not_import():
    for package in PACKAGES:
        doc = (IVR / package / "__init__.py").read_text().split('"""')[1]
        assert 1 <= len(doc.strip().splitlines()) <= 4 and "import" in doc.lower(), package


def _tree(tmp_path, files: dict[str, str]):
    root = tmp_path / "ivr"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_check_finds_each_kind_of_upward_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "config.py": "from ivr.voice import webhooks\n",  # base -> package
            "content/__init__.py": "",
            "content/prompts.py": "from ivr.sms.keywords import words\n",  # content -> sms
            "store/__init__.py": "",
            "store/usage.py": "def f():\n    from ivr.tools import stats\n",  # inside a function still counts
            "sms/__init__.py": "",
            "sms/webhooks.py": "from ..voice import text_me\n",  # relative, sms -> voice
            "voice/__init__.py": "",
            "voice/text_me.py": "from ivr import app\n",  # the factory
        },
    )
    found = upward_imports(root)
    assert sorted({p.split(":")[0] for p in found}) == [
        "ivr/config.py",
        "ivr/content/prompts.py",
        "ivr/sms/webhooks.py",
        "ivr/store/usage.py",
        "ivr/voice/text_me.py",
    ], found


def test_the_check_allows_what_the_plan_allows(tmp_path):
    root = _tree(
        tmp_path,
        {
            "line.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ivr.voice.script import VoiceScript\n",
            "content/__init__.py": "",
            "content/prompts.py": "from ivr import config\nfrom . import gsm\n",
            "voice/__init__.py": "",
            "voice/webhooks.py": "from ivr.content.prompts import Kind\nfrom ivr.store import storage\n",
            "tools/__init__.py": "",
            "tools/practice.py": "from ivr.app import create_app\nfrom ivr.sms import webhooks\n",
            "app.py": "from ivr import sms, tools, voice\n",
        },
    )
    assert upward_imports(root) == []
