"""templates/courses-template.xlsx is `importer template`'s output, and stays so."""

import openpyxl

from importer import fields
from importer.validating import validate_file

from .conftest import ROOT


def describe(path):
    """Everything a user sees of the template, in comparable form."""
    workbook = openpyxl.load_workbook(path)
    described = {}
    for sheet in workbook.worksheets:
        described[sheet.title] = {
            "cells": [[c.value for c in row] for row in sheet.iter_rows()],
            "validations": sorted((str(v.sqref), v.formula1) for v in sheet.data_validations.dataValidation),
            "formats": {k: (d.number_format, d.width) for k, d in sheet.column_dimensions.items()},
            "freeze": sheet.freeze_panes,
        }
    return described


def test_committed_template_is_the_command_output(tmp_path, cli):
    out = tmp_path / "t.xlsx"
    done = cli("template", out)
    assert done.returncode == 0, done.stderr
    assert describe(out) == describe(ROOT / "templates" / "courses-template.xlsx")


def test_template_shape(tmp_path, cli):
    out = tmp_path / "t.xlsx"
    cli("template", out)
    described = describe(out)
    assert list(described) == ["Courses", "Instructions"]
    courses = described["Courses"]
    assert courses["cells"][0] == ["Title *", "Course Type *", "Slug", "Description", "Published Status",
                                   "Authors", "Tags", "External ID", "Is Free", "Source"]
    assert courses["freeze"] == "A2"
    assert ("B2:B5001", '"' + ",".join(fields.COURSE_TYPES) + '"') in courses["validations"]
    assert ("E2:E5001", '"draft,published,archived"') in courses["validations"]
    assert ("I2:I5001", '"Yes,No"') in courses["validations"]
    for letter in "ACH":  # title, slug, external id: text, so Excel keeps 00042
        assert courses["formats"][letter][0] == "@"
    text = " ".join(str(c) for row in described["Instructions"]["cells"] for c in row if c)
    for needle in ("semicolons", "customFields.<key>", "Smith, Jane", "importer validate"):
        assert needle in text
    # A filled template validates: every header is understood.
    workbook = openpyxl.load_workbook(out)
    workbook["Courses"].append(["A course", "course"])
    workbook.save(out)
    result = validate_file(out)
    assert result.all_issues == [] and len(result.valid_rows) == 1


def test_template_refuses_to_overwrite(tmp_path, cli):
    out = tmp_path / "t.xlsx"
    out.write_text("mine")
    done = cli("template", out)
    assert done.returncode == 2 and "already exists" in done.stderr and out.read_text() == "mine"
