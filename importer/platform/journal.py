"""The journal: what was sent to which target, written down before and after each POST.

A SQLite file (WAL, synchronous=FULL: every transition is on disk before the next request
goes out) keyed by target and course identity (externalId, else slug, else title). It is
what makes a second run, a run after a crash or `kill -9`, and a run of the failures file
send nothing for a course that already exists:

    sending  the POST may be on the wire: the course may exist. Look it up before resending.
    created  the server gave it an id.
    failed   the server rejected it (or it could not be reached); safe to try again.

Updates are journaled too (`updates`): for each run and course, the previous and the new
value of every field the run changes, written before the PUT and marked applied after it,
so that the run can be taken back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from ..core.outcomes import CREATED, FAILED
from ..core.system import lock_file, remove_while_locked, same_file
from ..errors import JournalBusy, JournalUnusable

SENDING = "sending"
__all__ = ["CREATED", "FAILED", "SENDING", "Entry", "Journal", "default_state_dir", "identity_key"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS courses (
    target      TEXT NOT NULL,
    identity    TEXT NOT NULL,
    status      TEXT NOT NULL,
    course_id   TEXT,
    course_slug TEXT,
    source_file TEXT,
    source_row  INTEGER,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (target, identity)
);
CREATE TABLE IF NOT EXISTS updates (
    target      TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    course_id   TEXT NOT NULL,
    source_row  INTEGER,
    field       TEXT NOT NULL,
    previous    TEXT,               -- JSON
    new         TEXT,               -- JSON
    applied     INTEGER NOT NULL,   -- 0: about to be sent, 1: the server accepted it
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (target, run_id, course_id, field)
);
CREATE TABLE IF NOT EXISTS kept (
    target      TEXT NOT NULL,
    course_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    sent        TEXT NOT NULL,      -- JSON: the value last sent
    stored      TEXT NOT NULL,      -- JSON: what the server held right after
    PRIMARY KEY (target, course_id, field)
);
"""
# Fields whose value the server may rewrite when it stores it (an HTML description: tags cleaned, kept or
# renamed, attributes added): what it kept of what was last sent is remembered, so that the same value
# sent again is never a change, whatever the server does to it.
REWRITTEN_FIELDS = ("description",)


@dataclass(frozen=True)
class Entry:
    status: str
    course_id: str | None
    course_slug: str | None


