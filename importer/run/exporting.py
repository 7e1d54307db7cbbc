"""`importer export`: what the platform holds, written as the template, to edit and sync back.

Every course is read through the list the API offers (the guide's `GET /courses`, 100 a page; the
content API's `courseGroups`, 1,000 a page), through the run's pacer: ⌈N / page⌉ requests and
nothing else. Pages go to a scratch file on disk as they come, so memory stays the same for 50,000
courses as for 50; the workbook is then written from it as a stream (XlsxWriter's constant memory).

Each cell is written the way the importer reads it back, so that `importer plan OUT --mode sync`
on the same instance plans nothing:

    External ID, slug, ids    text cells (00042 stays 00042), never numbers
    tags, authors             joined as the template asks (`, ` and `; `); an item that holds a separator
                              itself could not come back whole: its cell is marked (see below)
    Is Free                   Yes / No
    customFields.<key>        one column for every key any course holds; numbers as numbers, text as text
    = + - @ at the start      written as text (a workbook cell) or escaped as Excel does (a CSV)

Beside the template's columns: the platform's course id, when it last changed, and a note (the
`fields.PLATFORM_COLUMNS`, which a run reads as information and never sends). A value the
template's rules now refuse (a course the platform took long ago) is never dropped: an optional
field's cell is left empty (empty means "leave the platform's value", so a sync sends nothing for
it) and the note and a comment say what the platform holds; a required field keeps its value, so
that its row is refused until a person resolves it. A description longer than an Excel cell holds
makes the export a CSV beside the asked name, which holds it whole, and the summary says so.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core import fields
from ..core.fields import PLATFORM_COLUMNS
from ..errors import NotTheAPI, OutputUnusable, TargetError
from ..files.writing import EXCEL_CELL_LIMIT, Table, excel_length, is_csv, write_csv, write_workbook

ID_COLUMN, CHANGED_COLUMN, NOTE_COLUMN = PLATFORM_COLUMNS
MARK = "FFF2CC"  # the fill of a cell whose value the rules refuse (the warning yellow of the reports)


@dataclass
class ExportResult:
    path: Path  # the file written (a CSV beside the asked name when a value is too long for a workbook)
    courses: int
    requests: int
    custom_keys: list[str] = field(default_factory=list)
    marked: int = 0  # cells whose platform value the template's rules refuse
    note: str | None = None  # why the file written is not the one asked for


def export_courses(importer, path, *, source: str | None = None, tag: str | None = None,
                   include_archived: bool = False, on_page: Callable[[int], object] | None = None) -> ExportResult:
    """Read every course (`importer`: an `applying.Importer`, its key checked and its API chosen),
    keep those asked for, and write them to `path` (.xlsx or .csv) as the template."""
    path = Path(path)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as scratch:
        count, requests, keys = _read_into(importer, scratch, source, tag, include_archived, on_page)
        headers, layout = _layout(sorted(keys))

        def rows():
            scratch.seek(0)
            for line in scratch:
                yield _row(json.loads(line), layout)

        # A first pass for the marks (a few cells: the workbook writer wants them before the rows), then
        # the rows themselves, streamed.
        marks = {(number, layout.index[name]): (MARK, text)
                 for number, (_, notes) in enumerate(rows(), start=1) for name, text in notes}

        def table() -> Table:
            return Table(headers, (cells for cells, _ in rows()), sheet_name="Courses", marks=marks,
                         text_columns=layout.text_columns, widths=layout.widths, dropdowns=layout.dropdowns,
                         wrap_columns={layout.index[NOTE_COLUMN]})
        note = None
        if is_csv(path):
            write_csv(path, table())
            written = path
        elif _longest_cell(scratch) > EXCEL_CELL_LIMIT:
            written = path.with_suffix(".csv")
            note = (f"a course's text is longer than an Excel cell holds ({EXCEL_CELL_LIMIT:,} characters), so "
                    f"the export was written whole as {written.name} instead of {path.name}")
            write_csv(written, table())
        else:
            write_workbook(path, [table(), _instructions()])
            written = path
    return ExportResult(written, count, requests, sorted(keys), len(marks), note)


def _read_into(importer, scratch, source, tag, include_archived, on_page) -> tuple[int, int, set[str]]:
    """Every page of the list, through the run's pacer; the courses kept go to `scratch`, a line each."""
    keys: set[str] = set()
    reading = CourseReading(importer, source=source, tag=tag, include_archived=include_archived, on_page=on_page)
    for course in reading:
        keys.update(course.get("customFields") or {})
        scratch.write(json.dumps(course, ensure_ascii=False) + "\n")
    return reading.count, reading.requests, keys


