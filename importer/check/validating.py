"""Stage 3 — validate every row before anything is sent.

`validate_sheet(sheet)` turns each row into the exact JSON body of its POST, or into the
issues that stop it, then checks what only the whole file shows (duplicate titles, slugs
and externalIds). `validate_file(path)` reads and validates in one call: it is what the
CLI's `validate` and `run` both use.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..core import fields
from ..core import issues as codes
from ..core.issues import Issue, error, warning
from ..read.reading import Sheet, paused_gc, read_sheet
from .normalizing import ColumnMap, map_columns
from .rules import CSV_CUSTOM_FIELD, CSV_DECIMAL_COMMA_CUSTOM_FIELD, CUSTOM_FIELD, RULES, run_rule

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
    # The row sends the identical course as this earlier row (every field it fills in equal):
    # one course, sent once; this row is reported `skipped`, neither failed nor to fix.
    same_as: int | None = None

    @property
    def payload(self) -> dict:
        """The exact JSON body of this row's POST; empty cells are left out (server defaults).
        Built on first use: validating a large file never needs most of them."""
        if self._payload is None:
            i, values = self.index, self.values
            payload = {k: c[i] for k, c in zip(values.names, values.columns, strict=True)
                       if c[i] is not None and c[i] is not fields.CLEARED}
            custom = {k: c[i] for k, c in zip(values.custom_keys, values.custom_columns, strict=True)
                      if c[i] is not None and c[i] is not fields.CLEARED}
            if custom:
                payload["customFields"] = custom
            self._payload = payload
        return self._payload

    @property
    def clears(self) -> tuple[str, ...]:
        """The fields this row empties on the platform (`customFields.<key>` for a custom field): cells
        holding the clearing marker. Never in `payload`: a create has nothing to empty."""
        i, values = self.index, self.values
        return tuple([k for k, c in zip(values.names, values.columns, strict=True) if c[i] is fields.CLEARED] +
                     [fields.CUSTOM_FIELD_PREFIX + k for k, c in zip(values.custom_keys, values.custom_columns,
                                                                     strict=True) if c[i] is fields.CLEARED])

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
    mapping: object = None  # the `mapping.Mapping` an export was read through, if any

    @functools.cached_property
    def valid_rows(self) -> list[RowResult]:
        """The rows to send: valid, and not the same course as an earlier row."""
        return [r for r in self.rows if r.valid and r.same_as is None]

    @functools.cached_property
    def skipped_rows(self) -> list[RowResult]:
        """Rows identical to an earlier row: that row's course is theirs too."""
        return [r for r in self.rows if r.valid and r.same_as is not None]

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
        from ..core.frames import validation_to_dataframe

        return validation_to_dataframe(self)


def validate_file(path, *, sheet: str | None = None, custom_fields: list[str] | None = None,
                  mapping=None) -> ValidationResult:
    """Read, normalize and validate a course sheet (an export, through `mapping`: a path to a
    mapping file or the same structure as a dict). Raises `FileUnusable` only when the file as
    a whole cannot be used; every problem in a row is an `Issue` in the result."""
    if mapping is not None:
        from .mapping import load_mapping

        mapping = load_mapping(mapping)  # a wrong map is said before the export is read
    return validate_sheet(read_sheet(path, sheet), custom_fields=custom_fields, mapping=mapping)


def validate_file_for_cli(path, **options) -> ValidationResult:
    """`validate_file` with the collector paused throughout and then told to leave the rows
    alone for the rest of the command (see `reading.paused_gc`): only a process the CLI owns
    may be changed so."""
    with paused_gc(freeze=True):
        return validate_file(path, **options)


def validate_sheet(sheet: Sheet, *, custom_fields: list[str] | None = None, mapping=None) -> ValidationResult:
    if mapping is not None:
        return _validate_mapped(sheet, mapping, custom_fields)
    columns = map_columns(sheet.path, sheet.headers)
    with paused_gc():
        rows = _normalize_rows(sheet, columns)
    return ValidationResult(sheet, columns, rows, _column_issues(columns, custom_fields))