class Journal:
    """The journal of one state folder, owned by one run at a time: opening it takes its lock
    (`journal.sqlite3.lock`, released by the system when the process ends, however it ends),
    and a second run refuses at once, naming the first. One connection serves any thread (a
    page plans in one thread and applies in another); a lock keeps their calls apart."""

    def __init__(self, path, *, owner: str = ""):
        self.path = Path(path)
        self._lock_file = None
        self._calls = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalUnusable(self.path, f"its folder cannot be made ({exc.strerror})") from None
        self._take_lock(owner)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=2.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            self._db.execute("SELECT count(*) FROM courses").fetchone()
            # Writable now, not at the first course: a lock held by another program, a read-only
            # file or a full disk stops the run before anything is sent.
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self._release_lock()
            raise journal_error(self.path, exc) from None

    def _take_lock(self, owner: str) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        for _ in range(5):  # a finished run removes its lock file: the one locked must be the one there
            try:
                handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the journal's life
            except OSError as exc:
                raise JournalUnusable(self.path, f"its lock file cannot be opened ({exc.strerror})") from None
            if not lock_file(handle):
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise JournalBusy(f"another run is using the journal {self.path} ({holder}); wait for it to end "
                                  "and run again. Two runs at once could send the same course twice")
            if same_file(handle, lock_path):
                break
            handle.close()
        handle.seek(0)
        handle.truncate()  # the lock is on a byte far past this text (core.system.lock_file)
        handle.write(f"process {os.getpid()}, started {_now()[:19].replace('T', ' ')} UTC"
                     + (f", {owner}" if owner else ""))
        handle.flush()
        self._lock_file, self._lock_path = handle, lock_path

    def _release_lock(self) -> None:
        """The lock file goes with the run: nothing is left naming a process that has ended."""
        if self._lock_file is not None:
            remove_while_locked(self._lock_file, self._lock_path)
            self._lock_file.close()  # closing the file releases the lock
            self._lock_file = None

    def close(self) -> None:
        with self._calls:
            self._db.close()
        self._release_lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, target: str, identity: str) -> Entry | None:
        with self._calls:
            row = self._db.execute("SELECT status, course_id, course_slug FROM courses WHERE target=? AND identity=?",
                                   (target, identity)).fetchone()
        return Entry(*row) if row else None

    def entries(self, target: str) -> dict[str, Entry]:
        with self._calls:
            rows = self._db.execute("SELECT identity, status, course_id, course_slug FROM courses WHERE target=?",
                                    (target,)).fetchall()
        return {identity: Entry(status, cid, slug) for identity, status, cid, slug in rows}

    def record_update(self, target: str, run_id: str, course_id: str, source_row: int, changes,
                      *, applied: bool) -> None:
        stamp = _now()
        with self._calls, self._db:
            self._db.executemany(
                "INSERT INTO updates (target, run_id, course_id, source_row, field, previous, new, applied,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, run_id, course_id, field)"
                " DO UPDATE SET applied=excluded.applied, updated_at=excluded.updated_at",
                [(target, run_id, course_id, source_row, c.field, json.dumps(c.current), json.dumps(c.new),
                  int(applied), stamp) for c in changes])

    def record_kept(self, target: str, course_id: str, sent: dict, stored: dict) -> None:
        """What the server held of each rewritable field right after it was sent (`stored`: its course)."""
        pairs = [(target, course_id, name, json.dumps(sent[name]), json.dumps(stored[name]))
                 for name in REWRITTEN_FIELDS if name in sent and name in stored and stored[name] != sent[name]]
        if pairs:
            with self._calls, self._db:
                self._db.executemany("INSERT INTO kept (target, course_id, field, sent, stored) VALUES (?, ?, ?, ?, ?)"
                                     " ON CONFLICT (target, course_id, field) DO UPDATE SET sent=excluded.sent,"
                                     " stored=excluded.stored", pairs)

    def kept(self, target: str) -> dict[tuple[str, str], tuple]:
        """{(course id, field): (the value last sent, what the server kept of it)} on this target."""
        with self._calls:
            rows = self._db.execute("SELECT course_id, field, sent, stored FROM kept WHERE target=?",
                                    (target,)).fetchall()
        return {(cid, name): (json.loads(sent), json.loads(stored)) for cid, name, sent, stored in rows}

    def updates(self, target: str, run_id: str) -> list[tuple]:
        """(course_id, field, previous, new, applied) of one run, values decoded."""
        with self._calls:
            rows = self._db.execute("SELECT course_id, field, previous, new, applied FROM updates WHERE target=? "
                                    "AND run_id=? ORDER BY source_row, field", (target, run_id)).fetchall()
        return [(cid, f, json.loads(p), json.loads(n), bool(a)) for cid, f, p, n, a in rows]

    def record(self, target: str, identity: str, status: str, *, course_id: str | None = None,
               course_slug: str | None = None, source_file: str | None = None,
               source_row: int | None = None) -> None:
        with self._calls:
            self._record(target, identity, status, course_id, course_slug, source_file, source_row)

    def _record(self, target, identity, status, course_id, course_slug, source_file, source_row) -> None:
        self._db.execute(
            "INSERT INTO courses (target, identity, status, course_id, course_slug, source_file, source_row,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, identity) DO UPDATE SET"
            " status=excluded.status, course_id=excluded.course_id, course_slug=excluded.course_slug,"
            " source_file=excluded.source_file, source_row=excluded.source_row, updated_at=excluded.updated_at",
            (target, identity, status, course_id, course_slug, source_file, source_row,
             _now()))


MOVE_ASIDE = ("Move it aside (rename it, e.g. to journal.sqlite3.damaged) and run again: the platform, when it can "
              "be read, knows which courses exist, and they are not sent again")


def journal_trouble(exc: sqlite3.Error) -> tuple[str, str]:
    """(what is wrong with the journal, what to do) for an error SQLite gave: read when the
    journal is opened (`journal_error`) and when a write fails mid-run (`applying`)."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return ("locked: another run (or a program holding the file open) is using it",
                "wait for it to end and run again")
    if "full" in text:
        return "the disk is full", "free some disk space and run again"
    if "readonly" in text or "read-only" in text:
        return "it is read-only (or its folder is)", MOVE_ASIDE
    if "not a database" in text or "malformed" in text or "corrupt" in text or "disk i/o" in text:
        return "it is damaged (not a journal any more)", MOVE_ASIDE
    return str(exc), MOVE_ASIDE


def journal_error(path: Path, exc: sqlite3.Error) -> JournalUnusable:
    """What went wrong with the journal file, and what to do, in one line."""
    why, advice = journal_trouble(exc)
    if why.startswith("locked"):
        return JournalBusy(f"the journal {path} is {why}; {advice}")
    return JournalUnusable(path, f"{why}. {advice[0].upper()}{advice[1:]}")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def identity_key(identity: tuple[str, str]) -> str:
    field_name, value = identity
    return f"{field_name}:{value}"


def default_state_dir(input_path) -> Path:
    return Path(input_path).resolve().parent / ".importer"
