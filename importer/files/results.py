"""What `importer run` leaves behind: the results sheet and the failures file.

Both keep the input's own columns, header labels and order, so the failures file can be
fixed and run again as it is. The importer's own columns go last; when the input is
itself a results or failures file, its old copies of those columns are replaced.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..check.validating import ValidationResult
from ..core.fields import OUTPUT_COLUMNS, importer_columns
from ..core.outcomes import FAILURE_STATUSES, RunReport
from ..errors import OutputExists
from .writing import (
    CellTooLong,
    Table,
    as_written,
    cell_marks,
    dropdowns_for,
    id_columns,
    is_csv,
    sheet_widths,
    write_table,
    write_workbook,
)

# previous_json / new_json: the exact values, as JSON, for `importer undo` (the columns before
# them show the values for a person: a list one item per line).
CHANGE_COLUMNS = ("source_row", "course_id", "field", "previous_value", "new_value", "applied",
                  "previous_json", "new_json")
RUN_SHEET = "Run"  # what the run was: target, run id, times; undo checks it before anything
PLAN_COLUMNS = ("source_row", "action", "course_id", "error_code", "message")

FAILURE_COLUMNS = ("source_row", "error_code", "error_message")
# The scope's courses no row names (--missing): a sheet of their own, `<results>.missing.csv` beside a CSV.
MISSING_SHEET = "Missing"
MISSING_COLUMNS = ("course_id", "title", "external_id", "slug", "source", "published_status", "status", "message")


@dataclass
class OutputPaths:
    results: Path
    failures: Path
    claimed: list[Path] = field(default_factory=list)  # made empty by this run, to be written or removed

    @property
    def log(self) -> Path:
        return self.results.with_name(f"{self.results.stem}.log.jsonl")

    def release(self) -> None:
        """Remove the claimed files this run left empty (no failures, or a run that never started), and
        the run log of a run refused before it wrote anything (a bad key, a "no"): no results, nothing
        sent, nothing to keep. A log that records a write always stays."""
        unwritten = [path for path in self.claimed if _empty(path)]
        for path in unwritten:
            try:
                path.unlink()
            except OSError:
                pass
        if self.results in unwritten and not _records_a_write(self.log):
            try:
                self.log.unlink()
            except OSError:
                pass
        self.claimed = []


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _records_a_write(log: Path) -> bool:
    """Whether a run log holds a POST or PUT (whatever its answer): such a log is the run's trail."""
    try:
        with log.open(encoding="utf-8") as handle:
            return any('"method": "POST"' in line or '"method": "PUT"' in line for line in handle)
    except OSError:
        return False


def choose_output_paths(input_path, results: str | None, failures: str | None) -> OutputPaths:
    """Paths given by the user must not exist (checked before anything is sent). Default
    paths sit beside the input and are numbered (-2, -3, …) past any earlier run's files."""
    source = Path(input_path)
    for given in (results, failures):
        if given and _exists(Path(given)):
            raise OutputExists(f"{given} already exists and would be overwritten; move it away or "
                               "choose another path")
    kind = ".csv" if is_csv(source) else ".xlsx"
    n = 1
    while True:
        tag = "" if n == 1 else f"-{n}"
        candidate = OutputPaths(
            Path(results) if results else source.with_name(f"{source.stem}.results{tag}.xlsx"),
            Path(failures) if failures else source.with_name(f"{source.stem}.failures{tag}{kind}"),
        )
        # Only default paths move on to the next number. The log follows the results sheet and
        # is appended to: a log left by a run that never started (a refused key) does not
        # move the next run's files to -2.
        taken = [p for p, given in ((candidate.results, results), (candidate.failures, failures))
                 if not given and _exists(p)]
        if not taken and _claim(candidate, given=(results, failures)):
            return candidate
        n += 1


