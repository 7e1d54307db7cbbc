r"""Stage 2a — map: a foreign export's columns become course fields, through a mapping file.

A mapping is data a person reads and edits (TOML, one key per course field), kept beside the
exports and reused on every run and sync:

    [fields]
    title = "course_title"                                       # a column, by its header
    courseType = { value = "course" }                            # one value for every row
    isFree = { column = "is_paid", values = { "True" = false, "False" = true } }
    slug = { column = "url", pattern = '/course/([^/?#]+)' }      # the first group, searched
    tags = { template = "{subject}; {level}" }                   # columns by header, in braces
    authors = { column = "instructors", split = " - " }          # the separator between names
    authors = { column = "instructors", split_pattern = '\s+-\s+' }   # a pattern between names
    "customFields.code" = { column = "course_number", text = true }  # the text, never a number
    externalId = { columns = ["idnumber", "shortname"] }           # the first of these not empty
    slug = { column = "shortname", slugify = true }                # made a slug (and lowercased)
    title = { column = "name", replace = { "&amp;" = "&" } }       # texts replaced, in order
    "customFields.enrolled" = { column = "students", number = true }  # 480k, 124,980 -> numbers

`apply_mapping(sheet, mapping)` turns the export's rows into the same cells a template sheet
gives (one column per field, headed by its API name), before normalization: a mapped export
and a template sheet then take one road through `rules` and `validating`. What it keeps of the
export — its headers, letters and cells — is what every message, the error report and the
failures file show, so that a person fixes the file they have.

The rules of one field are applied in this order: `column` (or `columns`, or `template`) ->
`pattern` -> `replace` -> `lowercase` -> `slugify` -> `values` -> `number`; `split` (or
`split_pattern`) and `text` say how the result is read.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..core import fields
from ..core.issues import Issue, column_letter, warning
from ..errors import MappingUnusable
from .normalizing import ColumnMap, KeptText, to_text

MAP_SUFFIX = ".map.toml"
NO_VALUE = object()  # a rule without `value`
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
OPTIONS = ("column", "columns", "value", "values", "template", "pattern", "replace", "lowercase", "slugify",
           "number", "split", "split_pattern", "text")
PATTERN_MISSED = "PATTERN_NOT_MATCHED"
NOT_A_NUMBER = "NOT_A_NUMBER"  # `number = true` on a cell that reads as no number
UNUSED_COLUMNS = "COLUMNS_NOT_IMPORTED"


@dataclass(frozen=True)
class FieldRule:
    field: str  # the API name, or `customFields.<key>`
    column: str | None = None  # a header of the export
    value: object = NO_VALUE  # the same value for every row
    values: dict | None = None  # folded source text -> the field's value
    template: str | None = None
    pattern: re.Pattern | None = None
    split: str | None = None
    text: bool = False
    columns: tuple[str, ...] = ()  # the first of these whose cell is not empty
    replace: tuple[tuple[str, str], ...] = ()
    lowercase: bool = False
    slugify: bool = False
    number: bool = False
    split_pattern: re.Pattern | None = None

    def headers(self) -> list[str]:
        """The export's headers this rule reads, in order."""
        if self.column is not None:
            return [self.column]
        if self.columns:
            return list(self.columns)
        if self.template is not None:
            return list(dict.fromkeys(_PLACEHOLDER.findall(self.template)))
        return []

    def describe(self) -> str:
        """The rule in a few words, for the Run sheet and messages about a field without a column."""
        if self.value is not NO_VALUE:
            return f"the map's value {self.value!r}"
        if self.template is not None:
            return f"the map's template {self.template!r}"
        if self.columns:
            return f"the first of columns {', '.join(map(repr, self.columns))}"
        return f"column {self.column!r}"


