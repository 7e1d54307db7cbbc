"""`importer publish`: publish, when ready, the drafts a run created (the guide's content pipeline:
create as drafts, add content in the platform, then publish programmatically).

From a run's results file (the same record `undo` reads): the courses it created, or the rows named.
Each is read first and planned:

    publish            a draft: PUT publishedStatus=published (on the content API: its release call)
    already_published  nothing to do
    archived           left alone: publishing would bring back a course someone archived
    not_found          no longer on the platform
    not_in_run         a row named that the run did not create or update (nothing to publish)

What it did is written as a results file of its own, in the run's format (a Run sheet, a Results
sheet, a Changes sheet with the previous status), so that `importer undo` of that file puts the
courses back to draft, and running the same publish again sends nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.outcomes import FAILED, NOT_ATTEMPTED, UPDATED, Change, RowOutcome
from ..errors import BadKey, TargetError
from ..files.results import CHANGE_COLUMNS, RUN_SHEET
from ..files.writing import Table, write_workbook
from .undoing import RESULTS_KIND, RunRecord

PUBLISH, ALREADY, ARCHIVED, NOT_FOUND, NOT_IN_RUN = (
    "publish", "already_published", "archived", "not_found", "not_in_run")
PUBLISHED = "published"
RESULT_COLUMNS = ("source_row", "course_id", "title", "slug", "action", "status", "message")


@dataclass
class PublishAction:
    course_id: str | None
    row: int
    kind: str
    course: dict | None = None
    message: str = ""

    @property
    def title(self) -> str:
        return str((self.course or {}).get("title") or "")


def parse_rows(text: str | None) -> set[int] | None:
    """`2,5-9, 14` -> {2, 5, 6, 7, 8, 9, 14}: rows of the run's sheet, as its results number them."""
    if text is None:
        return None
    rows: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", part)
        if not match:
            raise TargetError(f"--rows: '{part}' is not a row number or a range like 5-9")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        if last < first or last - first > 1_000_000:
            raise TargetError(f"--rows: '{part}' is not a range from a smaller row to a larger one")
        rows.update(range(first, last + 1))
    if not rows:
        raise TargetError("--rows names no row")
    return rows


def chosen_courses(record: RunRecord, rows: set[int] | None) -> tuple[dict[str, int], list[int]]:
    """{course id: row} to publish — every course the run created, or those of the rows named —
    and the rows named that the run neither created nor updated."""
    if rows is None:
        return dict(record.created), []
    by_row = {row: course_id for course_id, row in record.rows.items()}
    return {by_row[row]: row for row in sorted(rows) if row in by_row}, sorted(r for r in rows if r not in by_row)


def plan_publish(chosen: dict[str, int], current: dict[str, dict | None],
                 unknown_rows: list[int]) -> list[PublishAction]:
    actions = []
    for course_id, row in sorted(chosen.items(), key=lambda item: item[1]):
        course = current.get(course_id)
        if course is None:
            actions.append(PublishAction(course_id, row, NOT_FOUND, message="no longer on the platform"))
        elif course.get("publishedStatus") == PUBLISHED:
            actions.append(PublishAction(course_id, row, ALREADY, course, "already published"))
        elif course.get("publishedStatus") == "archived":
            actions.append(PublishAction(course_id, row, ARCHIVED, course,
                                         "archived on the platform: left alone (publish it in the admin screens "
                                         "if it should come back)"))
        else:
            actions.append(PublishAction(course_id, row, PUBLISH, course,
                                         f"{course.get('publishedStatus') or 'draft'} -> published"))
    for row in unknown_rows:
        actions.append(PublishAction(None, row, NOT_IN_RUN,
                                     message="the run did not create or update a course from this row"))
    return actions