def _claim(paths: OutputPaths, given) -> bool:
    """Create both files empty, atomically (O_EXCL): a second run choosing at the same moment
    moves on to the next number instead of overwriting this run's results. A path that cannot
    be created at all is left for `writing.check_outputs` to explain."""
    for path, asked in zip((paths.results, paths.failures), given, strict=True):
        if path in paths.claimed:
            continue  # one path given for both: `writing.check_outputs` says so
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            paths.release()
            if asked:
                raise OutputExists(f"{asked} already exists and would be overwritten; move it away or choose "
                                   "another path") from None
            return False
        except OSError:
            continue
        paths.claimed.append(path)
    return True


def _exists(path: Path) -> bool:
    """Whether a file is there; a path that cannot even be looked at (a name too long, a file
    where a folder should be) is not, and `writing.check_outputs` says why it cannot be used."""
    try:
        return path.exists()
    except OSError:
        return False


def _kept_columns(validation: ValidationResult) -> list[int]:
    """The input's columns, less any importer output columns it carried from an earlier run."""
    ours = importer_columns(validation.sheet.headers)
    return [i for i in range(len(validation.sheet.headers)) if i not in ours]


def _text_columns(validation: ValidationResult, kept: list[int]) -> set[int]:
    """Positions (among the kept columns) of id columns: formatted as Text, so that an id
    retyped in Excel keeps its leading zeros."""
    ids = id_columns(validation.columns)
    return {position for position, index in enumerate(kept) if index in ids}


def _row_values(validation: ValidationResult, kept: list[int]):
    ids = id_columns(validation.columns)
    for number, cells in validation.sheet.rows:
        yield number, [as_written(cells[i], i in ids) for i in kept]


def write_results(validation: ValidationResult, report: RunReport, path, facts: dict | None = None) -> None:
    """Every input row with its outcome; the changes the run made (or found and left), one
    line per field with its previous value, in a `Changes` sheet; and what the run was
    (`facts`: target, run id, mode, times) in a `Run` sheet. Both are what `undo` needs.
    Beside a CSV results file they are `<results>.changes.csv` and `<results>.run.csv`."""
    kept = _kept_columns(validation)
    headers = [validation.sheet.headers[i] for i in kept] + list(OUTPUT_COLUMNS)
    by_row = {o.row: o for o in report.outcomes}

    def rows():
        for number, values in _row_values(validation, kept):
            o = by_row[number]
            yield values + [number, o.status, o.course_id, o.course_slug, o.error_code, o.error_message]

    widths = {**sheet_widths(validation.columns, kept), len(kept) + 5: 60}  # error_message wide enough to read
    results = Table(headers, rows(), sheet_name="Results", text_columns=_text_columns(validation, kept),
                    widths=widths)
    changes = Table(CHANGE_COLUMNS, list(_change_rows(report.outcomes)), sheet_name="Changes",
                    widths={0: 10, 1: 18, 2: 22, 3: 40, 4: 40, 5: 8, 6: 30, 7: 30})
    changes.rows += list(_change_rows(report.missing))
    run = Table(("fact", "value"), [[k, v] for k, v in (facts or {}).items()], sheet_name=RUN_SHEET,
                widths={0: 20, 1: 60}) if facts else None
    missing = _missing_table(report.missing, report.missing_courses) if report.missing else None
    _write_with_changes(path, results, changes, validation.sheet.delimiter or ",", run, missing)


def _missing_table(outcomes, courses: dict) -> Table:
    """One line per course of the scope no row names: what it is, and what the run did about it."""
    rows = []
    for o in outcomes:
        course = courses.get(o.course_id) or {}
        rows.append([o.course_id, course.get("title"), course.get("externalId"), course.get("slug") or o.course_slug,
                     course.get("source"), course.get("publishedStatus"), o.status, o.error_message])
    return Table(MISSING_COLUMNS, rows, sheet_name=MISSING_SHEET, text_columns={0, 2, 3},
                 widths={0: 18, 1: 40, 2: 16, 3: 24, 4: 16, 5: 12, 6: 14, 7: 60})


def _write_with_changes(path, main: Table, changes: Table, delimiter: str, run: Table | None = None,
                        missing: Table | None = None) -> None:
    """A workbook with all sheets; or a CSV, with the changes (when there are any), the run and the
    missing courses beside it."""
    if is_csv(path):
        write_table(path, main, delimiter=delimiter)
        if changes.rows:
            write_table(changes_path(path), changes, delimiter=delimiter)
        if run is not None:
            write_table(sidecar_path(path, "run"), run, delimiter=delimiter)
        if missing is not None:
            write_table(sidecar_path(path, "missing"), missing, delimiter=delimiter)
    else:
        write_workbook(path, [main, changes] + [t for t in (run, missing) if t is not None])


