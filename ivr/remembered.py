"""A bounded memory of answers that cost a library call each time (phonenumbers' parsing), shared by threads.

The caller's number must never be held (ivr/privacy.py), so a key is always a keyed hash of what was
asked; the memory keeps the most recently used ``limit`` answers and forgets the oldest.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator

MISSING = object()  # get()'s answer for a key not remembered (None is an answer worth remembering)


class Remembered:
    def __init__(self, limit: int):
        self.limit = limit
        self._answers: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable):
        """The answer remembered for ``key`` (now the most recently used), or MISSING."""
        with self._lock:
            answer = self._answers.get(key, MISSING)
            if answer is not MISSING:
                self._answers.move_to_end(key)
            return answer

    def put(self, key: Hashable, answer) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.limit:
                self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)

    def __iter__(self) -> Iterator:
        """The keys, oldest first (a copy: others may be remembering meanwhile)."""
        with self._lock:
            return iter(list(self._answers))

    def values(self) -> list:
        with self._lock:
            return list(self._answers.values())