def summary(actions: list[PublishAction]) -> str:
    count = {kind: sum(1 for a in actions if a.kind == kind) for kind in (PUBLISH, ALREADY, ARCHIVED, NOT_FOUND,
                                                                          NOT_IN_RUN)}
    parts = [f"publish {count[PUBLISH]} drafts"]
    parts += [f"{count[k]} {label}" for k, label in ((ALREADY, "already published"),
                                                     (ARCHIVED, "archived (left alone)"),
                                                     (NOT_FOUND, "no longer on the platform"),
                                                     (NOT_IN_RUN, "rows the run did not create"))
              if count[k]]
    return "Publish: " + ", ".join(parts)


def publish(importer, actions: list[PublishAction]) -> tuple[dict[str, RowOutcome], bool]:
    """Send each publish (`importer`: an `applying.Importer`), paced and retried like any write, the
    previous status journaled first. A refused key or a server gone leaves the rest not attempted, and
    what was published is still written down. Returns ({course id: outcome}, interrupted)."""
    def one(action):
        outcome = publish_one(importer, action)
        importer.progress.row_done(outcome)
        return action.course_id, outcome

    def left(action, why):
        return action.course_id, RowOutcome(action.row, NOT_ATTEMPTED, action.course_id, error_code="NOT_ATTEMPTED",
                                            error_message=f"the publish stopped before this course: {why}")

    return importer.each_write([a for a in actions if a.kind == PUBLISH], one, left)


def publish_one(importer, action: PublishAction) -> RowOutcome:
    change = Change("publishedStatus", (action.course or {}).get("publishedStatus") or "draft", PUBLISHED)
    run_id, target = importer.settings.run_id, importer.target
    importer.journal.record_update(target, run_id, action.course_id, action.row, (change,), applied=False)
    reply = importer.read(lambda: importer.api.update(action.course_id, {"publishedStatus": PUBLISHED}))
    if reply.kind == "auth":
        raise BadKey(f"the API key was refused (HTTP {reply.status}); the key may have been revoked")
    if reply.kind != "ok":
        return RowOutcome(action.row, FAILED, action.course_id, error_code=reply.code, error_message=reply.message)
    importer.journal.record_update(target, run_id, action.course_id, action.row, (change,), applied=True)
    return RowOutcome(action.row, UPDATED, action.course_id, (action.course or {}).get("slug"), changes=(change,))


def write_publish_results(path: Path, record: RunRecord, actions: list[PublishAction], done: dict,
                          facts: dict) -> None:
    """What the publish did, in the run's results format: `importer undo` of this file puts the
    published courses back to draft."""
    rows, changes = [], []
    for action in actions:
        outcome = done.get(action.course_id) if action.kind == PUBLISH else None
        if action.kind == PUBLISH:
            outcome = outcome or RowOutcome(action.row, NOT_ATTEMPTED, action.course_id,
                                            error_message="the publish was interrupted before this course")
            status, message = ("updated", "published") if outcome.status == UPDATED else \
                (outcome.status, outcome.error_message or "")
            for change in outcome.changes:
                changes.append([action.row, action.course_id, change.field, change.current, change.new,
                                "yes", json.dumps(change.current), json.dumps(change.new)])
        else:
            status, message = action.kind, action.message
        rows.append([action.row, action.course_id, action.title, (action.course or {}).get("slug"), action.kind,
                     status, message])
    write_workbook(path, [
        Table(RESULT_COLUMNS, rows, sheet_name="Results", text_columns={1, 3},
              widths={0: 10, 1: 18, 2: 40, 3: 24, 4: 18, 5: 18, 6: 60}),
        Table(CHANGE_COLUMNS, changes, sheet_name="Changes", widths={0: 10, 1: 18, 2: 22, 3: 14, 4: 14}),
        Table(("fact", "value"), [[k, v] for k, v in facts.items()], sheet_name=RUN_SHEET, widths={0: 20, 1: 60}),
    ])


def publish_facts(record: RunRecord, target: str, run_id: str, started: str, api: str, version: str) -> dict:
    return {"kind": RESULTS_KIND, "run_id": run_id, "target": target, "api": api, "what": "importer publish",
            "published from": str(record.path), "run published": record.run_id, "started": started,
            "finished": now_iso(), "importer_version": version}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