@dataclass
class CourseReading:
    """The platform's courses, page by page through the run's pacer (an iterable: each course once),
    those of one `source` or `tag` when given, archived ones only with `include_archived`. Counts the
    courses kept and the requests made. Raises TargetError when a page cannot be read: never a
    partial list taken for the whole (an export, or the courses missing from a sync, would be wrong)."""

    importer: object
    source: str | None = None
    tag: str | None = None
    include_archived: bool = False
    on_page: Callable[[int], object] | None = None
    count: int = 0
    requests: int = 0

    def __iter__(self):
        api = self.importer.api
        cursor = None
        wanted_tag = self.tag.strip().casefold() if self.tag else None
        while True:
            reply = self.importer.read(lambda c=cursor: api.list_page(c))
            self.requests += 1
            if reply.kind == "auth":
                raise TargetError(f"the API key was refused while reading the courses (HTTP {reply.status}); "
                                  "nothing was written")
            if reply.kind != "ok":
                raise TargetError(f"could not read the courses ({reply.message}); nothing was written")
            if not api.in_list_shape(reply):
                raise NotTheAPI(f"the course list answered in a shape the importer does not know "
                                f"({reply.describe()}); nothing was written")
            for course in reply.body["courses"]:
                if not isinstance(course, dict) or not course.get("id"):
                    continue
                if not self.include_archived and course.get("publishedStatus") == "archived":
                    continue
                if self.source is not None and course.get("source") != self.source:
                    continue
                if wanted_tag and wanted_tag not in {str(t).strip().casefold() for t in course.get("tags") or ()}:
                    continue
                self.count += 1
                yield course
            if self.on_page:
                self.on_page(self.count)
            page = reply.body.get("pageInfo") or {}
            cursor = page.get("cursor")
            if not page.get("hasMore") or not cursor:
                return


@dataclass
class _Layout:
    index: dict[str, int]  # header -> position
    names: list[str]  # the API field (or customFields.<key>, or a platform column) of each position
    text_columns: set[int]
    widths: dict[int, int]
    dropdowns: dict[int, list[str]]


def _layout(custom_keys: list[str]) -> tuple[list[str], _Layout]:
    from ..files.template import WIDTHS, dropdown_choices

    headers, names = [], []
    for spec in fields.FIELDS:
        headers.append(spec.label + (" *" if spec.required else ""))
        names.append(spec.name)
    for key in custom_keys:
        headers.append(fields.CUSTOM_FIELD_PREFIX + key)
        names.append(fields.CUSTOM_FIELD_PREFIX + key)
    headers += list(PLATFORM_COLUMNS)
    names += list(PLATFORM_COLUMNS)
    by_name = fields.FIELDS_BY_NAME
    layout = _Layout(
        index={h: i for i, h in enumerate(headers)} | {n: i for i, n in enumerate(names)}, names=names,
        text_columns={i for i, n in enumerate(names) if n in by_name and (by_name[n].id_like or by_name[n].kind in
                                                                            ("text", "list"))} | {len(names) - 3},
        widths={i: WIDTHS.get(n, 18) for i, n in enumerate(names)} | {len(names) - 1: 60},
        dropdowns={i: dropdown_choices(by_name[n]) for i, n in enumerate(names)
                   if n in by_name and dropdown_choices(by_name[n])})
    return headers, layout


