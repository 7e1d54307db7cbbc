"""What every reader gives: a `Sheet` of cells as typed, and the problems the file itself has."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Cell = str | int | float | bool | None


@dataclass
class Sheet:
    path: Path
    headers: list[str]
    rows: list[tuple[int, list[Cell]]]  # (Excel row number, cells aligned with headers)
    format: str  # "csv" or "xlsx"
    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None
    # False when the reader knows no cell holds a zero-width space or a stray BOM, which
    # `normalizing.to_text` would have to strip: then no column needs searching for them.
    invisible_marks: bool = True
    # What the file itself got wrong in a row (a cell under no header, a quotation mark
    # that never closes, an Excel error value): each makes its row invalid, named there; and
    # what differs from what the person saw (a merged cell filled), a warning there.
    problems: list[CellProblem] = field(default_factory=list)
    other_sheets: list[str] = field(default_factory=list)  # a workbook's sheets not read


@dataclass(frozen=True, slots=True)
class CellProblem:
    row: int
    column: int  # index into the headers
    value: object
    code: str
    message: str
    severity: str = "error"  # or "warning": the row is still sent
