"""The template workbook ops staff are handed: `importer template` writes it.

`templates/courses-template.xlsx` in the repository is this module's output: change the
template here and regenerate it with `importer template templates/courses-template.xlsx --force`
(the tests check both hold what a template must).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..core import fields

TEMPLATE_ROWS = 5000  # how far down the dropdowns and text formats reach
FIXED_TIMESTAMP = dt.datetime(2026, 1, 1)  # so the file does not change on every regeneration
WIDTHS = {"title": 42, "courseType": 16, "slug": 30, "description": 50, "publishedStatus": 18,
          "authors": 30, "tags": 30, "externalId": 16, "isFree": 10, "source": 20}

# One example course, shown beside each column's instructions (not on the Courses sheet,
# where it would be imported). tests/test_template.py checks that it validates.
EXAMPLE = {"title": "Introduction to Platform APIs", "courseType": "course", "slug": "intro-platform-apis",
           "description": "<p>Learn the <strong>basics</strong> of the API.</p>", "publishedStatus": "draft",
           "authors": "Smith, Jane; John Doe", "tags": "api, onboarding", "externalId": "00042",
           "isFree": "Yes", "source": "partner-content"}

INSTRUCTIONS_HEAD = [
    "How to fill in this template",
    "",
    "One course per row on the Courses sheet, starting at row 2. Do not change the headers in row 1.",
    "Columns marked * are required. Leave a cell empty to use the platform's default; when a course",
    "is already on the platform, an empty cell leaves its value there as it is (it never clears it).",
    "To empty a field on the platform, type (clear) in its cell: Description, Authors, Tags, Source and",
    "custom fields can be emptied this way (run with --mode sync); the report marks each such cell.",
    "Titles, slugs and External IDs must each be unique, in this file and on the platform.",
    "Check the file before importing:   importer validate courses.xlsx",
    "The report (courses.errors.xlsx) colours each problem cell red (error) or yellow (warning)",
    "and explains it in the cell's comment. Fix the cells, validate again, then import:",
    "   importer run courses.xlsx --domain <your-domain>",
    "Rows that fail are written to a failures file in this same layout: fix it and run it again.",
    "",
    "Lists",
    "Tags: separate with commas, semicolons or line breaks (Alt+Enter).   e.g. api, onboarding; sales",
    "Authors: separate with semicolons or line breaks. A comma stays inside a name:",
    "   Smith, Jane; John Doe   is two authors: 'Smith, Jane' and 'John Doe'.",
    "",
    "Custom fields",
    "Add a column named customFields.<key> for each custom field configured in the admin panel,",
    "e.g. customFields.difficulty or customFields.estimatedHours. The key is case-sensitive.",
    "Whole numbers are sent as numbers (4), decimals as decimals (2.5), TRUE/FALSE as yes/no values,",
    "anything else as text. The platform silently ignores keys it does not know: give the list",
    "of configured keys with --custom-fields and the importer warns about any other.",
    "",
    "Columns",
]


def build_template():
    """The template as an openpyxl Workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    workbook.properties.creator = "importer"
    workbook.properties.created = FIXED_TIMESTAMP
    workbook.properties.modified = FIXED_TIMESTAMP
    sheet = workbook.active
    sheet.title = "Courses"
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for column, field in enumerate(fields.FIELDS, start=1):
        letter = get_column_letter(column)
        cell = sheet.cell(row=1, column=column, value=field.label + (" *" if field.required else ""))
        cell.font = bold
        cell.fill = header_fill
        sheet.column_dimensions[letter].width = WIDTHS.get(field.name, 18)
        if field.id_like or field.kind in ("text", "list"):
            # Text format, so Excel keeps 00042 and long ids exactly as typed.
            # A column style is what Excel gives every new cell typed into that column.
            sheet.column_dimensions[letter].number_format = "@"
        choices = dropdown_choices(field)
        if choices:
            validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                                        allow_blank=not field.required, showErrorMessage=True,
                                        errorTitle=field.label,
                                        error="Pick a value from the list.")
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("Instructions")
    notes.column_dimensions["A"].width = 22
    notes.column_dimensions["B"].width = 100
    for line in INSTRUCTIONS_HEAD:
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=14)
    for row in notes.iter_rows(min_row=2):
        if row[0].value in ("Lists", "Custom fields", "Columns"):
            row[0].font = bold
    notes.column_dimensions["C"].width = 40
    notes.append(["Column", "What to put in it", "Example"])
    for cell in notes[notes.max_row]:
        cell.font = bold
    for field in fields.FIELDS:
        # Some help texts say "Required" themselves: never twice.
        required = "Required. " if field.required and "Required" not in field.help else ""
        text = required + field.help + f"  (API field: {field.name})"
        notes.append([field.label, text, EXAMPLE.get(field.name, "")])
        for column in (2, 3):
            notes.cell(row=notes.max_row, column=column).alignment = Alignment(wrap_text=True, vertical="top")
        # An explicit height: a spreadsheet that does not size wrapped rows itself (LibreOffice
        # rendering, some Excel versions) would otherwise draw them over the next row.
        notes.row_dimensions[notes.max_row].height = 15 * max(1, -(-len(text) // 95))
    return workbook


def dropdown_choices(field) -> list[str]:
    if field.name in fields.ENUM_VALUES:
        return list(fields.ENUM_VALUES[field.name])
    if field.kind == "bool":
        return ["Yes", "No"]
    return []


def write_template(path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build_template().save(path)
    return path
