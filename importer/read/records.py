"""Rows that come as records rather than a grid: dicts handed to the library, and JSON exports (a list
of objects, an object holding one such list, or JSON Lines), as a CMS or a catalogue writes them.

A record becomes a row: its keys are the headers (the union, in the order first seen); a nested
object's keys become `parent.child` headers (`customFields` gives `customFields.<key>`, as the
template names them); a list of plain values is already split, each item whole (a tag with a comma
in it stays one tag); a list of flat objects gives a column a key, each a list of that key's values
(`topics.speciality`); anything deeper, which no cell can hold apart, is kept as its JSON text.
Numbers stay numbers and true/false stay booleans, as a workbook keeps them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import FileUnusable
from .sheet import Sheet

JSON_SUFFIXES = {".json", ".jsonl", ".ndjson"}
MAX_JSON_BYTES = 250 * 2**20  # as a CSV's: a JSON file is read whole
MAX_DEPTH = 8  # `a.b.c…`: deeper than this, a value is kept as its JSON text


def sheet_from_records(records: Iterable[Mapping], path: Path, kind: str):
    """A `Sheet` of these records (`kind`: its format, "records" or "json")."""
    flat = [flatten(r) for r in records]
    headers: list[str] = []
    seen: set[str] = set()
    for record in flat:
        for key in record:
            if key not in seen:
                seen.add(key)
                headers.append(key)
    rows = [(number, [cell(record.get(h)) for h in headers]) for number, record in enumerate(flat, start=2)]
    return Sheet(path, headers, [(n, c) for n, c in rows if any(v is not None for v in c)], kind)


def flatten(record: Mapping, prefix: str = "", depth: int = 0) -> dict:
    flat = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < MAX_DEPTH:
            flat.update(flatten(value, name + ".", depth + 1))
        elif _list_of_flat_objects(value):
            # `topics: [{"subCat": "CS", "speciality": "Data Mining"}, …]`: one column a key, each a list of
            # that key's values (`topics.speciality`), which a map can take as tags
            for field in dict.fromkeys(k for item in value for k in item):
                flat[f"{name}.{field}"] = [item[field] for item in value if item.get(field) not in (None, "")]
        else:
            flat[name] = value
    return flat


def _list_of_flat_objects(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, Mapping) and all(not isinstance(v, Mapping | list | tuple) for v in item.values())
        for item in value)


def cell(value):
    """A record's value as a cell: None for empty, a tuple of items for a list, numbers as numbers."""
    if value is None:
        return None
    if isinstance(value, list | tuple):  # already split: its items stay whole (see rules.Rule.items)
        if any(isinstance(v, Mapping | list | tuple) for v in value):
            return json.dumps(value, ensure_ascii=False)
        return tuple(str(v) for v in value if v is not None and str(v).strip()) or None
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, str | int | float | bool):
        return value if not (isinstance(value, str) and value == "") else None
    return str(value)


def read_json(path: Path):
    """A JSON export as a sheet: a list of objects, an object with one list of objects in it
    (`{"courses": [...]}`), or JSON Lines (one object a line)."""
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise FileUnusable(path, f"is {size / 2**20:,.0f} MB, more than any course export (the limit is "
                                 f"{MAX_JSON_BYTES // 2**20} MB); split it into several files")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileUnusable(path, f"is not UTF-8 text (byte {exc.start:,}); a JSON export is UTF-8") from None
    records = _records(path, text)
    if not records:
        raise FileUnusable(path, "holds no records: a JSON export is a list of objects, one per course")
    bad = next((i for i, r in enumerate(records, start=1) if not isinstance(r, Mapping)), None)
    if bad is not None:
        raise FileUnusable(path, f"item {bad} is not an object ({type(records[bad - 1]).__name__}): a JSON export "
                                 "is a list of objects, one per course")
    return sheet_from_records(records, path, "json")


def _records(path: Path, text: str) -> list:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        records = []
        for number, line in lines:  # JSON Lines: one object a line
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                where = whole if len(lines) < 2 else exc
                line_number = whole.lineno if len(lines) < 2 else number
                raise FileUnusable(path, f"is not valid JSON (line {line_number}: {where.msg})") from None
        return records
    except RecursionError:
        raise FileUnusable(path, "is nested too deeply to be a course export") from None
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping):
        found = _lists_of_objects(document)
        if len(found) == 1:  # {"courses": [...], "total": 808}, {"_embedded": {"courses": [...]}}
            return next(iter(found.values()))
        preferred = [name for name in found if name.rsplit(".", 1)[-1].lower() in LIST_NAMES]
        if len(preferred) == 1:  # {"data": [...], "included": [...]} (JSON:API): the data
            return found[preferred[0]]
        if found:
            raise FileUnusable(path, f"holds several lists of objects ({', '.join(found)}); save the one with the "
                                     "courses as a file of its own")
        return [document]
    raise FileUnusable(path, "is JSON, but not a list of objects: a JSON export is one object per course")


# What exports call their list of records, when an object holds several lists.
LIST_NAMES = {"courses", "data", "items", "results", "elements", "records", "rows", "entries", "catalog",
              "catalogue", "course", "hits"}


def _lists_of_objects(document: Mapping, prefix: str = "", depth: int = 0) -> dict[str, list]:
    """The lists of objects an object holds, by their dotted name, looking two levels down."""
    found = {}
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            found[name] = value
        elif isinstance(value, Mapping) and depth < 2:
            found.update(_lists_of_objects(value, name + ".", depth + 1))
    return found
