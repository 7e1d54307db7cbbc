"""Stage 3 — validate every row before anything is sent.

`validate_sheet(sheet)` turns each row into the exact JSON body of its POST, or into the
issues that stop it, then checks what only the whole file shows (duplicate titles, slugs
and externalIds). `validate_file(path)` reads and validates in one call: it is what the
CLI's `validate` and `run` both use.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import fields
from . import issues as codes
from .issues import Issue, error, warning
from .normalizing import ColumnMap, map_columns
from .reading import Sheet, paused_gc, read_sheet
from .rules import CUSTOM_FIELD, RULES, run_rule

NO_ISSUES: tuple = ()  # shared by every row without problems: 100,000 empty lists are not free


@dataclass(slots=True)
class Values:
    """The clean values of every row, kept by column: one list per field, shared by all rows
    (a tuple per row would cost a seventh of the memory of a million-row validation)."""

    names: tuple[str, ...]  # the API fields present in the sheet, in the guide's order
    columns: tuple[list, ...]  # their values, by row position (None: empty)
    custom_keys: tuple[str, ...] = ()
    custom_columns: tuple[list, ...] = ()


@dataclass(slots=True)
class RowResult:
    row: int  # Excel row number
    cells: list  # the raw cells, aligned with the sheet's headers
    issues: list[Issue] | tuple  # NO_ISSUES when there are none
    values: Values
    index: int  # this row's position in `values`
    _payload: dict | None = None

    @property
    def payload(self) -> dict:
        """The exact JSON body of this row's POST; empty cells are left out (server defaults).
        Built on first use: validating a large file never needs most of them."""
        if self._payload is None:
            i, values = self.index, self.values
            payload = {k: c[i] for k, c in zip(values.names, values.columns, strict=True) if c[i] is not None}
            custom = {k: c[i] for k, c in zip(values.custom_keys, values.custom_columns, strict=True)
                      if c[i] is not None}
            if custom:
                payload["customFields"] = custom
            self._payload = payload
        return self._payload

    @property
    def valid(self) -> bool:
        return not self.issues or not any(i.is_error for i in self.issues)

    @property
    def identity(self) -> tuple[str, str]:
        """How this course is recognised on the server: externalId, else slug, else title."""
        payload = self.payload
        for name in ("externalId", "slug", "title"):
            if payload.get(name):
                return name, payload[name]
        return "row", str(self.row)


@dataclass
class ValidationResult:
    sheet: Sheet
    columns: ColumnMap
    rows: list[RowResult]
    file_issues: list[Issue]  # about the file or a whole column (row 1 = the header)

    @functools.cached_property
    def valid_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.valid]

    @functools.cached_property
    def invalid_rows(self) -> list[RowResult]:
        return [r for r in self.rows if not r.valid]

    @functools.cached_property
    def all_issues(self) -> list[Issue]:
        return self.file_issues + [i for r in self.rows if r.issues for i in r.issues]

    @property
    def warning_count(self) -> int:
        return sum(1 for i in self.all_issues if not i.is_error)

    def to_dataframe(self):
        """One row per input row: valid or not, error codes, messages, payload (needs pandas)."""
        from .pipeline import validation_to_dataframe

        return validation_to_dataframe(self)


def validate_file(path, *, sheet: str | None = None,
                  custom_fields: list[str] | None = None) -> ValidationResult:
    """Read, normalize and validate a course sheet. Raises `FileUnusable` only when the
    file as a whole cannot be used; every problem in a row is an `Issue` in the result."""
    return validate_sheet(read_sheet(path, sheet), custom_fields=custom_fields)


def validate_file_for_cli(path, **options) -> ValidationResult:
    """`validate_file` with the collector paused throughout and then told to leave the rows
    alone for the rest of the command (see `reading.paused_gc`): only a process the CLI owns
    may be changed so."""
    with paused_gc(freeze=True):
        return validate_file(path, **options)


def validate_sheet(sheet: Sheet, *, custom_fields: list[str] | None = None) -> ValidationResult:
    columns = map_columns(sheet.path, sheet.headers)
    with paused_gc():
        rows = _normalize_rows(sheet, columns)
    return ValidationResult(sheet, columns, rows, _column_issues(columns, custom_fields))


def _column_issues(columns: ColumnMap, custom_fields: list[str] | None) -> list[Issue]:
    found = [warning(1, header, header, codes.UNKNOWN_COLUMN,
                     f"Column '{header}' is not a course field and is ignored. Field columns are: "
                     + ", ".join(f.label for f in fields.FIELDS)
                     + ", and customFields.<key> for custom fields.")
             for _, header in columns.unknown]
    if custom_fields is not None:
        known = set(custom_fields)
        for key in columns.custom_field_keys:
            if key not in known:
                found.append(warning(
                    1, fields.CUSTOM_FIELD_PREFIX + key, key, codes.UNKNOWN_CUSTOM_FIELD,
                    f"Custom field '{key}' is not configured on the platform "
                    f"(configured: {', '.join(custom_fields) or 'none'}); the server will silently "
                    "drop its values. Check the spelling (keys are case-sensitive)."))
    return found


# --- the rows -------------------------------------------------------------------------


def _normalize_rows(sheet: Sheet, columns: ColumnMap) -> list[RowResult]:
    """Every row's values and issues, worked out column by column (see `rules.run_rule`)."""
    numbers = [number for number, _ in sheet.rows]
    by_column = list(zip(*(cells for _, cells in sheet.rows), strict=True)) if sheet.rows else \
        [()] * len(columns.fields)
    found: dict[int, list[Issue]] = {}
    standard: dict[str, list] = {}
    custom: dict[str, list] = {}
    by_name = {name: i for i, name in enumerate(columns.fields) if name}
    all_text = True if sheet.format == "csv" else None  # CSV cells are all text
    for spec in fields.FIELDS:  # payload keys in the guide's order
        if spec.name in by_name:
            column = by_column[by_name[spec.name]]
            standard[spec.name] = run_rule(RULES[spec.name], column, numbers, spec.name, found, all_text=all_text,
                                           invisible_marks=sheet.invisible_marks)
    for index, name in enumerate(columns.fields):
        if name and name.startswith(fields.CUSTOM_FIELD_PREFIX):
            key = name[len(fields.CUSTOM_FIELD_PREFIX):]
            custom[key] = run_rule(CUSTOM_FIELD, by_column[index], numbers, name, found, all_text=all_text,
                                   invisible_marks=sheet.invisible_marks)
    _flag_missing(standard, numbers, found)
    _flag_duplicates(standard, numbers, found)
    if sheet.problems:
        _add_file_problems(sheet, columns, numbers, found)

    values = Values(tuple(standard), tuple(standard.values()), tuple(custom), tuple(custom.values()))
    return [RowResult(number, cells, found.get(index, NO_ISSUES), values, index)
            for index, (number, cells) in enumerate(sheet.rows)]