def _validate_mapped(sheet: Sheet, mapping, custom_fields: list[str] | None) -> ValidationResult:
    """An export through a mapping: its rows become the fields' cells (`mapping.apply_mapping`),
    which take the template's road; the result keeps the export's own sheet, cells and column
    names, so every message, the error report and the failures file speak of the export."""
    from .mapping import UNUSED_COLUMNS, apply_mapping, load_mapping

    mapping = load_mapping(mapping)
    mapped = apply_mapping(sheet.headers, sheet.rows, mapping, sheet.path)
    names = [rule.field for rule in mapping.rules]
    # A cell under no header in a column the map does not use is not lost: it is not imported,
    # and the summary says so, as of any column the map leaves out.
    used = {i for found in mapped.columns.sources.values() for i in found}
    problems = [p for p in sheet.problems if p.code != codes.CELL_WITHOUT_HEADER or p.column in used]
    fielded = Sheet(sheet.path, names, [(n, cells) for (n, _), cells in zip(sheet.rows, mapped.cells, strict=True)],
                    sheet.format, sheet.encoding, sheet.delimiter, sheet.sheet_name, sheet.invisible_marks)
    with paused_gc():
        rows = _normalize_rows(fielded, map_columns(sheet.path, names), mapped=True)
    by_number = dict(sheet.rows)
    position = {r.row: index for index, r in enumerate(rows)}
    for row in rows:
        row.cells = by_number[row.row]
    for index, found in mapped.issues.items():
        rows[index].issues = list(rows[index].issues) + found
    for problem in problems:
        row = rows[position[problem.row]]
        row.issues = list(row.issues) + [_issue_of(problem, mapped.columns)]
    file_issues = _column_issues(mapped.columns, custom_fields)
    unused = mapped.columns.unused_headers()
    if unused:
        file_issues.append(warning(1, None, ", ".join(unused), UNUSED_COLUMNS,
                                   f"Not imported (the map {mapping.name} does not use them): {', '.join(unused)}."))
    result = ValidationResult(sheet, mapped.columns, rows, file_issues)
    result.mapping = mapping
    return result


def _column_issues(columns: ColumnMap, custom_fields: list[str] | None) -> list[Issue]:
    """Warnings about whole columns: one the importer does not know, a custom field the
    platform does not have."""
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


def _normalize_rows(sheet: Sheet, columns: ColumnMap, *, mapped: bool = False) -> list[RowResult]:
    """Every row's values and issues, worked out column by column (see `rules.run_rule`).
    `mapped`: the cells are a map's, which may be lists or yes/no values whatever the file."""
    numbers = [number for number, _ in sheet.rows]
    by_column = list(zip(*(cells for _, cells in sheet.rows), strict=True)) if sheet.rows else \
        [()] * len(columns.fields)
    found: dict[int, list[Issue]] = {}
    standard: dict[str, list] = {}
    custom: dict[str, list] = {}
    by_name = {name: i for i, name in enumerate(columns.fields) if name}
    all_text = True if sheet.format == "csv" and not mapped else None  # CSV cells are all text
    for spec in fields.FIELDS:  # payload keys in the guide's order
        if spec.name in by_name:
            column = by_column[by_name[spec.name]]
            standard[spec.name] = run_rule(RULES[spec.name], column, numbers, spec.name, found, all_text=all_text,
                                           invisible_marks=sheet.invisible_marks)
    for index, name in enumerate(columns.fields):
        if name and name.startswith(fields.CUSTOM_FIELD_PREFIX):
            key = name[len(fields.CUSTOM_FIELD_PREFIX):]
            rule = CUSTOM_FIELD if sheet.format != "csv" else \
                CSV_DECIMAL_COMMA_CUSTOM_FIELD if sheet.delimiter == ";" else CSV_CUSTOM_FIELD
            custom[key] = run_rule(rule, by_column[index], numbers, name, found, all_text=all_text,
                                   invisible_marks=sheet.invisible_marks)
            if sheet.format == "csv":
                _flag_mixed_types([None if v is fields.CLEARED else v for v in custom[key]], numbers, name, found)
    _flag_missing(standard, numbers, found)
    same_as = _flag_duplicates(standard, custom, numbers, found)
    if sheet.problems:
        _add_file_problems(sheet, columns, numbers, found)

    values = Values(tuple(standard), tuple(standard.values()), tuple(custom), tuple(custom.values()))
    rows = [RowResult(number, cells, found.get(index, NO_ISSUES), values, index)
            for index, (number, cells) in enumerate(sheet.rows)]
    for index, first in same_as.items():
        rows[index].same_as = first
    return rows


