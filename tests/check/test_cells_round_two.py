"""What the person saw, round two (issue 26): each cell sent as seen, or warned on that cell, never
silent. Real files written and read back: CSVs as Excel writes them, workbooks with openpyxl."""

import openpyxl
import pytest

from importer.check.normalizing import _enum_key, nearest_value
from importer.check.validating import validate_file
from importer.core import fields


def csv_file(tmp_path, header, *rows):
    path = tmp_path / "c.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def issues(row, column):
    return [(i.code, i.message) for i in row.issues if i.column == column]


def test_an_id_excel_wrote_in_scientific_notation_is_warned_saying_what_is_sent(tmp_path):
    row = validate_file(csv_file(tmp_path, "Title,Course Type,External ID", "A,course,1.23457E+11")).rows[0]
    assert row.payload["externalId"] == "1.23457E+11"
    [(code, message)] = issues(row, "externalId")
    assert code == "ID_IN_SCIENTIFIC_NOTATION" and "sent as the text '1.23457E+11'" in message


def test_an_id_shown_with_zeros_by_its_number_format_is_sent_as_shown(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Title", "Course Type", "External ID"])
    sheet.append(["A", "course", 42])
    sheet["C2"].number_format = "00000"
    book.save(tmp_path / "ids.xlsx")
    row = validate_file(tmp_path / "ids.xlsx").rows[0]
    assert row.payload["externalId"] == "00042"
    [(code, message)] = issues(row, "externalId")
    assert code == "PADDED_NUMBER" and "'00042'" in message


def test_a_csv_custom_column_of_two_types_is_warned_on_the_text_cells(tmp_path):
    rows = validate_file(csv_file(tmp_path, "Title,Course Type,customFields.version",
                                  "A,course,2.0", "B,course,1.10", "C,course,3")).rows
    assert [r.payload["customFields"]["version"] for r in rows] == [2.0, "1.10", 3]
    assert issues(rows[0], "customFields.version") == [] and issues(rows[2], "customFields.version") == []
    assert [c for c, _ in issues(rows[1], "customFields.version")] == ["MIXED_TYPES"]


def test_invisible_characters_and_lists_read_as_one_item_are_warned(tmp_path):
    rows = validate_file(csv_file(tmp_path, "Title,Course Type,Tags,Authors",
                                  "Intro\u200bduction,course,a / b / c,Jane Smith and John Doe",
                                  "Plain,course,#sales #crm,Smith & Jones",
                                  "Fine,course,\"api, sales\",Ana Ruiz; Li Wei")).rows
    first, second, third = rows
    assert [c for c, _ in issues(first, "title")] == ["ZERO_WIDTH"]
    assert first.payload["title"] == "Intro\u200bduction"  # sent as it is, with the word said
    assert [c for c, _ in issues(first, "tags")] == ["NOT_SPLIT"] and "'a, b, c'" in issues(first, "tags")[0][1]
    assert [c for c, _ in issues(first, "authors")] == ["NOT_SPLIT"]
    assert "'sales, crm'" in issues(second, "tags")[0][1]
    assert issues(second, "authors") == []  # `Smith & Jones`: one word each side, a firm's name
    assert not third.issues


@pytest.mark.parametrize(("typed", "meant"), [("Video Course", "video"), ("E-Learning", None), ("corse", "course"),
                                              ("SCROM", "scorm"), ("Webinar series", "webinar"), ("quiz", None),
                                              ("learning paths", "learning_path")])
def test_did_you_mean_prefers_a_word_of_what_was_typed(typed, meant):
    assert nearest_value(_enum_key(typed), fields.COURSE_TYPES) == meant