def _add_file_problems(sheet: Sheet, columns: ColumnMap, numbers: list[int], found: dict) -> None:
    """What `reading` found wrong in a row's cells is an error of that row, like any other."""
    position = {number: index for index, number in enumerate(numbers)}
    for problem in sheet.problems:
        index = position.get(problem.row)
        if index is not None:
            found.setdefault(index, []).append(error(problem.row, columns.name_at(problem.column), problem.value,
                                                     problem.code, problem.message))


def _flag_missing(standard: dict[str, list], numbers: list[int], found: dict) -> None:
    for name in fields.REQUIRED:
        values = standard.get(name) or [None] * len(numbers)
        for index, value in enumerate(values):
            if value is None and not any(i.column == name for i in found.get(index, ())):
                found.setdefault(index, []).append(error(numbers[index], name, None, codes.MISSING_REQUIRED_FIELD,
                                                         f"Field '{name}' is required."))


# --- the whole file --------------------------------------------------------------------

_UNIQUE = (("title", codes.DUPLICATE_TITLE, "Title"),
           ("slug", codes.DUPLICATE_SLUG, "Slug"),
           ("externalId", codes.DUPLICATE_EXTERNAL_ID, "External ID"))


def _flag_duplicates(standard: dict[str, list], numbers: list[int], found: dict[int, list[Issue]]) -> None:
    """The guide requires unique titles, slugs and externalIds: flag every row of a group
    that shares one, naming the other rows, so the user can pick which to change."""
    for name, code, label in _UNIQUE:
        values = standard.get(name)
        if not values:
            continue
        distinct = set(values)
        distinct.discard(None)
        if len(distinct) == len(values) - values.count(None):
            continue  # no value repeats, the usual case: found without counting
        repeated = {v for v, n in Counter(values).items() if n > 1 and v is not None}
        groups: dict[str, list[int]] = defaultdict(list)
        for index, value in enumerate(values):
            if value in repeated:
                groups[value].append(index)
        for value, group in groups.items():
            for index in group:
                others = [str(numbers[i]) for i in group if i != index]
                where = "row " + others[0] if len(others) == 1 else "rows " + ", ".join(others)
                found.setdefault(index, []).append(error(
                    numbers[index], name, value, code,
                    f"{label} '{value}' is also used in {where}; it must be unique. "
                    "Change all but one of them."))


def default_report_path(input_path) -> Path:
    path = Path(input_path)
    return path.with_name(f"{path.stem}.errors.xlsx")