_NUMBER_LIKE = re.compile(r"^-?\d+(?:[.,]\d+)?$")


def _flag_mixed_types(values: list, numbers: list[int], name: str, found: dict) -> None:
    """A CSV column of custom field values where some read as numbers and others, number-like, stay
    text (`1.10`, which would not read back the same as a number): one column, two types on the
    platform. Each text one is warned, saying what is sent."""
    kinds = set(map(type, values))  # one pass in C: most columns are all numbers, or all text
    if str not in kinds or not kinds & {int, float}:
        return
    for index, value in enumerate(values):
        if isinstance(value, str) and _NUMBER_LIKE.match(value) and \
                not any(i.column == name for i in found.get(index, ())):  # said already (an ambiguous number)
            found.setdefault(index, []).append(warning(
                numbers[index], name, value, codes.MIXED_TYPES,
                f"sent as the text '{value}' while other cells of this column are sent as numbers (a number would "
                f"not keep it as written); the platform gets two types in one field. Make the column all text or "
                f"all numbers as the platform expects"))


def _add_file_problems(sheet: Sheet, columns: ColumnMap, numbers: list[int], found: dict) -> None:
    """What `reading` found wrong in a row's cells is an error of that row, like any other."""
    position = {number: index for index, number in enumerate(numbers)}
    for problem in sheet.problems:
        index = position.get(problem.row)
        if index is not None:
            found.setdefault(index, []).append(_issue_of(problem, columns))


def _issue_of(problem, columns: ColumnMap) -> Issue:
    return Issue(problem.row, columns.name_at(problem.column), problem.value, problem.code, problem.severity,
                 problem.message)


def _flag_missing(standard: dict[str, list], numbers: list[int], found: dict) -> None:
    for name in fields.REQUIRED:
        values = standard.get(name) or [None] * len(numbers)
        message = f"{fields.FIELDS_BY_NAME[name].label} is required."
        for index, value in enumerate(values):
            if value is None and not any(i.column == name and i.is_error for i in found.get(index, ())):
                found.setdefault(index, []).append(error(numbers[index], name, None, codes.MISSING_REQUIRED_FIELD,
                                                         message))


# --- the whole file --------------------------------------------------------------------

_UNIQUE = (("title", codes.DUPLICATE_TITLE, "Title"),
           ("slug", codes.DUPLICATE_SLUG, "Slug"),
           ("externalId", codes.DUPLICATE_EXTERNAL_ID, "External ID"))


def _flag_duplicates(standard: dict[str, list], custom: dict[str, list], numbers: list[int],
                     found: dict[int, list[Issue]]) -> dict[int, int]:
    """The guide requires unique titles, slugs and externalIds. Rows that would send the
    identical course (every value equal: real exports repeat rows) are one course: the later
    ones are returned as {row index: the first's row number}, to be skipped. Every row of a
    group that shares a value but differs is flagged, naming the other rows, so the user can
    pick which to change."""
    groups_by_field = {}
    for name, _, _ in _UNIQUE:
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
        groups_by_field[name] = groups
    if not groups_by_field:
        return {}
    same_as = _identical_rows(groups_by_field, standard, custom, numbers, found)
    for name, _, _ in _UNIQUE:
        for value, group in groups_by_field.get(name, {}).items():
            group = [i for i in group if i not in same_as]
            if len(group) < 2:
                continue
            for index in group:
                found.setdefault(index, []).append(
                    duplicate_issue(name, value, numbers[index], [numbers[i] for i in group if i != index]))
    return same_as


