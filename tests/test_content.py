"""Start-up validation of prompts/: each broken edit is refused with file, key and reason."""

from __future__ import annotations

import pytest

from ivr.config import ROOT
from ivr.content import prompts as content
from tests.prompt_edits import edit, problems


def test_the_shipped_prompts_load():
    loaded = content.load(ROOT / "prompts")
    assert set(loaded.answers) == {"what", "why", "where", "different", "harder", "remember", "more_info"}


def test_a_missing_key(prompts):
    edit(prompts / "en" / "voice.yaml", 'not_a_choice: "Sorry, that is not one of the choices."\n', "")
    assert ("prompts/en/voice.yaml", "not_a_choice", "is missing or empty") in problems(prompts)


def test_an_empty_answer(prompts):
    path = prompts / "en" / "voice.yaml"
    text = path.read_text()
    start = text.index("  why: >-")
    end = text.index("  where: >-")
    path.write_text(text[:start] + '  why: ""\n' + text[end:])
    assert ("prompts/en/voice.yaml", "answers.why", "answer is empty") in problems(prompts)


def test_an_unknown_menu_target(prompts):
    edit(prompts / "menu.yaml", '"3": where', '"3": wherever')
    found = problems(prompts)
    assert ("prompts/menu.yaml", "menus.about.3", "unknown target 'wherever'") in found
    assert any("'where' cannot be reached" in reason for _, _, reason in found)


def test_a_duplicate_key(prompts):
    edit(prompts / "en" / "voice.yaml", "goodbye: ", 'goodbye: "Bye."\ngoodbye: ')
    [(file, _key, reason)] = problems(prompts)
    assert file == "prompts/en/voice.yaml" and "duplicate key 'goodbye'" in reason


def test_too_many_choices(prompts):
    edit(prompts / "menu.yaml", '    "5": local\n', '    "5": local\n    "6": why\n')
    assert ("prompts/menu.yaml", "menus.main", "has 6 choices; at most 5") in problems(prompts)


def test_too_deep(prompts):
    edit(prompts / "menu.yaml", '    "3": where\n', '    "3": deeper\n  deeper:\n    "1": deepest\n  deepest:\n    "1": where\n')
    edit(prompts / "en" / "voice.yaml", '  talk: "Talk with someone."\n', '  talk: "Talk with someone."\n  deeper: ""\n  deepest: ""\n')
    edit(prompts / "en" / "voice.yaml", "choices:\n", 'choices:\n  deeper: "Deeper, {key}."\n  deepest: "Deepest, {key}."\n')
    assert any("levels" in reason for _, key, reason in problems(prompts) if key.startswith("menus.deep"))


def test_an_unknown_placeholder_and_a_bad_phone(prompts):
    edit(prompts / "en" / "voice.yaml", "{nci.web}.{pause}", "{nci.website}.{pause}")
    edit(prompts / "contacts.yaml", '"+18886513038"', '"+1 555 0"')
    found = problems(prompts)
    assert ("prompts/en/voice.yaml", "answers.more_info", "unknown placeholder {nci.website}") in found
    assert ("prompts/contacts.yaml", "asco.phone", "'+1 555 0' is not a valid phone number") in found


def test_a_text_with_a_curly_quote_or_too_long(prompts):
    edit(prompts / "en" / "sms.yaml", "{line.name}: NCI", "{line.name}: Cancer\u2019s NCI" + " More." * 60)
    found = problems(prompts)
    assert any(key == "numbers" and "U+2019" in reason for _, key, reason in found)
    assert any(key == "numbers" and "segments" in reason for _, key, reason in found)


def test_invalid_yaml_names_the_file(prompts):
    (prompts / "menu.yaml").write_text("menus: [unclosed\n")
    assert any(f == "prompts/menu.yaml" and "not valid YAML" in r for f, _, r in problems(prompts))


def test_a_broken_prompts_folder_stops_start_up(tmp_path, prompts):
    from ivr.app import create_app
    from ivr.config import load_settings

    edit(prompts / "menu.yaml", '"3": where', '"3": wherever')
    settings = load_settings({"IVR_PROMPTS_DIR": str(prompts), "IVR_INSTANCE_PATH": str(tmp_path / "i")})
    with pytest.raises(content.ContentError, match=r"menus\.about\.3: unknown target 'wherever'"):
        create_app(settings)


def test_texts_that_pass_alone_but_make_one_say_too_long_for_twilio_stop_start_up(tmp_path, prompts):
    from ivr.app import create_app
    from ivr.config import load_settings

    # Each text is under the 2,500 characters one text may have; the welcome and the main menu's
    # words are said in one <Say>, which Twilio refuses above 3,000 characters.
    sentence = "This line gives you information about cancer that has come back. "  # 65 characters
    voice = prompts / "en" / "voice.yaml"
    edit(voice, "  It is not medical advice.", f"  {sentence * 32}\n  It is not medical advice.")
    edit(voice, '  about: "About recurrence, press {key}."', f'  about: "{sentence * 10}Press {{key}}."')
    settings = load_settings({"IVR_PROMPTS_DIR": str(prompts), "IVR_INSTANCE_PATH": str(tmp_path / "i")})
    with pytest.raises(content.ContentError) as err:
        create_app(settings)
    file, key, reason = err.value.problems[0]
    assert (file, key) == ("prompts/en/voice.yaml", "welcome")
    assert "Twilio takes at most 3,000 in one <Say>" in reason and int(reason.split()[1]) > 3000


