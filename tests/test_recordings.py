"""Recorded voices: played when present and current, refused when stale or unplayable, <Say> without them."""

from __future__ import annotations

import wave
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivr.content.prompts import ContentError
from ivr.tools import prompts_check
from ivr.tools.simulator import Call, FlaskTransport
from ivr.voice.budget import measure
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, line_of, make_env

WELCOME = (
    "This line has National Cancer Institute information about cancer that comes back. It is not medical advice. Press a key, or speak."
)


def record(prompts: Path, lang: str, key: str, text: str | None, seconds: float = 1.5, suffix: str = ".wav") -> Path:
    """A real WAV (8 kHz, 16-bit mono silence) for ``key``, with its .txt unless ``text`` is None."""
    folder = prompts / lang / "audio"
    folder.mkdir(exist_ok=True)
    path = folder / f"{key}{suffix}"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * int(8000 * seconds))
    if text is not None:
        (folder / f"{key}.txt").write_text(text + "\n", encoding="utf-8")
    return path


def refusals(make_app, prompts) -> list[tuple[str, str, str]]:
    with pytest.raises(ContentError) as err:
        make_app(IVR_PROMPTS_DIR=prompts)
    return err.value.problems


def test_a_current_recording_plays_instead_of_the_voice_and_is_served_with_caching(make_app, prompts):
    record(prompts, "en", "welcome", WELCOME, seconds=6.0)
    record(prompts, "es", "language_offer", "Para español, oprima 9.", seconds=1.0)
    app = make_app(IVR_PROMPTS_DIR=prompts)
    client = app.test_client()
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    gather = c.gathers[-1]
    plays = [p.text for p in gather.iter("Play")]
    assert [url.split("?")[0] for url in plays] == ["/audio/es/language_offer.wav", "/audio/en/welcome.wav", "/audio/es/language_offer.wav"]
    assert "This line has" not in c.text and "About recurrence, press 1." in c.text  # the rest is still spoken
    response = client.get(plays[1])
    assert response.status_code == 200 and response.mimetype == "audio/wav" and response.data[:4] == b"RIFF"
    assert response.cache_control.max_age == 365 * 24 * 3600 and response.cache_control.public
    assert response.headers["ETag"].strip('"') == plays[1].split("v=")[1]
    again = client.get(plays[1], headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/audio/en/answers.why.wav").status_code == 404
    assert client.get("/audio/en/..%2Fvoice.yaml").status_code == 404
    # the budget counts the recordings' own lengths, read from the files; the first choice is still said
    line = line_of(app)
    budget = measure(line.script("en"), line.settings.speech_rate)
    assert budget.first_choice == pytest.approx(1.0 + 6.0 + 4 / 135 * 60, abs=0.01)  # "About recurrence, press 1."


def test_a_choice_recording_plays_where_its_key_is_offered(make_app, prompts):
    record(prompts, "en", "choices.talk", "To talk with someone, press 3.")
    client = make_app(IVR_PROMPTS_DIR=prompts).test_client()
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    heard = c.heard
    at = next(i for i, h in enumerate(heard) if h.startswith("[recording /audio/en/choices.talk.wav?v="))
    assert heard[at - 1].endswith("press 2.") and heard[at + 1].startswith("To get the numbers by text message, press 4.")
    c.press("1").press("1")  # the after-answer menu offers talk with 3 as well
    assert any(h.startswith("[recording /audio/en/choices.talk.wav") for h in c.heard)


def test_without_recordings_everything_is_said(call, signed_post):
    root = ET.fromstring(signed_post("/voice", {"To": OUR_NUMBER}).data)
    assert not list(root.iter("Play")) and list(root.iter("Say"))


def test_a_stale_recording_is_refused_naming_the_file(make_app, prompts):
    record(prompts, "en", "welcome", "Hello, and thank you for calling. This line gives you information.")
    [(file, key, reason)] = refusals(make_app, prompts)
    assert (file, key) == ("prompts/en/audio/welcome.wav", "welcome")
    assert "welcome.txt no longer matches what welcome says now" in reason and "record it again, or delete it" in reason


def test_a_recording_whose_choice_moved_to_another_key_is_stale(make_app, prompts):
    record(prompts, "en", "choices.talk", "To talk with someone, press 3.")
    (prompts / "menu.yaml").write_text(
        (prompts / "menu.yaml").read_text().replace('"3": talk', '"5": talk').replace('"5": local', '"3": local')
    )
    [(file, key, reason)] = refusals(make_app, prompts)
    assert (file, key) == ("prompts/en/audio/choices.talk.wav", "choices.talk")
    assert "no longer matches what choices.talk says now in welcome ('To talk with someone, press 5.')" in reason


def test_a_choice_said_with_two_keys_cannot_be_one_recording(make_app, prompts):
    record(prompts, "en", "choices.text", "To get the numbers by text message, press 4.")  # 1 after a failed transfer
    [(file, key, reason)] = refusals(make_app, prompts)
    assert (file, key) == ("prompts/en/audio/choices.text.wav", "choices.text") and "in menus.after_failed_transfer" in reason


@pytest.mark.parametrize(
    ("key", "placeholder"),
    [("numbers_aloud", "{nci.hours}"), ("transfer.closed.nci", "{nci.hours}"), ("answers.more_info", "{local_info}")],
)
def test_a_key_whose_words_each_deployment_sets_cannot_be_recorded(make_app, prompts, key, placeholder):
    record(prompts, "en", key, "whatever it says")
    [(file, found_key, reason)] = refusals(make_app, prompts)
    assert (file, found_key) == (f"prompts/en/audio/{key}.wav", key)
    assert f"its text says {placeholder}, which each deployment sets" in reason


def test_unreadable_and_unplayable_files_and_a_missing_text_are_refused(make_app, prompts):
    folder = prompts / "en" / "audio"
    folder.mkdir()
    (folder / "answers.why.mp3").write_bytes(b"this is not audio at all" * 20)
    (folder / "answers.why.txt").write_text("Why does recurrence happen?")
    (folder / "goodbye.ogg").write_bytes(b"OggS" + b"\0" * 100)
    record(prompts, "en", "error", None)
    problems = {(file, key): reason for file, key, reason in refusals(make_app, prompts)}
    assert problems.keys() == {
        ("prompts/en/audio/answers.why.mp3", "answers.why"),
        ("prompts/en/audio/goodbye.ogg", "goodbye"),
        ("prompts/en/audio/error.wav", "error"),
    }
    assert (
        "cannot be read as audio" in problems["prompts/en/audio/answers.why.mp3", "answers.why"]
        or "not a playable MP3" in problems["prompts/en/audio/answers.why.mp3", "answers.why"]
    )
    assert problems["prompts/en/audio/goodbye.ogg", "goodbye"] == "Twilio does not play .ogg files: use MP3 or WAV"
    assert "has no error.txt beside it" in problems["prompts/en/audio/error.wav", "error"]


def test_a_recording_of_no_key_is_refused(make_app, prompts):
    record(prompts, "en", "answers.whatever", "Something.")
    [(file, key, reason)] = refusals(make_app, prompts)
    assert (file, key) == ("prompts/en/audio/answers.whatever.wav", "answers.whatever") and "is not a key the line says" in reason


def test_prompts_check_lists_each_recordings_duration(tmp_path, prompts):
    record(prompts, "en", "welcome", WELCOME, seconds=4.25)
    report = prompts_check.check(make_env(tmp_path, "http://127.0.0.1:9", IVR_PROMPTS_DIR=prompts))
    assert report.problems == []
    lines = prompts_check.format_report(report)
    assert "  welcome.wav     4.2 s" in lines or "  welcome.wav     4.3 s" in lines
    assert any(line.startswith("Recordings (en)") for line in lines)
