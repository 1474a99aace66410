"""Recorded voices: ``prompts/<lang>/audio/<key>.mp3`` (or ``.wav``) beside ``<key>.txt``.

A clinic may replace the synthesised voice of any spoken key with a recording, such as a nurse's.
The ``.txt`` holds the exact text the recording was made from, so the line can refuse a recording
that no longer says what the key says (voice.script checks that against every rendering). Here the
files are found, read with mutagen (format and duration; never parsed by hand) and checked for what
can be told from the files alone. Twilio plays MP3 and WAV; other formats are refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import mutagen
from mutagen.mp3 import MP3
from mutagen.wave import WAVE

from ivr.content.prompts import ContentError, relative_name

FORMATS = {".mp3": (MP3, "audio/mpeg"), ".wav": (WAVE, "audio/wav")}
# Audio files a clinic may try that Twilio's <Play> does not take: refused with that reason.
OTHER_AUDIO = (".ogg", ".oga", ".opus", ".m4a", ".aac", ".flac", ".wma", ".aif", ".aiff", ".mp4", ".webm", ".amr")


@dataclass(frozen=True)
class Recording:
    lang: str
    key: str  # the dotted voice.yaml key it replaces
    path: Path
    text: str  # what it says, from <key>.txt, whitespace folded
    seconds: float
    mimetype: str
    version: str  # a hash of the audio, in its URL, so a new recording is never served from a stale cache

    @property
    def filename(self) -> str:
        return self.path.name


def fold(text: str) -> str:
    return " ".join(text.split())


def find(root: Path, lang: str, problem) -> dict[str, Recording]:
    """The recordings of ``lang`` by key; ``problem(path, key, reason)`` for each one refused."""
    folder = Path(root) / lang / "audio"
    if not folder.is_dir():
        return {}
    found: dict[str, Recording] = {}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        key = path.name[: -len(suffix)] if suffix else path.name
        if suffix in OTHER_AUDIO:
            problem(path, key, f"Twilio does not play {suffix} files: use MP3 or WAV")
            continue
        if suffix not in FORMATS or not path.is_file():
            continue
        kind, mimetype = FORMATS[suffix]
        try:
            audio = mutagen.File(path)
        except (mutagen.MutagenError, OSError) as exc:
            problem(path, key, f"cannot be read as audio ({type(exc).__name__}: {exc})")
            continue
        if not isinstance(audio, kind) or not audio.info or not audio.info.length:
            problem(path, key, f"is not a playable {suffix[1:].upper()} file (mutagen read it as {type(audio).__name__})")
            continue
        text_path = path.with_suffix(".txt")
        if not text_path.is_file():
            problem(path, key, f"has no {text_path.name} beside it: write the exact text it was made from there")
            continue
        try:
            text = fold(text_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            problem(text_path, key, f"cannot be read as UTF-8 text ({type(exc).__name__})")
            continue
        if key in found:
            problem(path, key, f"{found[key].filename} is a recording of the same key: keep one")
            continue
        version = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        found[key] = Recording(lang, key, path, text, float(audio.info.length), mimetype, version)
    return found


def load(content) -> dict[str, dict[str, Recording]]:
    """Every language's recordings; raise ContentError listing each file refused, with the reason."""
    problems: list[tuple[str, str, str]] = []
    found = {}
    for lang in content.languages:
        found[lang] = find(content.root, lang, lambda path, key, reason: problems.append((relative_name(content.root, path), key, reason)))
    if problems:
        raise ContentError(problems)
    return found
