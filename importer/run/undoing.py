"""`importer undo`: take back what a run did, from its results file alone.

A run's results file records what the run was (its `Run` sheet: target, run id, times) and
what it did: each row's status and course id, and in its `Changes` sheet every field it
updated with the exact previous value (`previous_json`). Undo reads that, reads the current
state of each of those courses from the platform, and plans:

    restore         an updated course still holding what the run left: PUT the previous values
    archive         a created course untouched since: PUT publishedStatus=archived (the API
                    has no delete; its title, slug and External ID stay taken)
    changed_since   somebody changed the course after the run: left alone (unless force)
    already_undone  the course already holds the previous values, or is archived
    not_found       the course is no longer on the platform
    not_this_run    the results file says the run created it, but the course was created outside
                    the run's window (and the journal does not know it): a results file edited by
                    hand must not archive someone else's course; left alone (unless force)
    archive_by_hand a created course, on an API with no documented way to archive one (the content
                    API): listed, to be archived in the platform's admin screens

Running the same undo again finds everything `already_undone` and sends nothing, so an
interrupted undo is completed by running it again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core import fields
from ..errors import FileUnusable, TargetError
from .planning import same_value

RESTORE, ARCHIVE, CHANGED_SINCE, ALREADY_UNDONE, NOT_FOUND = (
    "restore", "archive", "changed_since", "already_undone", "not_found")
NOT_THIS_RUN = "not_this_run"  # the results say created, but the platform says someone else made it
# A created course on an API with no documented way to archive (the content API): listed for the
# admin screens, never a write invented for it.
BY_HAND = "archive_by_hand"
CLOCK_SLACK = dt.timedelta(minutes=10)  # the server's clock and ours may differ a little
WRITES = (RESTORE, ARCHIVE)
RESULTS_KIND = "importer run results"
ARCHIVED = "archived"


@dataclass(frozen=True)
class FieldChange:
    field: str  # the API name, or customFields.<key>
    previous: object
    new: object  # what the run left


@dataclass
class RunRecord:
    """What one run did, as its results file says."""

    path: Path
    target: str
    run_id: str
    finished: str
    started: str = ""
    created: dict[str, int] = field(default_factory=dict)  # course id -> source row
    updated: dict[str, list[FieldChange]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # course id -> source row, for both


@dataclass
class UndoAction:
    course_id: str
    row: int
    kind: str
    body: dict | None = None  # what a write sends
    message: str = ""


def read_run_record(path) -> RunRecord:
    """The run a results file records. Raises `FileUnusable` for anything that is not a
    run's results (undo must never act on a guess)."""
    from ..files.writing import is_csv
    from ..read.reading import read_sheet

    path = Path(path)
    csv_file = is_csv(path)
    if not path.is_file():
        raise FileUnusable(path, "file not found")
    not_results = ("is not the results file of an `importer run` (it has no Run facts: "
                   + ("no .run.csv beside it" if csv_file else "no Run sheet")
                   + "); give the results file the run wrote")
    try:
        facts = _table(read_sheet(_sidecar(path, "run") if csv_file else path, None if csv_file else "Run"))
    except FileUnusable as exc:
        raise FileUnusable(path, not_results) from exc
    facts = {row.get("fact"): row.get("value") for row in facts}
    if facts.get("kind") != RESULTS_KIND or not facts.get("target") or not facts.get("run_id"):
        raise FileUnusable(path, not_results)
    record = RunRecord(path, str(facts["target"]), str(facts["run_id"]), str(facts.get("finished") or ""),
                       str(facts.get("started") or ""))
    for row in _table(read_sheet(path, None if csv_file else "Results")):
        course_id, status = row.get("course_id"), row.get("status")
        if not course_id:
            continue
        number = int(row.get("source_row") or 0)
        if status == "created":
            record.created[str(course_id)] = number
            record.rows[str(course_id)] = number
        elif status == "updated":
            record.rows[str(course_id)] = number
    _read_archived_missing(path, csv_file, record)
    changes_file = _sidecar(path, "changes") if csv_file else path
    if record.rows.keys() - record.created.keys():
        changes = _table(read_sheet(changes_file, None if csv_file else "Changes"))
        for row in changes:
            course_id = str(row.get("course_id") or "")
            if row.get("applied") != "yes" or course_id in record.created or course_id not in record.rows:
                continue
            try:
                change = FieldChange(str(row["field"]), json.loads(row["previous_json"]), json.loads(row["new_json"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise FileUnusable(path, f"its Changes row for course {course_id} has no exact previous value "
                                         "(previous_json); it was written by an older importer") from exc
            record.updated.setdefault(course_id, []).append(change)
    return record


def _read_archived_missing(path: Path, csv_file: bool, record: RunRecord) -> None:
    """The courses the run archived because no row named them (--missing archive): undone like updates,
    their previous published status restored from the Changes sheet."""
    from ..read.reading import read_sheet

    where = _sidecar(path, "missing") if csv_file else path
    if csv_file and not where.is_file():
        return
    try:
        rows = _table(read_sheet(where, None if csv_file else "Missing"))
    except FileUnusable:  # no Missing sheet: the run archived nothing
        return
    for row in rows:
        if row.get("status") == "archived" and row.get("course_id"):
            record.rows.setdefault(str(row["course_id"]), 0)


def _sidecar(path: Path, what: str) -> Path:
    return path.with_name(f"{path.stem}.{what}{path.suffix}")


def _table(sheet) -> list[dict]:
    """A sheet's rows as {header: text}: empty cells as "", numbers as their text."""
    return [dict(zip(sheet.headers, ("" if c is None else str(c) for c in cells), strict=False))
            for _, cells in sheet.rows]


def check_target(record: RunRecord, base_url: str) -> None:
    if record.target.rstrip("/") != base_url.rstrip("/"):
        raise TargetError(f"{record.path} records a run on {record.target}, not on {base_url}: undo acts only on "
                          "the instance the run changed. Nothing was sent")


def plan_undo(record: RunRecord, current: dict[str, dict | None], *, force: bool = False,
              journaled: set[str] | frozenset = frozenset(), can_archive: bool = True) -> list[UndoAction]:
    """One action per course the run created or updated, from what each holds now. `journaled`:
    the course ids the journal of the run's folder records as created. `can_archive`: False when
    the API spoken has no way to archive a course (`TargetLimits.can_archive`)."""
    actions = []
    for course_id, number in sorted(record.rows.items(), key=lambda item: item[1]):
        course = current.get(course_id)
        if course is None:
            actions.append(UndoAction(course_id, number, NOT_FOUND, message="no longer on the platform"))
        elif course_id in record.created:
            stranger = None if force else _made_elsewhere(record, course, course_id in journaled)
            if stranger:
                actions.append(UndoAction(course_id, number, NOT_THIS_RUN, message=stranger))
            elif not can_archive and course.get("publishedStatus") != ARCHIVED:
                # Nothing can be sent, so nothing is weighed: every course the run made is listed.
                actions.append(UndoAction(course_id, number, BY_HAND, message=(
                    "created by the run; the API this instance speaks has no documented way to archive a course, "
                    f"so nothing was sent: archive course {course_id} in the platform's admin screens")))
            else:
                actions.append(_undo_create(course_id, number, course, force))
        else:
            actions.append(_undo_update(course_id, number, course, record.updated.get(course_id, []), force))
    return actions


def _made_elsewhere(record: RunRecord, course: dict, journaled: bool) -> str | None:
    """Why this course was not created by the run, if it was not: its createdAt lies outside the
    run's window (or, without one, the journal does not know it)."""
    created, started, finished = (_moment(course.get("createdAt")), _moment(record.started),
                                  _moment(record.finished))
    if created and started and finished:
        if started - CLOCK_SLACK <= created <= finished + CLOCK_SLACK:
            return None
        return (f"not created by this run: the platform says it was created {course['createdAt']}, and the run "
                f"ran from {record.started} to {record.finished} (was the results file edited?); left alone "
                "(--force archives it anyway)")
    if journaled:
        return None
    return ("not known to have been created by this run (no creation time to compare, and the journal does not "
            "record it); left alone (--force archives it anyway)")


def _moment(text) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _undo_create(course_id: str, number: int, course: dict, force: bool) -> UndoAction:
    if course.get("publishedStatus") == ARCHIVED:
        return UndoAction(course_id, number, ALREADY_UNDONE, message="already archived")
    edited = course.get("updatedAt") and course.get("createdAt") and course["updatedAt"] != course["createdAt"]
    if edited and not force:
        return UndoAction(course_id, number, CHANGED_SINCE,
                          message=f"changed since the run created it (updated {course['updatedAt']}); left as it "
                                  "is (--force archives it anyway)")
    return UndoAction(course_id, number, ARCHIVE, {"publishedStatus": ARCHIVED},
                      "archive: the API cannot delete a course; its title, slug and External ID stay taken")


def _undo_update(course_id: str, number: int, course: dict, changes: list[FieldChange], force: bool) -> UndoAction:
    if not changes:
        return UndoAction(course_id, number, ALREADY_UNDONE, message="the run recorded no field it changed")
    if all(_holds(course, c.field, c.previous) for c in changes):
        return UndoAction(course_id, number, ALREADY_UNDONE, message="already holds the previous values")
    moved = [c.field for c in changes if not _holds(course, c.field, c.new)]
    if moved and not force:
        return UndoAction(course_id, number, CHANGED_SINCE,
                          message=f"changed since the run in {', '.join(moved)}; left as it is (--force restores "
                                  "the previous values anyway)")
    body: dict = {}
    custom = dict(course.get("customFields") or {})
    for change in changes:
        if change.field.startswith(fields.CUSTOM_FIELD_PREFIX):
            key = change.field[len(fields.CUSTOM_FIELD_PREFIX):]
            if change.previous is None:
                custom.pop(key, None)
            else:
                custom[key] = change.previous
            body["customFields"] = custom
        elif change.previous is None and fields.cleared_value(change.field) is not None:
            body[change.field] = fields.cleared_value(change.field)  # null in a PUT leaves a field as it is
        else:
            body[change.field] = change.previous
    return UndoAction(course_id, number, RESTORE, body,
                      "restore " + ", ".join(c.field for c in changes))


def _holds(course: dict, name: str, value) -> bool:
    if name.startswith(fields.CUSTOM_FIELD_PREFIX):
        return (course.get("customFields") or {}).get(name[len(fields.CUSTOM_FIELD_PREFIX):]) == value
    if value is None:
        return course.get(name) in (None, "", [])
    return same_value(name, value, course.get(name))


def summary(actions: list[UndoAction]) -> str:
    count = {kind: sum(1 for a in actions if a.kind == kind) for kind in (RESTORE, ARCHIVE, CHANGED_SINCE,
                                                                          ALREADY_UNDONE, NOT_FOUND, NOT_THIS_RUN,
                                                                          BY_HAND)}
    parts = [f"restore {count[RESTORE]} updated courses", f"archive {count[ARCHIVE]} created courses"]
    if count[BY_HAND]:
        parts.append(f"{count[BY_HAND]} created courses to archive by hand in the admin screens (this API has "
                     "no call for it)")
    skipped = [f"{count[k]} {label}" for k, label in ((CHANGED_SINCE, "changed since the run (skipped)"),
                                                      (ALREADY_UNDONE, "already undone"),
                                                      (NOT_FOUND, "no longer on the platform"),
                                                      (NOT_THIS_RUN, "not created by this run (refused)"))
               if count[k]]
    return "Undo: " + ", ".join(parts) + ("; " + ", ".join(skipped) if skipped else "")
