"""`importer map EXPORT`: a suggested mapping file for another system's export.

For each course field, the export's column that most looks like it: first by the names other
systems give that field (`course_title`, `fullname`, `name` -> title; `idnumber`, `course_id`
-> externalId…), then by close spelling (difflib: headers are short, and the names list
does the real work, so a fuzzy-matching library would add a dependency for nothing). The
file it writes is a working map once its TODO lines are filled in: each line carries three
sample values, enumerations mapped from a column get a `values` table of that column's
distinct values, and every column left out is listed with samples.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from ..core import fields
from ..core.issues import column_letter
from .headers import folded_header, suggest_columns
from .normalizing import normalize_bool, normalize_enum, to_text

INVERTED = ("ispaid", "paid")  # a yes here means Is Free: no
SAMPLES = 3
DISTINCT_SHOWN = 20


def suggest_map(sheet, now: dt.datetime | None = None) -> str:
    """The text of a suggested mapping file for this export (a `reading.Sheet`)."""
    headers = sheet.headers
    columns = list(zip(*(cells for _, cells in sheet.rows), strict=True)) if sheet.rows else [()] * len(headers)
    chosen = suggest_columns(headers)
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d")
    lines = [
        f"# How the columns of {sheet.path.name} become course fields: a mapping file for `importer --map`.",
        f"# Suggested by `importer map` on {stamp}. Check every line; fill in each TODO; then run",
        f"#   importer validate {sheet.path.name} --map {sheet.path.name}.map.toml",
        "# A line is: field = \"a column's header\", or a table with column, value, values, template,",
        "# pattern, split or text (the README's section 'Another system's export' shows each).",
        "",
        "[fields]",
    ]
    todo = 0
    for spec in fields.FIELDS:
        index = chosen.get(spec.name)
        if index is None:
            if spec.required:
                todo += 1
                lines.append(f"{_toml_key(spec.name)} = {{ value = \"\" }}  # TODO required: no column looks like "
                             f"{spec.label}; give one value for every row{_accepted(spec.name)}, or a column")
            continue
        samples = _samples(columns[index])
        header = headers[index]
        if spec.kind in ("enum", "bool"):
            lines.append(_values_line(spec, header, columns[index]))
        else:
            lines.append(f"{_toml_key(spec.name)} = {_toml(header)}  # e.g. {samples}")
    unused = [i for i in range(len(headers)) if i not in chosen.values()
              and i not in fields.importer_columns(headers)]
    custom = [i for i in unused if (headers[i] or "").lower().startswith(fields.CUSTOM_FIELD_PREFIX.lower())]
    for index in custom:
        lines.append(f"{_toml_key(headers[index].strip())} = {_toml(headers[index])}  # e.g. "
                     f"{_samples(columns[index])}")
    unused = [i for i in unused if i not in custom]
    if unused:
        lines += ["", "# Columns not imported. To keep one as a custom field, add a line above such as",
                  f"#   \"customFields.{_custom_key(headers[unused[0]]) or 'key'}\" = {_toml(headers[unused[0]])}"]
        for index in unused:
            label = headers[index] or "(no header)"
            lines.append(f"#   {_comment(label)} [{column_letter(index)}]: e.g. {_samples(columns[index])}")
    if todo:
        lines.insert(5, f"# {todo} TODO line{'s' if todo != 1 else ''} below must be filled in before an import.")
    return "\n".join(lines) + "\n"


def _values_line(spec, header: str, column) -> str:
    """An enumeration or yes/no from a column: its distinct values, each with the accepted value
    it most likely means ("" where it cannot be told: fill it in)."""
    distinct = list(dict.fromkeys(t for t in (to_text(v) for v in column) if t is not None))
    inverted = folded_header(header) in INVERTED
    pairs = []
    unknown = 0
    for text in distinct[:DISTINCT_SHOWN]:
        guess = _guess(spec, text, inverted)
        unknown += guess == ""
        pairs.append(f"{_toml(text)} = {_toml(guess)}")
    more = f"; {len(distinct) - DISTINCT_SHOWN} more values not listed" if len(distinct) > DISTINCT_SHOWN else ""
    todo = (f"  # TODO: fill in the {unknown} empty value{'s' if unknown != 1 else ''}{_accepted(spec.name)}"
            if unknown else "")
    note = "  # a paid course is not free" if inverted else ""
    return (f"{_toml_key(spec.name)} = {{ column = {_toml(header)}, values = {{ {', '.join(pairs)} }} }}"
            f"{todo or note}{more}")


def _guess(spec, text: str, inverted: bool):
    if spec.kind == "bool":
        value = normalize_bool(text)
        if isinstance(value, bool):
            return (not value) if inverted else value
        return ""
    value = normalize_enum(text, fields.ENUM_VALUES[spec.name], spec.name)
    return value if isinstance(value, str) else ""


def _accepted(name: str) -> str:
    accepted = fields.ENUM_VALUES.get(name)
    return f" (one of {', '.join(accepted)})" if accepted else ""


def _samples(column) -> str:
    seen = list(dict.fromkeys(t for t in (to_text(v) for v in column) if t is not None))[:SAMPLES]
    if not seen:
        return "(empty in every row)"
    return ", ".join(_comment(json.dumps(s[:60] + ("…" if len(s) > 60 else ""), ensure_ascii=False)) for s in seen)


def _comment(text: str) -> str:
    return re.sub(r"[\r\n\t]+", " ", text)


def _custom_key(header: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", header or "").strip("_").lower()


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml(name)