def changes_path(results_path) -> Path:
    return sidecar_path(results_path, "changes")


def sidecar_path(results_path, what: str) -> Path:
    path = Path(results_path)
    return path.with_name(f"{path.stem}.{what}{path.suffix}")


def _change_rows(outcomes):
    for o in outcomes:
        for change in o.changes:
            yield [o.row or "", o.course_id, change.field, _shown(change.current), _shown(change.new),
                   "yes" if o.status in ("updated", "archived") else "no",
                   json.dumps(change.current, ensure_ascii=False), json.dumps(change.new, ensure_ascii=False)]


def _shown(value):
    """A value as a cell: lists as their items one per line, objects as JSON, the rest as they are."""
    if isinstance(value, list):
        return "\n".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_plan(validation: ValidationResult, plan, path) -> None:
    """The plan as a workbook (or CSV): every row with its action and course id, and a
    `Changes` sheet with one line per field that would change (current and new value)."""
    kept = _kept_columns(validation)
    headers = [validation.sheet.headers[i] for i in kept] + list(PLAN_COLUMNS)
    by_row = {a.row: a for a in plan.actions}
    rows = [values + [n, by_row[n].kind, by_row[n].course_id, by_row[n].code, by_row[n].message]
            for n, values in _row_values(validation, kept)]
    changes = [[a.row, a.course_id, c.field, _shown(c.current), _shown(c.new)]
               for a in plan.actions for c in a.changes]
    plan_table = Table(headers, rows, sheet_name="Plan", text_columns=_text_columns(validation, kept),
                       widths={**sheet_widths(validation.columns, kept), len(kept) + 4: 60})
    changes_table = Table(("source_row", "course_id", "field", "current_value", "new_value"), changes,
                          sheet_name="Changes", widths={0: 10, 1: 18, 2: 22, 3: 40, 4: 40})
    missing = None
    if plan.missing is not None and plan.missing.courses:
        from ..core.outcomes import RowOutcome

        found = plan.missing
        status = "to_archive" if found.archives else "missing"
        message = found.refusal or ("would be archived: no row of the file names it" if found.archives else
                                    "no row of the file names it (reported only)")
        missing = _missing_table([RowOutcome(0, status, c["id"], c.get("slug"), error_message=message)
                                  for c in found.courses], {c["id"]: c for c in found.courses})
    _write_with_changes(path, plan_table, changes_table, validation.sheet.delimiter or ",", None, missing)


def default_plan_path(input_path) -> Path:
    path = Path(input_path)
    return path.with_name(f"{path.stem}.plan.xlsx")


def write_failures(validation: ValidationResult, report: RunReport, path) -> int:
    """The rows to fix and send again, in the input's layout and with the template's look
    (text id columns, dropdowns, widths), each bad cell red with its message in a comment,
    as in the error report. A message that names another row names it as this file numbers
    it. Returns how many rows."""
    kept = _kept_columns(validation)
    headers = [validation.sheet.headers[i] for i in kept] + list(FAILURE_COLUMNS)
    by_row = {o.row: o for o in report.outcomes}
    failed = [(n, v) for n, v in _row_values(validation, kept) if by_row[n].status in FAILURE_STATUSES]
    here = {number: index for index, (number, _) in enumerate(failed, start=2)}  # row numbers in this file
    rows = [values + [n, by_row[n].error_code, renumbered(by_row[n].error_message, here)] for n, values in failed]
    issues = [i for r in validation.rows if r.row in here and r.issues for i in r.issues]
    marks = cell_marks([_renumbered_issue(i, here) for i in issues], validation.columns,
                       {n: i - 1 for n, i in here.items()}, {index: p for p, index in enumerate(kept)})
    widths = {**sheet_widths(validation.columns, kept), len(kept) + 2: 60}
    write_table(path, Table(headers, rows, sheet_name="Courses", text_columns=_text_columns(validation, kept),
                            widths=widths, marks=marks, dropdowns=dropdowns_for(validation.columns, kept),
                            wrap_columns={len(kept) + 2}), delimiter=validation.sheet.delimiter or ",")
    return len(rows)