def duplicate_issue(name: str, value, row: int, others: list[int]) -> Issue:
    """The error of a row whose title, slug or External ID other rows use too."""
    code, label = next((c, lab) for n, c, lab in _UNIQUE if n == name)
    where = f"row {others[0]}" if len(others) == 1 else "rows " + ", ".join(map(str, others))
    return error(row, name, value, code, f"{label} '{value}' is also used in {where}; it must be unique. "
                                         "Change all but one of them.")


def recheck_row(result: ValidationResult, row: int, cells: list, unique_index: dict) -> set[int]:
    """One row of a whole-file result checked again after its cells changed (a fix in the page),
    in time independent of the file's size: the row alone, then its title, slug and External ID
    against the other rows' (`unique_index`: {field: {value: set of row numbers}}, kept up to
    date here), the rows it used to share a value with, or now does, re-flagged. Returns the rows whose
    issues may have changed: this one, and those it shared (or now shares) a value with."""
    position = next(i for i, r in enumerate(result.rows) if r.row == row)
    touched = {row}
    old = result.rows[position]
    alone = Sheet(result.sheet.path, result.sheet.headers, [(row, cells)], result.sheet.format,
                  result.sheet.encoding, result.sheet.delimiter, result.sheet.sheet_name)
    fresh = validate_sheet(alone, mapping=result.mapping).rows[0]
    fresh.issues = list(fresh.issues)
    result.rows[position] = fresh
    by_number = {r.row: r for r in result.rows}
    for name, _, _ in _UNIQUE:
        before, after = old.payload.get(name), fresh.payload.get(name)
        groups = unique_index.setdefault(name, {})
        if before is not None:
            groups.get(before, set()).discard(row)
        if after is not None:
            groups.setdefault(after, set()).add(row)
        for value in {before, after} - {None}:
            members = sorted(groups.get(value, ()))
            touched.update(members)
            for number in members:
                target = by_number[number]
                kept = [i for i in target.issues if not (i.column == name and i.code.startswith("DUPLICATE_"))]
                if len(members) > 1:
                    kept.append(duplicate_issue(name, value, number, [m for m in members if m != number]))
                target.issues = kept or NO_ISSUES
    for cached in ("valid_rows", "invalid_rows", "skipped_rows", "all_issues"):
        result.__dict__.pop(cached, None)
    return touched


def unique_values(result: ValidationResult) -> dict:
    """{field: {value: set of row numbers}} of the unique fields, for `recheck_row`."""
    index: dict = {}
    for name, _, _ in _UNIQUE:
        groups: dict = {}
        for r in result.rows:
            value = r.payload.get(name)
            if value is not None and r.same_as is None:  # a repeated row is its twin's course
                groups.setdefault(value, set()).add(r.row)
        index[name] = groups
    return index


def _identical_rows(groups_by_field: dict, standard: dict, custom: dict, numbers: list[int],
                    found: dict) -> dict[int, int]:
    """Among rows that share a unique value, those whose every value equals an earlier row's
    (and that have no error of their own): {row index: that earlier row's number}."""
    columns = list(standard.values()) + list(custom.values())
    candidates = sorted({i for groups in groups_by_field.values() for group in groups.values() for i in group})
    first_with: dict[tuple, int] = {}
    same_as = {}
    for index in candidates:
        if any(issue.is_error for issue in found.get(index, ())):
            continue
        key = tuple(_hashable(column[index]) for column in columns)
        if key in first_with:
            same_as[index] = numbers[first_with[key]]
        else:
            first_with[key] = index
    return same_as


def _hashable(value):
    return tuple(value) if isinstance(value, list) else (type(value), value) if value is not None else None


def default_report_path(input_path) -> Path:
    path = Path(input_path)
    return path.with_name(f"{path.stem}.errors.xlsx")
