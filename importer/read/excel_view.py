"""Stage 1, workbooks: each cell as the person saw it in Excel, or a word on the cell saying how
the file differs from what they saw.

The reader (calamine) gives a cell's stored value. A person looking at the sheet sees more, and
sometimes other things: a merged block shows its value on every row; a formula a script wrote
shows a value Excel computes only when it opens the file; a date shows as `March 2024`; a
number shows 15 significant digits; a hidden row is not seen at all. The rules chosen, one each
(the README's "How cells are read" lists them too):

- a merged block is filled with its value on every row, with a warning on each filled cell;
- a formula with no computed value is an error on its cell (open the file in Excel or
  LibreOffice and save it): its value cannot be known here;
- a row hidden by a filter or by hand is imported, with a warning on the row;
- a cell that shows a link's text sends the text, with a warning naming the link;
- a number is sent with Excel's 15 significant digits (`0.1*3` is 0.3);
- a date or a duration is sent as text (`2024-03-01`, `26:30:00`) with a warning: Excel may
  have turned what was typed (`March 2024`, `SEP-10`) into a date;
- a number shown as a percentage (`50%`) is sent as the number it holds (0.5), with a warning.
"""

from __future__ import annotations

import datetime as dt
import math

from ..core.issues import column_letter

MERGED_CELL = "MERGED_CELL"
UNCALCULATED_FORMULA = "UNCALCULATED_FORMULA"
HIDDEN_ROW = "HIDDEN_ROW"
LINKED_CELL = "LINKED_CELL"
EXCEL_DATE = "EXCEL_DATE"
PERCENT_FORMAT = "PERCENT_FORMAT"
PADDED_NUMBER = "PADDED_NUMBER"  # 42 with the format 00000, shown as 00042: sent as shown


class ExcelDate(str):
    """A cell Excel stored as a date, a time or a duration, as text: the warning goes with it."""

    __slots__ = ()


def excel_number(value: float):
    """A float as Excel shows and keeps it: 15 significant digits; a whole number as an int."""
    if not math.isfinite(value):
        return value
    value = float(format(value, ".15g"))
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def excel_date(value) -> ExcelDate:
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    elif isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        text = f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"  # as Excel's [h]:mm:ss shows it
    else:
        text = value.isoformat()
    return ExcelDate(text)


def sheet_problems(sheet, facts, problem) -> list:
    """What the sheet's XML says beyond its values (`xlsx_guard.SheetFacts`), applied to the
    sheet's rows: merged blocks filled, and a problem (made by `problem(row, column, value,
    code, message, severity)`) on each cell that is not what the person saw."""
    found = []
    width = len(sheet.headers)
    by_number = {number: cells for number, cells in sheet.rows}

    def cells_of(number: int) -> list:
        cells = by_number.get(number)
        if cells is None:  # a row the reader gave as empty holds something after all
            cells = [None] * width
            sheet.rows.append((number, cells))
            by_number[number] = cells
        return cells

    for (number, index), formula in sorted(facts.uncalculated.items()):
        if number == 1 or index >= width:
            continue
        cells = cells_of(number)
        if cells[index] in (None, 0, ""):
            cells[index] = f"={formula}" if not formula.startswith("(") else None
            found.append(problem(number, index, cells[index], UNCALCULATED_FORMULA,
                                 f"this cell holds the formula ={formula} but no value: the workbook was written "
                                 "by a program and never calculated. Open it in Excel or LibreOffice, save it, and "
                                 "run again (or type the value itself)", "error"))
    for first_row, first_col, last_row, last_col in facts.merged:
        value = by_number.get(first_row, [None] * width)[first_col] if first_col < width else None
        if first_row == 1 or value is None:
            continue
        where = f"{column_letter(first_col)}{first_row}:{column_letter(last_col)}{last_row}"
        for number in range(first_row, last_row + 1):
            for index in range(first_col, min(last_col, width - 1) + 1):
                if (number, index) == (first_row, first_col):
                    continue
                cells = cells_of(number)
                if cells[index] is None:
                    cells[index] = value
                    found.append(problem(number, index, value, MERGED_CELL,
                                         f"part of the merged cells {where}: read as their value, as Excel shows "
                                         "it on this row. Unmerge and fill them if another value was meant",
                                         "warning"))
    for number in sorted(facts.hidden_rows):
        if number in by_number and number != 1:
            found.append(problem(number, 0, None, HIDDEN_ROW,
                                 "this row is hidden in Excel (filtered out, or hidden by hand) and is imported "
                                 "like the others; delete it from the sheet if it should not be", "warning"))
    for (number, index), target in sorted(facts.links.items()):
        cells = by_number.get(number)
        if cells is None or number == 1 or index >= width or cells[index] is None:
            continue
        if str(cells[index]).strip() != target.strip():
            found.append(problem(number, index, cells[index], LINKED_CELL,
                                 f"shows the text of a link to {target[:200]}: the text is imported, not the link",
                                 "warning"))
    for number, index in sorted(facts.percent_cells):
        cells = by_number.get(number)
        if cells is None or number == 1 or index >= width:
            continue
        value = cells[index]
        if isinstance(value, int | float) and not isinstance(value, bool):
            found.append(problem(number, index, value, PERCENT_FORMAT,
                                 f"Excel shows this as {value * 100:g}% (a percent format); it is sent as the "
                                 f"number {value}. Type {value * 100:g} in a column not formatted as percent if "
                                 "that is what was meant", "warning"))
    for (number, index), digits in sorted(facts.padded_cells.items()):
        cells = by_number.get(number)
        if cells is None or number == 1 or index >= width:
            continue
        value = cells[index]
        if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
            shown = str(int(value)).zfill(digits) if value >= 0 else str(int(value))
            if shown != str(int(value)):
                cells[index] = shown
                found.append(problem(number, index, shown, PADDED_NUMBER,
                                     f"Excel shows this as {shown}: the number {int(value)} with the number format "
                                     f"{'0' * digits}. It is sent as shown, '{shown}'; format the column as Text and "
                                     "type the id with its zeros to make that plain", "warning"))
    sheet.rows.sort(key=lambda r: r[0])
    return found


def date_problems(sheet, problem) -> list:
    """A warning on every cell Excel stored as a date, a time or a duration."""
    found = []
    for number, cells in sheet.rows:
        for index, value in enumerate(cells):
            if type(value) is ExcelDate:
                found.append(problem(number, index, value, EXCEL_DATE,
                                     f"Excel stored this cell as a date or time; it is sent as {value}. If you typed "
                                     "something else (March 2024, SEP-10, 26:30), Excel changed it: format the "
                                     "column as Text and type it again", "warning"))
    return found
