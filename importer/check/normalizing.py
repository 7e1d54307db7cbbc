"""Stage 2 — normalize: headers to API fields, and each cell to the value the API expects.

Pure functions, value in and value out. Each `normalize_*` returns the clean value, or
raises nothing and instead returns an `Issue` (not yet placed in a row) for the caller to record.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal

from ..core import fields
from ..core.issues import Issue, column_letter, invalid_value
from ..errors import FileUnusable, MissingColumns
from ..read.reading import INVISIBLE
from .headers import suggest_columns

# --- headers ---------------------------------------------------------------------------


@dataclass
class ColumnMap:
    """Which spreadsheet column holds which API field."""

    headers: list[str]
    fields: list[str | None]  # per column: API field, `customFields.<key>`, or None (ignored)
    unknown: list[tuple[int, str]]  # (column index, header) of columns that mean nothing to us

    def index_of(self, name: str) -> int | None:
        """The column of an API field (or of a header, or of `column D` for one without)."""
        if not name:
            return None
        try:
            return self.fields.index(name)
        except ValueError:
            pass
        if name in self.headers:
            return self.headers.index(name)
        if name and name.startswith("column "):
            letters = name[len("column "):]
            for index in range(len(self.headers)):
                if column_letter(index) == letters:
                    return index
        return None

    def display(self, name: str | None) -> str:
        """A column as the user's sheet shows it: `Course Type (B)`; the name as given when
        the sheet has no such column (a field that is required but missing)."""
        index = self.index_of(name) if name else None
        if index is None:
            return fields.FIELDS_BY_NAME[name].label if name in fields.FIELDS_BY_NAME else (name or "")
        header = self.headers[index]
        return f"{header} ({column_letter(index)})" if header else f"column {column_letter(index)}"

    def name_at(self, index: int) -> str:
        """How an issue names a column: its API field, else its header, else its letter."""
        return self.fields[index] or self.headers[index] or f"column {column_letter(index)}"

    @property
    def custom_field_keys(self) -> list[str]:
        n = len(fields.CUSTOM_FIELD_PREFIX)
        return [f[n:] for f in self.fields if f and f.startswith(fields.CUSTOM_FIELD_PREFIX)]


def map_columns(path, headers: list[str]) -> ColumnMap:
    """Match headers to fields. A sheet without title and courseType columns, or with one
    field in two columns, is unusable: raise `FileUnusable` naming the columns."""
    mapped: list[str | None] = []
    unknown: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    ours = fields.importer_columns(headers)
    for index, header in enumerate(headers):
        if index in ours:
            mapped.append(None)  # our own status, course_id…: written again fresh by this run
            continue
        name = fields.field_for_header(header) if header else None
        if name is None:
            if header:
                unknown.append((index, header))
            mapped.append(None)
            continue
        if name in seen:
            raise FileUnusable(path, f"columns {column_letter(seen[name])} ({headers[seen[name]]!r}) and "
                                     f"{column_letter(index)} ({header!r}) both hold {name}; keep one")
        seen[name] = index
        mapped.append(name)
    missing = [n for n in fields.REQUIRED if n not in seen]
    if missing:
        raise MissingColumns(path, _no_required_columns(missing, headers))
    return ColumnMap(list(headers), mapped, unknown)


def _no_required_columns(missing: list[str], headers: list[str]) -> str:
    """One line: which required columns are missing, which of the file's columns look like them,
    and the command that writes a mapping for a file in another system's layout."""
    labels = [fields.FIELDS_BY_NAME[n].label for n in missing]
    found = ", ".join(repr(h) for h in headers if h) or "none"
    looks = suggest_columns(headers, missing)
    hints = "; ".join(f"{repr(headers[i])} looks like {fields.FIELDS_BY_NAME[n].label}" for n, i in looks.items())
    hint = f" ({hints})" if hints else ""
    return (f"no {' or '.join(labels)} column in row 1 (headers found: {found}){hint}. If this is another "
            "system's export, `importer map FILE` writes a mapping file to fill in; then add --map FILE.map.toml")


# --- cells -----------------------------------------------------------------------------



class KeptText(str):
    """A cell that is text whatever it looks like (a map's `text = true`): never typed as a
    number or a boolean."""

    __slots__ = ()