def test_a_topic_answer_without_the_care_note_stops_start_up(prompts):
    edit(prompts / "es" / "sms.yaml", "encontrarle un sentido. {care_note}", "encontrarle un sentido.")
    assert ("prompts/es/sms.yaml", "answers.remember", "must end with {care_note}: a topic text can arrive alone") in problems(prompts)


def test_a_web_site_per_language_and_a_missing_default(prompts):
    loaded = content.load(prompts)
    nci = loaded.contacts["nci"]
    assert (nci.site("web", "en"), nci.site("web", "es"), nci.site("web", "fr")) == (
        "www.cancer.gov",
        "www.cancer.gov/espanol",
        "www.cancer.gov",
    )
    assert nci.site("display", "es") == "1-800-422-6237" and "4-CANCER" in nci.site("display", "en")
    edit(prompts / "contacts.yaml", "    en: www.cancer.gov\n", "")
    assert ("prompts/contacts.yaml", "nci.web", "needs a value for en, used by languages not listed") in problems(prompts)


def test_a_line_with_hours_needs_words_for_0_while_it_is_closed(prompts):
    edit(prompts / "es" / "voice.yaml", "always_hints_closed:\n  nci:", "always_hints_closed:\n  other:")
    found = problems(prompts)
    assert ("prompts/es/voice.yaml", "always_hints_closed.nci") in [(f, k) for f, k, _ in found]


def test_words_for_a_closed_line_need_a_line_with_hours_and_the_key(prompts):
    edit(prompts / "en" / "voice.yaml", "choices_closed:\n  nci:", "choices_closed:\n  asco: 'Closed.'\n  nci:")
    edit(prompts / "es" / "voice.yaml", 'oprima {key}."\n\nalways_hints:', 'oprima."\n\nalways_hints:')
    found = [(f, k) for f, k, _ in problems(prompts)]
    assert ("prompts/en/voice.yaml", "choices_closed.asco") in found and ("prompts/es/voice.yaml", "choices_closed.nci") in found


def test_the_hours_said_after_a_closed_hint_need_a_line_with_hours_and_its_hours(prompts):
    edit(prompts / "en" / "voice.yaml", "  hours:\n    nci:", "  hours:\n    asco: 'Open at times.'\n    nci:")
    edit(prompts / "es" / "voice.yaml", "Nacional del Cáncer atiende {nci.hours}.", "Nacional del Cáncer atiende pronto.")
    found = [(f, k) for f, k, _ in problems(prompts)]
    assert ("prompts/en/voice.yaml", "transfer.hours.asco") in found and ("prompts/es/voice.yaml", "transfer.hours.nci") in found


def _said(node, path=()):
    """Every string of a prompts file with its keys, leaving out what callers say (phrases, keywords)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in ("phrases", "keywords", "connect_words"):
                yield from _said(value, (*path, str(key)))
    elif isinstance(node, list):
        for item in node:
            yield from _said(item, path)
    elif isinstance(node, str):
        yield ".".join(path), node


@pytest.mark.parametrize("lang", ["en", "es"])
def test_nothing_the_line_says_or_texts_calls_nci_or_asco_staff_nurses(lang):
    """NCI's Cancer Information Service has information specialists, not nurses: "talk to a nurse" is
    understood (people say it) and reaches the talk menu, but no prompt may promise a nurse. The only
    nurses said are the patient's own, in the handout ("your doctors and nurses")."""
    import yaml

    said = []
    for name in ("voice.yaml", "sms.yaml", "whatsapp.yaml", "label.yaml", "crisis.yaml"):
        path = ROOT / "prompts" / lang / name
        if path.is_file():
            said += [(f"{name} {key}", text) for key, text in _said(yaml.safe_load(path.read_text()))]
    said += [(f"contacts.yaml {key}", text) for key, text in _said(yaml.safe_load((ROOT / "prompts" / "contacts.yaml").read_text()))]
    nurses = [(where, text) for where, text in said if "nurse" in text.lower() or "enfermer" in text.lower()]
    own = ("doctors and nurses", "médicos y enfermeras")
    assert nurses, "the handout's 'your doctors and nurses' is expected in the answers"
    assert [(where, text) for where, text in nurses if not any(o in text.lower() for o in own)] == []
    understood = yaml.safe_load((ROOT / "prompts" / "en" / "voice.yaml").read_text())["phrases"]["talk"]
    assert "talk to a nurse" in understood  # still understood: the caller reaches the talk menu
