"""Editing a copy of prompts/ in a test, and reading the problems start-up finds in it."""

from __future__ import annotations

import pytest

from ivr.content import prompts as content


def edit(path, old: str, new: str) -> None:
    """Replace the first ``old`` in the file at ``path`` (which must contain it) with ``new``."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def problems(prompts) -> list[tuple[str, str, str]]:
    """The (file, key, reason) problems that refuse the prompts folder at ``prompts``."""
    with pytest.raises(content.ContentError) as err:
        content.load(prompts)
    return err.value.problems
