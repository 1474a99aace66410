"""Opt-outs the database could not take yet: honoured at once, kept on disk, stored as soon as it answers.

An opt-out whose write fails is never lost and never ignored:

- the process keeps it in memory, and appends it (one JSON line, flushed and fsynced) to the
  journal file, IVR_OPT_OUT_JOURNAL (default ``instance/opt-outs-pending.jsonl``): no number in it,
  only the keyed hash, the channel and the word;
- while it is pending, nothing is sent to that number on that channel: the text line treats it as
  opted out (silence, HELP aside) and "text me" as OPTED_OUT. Every worker on the host reads the
  journal too, so the next text, answered by another worker, is silent as well;
- a background thread tries to store every pending opt-out each IVR_OPT_OUT_RETRY_SECONDS (1 s),
  so they reach the database within about a second of its return; then the journal is emptied;
- at start-up each worker replays the journal left by a process that stopped before it could
  store it: "across a restart" holds when the instance folder is on a disk that survives restarts
  (a Procfile platform's is wiped: there, only the running processes keep them).

Several workers share one journal: appends, reads and rewrites hold an exclusive ``flock`` on it
(never while the database is asked), and storing is an INSERT that ignores an opt-out already
there, so a replay by two workers stores each once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from ivr import thread_names

log = logging.getLogger(__name__)


def journal_path(settings) -> Path:
    return settings.opt_out_journal or Path(settings.instance_path) / "opt-outs-pending.jsonl"


class OptOutJournal:
    def __init__(self, storage, path: Path, retry_seconds: float = 1.0):
        self.storage = storage
        self.path = Path(path)
        self.retry_seconds = retry_seconds
        self._pending: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: tuple[int, int] | None = None  # (size, mtime_ns) of the journal when last read
        self._on_disk: set[tuple[str, str]] = set()

    # --- what the webhooks use ------------------------------------------------------------------
    def add(self, number_hash: str, channel: str, word: str | None, by_twilio: bool | None) -> None:
        """Keep an opt-out the database refused: in memory and in the journal, and retry it."""
        entry = {"number_hash": number_hash, "channel": channel, "word": word, "by_twilio": by_twilio}
        with self._lock:
            self._pending[(number_hash, channel)] = entry
        try:
            with self._locked("a") as handle:
                handle.write(json.dumps(entry) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # memory still holds it: honoured while this process runs
            log.error("opt_out journal write failed path=%s error=%s", self.path, type(exc).__name__)
        log.warning("opt_out outcome=pending channel=%s (kept in %s until the database takes it)", channel, self.path)
        self.start()

    def holds(self, number_hash: str | None, channel: str) -> bool:
        """Whether an opt-out of this number on ``channel`` waits to be stored, here or in another worker."""
        if number_hash is None:
            return False
        with self._lock:
            if (number_hash, channel) in self._pending:
                return True
        return (number_hash, channel) in self._journal_entries()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    # --- storing ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Replay the journal (if not empty) and keep retrying in a thread until all is stored."""
        if self._journal_entries() or self.pending():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="opt-out-journal", daemon=True)
                    self._thread.start()
            self._wake.set()

    def store_pending(self) -> bool:
        """One attempt: store what memory and the journal hold, then empty both. True when nothing is left."""
        entries: dict[tuple[str, str], dict] = {}
        try:
            with self._locked("a+") as handle:
                handle.seek(0)
                entries = {(e["number_hash"], e["channel"]): e for e in _parse(handle.read())}
            with self._lock:
                entries.update(self._pending)
            if entries:  # without the file's lock: a webhook's add() never waits on the database
                self.storage.store_opt_outs(list(entries.values()))
            with self._locked("a+") as handle:  # keep what was added meanwhile, drop what is stored
                handle.seek(0)
                left = [e for e in _parse(handle.read()) if (e["number_hash"], e["channel"]) not in entries]
                handle.truncate(0)
                handle.write("".join(json.dumps(e) + "\n" for e in left))
                handle.flush()
                os.fsync(handle.fileno())
        except SQLAlchemyError as exc:
            log.info("opt_out journal retry failed pending=%d error=%s", len(entries), type(exc).__name__)
            return False
        except OSError as exc:
            log.error("opt_out journal unreadable path=%s error=%s", self.path, type(exc).__name__)
            return False
        with self._lock:
            for key in entries:
                self._pending.pop(key, None)
        if entries:
            log.warning("opt_out outcome=stored_from_journal count=%d", len(entries))
        return True

    def _run(self) -> None:
        thread_names.show()
        while True:
            self._wake.wait(self.retry_seconds)
            self._wake.clear()
            if self.store_pending() and not self.pending():
                with self._lock:
                    if not self._pending:
                        self._thread = None
                        return

    # --- the file ---------------------------------------------------------------------------------
    @contextmanager
    def _locked(self, mode: str):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, mode, encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _journal_entries(self) -> set[tuple[str, str]]:
        """The (hash, channel) pairs in the journal file; re-read only when it changed (a stat a call)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return set()
        seen = (stat.st_size, stat.st_mtime_ns)
        if seen != self._seen:
            try:
                text = self.path.read_text(encoding="utf-8") if stat.st_size else ""
            except OSError:
                return self._on_disk
            self._on_disk = {(e["number_hash"], e["channel"]) for e in _parse(text)}
            self._seen = seen
        return self._on_disk


def _parse(text: str) -> list[dict]:
    """The journal's entries; a line cut short by a crash mid-write is skipped."""
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("number_hash") and entry.get("channel"):
            entries.append(entry)
    return entries
