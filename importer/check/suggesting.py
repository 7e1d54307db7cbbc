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
    chosen, notes = _by_values(headers, columns, suggest_columns(headers))
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d")
    lines = [
        f"# How the columns of {sheet.path.name} become course fields: a mapping file for `importer --map`.",
        f"# Suggested by `importer map` on {stamp}. Check every line; fill in each TODO; then run",
        f"#   importer validate {sheet.path.name} --map {sheet.path.name}.map.toml",
        "# A line is: field = \"a column's header\", or a table with column, columns, value, values, template,",
        "# pattern, replace, lowercase, slugify, number, split, split_pattern or text (docs/reference.md:",
        "# 'Another system's export' shows each).",
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
        elif spec.name in notes:
            lines.append(f"{_toml_key(spec.name)} = {notes[spec.name][0]}  # {notes[spec.name][1]}; e.g. {samples}")
        else:
            lines.append(f"{_toml_key(spec.name)} = {_toml(header)}  # e.g. {samples}")
    for name, why in notes.get("", ()):  # a column looked like a field, and its values said otherwise
        lines.append(f"# {_toml_key(name)}: {why}")
    unused = [i for i in range(len(headers)) if i not in chosen.values()
              and i not in fields.importer_columns(headers)]
    custom = [i for i in unused if _custom_of(headers[i])]
    for index in custom:
        kept = "text = true, " if _keeps_text(columns[index]) else ""
        why = "; kept as text: as a number it would lose its zeros or decimals" if kept else ""
        lines.append(f"{_toml_key(_custom_of(headers[index]))} = {{ {kept}column = {_toml(headers[index])} }}  "
                     f"# e.g. {_samples(columns[index])}{why}")
    unused = [i for i in unused if i not in custom]
    if unused:
        example = next((i for i in unused if _keeps_text(columns[i])), unused[0])
        kept = f"{{ column = {_toml(headers[example])}, text = true }}  (text: as a number it would lose its zeros " \
               "or decimals)" if _keeps_text(columns[example]) else _toml(headers[example])
        lines += ["", "# Columns not imported. To keep one as a custom field, add a line above such as",
                  f"#   \"customFields.{_custom_key(headers[example]) or 'key'}\" = {kept}"]
        for index in unused:
            label = headers[index] or "(no header)"
            lines.append(f"#   {_comment(label)} [{column_letter(index)}]: e.g. {_samples(columns[index])}")
    if todo:
        lines.insert(lines.index(""), f"# {todo} TODO line{'s' if todo != 1 else ''} below must be filled in before "
                                      "an import.")
    return "\n".join(lines) + "\n"


_PACING = re.compile(r"paced|self[- ]?study|instructor[- ]?led|on your time|on a course schedule", re.I)
_JOINED_BY_DASH = re.compile(r"[a-z.)]\s+-\s+[A-Z]")  # `Ana Ruiz - Li Wei`
_JOINED_BY_HYPHEN = re.compile(r"[a-z.)]-[A-Z][^\s-]*\s")  # `Ana Ruiz-Li Wei` (edX)


def _custom_of(header) -> str | None:
    """`customFields.level`, and Moodle's `customfield_level`: the custom field a header names."""
    text = (header or "").strip()
    if text.lower().startswith(fields.CUSTOM_FIELD_PREFIX.lower()):
        return fields.CUSTOM_FIELD_PREFIX + text[len(fields.CUSTOM_FIELD_PREFIX):]
    found = re.fullmatch(r"custom_?field_(.+)", text, re.I)
    return fields.CUSTOM_FIELD_PREFIX + found.group(1) if found else None


def _texts(column) -> list[str]:
    """A column's cells as text: a list (from a JSON export) as its items joined by '; '."""
    return [t for t in (to_text("; ".join(v) if type(v) is tuple else v) for v in column) if t is not None]


def _keeps_text(column) -> bool:
    """Values a number would change: leading zeros (`00042`) or trailing decimal zeros (`15.060`)."""
    return any(re.fullmatch(r"0\d+|-?\d+\.\d*0", t) for t in _texts(column)[:1000])


def _by_values(headers: list[str], columns: list, chosen: dict[str, int]) -> tuple[dict, dict]:
    """The choices by header, looked at again with the values: (the choices, and for each field whose
    line differs from a plain column, (its TOML, why) — said in the map, since it changes what is sent;
    under "" the columns passed over, and why)."""
    chosen, notes, passed = dict(chosen), {}, []
    kind = chosen.get("courseType")
    if kind is not None and any(_PACING.search(t) for t in _texts(columns[kind])[:200]):
        passed.append(("courseType", f"{headers[kind]!r} says how a course is paced, not its type: not used"))
        del chosen["courseType"]
    tags = chosen.get("tags")
    if tags is not None and _texts(columns[tags]) and all(t.isdigit() for t in _texts(columns[tags])[:200]):
        passed.append(("tags", f"{headers[tags]!r} holds numbers (a category's id?), not tags: not used"))
        del chosen["tags"]
    if "slug" not in chosen:
        taken = set(chosen.values())
        for index, column in enumerate(columns):
            texts = _texts(column)
            if index not in taken and texts and len(set(texts)) == len(texts) and \
                    all(fields.SLUG_PATTERN.match(t) and "-" in t for t in texts[:500]):
                chosen["slug"] = index
                break
    keys = {folded_header(h): i for i, h in enumerate(headers)}
    external = chosen.get("externalId")
    if external is not None and "shortname" in keys and keys["shortname"] != external and \
            len(_texts(columns[external])) < len(columns[external]):
        fallback = [headers[external], headers[keys["shortname"]]]
        notes["externalId"] = (f"{{ columns = [{', '.join(map(_toml, fallback))}] }}",
                               f"{headers[external]!r} is empty on some rows: {headers[keys['shortname']]!r} there")
    elif external is not None and _keeps_text(columns[external]):
        notes["externalId"] = (f"{{ column = {_toml(headers[external])}, text = true }}",
                               "kept as text: as a number it would lose its zeros or decimals")
    authors = chosen.get("authors")
    if authors is not None:
        texts = _texts(columns[authors])[:500]
        if sum(bool(_JOINED_BY_DASH.search(t)) for t in texts) * 10 >= len(texts) > 0:
            notes["authors"] = (f"{{ column = {_toml(headers[authors])}, split = \" - \" }}",
                                "names joined by ' - ': split there")
        elif sum(bool(_JOINED_BY_HYPHEN.search(t)) for t in texts) * 10 >= len(texts) > 0:
            notes["authors"] = (f"{{ column = {_toml(headers[authors])}, split_pattern = '-(?=[A-Z][^\\s-]*\\s)' }}",
                                "names joined by '-': split where a hyphen starts a new name, so that "
                                "'Simon-Thomas' stays whole")
    notes[""] = passed
    return chosen, notes


def _values_line(spec, header: str, column) -> str:
    """An enumeration or yes/no from a column: its distinct values, each with the accepted value
    it most likely means ("" where it cannot be told: fill it in)."""
    distinct = list(dict.fromkeys(t for t in (to_text(v) for v in column) if t is not None))
    inverted = folded_header(header) in INVERTED
    pairs = []
    unknown = 0
    for text in distinct[:DISTINCT_SHOWN]:
        guess = guess_value(spec, text, inverted)
        unknown += guess == ""
        pairs.append(f"{_toml(text)} = {_toml(guess)}")
    more = f"; {len(distinct) - DISTINCT_SHOWN} more values not listed" if len(distinct) > DISTINCT_SHOWN else ""
    todo = (f"  # TODO: fill in the {unknown} empty value{'s' if unknown != 1 else ''}{_accepted(spec.name)}"
            if unknown else "")
    note = "  # a paid course is not free" if inverted else ""
    return (f"{_toml_key(spec.name)} = {{ column = {_toml(header)}, values = {{ {', '.join(pairs)} }} }}"
            f"{todo or note}{more}")


def guess_value(spec, text: str, inverted: bool):
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
    seen = list(dict.fromkeys(t for t in _texts(column) if t is not None))[:SAMPLES]
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
