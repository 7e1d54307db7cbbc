"""Builders of hostile and broken input files, shared by the tests and the memory benchmark."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import xlsxwriter


def far_cell_workbook(path: Path, *, with_header: bool = True) -> Path:
    """A few KB whose one stray cell sits at XFD1048576: 17 billion cells from A1."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Courses")
    if with_header:
        sheet.write_row(0, 0, ["Title", "Course Type"])
        sheet.write_row(1, 0, ["Real course", "course"])
    sheet.write_string(1_048_575, 16_383, "x")
    workbook.close()
    return path


def zip_bomb_workbook(path: Path, expanded_mb: int = 700) -> Path:
    """A valid small workbook whose sheet part expands to `expanded_mb` of whitespace."""
    plain = path.with_name(path.stem + ".plain.xlsx")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Courses"
    sheet.append(["Title", "Course Type"])
    sheet.append(["Real course", "course"])
    workbook.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, tail = data.partition(b"<sheetData>")
                with bomb.open(info.filename, "w", force_zip64=True) as part:
                    part.write(head + b"<sheetData>")
                    block = b" " * (1 << 20)
                    for _ in range(expanded_mb):
                        part.write(block)
                    part.write(tail)
            else:
                bomb.writestr(info.filename, data)
    plain.unlink()
    return path


def workbook_with_error_cells(path: Path) -> Path:
    """A hidden first sheet, then a lowercase `courses` sheet with #N/A and #DIV/0! cells."""
    workbook = openpyxl.Workbook()
    lookup = workbook.active
    lookup.title = "Lists"
    lookup.append(["not", "the", "courses"])
    lookup.sheet_state = "hidden"
    sheet = workbook.create_sheet("courses")
    sheet.append(["Title", "Course Type", "Description"])
    sheet.append(["Fine", "course", "ok"])
    sheet.append(["Broken lookup", "course", None])
    sheet["C3"].value = "#N/A"
    sheet["C3"].data_type = "e"
    sheet.append([None, "course", "no title"])
    sheet["A4"].value = "#DIV/0!"
    sheet["A4"].data_type = "e"
    workbook.save(path)
    return path
