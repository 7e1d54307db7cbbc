"""Stage 3 — validate every row before anything is sent.

`validate_sheet(sheet)` turns each row into the exact JSON body of its POST, or into the
issues that stop it, then checks what only the whole file shows (duplicate titles, slugs
and externalIds). `validate_file(path)` reads and validates in one call: it is what the
CLI's `validate` and `run` both use.
"""

from __future__ import annotations

from collections import defaultdict
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
from .reading import Sheet, read_sheet

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; the rest become zeros


@dataclass
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
    normalize = _row_normalizer(columns)
    rows = [normalize(number, cells) for number, cells in sheet.rows]
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


# --- one row ---------------------------------------------------------------------------


def _row_normalizer(columns: ColumnMap):
    """Build the function that turns one row's cells into a RowResult. The column lookups
    happen once here, not once per row: a 100,000-row file must validate in seconds."""
    plan = [(i, name) for i, name in enumerate(columns.fields) if name]
    prefix_len = len(fields.CUSTOM_FIELD_PREFIX)

    def normalize(number: int, cells: list) -> RowResult:
        payload: dict = {}
        custom: dict = {}
        found: list[Issue] = []
        for index, name in plan:
            raw = cells[index]
            if name.startswith(fields.CUSTOM_FIELD_PREFIX):
                value = custom_field_value(raw)
                if value is not None:
                    custom[name[prefix_len:]] = value
                continue
            value = _FIELD_RULES[name](number, raw, found)
            if value is not None:
                payload[name] = value
        for name in fields.REQUIRED:
            if name not in payload and not any(i.column == name for i in found):
                found.append(error(number, name, None, codes.MISSING_REQUIRED_FIELD,
                                   f"Field '{name}' is required."))
        if custom:
            payload["customFields"] = custom
        return RowResult(number, cells, _in_field_order(payload), found)

    return normalize


_ORDER = {f.name: i for i, f in enumerate(fields.FIELDS)}


def _in_field_order(payload: dict) -> dict:
    return dict(sorted(payload.items(), key=lambda kv: _ORDER.get(kv[0], len(_ORDER))))


def _title(row, raw, found):
    text = to_text(raw)
    if text is not None and len(text) > fields.TITLE_MAX_LENGTH:
        found.append(error(row, "title", text, codes.INVALID_FIELD_VALUE,
                           f"Title is {len(text)} characters long; the maximum is "
                           f"{fields.TITLE_MAX_LENGTH}. Shorten it by {len(text) - fields.TITLE_MAX_LENGTH}."))
    return text


def _enum_rule(name, label):
    accepted = fields.ENUM_VALUES[name]

    def rule(row, raw, found):
        text = to_text(raw)
        if text is None:
            return None
        value = normalize_enum(text, accepted, label)
        if isinstance(value, Invalid):
            found.append(error(row, name, text, codes.INVALID_FIELD_VALUE, value.message))
            return None
        return value

    return rule


def _slug(row, raw, found):
    text = to_text(raw)
    if text is None:
        return None
    _warn_if_number(row, "slug", raw, found)
    if not fields.SLUG_PATTERN.match(text):
        suggestion = fields.slugify(text)
        hint = f" Did you mean '{suggestion}'?" if suggestion else ""
        found.append(error(row, "slug", text, codes.INVALID_FIELD_VALUE,
                           f"Slug '{text}' is not valid: use lowercase letters, digits and single "
                           f"hyphens only.{hint} Or leave it empty to have one made from the title."))
    return text


def _description(row, raw, found):
    text = to_text(raw)
    if text is None:
        return None
    stripped = stripped_html_tags(text)
    if stripped:
        tags = ", ".join(f"<{t}>" for t in stripped)
        found.append(warning(row, "description", text, codes.HTML_STRIPPED,
                             f"The server strips {tags} from descriptions (allowed: "
                             "<p> <strong> <em> <ul> <li> <a>); that markup will be lost."))
    return text


def _list_rule(splitter):
    def rule(row, raw, found):
        text = to_text(raw)
        items = splitter(text) if text else []
        return items or None

    return rule


def _external_id(row, raw, found):
    text = to_text(raw)
    if text is None:
        return None
    _warn_if_number(row, "externalId", raw, found)
    digits = sum(c.isdigit() for c in text)
    if digits > EXCEL_DIGITS:
        found.append(warning(row, "externalId", text, codes.ID_TOO_LONG_FOR_EXCEL,
                             f"This id has {digits} digits. Excel keeps only {EXCEL_DIGITS}: if the "
                             "column is not formatted as Text, Excel replaces the rest with zeros "
                             "when the file is saved. Check the value against your source system."))
    return text


def _warn_if_number(row, name, raw, found):
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        found.append(warning(row, name, to_text(raw), codes.ID_STORED_AS_NUMBER,
                             "Excel stored this id as a number, so leading zeros or digits past the "
                             "15th may already be lost. Format the column as Text and retype the id "
                             "if it does not match your source system."))


def _is_free(row, raw, found):
    if to_text(raw) is None:
        return None
    value = normalize_bool(raw)
    if isinstance(value, Invalid):
        found.append(error(row, "isFree", to_text(raw), codes.INVALID_FIELD_VALUE, value.message))
        return None
    return value


def _plain_text(row, raw, found):
    return to_text(raw)


_FIELD_RULES = {
    "title": _title,
    "courseType": _enum_rule("courseType", "courseType"),
    "slug": _slug,
    "description": _description,
    "publishedStatus": _enum_rule("publishedStatus", "publishedStatus"),
    "authors": _list_rule(split_authors),
    "tags": _list_rule(split_tags),
    "externalId": _external_id,
    "isFree": _is_free,
    "source": _plain_text,
}


# --- the whole file --------------------------------------------------------------------

_UNIQUE = (("title", codes.DUPLICATE_TITLE, "Title"),
           ("slug", codes.DUPLICATE_SLUG, "Slug"),
           ("externalId", codes.DUPLICATE_EXTERNAL_ID, "External ID"))


def _flag_duplicates(rows: list[RowResult]) -> None:
    """The guide requires unique titles, slugs and externalIds: flag every row of a group
    that shares one, naming the other rows, so the user can pick which to change."""
    for name, code, label in _UNIQUE:
        groups: dict[str, list[RowResult]] = defaultdict(list)
        for result in rows:
            value = result.payload.get(name)
            if value is not None:
                groups[value].append(result)
        for value, group in groups.items():
            if len(group) < 2:
                continue
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
