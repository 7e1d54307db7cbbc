"""Stage 3 — validate every row before anything is sent.

`validate_sheet(sheet)` turns each row into the exact JSON body of its POST, or into the
issues that stop it, then checks what only the whole file shows (duplicate titles, slugs
and externalIds). `validate_file(path)` reads and validates in one call: it is what the
CLI's `validate` and `run` both use.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import fields
from . import issues as codes
from .issues import Issue, error, warning
from .normalizing import (
    ColumnMap,
    Invalid,
    custom_field_value,
    map_columns,
    normalize_bool,
    normalize_enum,
    split_authors,
    split_tags,
    stripped_html_tags,
    to_text,
)
from .reading import Sheet, paused_gc, read_sheet

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; the rest become zeros


@dataclass(slots=True)
class RowResult:
    row: int  # Excel row number
    cells: list  # the raw cells, aligned with the sheet's headers
    payload: dict
    issues: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not any(i.is_error for i in self.issues)

    @property
    def identity(self) -> tuple[str, str]:
        """How this course is recognised on the server: externalId, else slug, else title."""
        for name in ("externalId", "slug", "title"):
            if self.payload.get(name):
                return name, self.payload[name]
        return "row", str(self.row)


@dataclass
class ValidationResult:
    sheet: Sheet
    columns: ColumnMap
    rows: list[RowResult]
    file_issues: list[Issue]  # about the file or a whole column (row 1 = the header)

    @property
    def valid_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.valid]

    @property
    def invalid_rows(self) -> list[RowResult]:
        return [r for r in self.rows if not r.valid]

    @property
    def all_issues(self) -> list[Issue]:
        return self.file_issues + [i for r in self.rows for i in r.issues]

    @property
    def warning_count(self) -> int:
        return sum(1 for i in self.all_issues if not i.is_error)


def validate_file(path, *, sheet: str | None = None,
                  custom_fields: list[str] | None = None) -> ValidationResult:
    """Read, normalize and validate a course sheet. Raises `FileUnusable` only when the
    file as a whole cannot be used; every problem in a row is an `Issue` in the result."""
    return validate_sheet(read_sheet(path, sheet), custom_fields=custom_fields)


def validate_sheet(sheet: Sheet, *, custom_fields: list[str] | None = None) -> ValidationResult:
    columns = map_columns(sheet.path, sheet.headers)
    with paused_gc():
        rows = _normalize_rows(sheet, columns)
        _flag_duplicates(rows)
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


# --- the cells ------------------------------------------------------------------------
#
# Each field has a rule: a pure function from one raw cell to (value, problems), where a
# problem is (code, severity, message, value shown in the report). The rules run column by
# column, each distinct cell once (course types, tags, yes/no… repeat a lot): that is what
# lets 100,000 rows validate in about a second.

ERROR, WARNING = codes.ERROR, codes.WARNING
_NO_PROBLEMS: tuple = ()


def _title(raw):
    text = to_text(raw)
    if text is not None and len(text) > fields.TITLE_MAX_LENGTH:
        over = len(text) - fields.TITLE_MAX_LENGTH
        return text, ((codes.INVALID_FIELD_VALUE, ERROR,
                       f"Title is {len(text)} characters long; the maximum is {fields.TITLE_MAX_LENGTH}. "
                       f"Shorten it by {over}.", text),)
    return text, _NO_PROBLEMS


def _enum_rule(name):
    accepted = fields.ENUM_VALUES[name]

    def rule(raw):
        text = to_text(raw)
        if text is None:
            return None, _NO_PROBLEMS
        value = normalize_enum(text, accepted, name)
        if isinstance(value, Invalid):
            return None, ((codes.INVALID_FIELD_VALUE, ERROR, value.message, text),)
        return value, _NO_PROBLEMS

    return rule


def _stored_as_number(raw, text) -> tuple:
    if type(raw) is str:
        return _NO_PROBLEMS
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return ((codes.ID_STORED_AS_NUMBER, WARNING,
                 "Excel stored this id as a number, so leading zeros or digits past the 15th may "
                 "already be lost. Format the column as Text and retype the id if it does not match "
                 "your source system.", text),)
    return _NO_PROBLEMS


def _slug(raw):
    text = to_text(raw)
    if text is None:
        return None, _NO_PROBLEMS
    problems = _stored_as_number(raw, text)
    if not fields.SLUG_PATTERN.match(text):
        suggestion = fields.slugify(text)
        hint = f" Did you mean '{suggestion}'?" if suggestion else ""
        problems += ((codes.INVALID_FIELD_VALUE, ERROR,
                      f"Slug '{text}' is not valid: use lowercase letters, digits and single hyphens "
                      f"only.{hint} Or leave it empty to have one made from the title.", text),)
    return text, problems


# Any tag but the ones the server keeps: one search per description, in C.
_STRIPPED_TAG = re.compile(r"<\s*/?\s*(?!(?:" + "|".join(sorted(fields.ALLOWED_HTML_TAGS)) + r")\b)[a-zA-Z]")


def _description(raw):
    text = to_text(raw)
    if text is None:
        return None, _NO_PROBLEMS
    stripped = stripped_html_tags(text) if "<" in text and _STRIPPED_TAG.search(text) else None
    if stripped:
        tags = ", ".join(f"<{t}>" for t in stripped)
        return text, ((codes.HTML_STRIPPED, WARNING,
                       f"The server strips {tags} from descriptions (allowed: <p> <strong> <em> <ul> "
                       "<li> <a>); that markup will be lost.", text),)
    return text, _NO_PROBLEMS


def _list_rule(splitter):
    def rule(raw):
        text = to_text(raw)
        return (splitter(text) or None) if text else None, _NO_PROBLEMS

    return rule


def _external_id(raw):
    text = to_text(raw)
    if text is None:
        return None, _NO_PROBLEMS
    problems = _stored_as_number(raw, text)
    digits = sum(c.isdigit() for c in text) if len(text) > EXCEL_DIGITS else 0
    if digits > EXCEL_DIGITS:
        problems += ((codes.ID_TOO_LONG_FOR_EXCEL, WARNING,
                      f"This id has {digits} digits. Excel keeps only {EXCEL_DIGITS}: if the column is not "
                      "formatted as Text, Excel replaces the rest with zeros when the file is saved. Check "
                      "the value against your source system.", text),)
    return text, problems


def _is_free(raw):
    text = to_text(raw)
    if text is None:
        return None, _NO_PROBLEMS
    value = normalize_bool(raw)
    if isinstance(value, Invalid):
        return None, ((codes.INVALID_FIELD_VALUE, ERROR, value.message, text),)
    return value, _NO_PROBLEMS


def _plain_text(raw):
    return to_text(raw), _NO_PROBLEMS


def _custom(raw):
    return custom_field_value(raw), _NO_PROBLEMS


FIELD_RULES = {
    "title": _title,
    "courseType": _enum_rule("courseType"),
    "slug": _slug,
    "description": _description,
    "publishedStatus": _enum_rule("publishedStatus"),
    "authors": _list_rule(split_authors),
    "tags": _list_rule(split_tags),
    "externalId": _external_id,
    "isFree": _is_free,
    "source": _plain_text,
}


def _apply_rule(rule, column: list, numbers: list[int], name: str, found: dict) -> list:
    """Run one field's rule down its column; problems go into `found[row index]`. Each
    distinct cell is worked out once and the column is then mapped through the answers."""
    if all(type(raw) is str or raw is None for raw in column):
        keys = column
        outcomes = {raw: rule(raw) for raw in dict.fromkeys(column) if raw is not None}
    else:  # 1 == True in a dict: the type keeps Excel's TRUE and the number 1 apart
        keys = [raw if raw is None or type(raw) is str else (type(raw), raw) for raw in column]
        outcomes = {key: rule(raw) for key, raw in dict(zip(keys, column, strict=True)).items() if raw is not None}
    outcomes[None] = (None, _NO_PROBLEMS)
    values = list(map({key: value for key, (value, _) in outcomes.items()}.__getitem__, keys))
    troubled = {key for key, (_, problems) in outcomes.items() if problems}
    if troubled:
        for index, key in enumerate(keys):
            if key in troubled:
                for code, severity, message, shown in outcomes[key][1]:
                    found.setdefault(index, []).append(
                        codes.Issue(numbers[index], name, shown, code, severity, message))
    return values


def _normalize_rows(sheet: Sheet, columns: ColumnMap) -> list[RowResult]:
    numbers = [number for number, _ in sheet.rows]
    all_cells = [cells for _, cells in sheet.rows]
    found: dict[int, list[Issue]] = {}
    standard: list[tuple[str, list]] = []
    custom: list[tuple[str, list]] = []
    by_name = {name: i for i, name in enumerate(columns.fields) if name}
    for spec in fields.FIELDS:  # payload keys in the guide's order
        if spec.name in by_name:
            column = [cells[by_name[spec.name]] for cells in all_cells]
            standard.append((spec.name, _apply_rule(FIELD_RULES[spec.name], column, numbers, spec.name, found)))
    for index, name in enumerate(columns.fields):
        if name and name.startswith(fields.CUSTOM_FIELD_PREFIX):
            column = [cells[index] for cells in all_cells]
            key = name[len(fields.CUSTOM_FIELD_PREFIX):]
            custom.append((key, _apply_rule(_custom, column, numbers, name, found)))
    _flag_missing(standard, numbers, found)

    names = [name for name, _ in standard]
    custom_keys = [key for key, _ in custom]
    standard_rows = zip(*(values for _, values in standard), strict=True) if standard else ()
    custom_rows = zip(*(values for _, values in custom), strict=True) if custom else None
    results = []
    for index, (number, cells, row) in enumerate(zip(numbers, all_cells, standard_rows, strict=True)):
        payload = {k: v for k, v in zip(names, row, strict=True) if v is not None}
        if custom_rows is not None:
            extra = {k: v for k, v in zip(custom_keys, next(custom_rows), strict=True) if v is not None}
            if extra:
                payload["customFields"] = extra
        results.append(RowResult(number, cells, payload, found.get(index, [])))
    return results


def _flag_missing(standard: list[tuple[str, list]], numbers: list[int], found: dict) -> None:
    present = dict(standard)
    for name in fields.REQUIRED:
        values = present.get(name) or [None] * len(numbers)
        for index, value in enumerate(values):
            if value is None and not any(i.column == name for i in found.get(index, ())):
                found.setdefault(index, []).append(error(numbers[index], name, None, codes.MISSING_REQUIRED_FIELD,
                                                         f"Field '{name}' is required."))


# --- the whole file --------------------------------------------------------------------

_UNIQUE = (("title", codes.DUPLICATE_TITLE, "Title"),
           ("slug", codes.DUPLICATE_SLUG, "Slug"),
           ("externalId", codes.DUPLICATE_EXTERNAL_ID, "External ID"))


def _flag_duplicates(rows: list[RowResult]) -> None:
    """The guide requires unique titles, slugs and externalIds: flag every row of a group
    that shares one, naming the other rows, so the user can pick which to change."""
    for name, code, label in _UNIQUE:
        values = [result.payload.get(name) for result in rows]
        repeated = {v for v, n in Counter(values).items() if n > 1 and v is not None}
        if not repeated:
            continue
        groups: dict[str, list[RowResult]] = defaultdict(list)
        for result, value in zip(rows, values, strict=True):
            if value in repeated:
                groups[value].append(result)
        for value, group in groups.items():
            for result in group:
                others = [str(r.row) for r in group if r is not result]
                where = "row " + others[0] if len(others) == 1 else "rows " + ", ".join(others)
                result.issues.append(error(
                    result.row, name, value, code,
                    f"{label} '{value}' is also used in {where}; it must be unique. "
                    "Change all but one of them."))


def default_report_path(input_path) -> Path:
    path = Path(input_path)
    return path.with_name(f"{path.stem}.errors.xlsx")
