"""The clearing marker on every road a column takes through the rules: text columns checked cell by cell
(titles, descriptions) or by distinct value (tags), a workbook's mixed column (numbers beside text), short
and long cells, any case and spaces around it."""

import openpyxl

import importer
from importer.core import fields


def issues_of(result):
    return sorted((i.row, i.column, i.code) for i in result.all_issues if i.code in ("CLEARED", "CANNOT_CLEAR"))


def test_the_marker_in_a_csv_on_every_kind_of_column(tmp_path):
    path = tmp_path / "courses.csv"
    path.write_text("Title,Course Type,Description,Tags,customFields.level\n"
                    "(clear),course,(Clear),a,1\n"
                    "Long enough title,course,A description long enough,(CLEAR),(clear)\n"
                    "Another long title,video, (clear) ,a,2\n", encoding="utf-8")
    result = importer.validate(path)
    assert issues_of(result) == [(2, "description", "CLEARED"), (2, "title", "CANNOT_CLEAR"),
                                 (3, "customFields.level", "CLEARED"), (3, "tags", "CLEARED"),
                                 (4, "description", "CLEARED")]
    second, third = result.rows[1], result.rows[2]
    assert second.clears == ("tags", "customFields.level") and "tags" not in second.payload
    assert "customFields" not in second.payload  # a create carries nothing of it
    assert third.clears == ("description",)
    assert not result.rows[0].valid and not any(i.code == "MISSING_REQUIRED_FIELD" for i in result.rows[0].issues)


def test_the_marker_in_a_workbook_column_that_also_holds_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Courses"
    sheet.append(["Title", "Course Type", "customFields.hours", "Source"])
    sheet.append(["First course", "course", 12, "cms"])
    sheet.append(["Second course", "course", " (CLEAR) ", "(clear)"])
    sheet.append(["Third course", "course", 3.5, "crm"])
    book.save(tmp_path / "courses.xlsx")
    result = importer.validate(tmp_path / "courses.xlsx")
    assert issues_of(result) == [(3, "customFields.hours", "CLEARED"), (3, "source", "CLEARED")]
    assert result.rows[1].clears == ("source", "customFields.hours")
    assert result.rows[0].payload["customFields"] == {"hours": 12}
    assert fields.cleared_value("source") == "" and fields.cleared_value("customFields.hours") is None


def test_text_that_only_resembles_the_marker_is_sent_as_it_is(tmp_path):
    path = tmp_path / "courses.csv"
    path.write_text("Title,Course Type,Description\n(clear) the backlog,course,(clear)ance sale\n", encoding="utf-8")
    result = importer.validate(path)
    assert issues_of(result) == []
    assert result.rows[0].payload["title"] == "(clear) the backlog"
    assert result.rows[0].payload["description"] == "(clear)ance sale"
