"""The page's words for the library's codes: a person reads `already there`, not `exists`."""

from __future__ import annotations

import re

STATUS_WORDS = {
    "created": "created", "updated": "updated", "unchanged": "unchanged", "exists": "already there",
    "skipped": "same as an earlier row", "conflict": "conflict", "not_found": "not on the platform",
    "invalid": "invalid", "failed": "failed", "not_attempted": "not attempted (run it again)",
    "missing": "missing from the file", "archived": "archived",
}
ACTION_WORDS = {
    "create": "to create", "update": "to update", "unchanged": "unchanged", "exists": "already there",
    "conflict": "conflict", "not_found": "not on the platform", "skip": "same as an earlier row",
    "invalid": "has errors",
}
CODE_WORDS = {
    "MISSING_REQUIRED_FIELD": "a required value is missing",
    "INVALID_FIELD_VALUE": "a value the platform does not accept",
    "DUPLICATE_TITLE": "a title used twice", "DUPLICATE_SLUG": "a slug used twice",
    "DUPLICATE_EXTERNAL_ID": "an External ID used twice",
    "CELL_WITHOUT_HEADER": "a cell under no header", "UNCLOSED_QUOTE": "a quotation mark never closed",
    "QUOTE_SPANS_ROWS": "a quotation spanning rows", "EXCEL_ERROR_VALUE": "an Excel error (#N/A…)",
    "CONTROL_CHARACTER": "an invisible control character", "UNKNOWN_COLUMN": "a column the platform has no field for",
    "UNKNOWN_CUSTOM_FIELD": "a custom field the platform may not know", "HTML_STRIPPED": "HTML the platform removes",
    "ID_STORED_AS_NUMBER": "an id Excel stored as a number", "ID_TOO_LONG_FOR_EXCEL": "an id too long for Excel",
    "ID_IN_SCIENTIFIC_NOTATION": "an id Excel turned into 1.2E+11", "MIXED_TYPES": "numbers and text in one column",
    "ZERO_WIDTH": "an invisible character in a title", "NOT_SPLIT": "a list that may not split as meant",
    "PLACEHOLDER": "a placeholder (N/A, TBD…)", "AMBIGUOUS_NUMBER": "a number that reads two ways",
    "LINE_BREAK": "a line break inside a cell", "AUTHORS_WITH_COMMA": "authors split on a comma?",
    "CLEARED": "a field to be emptied ((clear))", "CANNOT_CLEAR": "(clear) where a value is needed",
    "PADDED_NUMBER": "a number with leading zeros", "HYPERLINK": "a cell with a link",
}
_SUGGESTION = re.compile(r"Did you mean '([^']+)'\?")


def code_words(code: str) -> str:
    return CODE_WORDS.get(code, code.replace("_", " ").lower())


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " "))


def action_words(kind: str) -> str:
    return ACTION_WORDS.get(kind, kind.replace("_", " "))


def suggestions(message: str) -> list[str]:
    """The values a message's "Did you mean '…'?" offers, each one click away on the page."""
    return list(dict.fromkeys(_SUGGESTION.findall(message or "")))


def value_text(value) -> str:
    """A field's value as a person reads it in a plan: a list as its items, nothing as (empty)."""
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)