def _row(course: dict, layout: _Layout) -> list:
    """One course as the template's cells, and the notes on any value the rules refuse."""
    cells, notes = [], []
    custom = course.get("customFields") or {}
    for name in layout.names:
        if name.startswith(fields.CUSTOM_FIELD_PREFIX):
            cells.append(_custom_cell(custom.get(name[len(fields.CUSTOM_FIELD_PREFIX):])))
        elif name in fields.FIELDS_BY_NAME:
            value, refused = _field_cell(name, course.get(name))
            if refused:
                label = fields.FIELDS_BY_NAME[name].label
                if fields.FIELDS_BY_NAME[name].required:
                    notes.append((name, f"{label}: the platform holds {refused}, which the template's rules refuse: "
                                        "this row is refused until you change it"))
                else:
                    value = None
                    notes.append((name, f"{label}: the platform holds {refused}, which the template's rules "
                                        "refuse; left empty here, so a sync leaves it as it is. Type a valid value "
                                        "to change it"))
            cells.append(value)
        else:
            cells.append(None)
    cells[layout.index[ID_COLUMN]] = str(course["id"])
    cells[layout.index[CHANGED_COLUMN]] = course.get("updatedAt") or course.get("createdAt")
    cells[layout.index[NOTE_COLUMN]] = "; ".join(text for _, text in notes) or None
    return [cells, notes]


def _field_cell(name: str, value) -> tuple[object, str | None]:
    """(the cell, or None when empty; what the platform holds, quoted, when the rules refuse it)."""
    if value is None or value == "" or value == []:
        return None, None
    if name == "isFree":
        return ("Yes" if value else "No"), None
    if name in ("tags", "authors"):
        items = [str(item) for item in value] if isinstance(value, list) else [str(value)]
        separators = ",;|" if name == "tags" else ";|"
        split = [item for item in items if any(c in item for c in separators)]
        if split:  # no cell can hold it apart from the others: it would come back as several
            return None, f"{split[0]!r}, which holds a separator ({separators.replace('', ' ').strip()})"
        return (", " if name == "tags" else "; ").join(items), None
    text = str(value)
    if name in fields.ENUM_VALUES and text not in fields.ENUM_VALUES[name]:
        return text, repr(text)
    if name == "slug" and not fields.SLUG_PATTERN.match(text):
        return text, repr(text)
    if name == "title" and len(text) > fields.TITLE_MAX_LENGTH:
        return text, f"a title of {len(text):,} characters (at most {fields.TITLE_MAX_LENGTH})"
    return text, None


def _custom_cell(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False)  # a list or an object: its JSON, as text


def _longest_cell(scratch) -> int:
    scratch.seek(0)
    longest = 0
    for line in scratch:
        for value in json.loads(line).values():
            if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT // 2:
                longest = max(longest, excel_length(value))
    return longest


def _instructions() -> Table:
    from ..files.template import INSTRUCTIONS_HEAD

    lines = [[line] for line in INSTRUCTIONS_HEAD]
    lines += [[], ["This file"], ["It holds what the platform held when it was exported: edit the cells you want to "
                                  "change and run it with --mode sync; rows you leave alone send nothing."],
              [f"{ID_COLUMN}, {CHANGED_COLUMN} and {NOTE_COLUMN} are information: a run never sends them."]]
    lines += [[spec.label, spec.help] for spec in fields.FIELDS]
    return Table(["Instructions", ""], lines, sheet_name="Instructions", widths={0: 22, 1: 100},
                 wrap_columns={1})


def refuse_existing(path, force: bool) -> None:
    """An existing file is never replaced without --force."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputUnusable(f"{path} already exists; choose another --out, or add --force to replace it")
