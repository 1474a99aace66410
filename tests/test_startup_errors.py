"""What a command says when the line cannot start: the problems themselves, each said once, naming the setting.

Each test breaks one thing as a clinic's IT person did (issue 15) and reads the message a person sees.
"""

from __future__ import annotations

import pytest

from ivr.config import ConfigError, load_settings
from tests.apps import make_env
from tests.cli_helpers import copy_prompts, edit, flask


@pytest.fixture
def env(tmp_path):
    return make_env(tmp_path, "http://127.0.0.1:9")


def error_lines(result) -> list[str]:
    """The lines of click's "Error: ..." on stderr, from the Error line on."""
    lines = result.stderr.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Error: "))
    return lines[start:]


def test_a_bad_local_phone_is_named_by_its_variable_not_blamed_on_prompts(env):
    result = flask("migrate", env={**env, "IVR_LOCAL_NAME": "Riverside Nurse Line", "IVR_LOCAL_PHONE": "555-1234"})
    assert result.returncode == 1
    assert error_lines(result) == [
        "Error: the line cannot start: 1 problem:",
        "  environment: IVR_LOCAL_PHONE: '555-1234' is not a valid phone number",
    ]


def test_a_local_phone_without_a_name_is_one_line_that_names_the_missing_variable(env):
    result = flask("call", "--keys", "q", env={**env, "IVR_LOCAL_PHONE": "(617) 555-0111"})
    assert result.returncode == 1
    assert error_lines(result) == [
        "Error: the line cannot start: 1 problem:",
        "  environment: IVR_LOCAL_NAME: is not set; IVR_LOCAL_PHONE needs it (the name the menu and texts give for that number)",
    ]
    with pytest.raises(ConfigError, match=r"^IVR_LOCAL_PHONE: is not set; IVR_LOCAL_NAME needs it"):
        load_settings({"IVR_LOCAL_NAME": "Riverside Nurse Line"})
    with pytest.raises(ConfigError, match=r"^IVR_LOCAL_WEB: is set without IVR_LOCAL_NAME and IVR_LOCAL_PHONE"):
        load_settings({"IVR_LOCAL_WEB": "riverside.example.org"})


def test_many_problems_show_the_first_ten_and_how_many_more(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    for lang in ("en", "es"):
        path = prompts / lang / "voice.yaml"
        path.write_text(path.read_text().replace("{nci.phone}", "{nci.fone}").replace("{asco.phone}", "{asco.fone}"))
    env = {**env, "IVR_PROMPTS_DIR": str(prompts)}
    checked = flask("prompts", "check", env=env)
    listed = [line for line in checked.stdout.splitlines() if "unknown placeholder" in line]
    assert len(listed) > 11
    result = flask("migrate", env=env)
    assert result.returncode == 1
    assert error_lines(result) == [
        f"Error: the line cannot start: {len(listed)} problems:",
        *listed[:10],
        f"  ... and {len(listed) - 10} more (prompts check lists them all)",
    ]
    assert "alembic" not in result.stderr  # nothing of the migration's machinery before the reason


@pytest.mark.parametrize("name", ["en/sms.yaml", "es/voice.yaml", "en/whatsapp.yaml", "es/label.yaml", "contacts.yaml"])
def test_a_file_that_is_not_yaml_is_reported_once_and_nothing_that_follows_from_it(tmp_path, env, name):
    prompts = copy_prompts(tmp_path)
    with open(prompts / name, "a", encoding="utf-8") as file:
        file.write("oops: [unclosed\n")
    result = flask("prompts", "check", env={**env, "IVR_PROMPTS_DIR": str(prompts)})
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "1 problem(s): file, key, reason"
    assert lines[-1].startswith(f"  prompts/{name}: not valid YAML: while parsing a flow sequence")


def test_a_key_missing_from_one_language_is_reported_once(tmp_path, env):
    prompts = copy_prompts(tmp_path)
    edit(prompts / "es" / "voice.yaml", 'goodbye: "Gracias por llamar. Cuídese mucho. Adiós."\n', "")
    edit(prompts / "es" / "whatsapp.yaml", "help:", "help_me:")
    result = flask("prompts", "check", env={**env, "IVR_PROMPTS_DIR": str(prompts)})
    assert result.returncode == 1
    problems = [line.strip() for line in result.stdout.split("problem(s): file, key, reason", 1)[1].strip().splitlines()]
    assert [p for p in problems if ": goodbye:" in p] == ["prompts/es/voice.yaml: goodbye: is missing; en/voice.yaml has it"]
    assert [p for p in problems if "whatsapp.yaml: help:" in p] == ["prompts/es/whatsapp.yaml: help: is missing; en/whatsapp.yaml has it"]


def test_practice_tools_do_not_warn_that_webhooks_will_be_refused(env):
    env = {**env, "TWILIO_AUTH_TOKEN": "", "TWILIO_ACCOUNT_SID": ""}
    for args in (("migrate",), ("text", "RECUR"), ("call", "--keys", "q"), ("stats",), ("prompts", "check")):
        result = flask(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert "refused" not in result.stderr and "WARNING" not in result.stderr, args
    setup = flask("twilio", "setup", "--number", "+16175550100", "--base-url", "https://line.example.org", env=env)
    assert setup.returncode == 1 and "WARNING" not in setup.stderr


@pytest.mark.slow
def test_gunicorn_serving_webhooks_says_once_that_without_a_token_each_is_refused(tmp_path, env):
    from ivr.store.migrate import upgrade
    from tests.live_server import Gunicorn

    env = {**env, "TWILIO_AUTH_TOKEN": ""}
    upgrade(env["DATABASE_URL"])
    with Gunicorn(env, tmp_path / "gunicorn.log") as server:
        server.wait_ready()
        server.stop()
    warned = [line for line in server.output().splitlines() if "no TWILIO_AUTH_TOKEN" in line]
    assert len(warned) == 1, server.output()  # by the master, once: not by each of the 2 workers
    assert warned[0].endswith(
        "[WARNING] no TWILIO_AUTH_TOKEN: every webhook will be refused (403); set it to the Twilio account's auth token"
    )