@dataclass
class Mapping:
    rules: tuple[FieldRule, ...]
    name: str = "<mapping>"  # the file's name, or how the caller named the dict
    text: str = ""  # the file's whole text: recorded with a run, to check a later sync against
    source: str = ""  # the file's full path (empty for a dict)

    def facts(self) -> dict:
        """What a run's Run sheet records of the map it read its export through: where it was and
        its whole text, so that a sync months later can be checked against the rules it ran with."""
        return {"map": self.source or self.name, "map_text": self.text}


# --- loading ------------------------------------------------------------------------------


def load_mapping(source) -> Mapping:
    """A mapping from a TOML file's path, or from the same structure as a dict (`{"fields": {...}}`
    or the fields alone). Raises `MappingUnusable` naming what is wrong and how to put it right."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, dict):
        body = source.get("fields", source) if isinstance(source.get("fields"), dict) or "fields" not in source \
            else source["fields"]
        return _mapping_from(body, "<mapping>", repr(source))
    path = Path(source)
    import tomllib

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise MappingUnusable(path, "file not found; write one with `importer map EXPORT`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingUnusable(path, f"cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingUnusable(path, f"is not valid TOML: {exc}") from None
    body = data.get("fields")
    if not isinstance(body, dict):
        raise MappingUnusable(path, "has no [fields] table: it holds one line per course field under [fields], "
                                    "e.g. title = \"course_title\"")
    unknown = [k for k in data if k != "fields"]
    if unknown:
        raise MappingUnusable(path, f"has a table it does not use: [{unknown[0]}]; everything goes under [fields]")
    mapping = _mapping_from(body, path.name, text, path)
    mapping.source = str(path.resolve())
    return mapping


def _mapping_from(body: dict, name: str, text: str, path=None) -> Mapping:
    where = path or Path(name)
    rules = [_rule(where, key, spec) for key, spec in body.items()]
    given = {r.field for r in rules}
    missing = [fields.FIELDS_BY_NAME[n].label for n in fields.REQUIRED if n not in given]
    if missing:
        raise MappingUnusable(where, f"gives no {' and no '.join(missing)}: every course needs "
                                     f"{' and '.join(missing)} (a column, or {{ value = \"…\" }} for every row)")
    return Mapping(tuple(rules), name, text)


def _field_name(where, key: str) -> str:
    if key in fields.FIELDS_BY_NAME:
        return key
    if key.startswith(fields.CUSTOM_FIELD_PREFIX) and key[len(fields.CUSTOM_FIELD_PREFIX):].strip():
        return fields.CUSTOM_FIELD_PREFIX + key[len(fields.CUSTOM_FIELD_PREFIX):].strip()
    names = [f.name for f in fields.FIELDS]
    near = difflib.get_close_matches(key, names + [f.name.lower() for f in fields.FIELDS], n=1, cutoff=0.5)
    by_label = fields.field_for_header(key)
    guess = by_label or (next(n for n in names if n.lower() == near[0].lower()) if near else None)
    hint = f"; did you mean {guess}?" if guess else ""
    raise MappingUnusable(where, f"{key!r} is not a course field{hint} The fields are: {', '.join(names)}, "
                                 "and customFields.<key>")


def _rule(where, key: str, spec) -> FieldRule:
    name = _field_name(where, key)
    if isinstance(spec, str):
        return FieldRule(name, column=spec)
    if not isinstance(spec, dict):
        raise MappingUnusable(where, f"{key} = {spec!r}: give a column's header in quotes, or a table such as "
                                     "{ value = \"course\" }")
    unknown = [k for k in spec if k not in OPTIONS]
    if unknown:
        near = difflib.get_close_matches(unknown[0], OPTIONS, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise MappingUnusable(where, f"{key}: {unknown[0]!r} is not an option{hint}; the options are "
                                     + ", ".join(OPTIONS))
    sources = [k for k in ("column", "columns", "value", "template") if k in spec]
    if len(sources) != 1:
        raise MappingUnusable(where, f"{key}: give exactly one of column, columns, value or template "
                                     f"({'none' if not sources else ' and '.join(sources)} given)")
    if "columns" in spec and not (isinstance(spec["columns"], list) and spec["columns"] and
                                  all(isinstance(c, str) and c for c in spec["columns"])):
        raise MappingUnusable(where, f"{key}: columns is a list of headers, e.g. columns = [\"idnumber\", "
                                     "\"shortname\"]")
    replace = spec.get("replace", {})
    if not isinstance(replace, dict) or not all(isinstance(v, str) for v in replace.values()):
        raise MappingUnusable(where, f"{key}: replace is a table of texts, e.g. replace = {{ \"&amp;\" = \"&\" }}")
    for option in ("lowercase", "slugify", "number"):
        if option in spec and not isinstance(spec[option], bool):
            raise MappingUnusable(where, f"{key}: {option} is true or false")
    split_pattern = None
    if "split_pattern" in spec:
        try:
            split_pattern = re.compile(spec["split_pattern"])
        except (re.error, TypeError) as exc:
            raise MappingUnusable(where, f"{key}: the split_pattern {spec['split_pattern']!r} is not a regular "
                                         f"expression ({exc})") from None
    if ("split" in spec or "split_pattern" in spec) and name not in ("authors", "tags"):
        raise MappingUnusable(where, f"{key}: split and split_pattern apply to authors and tags only")
    for option in ("column", "template", "pattern", "split"):
        if option in spec and not (isinstance(spec[option], str) and spec[option]):
            raise MappingUnusable(where, f"{key}: {option} must be a text in quotes")
    pattern = None
    if "pattern" in spec:
        try:
            pattern = re.compile(spec["pattern"])
        except re.error as exc:
            raise MappingUnusable(where, f"{key}: the pattern {spec['pattern']!r} is not a regular expression "
                                         f"({exc})") from None
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        raise MappingUnusable(where, f"{key}: values must be a table, e.g. values = {{ \"True\" = false }}")
    if "text" in spec and not isinstance(spec["text"], bool):
        raise MappingUnusable(where, f"{key}: text is true or false")
    if "template" in spec and not _PLACEHOLDER.search(spec["template"]):
        raise MappingUnusable(where, f"{key}: the template names no column: put headers in braces, e.g. "
                                     "\"{subject}; {level}\" (for one text on every row, use value)")
    return FieldRule(name, column=spec.get("column"), value=spec.get("value", NO_VALUE),
                     values={_fold(k): v for k, v in values.items()} if values else None,
                     template=spec.get("template"), pattern=pattern, split=spec.get("split"),
                     text=bool(spec.get("text", False)), columns=tuple(spec.get("columns", ())),
                     replace=tuple((str(k), v) for k, v in replace.items()), lowercase=spec.get("lowercase", False),
                     slugify=spec.get("slugify", False), number=spec.get("number", False),
                     split_pattern=split_pattern)


def _fold(text) -> str:
    return str(text).strip().casefold()


# --- applying -----------------------------------------------------------------------------


class MappedColumns(ColumnMap):
    """The export's columns as the messages and files name them. `fields[i]` is the field a column
    holds as it stands (what the template's widths, dropdowns and text formats follow); `sources`
    every column each field is made from, so that a message about a field points at its cell."""

    def __init__(self, headers, column_fields, unknown, sources: dict[str, list[int]], rules: dict[str, FieldRule],
                 unused: list[int]):
        super().__init__(headers, column_fields, unknown)
        self.sources = sources
        self.rules = rules
        self.unused = unused

    def index_of(self, name: str) -> int | None:
        found = self.sources.get(name)
        if found:
            return found[0]
        if name in self.rules:
            return None
        return super().index_of(name)

    def display(self, name: str | None) -> str:
        if name in self.rules and not self.sources.get(name):
            label = fields.FIELDS_BY_NAME[name].label if name in fields.FIELDS_BY_NAME else name
            return f"{label} ({self.rules[name].describe()})"
        if name in self.sources and len(self.sources[name]) > 1:
            return " + ".join(super().display(self.headers[i]) for i in self.sources[name])
        return super().display(name)

    def name_at(self, index: int) -> str:
        owners = [name for name, where in self.sources.items() if index in where]
        return owners[0] if len(owners) == 1 else self.headers[index] or f"column {column_letter(index)}"

    @property
    def custom_field_keys(self) -> list[str]:
        n = len(fields.CUSTOM_FIELD_PREFIX)
        return [f[n:] for f in self.rules if f.startswith(fields.CUSTOM_FIELD_PREFIX)]

    def unused_headers(self) -> list[str]:
        return [self.headers[i] or f"column {column_letter(i)}" for i in self.unused]


@dataclass
class MappedSheet:
    cells: list[list]  # per row, one cell per rule, in the mapping's order
    columns: MappedColumns
    issues: dict[int, list[Issue]] = field(default_factory=dict)  # by row position: what the map did to a cell


def find_header(headers: list[str], wanted: str, path, what: str) -> int:
    """The column whose header is `wanted`, ignoring case and surrounding spaces."""
    key = wanted.replace("\u00a0", " ").strip().casefold()
    found = [i for i, h in enumerate(headers) if h.replace("\u00a0", " ").strip().casefold() == key]
    if len(found) == 1:
        return found[0]
    if found:
        raise MappingUnusable(path, f"{what}: columns {' and '.join(column_letter(i) for i in found)} are both "
                                    f"headed {wanted!r}; rename one in the export")
    listed = ", ".join(repr(h) for h in headers if h) or "none"
    near = difflib.get_close_matches(key, [h.strip().casefold() for h in headers if h], n=1, cutoff=0.6)
    hint = f" Did you mean {next(h for h in headers if h.strip().casefold() == near[0])!r}?" if near else ""
    raise MappingUnusable(path, f"{what}: the export has no column headed {wanted!r}.{hint} Its headers are: "
                                f"{listed}")


def apply_mapping(headers: list[str], rows: list[tuple[int, list]], mapping: Mapping, path) -> MappedSheet:
    """Every row of the export as the cells of the mapping's fields (see the module docstring)."""
    where = {}
    for rule in mapping.rules:
        what = f"the map's {rule.field}"
        where[rule.field] = [find_header(headers, h, path, what) for h in rule.headers()]
    column_fields: list[str | None] = [None] * len(headers)
    for rule in mapping.rules:
        plain = rule.column is not None and rule.pattern is None and rule.values is None and not rule.split and \
            not (rule.replace or rule.lowercase or rule.slugify or rule.number or rule.split_pattern)
        if plain and column_fields[where[rule.field][0]] is None:
            column_fields[where[rule.field][0]] = rule.field
    used = {i for found in where.values() for i in found}
    ours = fields.importer_columns(headers)
    unused = [i for i in range(len(headers)) if i not in used and i not in ours]
    columns = MappedColumns(list(headers), column_fields, [], where, {r.field: r for r in mapping.rules}, unused)
    mapped = MappedSheet([], columns)
    makers = [_cell_maker(rule, where[rule.field]) for rule in mapping.rules]
    for position, (number, cells) in enumerate(rows):
        out = []
        for rule, make in zip(mapping.rules, makers, strict=True):
            value, problem = make(cells)
            if problem:
                code, shown, message = problem
                mapped.issues.setdefault(position, []).append(warning(number, rule.field, shown, code, message))
            out.append(value)
        mapped.cells.append(out)
    return mapped


def _cell_maker(rule: FieldRule, where: list[int]):
    """A function from a row's cells to (this field's cell, a problem or None)."""
    if rule.value is not NO_VALUE:
        constant = _as_cell(rule.value, rule)
        return lambda cells: (constant, None)
    if rule.template is not None:
        parts = _PLACEHOLDER.split(rule.template)  # text, header, text, header, …
        header_at = dict(zip(rule.headers(), where, strict=True))
        if rule.field in ("tags", "authors") and not rule.split and not rule.split_pattern and \
                all(not part.strip(" ,;|\n") for part in parts[0::2]):
            # `{subject}; {level}`: columns joined by separators are items, each whole (a subject
            # "Data Analysis, Statistics" stays one tag), not a text split again on every comma.
            def raw(cells):
                return tuple(text for part in parts[1::2] if (text := _plain_text(cells[header_at[part]]))) or None
        else:
            def raw(cells):
                return "".join(part if n % 2 == 0 else (_plain_text(cells[header_at[part]]) or "")
                               for n, part in enumerate(parts))
    elif rule.columns:
        def raw(cells):  # a fallback: the first of the columns whose cell is not empty
            return next((cells[i] for i in where if _plain_text(cells[i]) is not None), None)
    else:
        index = where[0]

        def raw(cells):
            return cells[index]

    def make(cells):
        value = raw(cells)
        problem = None
        if rule.pattern is not None and value is not None:
            text = _plain_text(value) or ""
            hit = rule.pattern.search(text)
            if hit is None:
                problem = (PATTERN_MISSED, text, f"the map's pattern {rule.pattern.pattern!r} does not match "
                                                 f"{text[:80]!r}, so {rule.field} is left empty on this row")
                value = None
            else:
                value = next((g for g in hit.groups() if g is not None), hit.group(0))
        if value is not None and (rule.replace or rule.lowercase or rule.slugify):
            text = _plain_text(value) or ""
            for old, new in rule.replace:
                text = text.replace(old, new)
            if rule.lowercase:
                text = text.lower()
            if rule.slugify:
                text = fields.slugify(text)
            value = text or None
        if rule.values is not None and value is not None:
            key = _fold(_plain_text(value) or "")
            if key in rule.values:
                value = rule.values[key]
        if rule.number and value is not None and not isinstance(value, int | float):
            read = read_number(_plain_text(value) or "")
            if read is None:
                text = _plain_text(value) or ""
                problem = (NOT_A_NUMBER, text, f"the map reads {rule.field} as a number, and {text[:80]!r} is none: "
                                               "it is sent as the text it is")
            else:
                value = read
        return _as_cell(value, rule), problem

    return make


_NUMBER = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*([kKmM]?)\+?$")


def read_number(text: str) -> int | float | None:
    """A count as exports write it: `124,980` (thousands separated), `480k`, `1.2M`, `3,500+`."""
    found = _NUMBER.match(text.strip())
    if not found:
        return None
    sign, whole, fraction, suffix = found.groups()
    value = float(f"{whole.replace(',', '')}.{fraction or 0}") * {"": 1, "k": 1_000, "m": 1_000_000}[suffix.lower()]
    value = -value if sign == "-" else value
    return int(value) if value.is_integer() else value


def _plain_text(value) -> str | None:
    """A cell as the text a template or pattern works on: a number as Excel shows it."""
    if isinstance(value, float):
        return general_format(value)
    return to_text(value)


def general_format(value: float) -> str:
    """A number as Excel's General format shows it: at most 15 significant digits, so the float
    15.060000000000001 that Excel wrote for 15.06 is 15.06 again."""
    text = format(value, ".15g")
    return to_text(float(text)) if "e" in text else text


def _as_cell(value, rule: FieldRule):
    """A value the map made, as a cell the field's rule reads like a template cell."""
    if value is None or value == "":
        return None
    if (rule.split or rule.split_pattern) and not isinstance(value, (list, tuple)):
        text = _plain_text(value) or ""
        pieces = rule.split_pattern.split(text) if rule.split_pattern else text.split(rule.split)
        return tuple(item for item in (piece.strip() for piece in pieces if piece) if item) or None
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value) or None
    if rule.text:
        text = _plain_text(value) if not isinstance(value, bool) else ("TRUE" if value else "FALSE")
        return None if text is None else KeptText(text)
    return value
