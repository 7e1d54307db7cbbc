"""What the template must hold: the columns, dropdowns, text formats and instructions that let
ops staff fill it in without help. Checked on the command's output and on the committed copy."""

import openpyxl
import pytest

from importer.check.validating import validate_file
from importer.core import fields

from ..conftest import ROOT

HEADERS = ["Title *", "Course Type *", "Slug", "Description", "Published Status", "Authors", "Tags",
           "External ID", "Is Free", "Source"]


@pytest.fixture(params=["command", "committed"])
def template(request, tmp_path, cli):
    if request.param == "committed":
        return ROOT / "templates" / "courses-template.xlsx"
    out = tmp_path / "t.xlsx"
    done = cli("template", out)
    assert done.returncode == 0, done.stderr
    return out


def test_the_courses_sheet(template):
    workbook = openpyxl.load_workbook(template)
    assert workbook.sheetnames == ["Courses", "Instructions"]
    sheet = workbook["Courses"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert sheet.max_row == 1  # nothing that would be imported by mistake
    assert sheet.freeze_panes == "A2"
    assert all(c.font.bold for c in sheet[1])
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    assert validations["B2:B5001"].formula1 == '"' + ",".join(fields.COURSE_TYPES) + '"'
    assert validations["E2:E5001"].formula1 == '"draft,published,archived"'
    assert validations["I2:I5001"].formula1 == '"Yes,No"'
    assert set(validations) == {"B2:B5001", "E2:E5001", "I2:I5001"}
    assert all(v.showErrorMessage for v in validations.values())
    assert validations["B2:B5001"].allow_blank is False  # Course Type is required
    for letter in "ACDFGHJ":  # title, slug, description, authors, tags, external id, source: text
        assert sheet.column_dimensions[letter].number_format == "@", letter
    assert sheet.column_dimensions["A"].width >= 40  # titles are long


def test_the_instructions_explain_every_column(template):
    sheet = openpyxl.load_workbook(template)["Instructions"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    per_column = {row[0]: row[1] for row in rows if row[0] in {f.label for f in fields.FIELDS} and row[1]}
    assert set(per_column) == {f.label for f in fields.FIELDS}
    for field in fields.FIELDS:
        assert field.help in per_column[field.label] and field.name in per_column[field.label]
    assert all(v in per_column["Course Type"] for v in fields.COURSE_TYPES)
    text = " ".join(str(c) for row in rows for c in row if c)
    for needle in ("semicolons", "customFields.<key>", "Smith, Jane", "importer validate", "importer run",
                   "failures file", "00042"):
        assert needle in text, needle


def test_the_instructions_say_required_once_and_show_an_example_that_validates(template, tmp_path):
    from importer.check.validating import validate_file
    from importer.files.template import EXAMPLE

    sheet = openpyxl.load_workbook(template)["Instructions"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert not any("Required. Required." in str(c) for row in rows for c in row if c)
    examples = {row[0]: row[2] for row in rows if row[0] in {f.label for f in fields.FIELDS} and len(row) > 2}
    assert all(examples[f.label] for f in fields.FIELDS)
    filled = tmp_path / "example.csv"
    labels = [f.label for f in fields.FIELDS]
    import csv
    with filled.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([labels, [examples[label] for label in labels]])
    result = validate_file(filled)
    assert result.all_issues == [] and result.valid_rows[0].payload["externalId"] == EXAMPLE["externalId"]


def test_a_filled_template_validates(template, tmp_path):
    workbook = openpyxl.load_workbook(template)
    workbook["Courses"].append(["A course", "course"])
    workbook.save(tmp_path / "filled.xlsx")
    result = validate_file(tmp_path / "filled.xlsx")
    assert result.all_issues == [] and len(result.valid_rows) == 1


def test_template_refuses_to_overwrite(tmp_path, cli):
    out = tmp_path / "t.xlsx"
    out.write_text("mine")
    done = cli("template", out)
    assert done.returncode == 2 and "already exists" in done.stderr and out.read_text() == "mine"