def to_text(value) -> str | None:
    """Any cell as trimmed text (non-breaking and zero-width spaces too); empty is None.
    Numbers are written the way Excel shows them: 42 not 42.0, 1E+20 as 100000000000000000000."""
    if type(value) is str:  # by far the most common: every CSV cell
        text = value.strip()
        if text and (text[0] in INVISIBLE or text[-1] in INVISIBLE):
            text = text.strip(INVISIBLE).strip()
        return text or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if value == value else None
    text = str(value).strip().strip(INVISIBLE).strip()
    return text or None


def _enum_key(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def nearest_value(key: str, accepted: tuple[str, ...]) -> str | None:
    """The accepted value a person most likely meant. A value that is a word of what was typed comes
    first (`video_course` -> video, not course: the course's kind is the first word, the generic
    word last), then one whose words were all typed (`e_learning`: none), then close spelling."""
    words = [w for w in re.split(r"[_\W]+", key) if w]
    named = [value for value in accepted if value in words]
    if named:
        return min(named, key=words.index)  # the first one named: `video course` is a video
    for value in difflib.get_close_matches(key, accepted, n=1, cutoff=0.6):
        # A typo (`corse`) is close all through; a loose likeness (`e_learning`, `learning_path`) only
        # counts when every word of the value was typed.
        if difflib.SequenceMatcher(None, key, value).ratio() >= 0.8 or set(value.split("_")) <= set(words):
            return value
    return None


def normalize_enum(text: str, accepted: tuple[str, ...], label: str) -> str | Issue:
    """`Learning Path` -> `learning_path`, ` SCORM ` -> `scorm`: case, spaces and hyphens
    do not count. An unknown value lists the accepted ones and the nearest."""
    key = _enum_key(text)
    if key in accepted:
        return key
    nearest = nearest_value(key, accepted)
    hint = f" Did you mean '{nearest}'?" if nearest else ""
    return invalid_value(text, f"Invalid {label} '{text}'. Accepted values: {', '.join(accepted)}.{hint}")


_TRUE = {"yes", "y", "true", "1", "t", "on"}
_FALSE = {"no", "n", "false", "0", "f", "off"}


def normalize_bool(value) -> bool | Issue:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = (to_text(value) or "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return invalid_value(to_text(value), f"'{to_text(value)}' is not a yes/no value. Use Yes or No "
                         "(also TRUE/FALSE, Y/N, 1/0).")


_TAG_SEPARATORS = re.compile(r"[,;|\r\n]+")  # `|`: how several systems export lists
_AUTHOR_SEPARATORS = re.compile(r"[;|\r\n]+")


def _dedupe_casefold(items) -> list[str]:
    return fields.unique_casefold(item.strip().strip(INVISIBLE).strip() for item in items)


def unique_items(items) -> list[str]:
    """Items of a list already split (no separator splits them again): trimmed, empty ones
    dropped, each kept once whatever its case."""
    return _dedupe_casefold(str(item) for item in items)


def split_tags(text: str) -> list[str]:
    """Tags separated by commas, semicolons, `|` or line breaks; trimmed; empty pieces dropped;
    the same tag in another case kept once, first spelling wins (the server folds case)."""
    return _dedupe_casefold(_TAG_SEPARATORS.split(text))


def split_authors(text: str) -> list[str]:
    """Authors separated by semicolons, `|` or line breaks. Commas stay: 'Smith, Jane' is one name."""
    return _dedupe_casefold(_AUTHOR_SEPARATORS.split(text))


_INT_TEXT = re.compile(r"^-?(?:0|[1-9]\d{0,14})$")
_FLOAT_TEXT = re.compile(r"^-?(?:0|[1-9]\d*)\.\d+$")


def custom_field_value(value):
    """A custom field keeps its type: Excel numbers and booleans as they are, and text that
    reads as a plain number (4, 2.5) or TRUE/FALSE as that type. Text that only looks like
    a number to a machine ("00042", "1e5", "+3") stays text."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, KeptText):
        return to_text(str(value))
    text = to_text(value)
    return None if text is None else typed_text(text)


def typed_text(text: str):
    """Trimmed, non-empty text as a custom field value: a plain number or TRUE/FALSE typed."""
    first = text[0]
    if first in "tTfF":
        lowered = text.lower()
        return lowered == "true" if lowered in ("true", "false") else text
    if first != "-" and not first.isdigit():
        return text
    if _INT_TEXT.match(text):
        return int(text)
    if "." in text and _FLOAT_TEXT.match(text) and repr(float(text)) == text:
        return float(text)  # only when it reads back as the same text: 15.060 and 2.000 stay text
    return text
