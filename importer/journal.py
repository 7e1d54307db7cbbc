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
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .outcomes import CREATED, FAILED

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
"""


@dataclass(frozen=True)
class Entry:
    status: str
    course_id: str | None
    course_slug: str | None


class Journal:
    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, target: str, identity: str) -> Entry | None:
        row = self._db.execute("SELECT status, course_id, course_slug FROM courses WHERE target=? AND identity=?",
                               (target, identity)).fetchone()
        return Entry(*row) if row else None

    def entries(self, target: str) -> dict[str, Entry]:
        rows = self._db.execute("SELECT identity, status, course_id, course_slug FROM courses WHERE target=?",
                                (target,))
        return {identity: Entry(status, cid, slug) for identity, status, cid, slug in rows}

    def record_update(self, target: str, run_id: str, course_id: str, source_row: int, changes,
                      *, applied: bool) -> None:
        stamp = _now()
        with self._db:
            self._db.executemany(
                "INSERT INTO updates (target, run_id, course_id, source_row, field, previous, new, applied,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, run_id, course_id, field)"
                " DO UPDATE SET applied=excluded.applied, updated_at=excluded.updated_at",
                [(target, run_id, course_id, source_row, c.field, json.dumps(c.current), json.dumps(c.new),
                  int(applied), stamp) for c in changes])

    def updates(self, target: str, run_id: str) -> list[tuple]:
        """(course_id, field, previous, new, applied) of one run, values decoded."""
        rows = self._db.execute("SELECT course_id, field, previous, new, applied FROM updates WHERE target=? AND "
                                "run_id=? ORDER BY source_row, field", (target, run_id))
        return [(cid, f, json.loads(p), json.loads(n), bool(a)) for cid, f, p, n, a in rows]

    def record(self, target: str, identity: str, status: str, *, course_id: str | None = None,
               course_slug: str | None = None, source_file: str | None = None,
               source_row: int | None = None) -> None:
        self._db.execute(
            "INSERT INTO courses (target, identity, status, course_id, course_slug, source_file, source_row,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, identity) DO UPDATE SET"
            " status=excluded.status, course_id=excluded.course_id, course_slug=excluded.course_slug,"
            " source_file=excluded.source_file, source_row=excluded.source_row, updated_at=excluded.updated_at",
            (target, identity, status, course_id, course_slug, source_file, source_row,
             _now()))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def identity_key(identity: tuple[str, str]) -> str:
    field_name, value = identity
    return f"{field_name}:{value}"


def default_state_dir(input_path) -> Path:
    return Path(input_path).resolve().parent / ".importer"
