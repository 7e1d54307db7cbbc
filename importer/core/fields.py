"""The course fields of the API, as the guide defines them, and how spreadsheet headers map to them.

This is the one place that knows the field reference of `POST /incoming/v2/courses`:
the names, the friendly labels the template uses, which are required, the accepted
values of the enumerations and the limits. Reading, validation, the template and the
sandbox all take their facts from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COURSE_TYPES = ("course", "learning_path", "webinar", "video", "article", "scorm", "xapi")
PUBLISHED_STATUSES = ("draft", "published", "archived")
TITLE_MAX_LENGTH = 255
# Lowercase letters and digits in runs joined by single hyphens (contract-notes).
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# The description tags the server keeps; anything else is stripped (guide).
ALLOWED_HTML_TAGS = frozenset({"p", "strong", "em", "ul", "li", "a"})
# A tag the server strips from a description (its markup goes, its text stays); group 1 is its name.
STRIPPED_HTML_TAG = re.compile(r"<\s*/?\s*(?!(?:" + "|".join(sorted(ALLOWED_HTML_TAGS)) + r")\b)"
                               r"([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>", re.IGNORECASE)
# Script elements go whole, content included (guide: "Script tags are stripped").
SCRIPT_ELEMENT = re.compile(r"<\s*script\b[^>]*>.*?<\s*/\s*script\s*>|<\s*script\b[^>]*/?>", re.I | re.S)
CUSTOM_FIELD_PREFIX = "customFields."
# An empty cell leaves the platform's value as it is (a sync never clears by accident: a blank is not an
# instruction). A cell holding exactly this marker, any case, empties the field on the platform instead.
CLEAR_MARK = "(clear)"
# What emptying each clearable field sends; a custom field is sent as null. Title, Course Type, Slug,
# External ID, Published Status and Is Free cannot be emptied (required, identity, or a yes/no).
CLEARED_VALUES = {"description": "", "source": "", "authors": [], "tags": []}


class Cleared:
    """The value of a cell holding `CLEAR_MARK`: never part of a create's body, an emptying in an update's."""

    __slots__ = ()

    def __repr__(self) -> str:
        return CLEAR_MARK

    def __reduce__(self):
        return "CLEARED"


CLEARED = Cleared()


def cleared_value(name: str):
    """What an update sends to empty this field (`customFields.<key>`: null)."""
    return CLEARED_VALUES.get(name)



@dataclass(frozen=True)
class Field:
    name: str  # the API's name, used in payloads and reports
    label: str  # the template's header
    kind: str  # text | enum | list | bool
    required: bool = False
    id_like: bool = False  # typed by people, must stay text exactly as typed
    help: str = ""


FIELDS: tuple[Field, ...] = (
    Field("title", "Title", "text", required=True, id_like=True,
          help="Name shown to learners. Required, at most 255 characters, unique."),
    Field("courseType", "Course Type", "enum", required=True,
          help="Required. One of: " + ", ".join(COURSE_TYPES) + "."),
    Field("slug", "Slug", "text", id_like=True,
          help="Web address part, e.g. intro-platform-apis: lowercase letters, digits and "
               "single hyphens. Unique. Leave empty to let the platform make one from the title."),
    Field("description", "Description", "text",
          help="Shown on the course page. Basic HTML only: <p> <strong> <em> <ul> <li> <a>."),
    Field("publishedStatus", "Published Status", "enum",
          help="One of: draft, published, archived. Empty means draft."),
    Field("authors", "Authors", "list",
          help="Author display names separated by semicolons or line breaks "
               "(a comma stays inside a name: 'Smith, Jane; John Doe')."),
    Field("tags", "Tags", "list",
          help="Separated by commas, semicolons or line breaks. Case does not matter: "
               "'API' and 'api' are the same tag."),
    Field("externalId", "External ID", "text", id_like=True,
          help="Your own system's id for the course. Unique. Kept exactly as typed (00042 stays 00042)."),
    Field("isFree", "Is Free", "bool",
          help="Yes or No (also TRUE/FALSE, Y/N, 1/0). Empty means No."),
    Field("source", "Source", "text",
          help="Where the content came from, e.g. partner-content."),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)
ENUM_VALUES = {"courseType": COURSE_TYPES, "publishedStatus": PUBLISHED_STATUSES}

# Columns the importer itself writes into results and failures files. They are ignored on
# input from a file the importer wrote (see `importer_columns`), so that those files can be
# fed straight back in; in any other file they are ordinary columns.
OUTPUT_COLUMNS = ("source_row", "status", "course_id", "course_slug", "error_code", "error_message")
# Columns `importer export` writes beside the template's: what the platform says of each course, for
# the person to read. Wherever they stand, a run reads them as information and never sends them.
PLATFORM_COLUMNS = ("Platform course ID", "Last changed on the platform", "Platform note")


def header_key(text: str) -> str:
    """Fold a header for matching: case, spaces, underscores and a trailing '*' do not count."""
    folded = str(text).replace("\u00a0", " ").strip().rstrip("*").strip()
    return re.sub(r"[\s_]+", "", folded).lower()


# Extra spellings people use for the same column.
_ALIASES = {
    "type": "courseType",
    "author": "authors",
    "tag": "tags",
    "free": "isFree",
    # In a file the importer wrote, `status` is the row's outcome and is skipped (see
    # `importer_columns`); anywhere else a Status column is the course's published status.
    "status": "publishedStatus",
}
HEADER_ALIASES: dict[str, str] = {}
for _f in FIELDS:
    HEADER_ALIASES[header_key(_f.name)] = _f.name
    HEADER_ALIASES[header_key(_f.label)] = _f.name
for _alias, _name in _ALIASES.items():
    if _name:
        HEADER_ALIASES[header_key(_alias)] = _name
OUTPUT_COLUMN_KEYS = frozenset(header_key(c) for c in OUTPUT_COLUMNS)
PLATFORM_COLUMN_KEYS = frozenset(header_key(c) for c in PLATFORM_COLUMNS)


def importer_columns(headers) -> set[int]:
    """The columns the importer itself wrote into a results, failures or plan file: its own
    columns go last, from `source_row` on, which stands beside `status`, `error_code` or `action`;
    and `importer export`'s platform columns, wherever they stand.
    Only these are skipped on input; a `Status` or `course_id` column anywhere else (an export's
    own) is an ordinary column."""
    keys = [header_key(h) if h else "" for h in headers]
    exported = {i for i, key in enumerate(keys) if key in PLATFORM_COLUMN_KEYS}  # `importer export`'s, anywhere
    if "sourcerow" not in keys:
        return exported
    start = len(keys) - 1 - keys[::-1].index("sourcerow")
    ours = {i for i in range(start, len(keys)) if keys[i] in OUTPUT_COLUMN_KEYS | _PLAN_KEYS}
    return exported | (ours if any(keys[i] in ("status", "errorcode", "action") for i in ours) else set())


_PLAN_KEYS = frozenset({"action", "message"})


def field_for_header(header: str) -> str | None:
    """The API field name a header stands for: a field, `customFields.<key>`, or None."""
    text = str(header).replace("\u00a0", " ").strip()
    if text.lower().startswith(CUSTOM_FIELD_PREFIX.lower()):
        key = text[len(CUSTOM_FIELD_PREFIX):].strip().rstrip("*").strip()
        return CUSTOM_FIELD_PREFIX + key if key else None
    return HEADER_ALIASES.get(header_key(text))


def slugify(text: str) -> str:
    """The slug the platform would accept for a title: lowercase, digits, single hyphens."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# --- what the server does to the values it is sent (the guide's rules) ------------------


def stripped_html_tags(description: str) -> list[str]:
    """The HTML tags in a description that the server will strip, lowercased, each once."""
    return list(dict.fromkeys(name.lower() for name in STRIPPED_HTML_TAG.findall(description)))


def clean_description(html: str) -> str:
    """A description as the server stores it: scripts gone with their content, other tags
    outside the basic set gone but their text kept."""
    return STRIPPED_HTML_TAG.sub("", SCRIPT_ELEMENT.sub("", html))


def unique_casefold(items) -> list[str]:
    """Trimmed items, empty ones dropped, each kept once whatever its case (first spelling
    wins): how the server treats tags ("case-insensitive and trimmed")."""
    seen: set[str] = set()
    kept = []
    for item in items:
        folded = item.casefold()
        if item and folded not in seen:
            seen.add(folded)
            kept.append(item)
    return kept


def key_list(text: str) -> list[str]:
    """`--custom-fields a, b` -> ["a", "b"]: the option's value as a list of keys."""
    return [k.strip() for k in text.split(",") if k.strip()]
