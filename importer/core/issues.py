"""A problem found in a row is a value, not an exception: collected, counted and reported.

There is one shape for it, `Issue`, from the rule that finds it (which does not yet know
the row or the column: `row` and `column` are None until `Issue.at` places it) to the
report that shows it. Codes are the API's own (`MISSING_REQUIRED_FIELD`, `INVALID_FIELD_VALUE`, `DUPLICATE_*`)
so that a problem found before sending and one the server reports read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

MISSING_REQUIRED_FIELD = "MISSING_REQUIRED_FIELD"
INVALID_FIELD_VALUE = "INVALID_FIELD_VALUE"
DUPLICATE_TITLE = "DUPLICATE_TITLE"
DUPLICATE_SLUG = "DUPLICATE_SLUG"
DUPLICATE_EXTERNAL_ID = "DUPLICATE_EXTERNAL_ID"
# What the file itself got wrong in a row (found by `reading`).
CELL_WITHOUT_HEADER = "CELL_WITHOUT_HEADER"
UNCLOSED_QUOTE = "UNCLOSED_QUOTE"
QUOTE_SPANS_ROWS = "QUOTE_SPANS_ROWS"
EXCEL_ERROR_VALUE = "EXCEL_ERROR_VALUE"
CONTROL_CHARACTER = "CONTROL_CHARACTER"
# Warnings: the row is still sent.
UNKNOWN_COLUMN = "UNKNOWN_COLUMN"
UNKNOWN_CUSTOM_FIELD = "UNKNOWN_CUSTOM_FIELD"
HTML_STRIPPED = "HTML_STRIPPED"
ID_STORED_AS_NUMBER = "ID_STORED_AS_NUMBER"
ID_TOO_LONG_FOR_EXCEL = "ID_TOO_LONG_FOR_EXCEL"
ID_IN_SCIENTIFIC_NOTATION = "ID_IN_SCIENTIFIC_NOTATION"  # `1.23457E+11`: Excel already lost its digits
MIXED_TYPES = "MIXED_TYPES"  # a CSV custom field column sent as numbers and as number-like text
ZERO_WIDTH = "ZERO_WIDTH"  # an invisible character inside a title
NOT_SPLIT = "NOT_SPLIT"  # `a / b / c`, `#sales #crm`, `Jane Smith and John Doe`: read as one item
CLEARED = "CLEARED"  # a cell holding the clearing marker: the field is emptied on the platform
CANNOT_CLEAR = "CANNOT_CLEAR"  # the clearing marker in a field the platform cannot have empty (an error)
# Warnings: what the file holds differs from what the person saw (see `excel_view` too).
PLACEHOLDER = "PLACEHOLDER"
AMBIGUOUS_NUMBER = "AMBIGUOUS_NUMBER"
LINE_BREAK = "LINE_BREAK"
AUTHORS_WITH_COMMA = "AUTHORS_WITH_COMMA"

# `column` is the API name (what scripts read); `header` is the user's own header and its
# letter, `Course Type (B)` (what a person reads).
REPORT_COLUMNS = ("row", "column", "header", "value", "code", "severity", "message")


@dataclass(frozen=True, slots=True)
class Issue:
    row: int | None  # as Excel shows it: the header is row 1 (None: not placed yet)
    column: str | None  # the API field name, `customFields.<key>`, or the header of an unknown column
    value: object
    code: str
    severity: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def at(self, row: int, column: str) -> Issue:
        """This problem, placed in a row and a column of the sheet."""
        return Issue(row, column, self.value, self.code, self.severity, self.message)

    def as_record(self, header: str = "") -> dict:
        value = "" if self.value is None else self.value
        return dict(zip(REPORT_COLUMNS, (self.row, self.column, header, value, self.code,
                                         self.severity, self.message), strict=True))


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as Excel names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def error(row, column, value, code, message) -> Issue:
    return Issue(row, column, value, code, ERROR, message)


def warning(row, column, value, code, message) -> Issue:
    return Issue(row, column, value, code, WARNING, message)


def invalid_value(value, message) -> Issue:
    """A cell that cannot become an API value, not yet placed in a row: `message` says how to fix it."""
    return Issue(None, None, value, INVALID_FIELD_VALUE, ERROR, message)