_ROW_REFERENCE = re.compile(r"\b(rows?) (\d+(?:, \d+)*)")


def renumbered(message: str | None, here: dict[int, int]) -> str | None:
    """`also used in row 11` says row 11 of the file that was read; in the failures file that
    row is elsewhere, or not there at all. Each row named is named as this file numbers it."""
    if not message or not here:
        return message

    def name(match) -> str:
        parts = []
        for text in match.group(2).split(", "):
            number = int(text)
            parts.append(f"{here[number]}" if number in here else f"{number} of the file read (not here)")
        word = match.group(1)
        return f"{word} {', '.join(parts)}"

    return _ROW_REFERENCE.sub(name, message)


def _renumbered_issue(issue, here: dict[int, int]):
    from ..core.issues import Issue

    message = renumbered(issue.message, here)
    return issue if message == issue.message else Issue(issue.row, issue.column, issue.value, issue.code,
                                                       issue.severity, message)


@dataclass
class WrittenFiles:
    results: Path
    failures: Path | None
    fallback_reason: str | None = None  # set when the paths asked for could not be written as asked
    displaced: bool = False  # written somewhere else because the paths asked for failed


def write_run_files(validation: ValidationResult, report: RunReport, paths: OutputPaths,
                    fallback_dir, facts: dict | None = None) -> WrittenFiles:
    """The results sheet, and the failures file when any row needs the user. A run has
    created courses by now, so their ids must land somewhere whole:
    - a value longer than an Excel cell cannot go into a workbook uncut: both files are
      then written as CSV beside the paths asked for;
    - if a path cannot be written (a full disk, a folder gone), both are written as CSV into
      `fallback_dir`, else the system's temporary folder.
    The reason is kept to tell the user. Raises OSError only when nothing could be written."""
    wants_failures = not report.all_ok

    def write(results: Path, failures: Path) -> WrittenFiles:
        write_results(validation, report, results, facts)
        if wants_failures:
            write_failures(validation, report, failures)
        return WrittenFiles(results, failures if wants_failures else None)

    reason = None
    try:
        return write(paths.results, paths.failures)
    except CellTooLong as exc:
        reason = f"{exc}, so the files are CSV, which holds it whole"
        try:
            written = write(_free_path(paths.results.parent, paths.results.stem, ".csv"),
                            _free_path(paths.failures.parent, paths.failures.stem, ".csv"))
            written.fallback_reason = reason
            return written
        except OSError as os_exc:
            reason = _os_reason(os_exc, paths.results)
    except OSError as exc:
        reason = _os_reason(exc, paths.results)
    stem = Path(validation.sheet.path).stem
    for folder in (Path(fallback_dir), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            written = write(_free_path(folder, f"{stem}.results", ".csv"),
                            _free_path(folder, f"{stem}.failures", ".csv"))
            written.fallback_reason, written.displaced = reason, True
            return written
        except OSError:
            continue
    raise OSError(f"could not write the results anywhere: {reason}")


def _os_reason(exc: OSError, path) -> str:
    return f"{exc.strerror or exc} ({exc.filename or path})"


def write_plan_file(validation: ValidationResult, plan, path) -> tuple[Path, str | None]:
    """The plan where asked; as CSV beside it when a value is too long for a workbook.
    Returns the path written and, if it is not the one asked for, why."""
    try:
        write_plan(validation, plan, path)
        return Path(path), None
    except CellTooLong as exc:
        path = Path(path)
        csv_path = _free_path(path.parent, path.stem, ".csv")
        write_plan(validation, plan, csv_path)
        return csv_path, f"{exc}, so the plan is CSV, which holds it whole"


def _free_path(folder: Path, stem: str, suffix: str) -> Path:
    n = 1
    while _exists(path := folder / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"):
        n += 1
    return path
