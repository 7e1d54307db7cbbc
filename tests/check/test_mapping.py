"""Foreign exports through a mapping file: each kind of rule, what a wrong map says, and the
silent losses of issue 18 turned into values or warnings."""

import csv
import json

import openpyxl
import pytest

import importer
from importer.check.mapping import load_mapping
from importer.check.validating import validate_file
from importer.core import issues as codes
from importer.errors import FileUnusable, MappingUnusable

EXPORT_HEADERS = ["course_id", "course_title", "url", "is_paid", "level", "subject", "num_lectures",
                  "instructors", "course_number", "price"]
EXPORT_ROW = ["1070968", "Ultimate Investment Banking", "https://www.udemy.com/course/ultimate-ib/?x=1", "True",
              "All Levels", "Business Finance", "51", "Jane Smith - John Doe", "15.060", "200"]


def write_csv(path, rows, headers=EXPORT_HEADERS, delimiter=","):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows([headers, *rows])
    return path


def payload_of(tmp_path, fields, row=EXPORT_ROW, headers=EXPORT_HEADERS):
    source = write_csv(tmp_path / "export.csv", [row], headers)
    result = validate_file(source, mapping={"title": "course_title", "courseType": {"value": "course"}, **fields})
    (only,) = result.rows
    return only


# --- each kind of rule: a table of cases ---------------------------------------------------

@pytest.mark.parametrize("fields, expected", [
    # a column, by its header, in another case and with spaces around it
    ({"externalId": "course_id"}, {"externalId": "1070968"}),
    ({"externalId": "  COURSE_ID "}, {"externalId": "1070968"}),
    # one value for every row
    ({"source": {"value": "udemy"}}, {"source": "udemy"}),
    ({"isFree": {"value": True}}, {"isFree": True}),
    # values: a source value (trimmed, any case) -> the field's value
    ({"isFree": {"column": "is_paid", "values": {"True": False, "False": True}}}, {"isFree": False}),
    ({"isFree": {"column": "is_paid", "values": {" true ": False}}}, {"isFree": False}),
    # template: columns by header in braces
    ({"tags": {"template": "{subject}; {level}"}}, {"tags": ["Business Finance", "All Levels"]}),
    ({"description": {"template": "<p>{level}. {num_lectures} lectures.</p>"}},
     {"description": "<p>All Levels. 51 lectures.</p>"}),
    # pattern: its first group, searched not anchored
    ({"slug": {"column": "url", "pattern": "/course/([^/?#]+)"}}, {"slug": "ultimate-ib"}),
    # pattern without a group: the whole match
    ({"externalId": {"column": "url", "pattern": "ultimate-[a-z]+"}}, {"externalId": "ultimate-ib"}),
    # split: the separator between authors
    ({"authors": {"column": "instructors", "split": " - "}}, {"authors": ["Jane Smith", "John Doe"]}),
    # text: the cell's text, never a number
    ({"customFields.code": {"column": "course_number", "text": True}}, {"customFields": {"code": "15.060"}}),
    ({"customFields.price": {"column": "price", "text": True}}, {"customFields": {"price": "200"}}),
    # without text, a CSV's plain number is typed — only when it reads back as the same text
    ({"customFields.price": "price"}, {"customFields": {"price": 200}}),
    ({"customFields.code": "course_number"}, {"customFields": {"code": "15.060"}}),
    # combinations: column -> pattern -> values
    ({"courseType": {"column": "url", "pattern": r"udemy\.com/(\w+)/", "values": {"course": "video"}}},
     {"courseType": "video"}),
    # a template through a pattern
    ({"externalId": {"template": "{course_id}-{subject}", "pattern": r"^(\d+)-Bus"}}, {"externalId": "1070968"}),
])
def test_each_kind_of_rule(tmp_path, fields, expected):
    row = payload_of(tmp_path, fields)
    assert row.valid, row.issues
    for key, value in expected.items():
        assert row.payload[key] == value


def test_values_not_listed_pass_through_and_are_validated(tmp_path):
    row = payload_of(tmp_path, {"courseType": {"column": "level", "values": {"Beginner": "course"}}})
    assert not row.valid
    (issue,) = [i for i in row.issues if i.is_error]
    assert issue.column == "courseType" and "All Levels" in issue.message


def test_an_empty_column_leaves_no_stray_separator(tmp_path):
    row = payload_of(tmp_path, {"tags": {"template": "{subject}; {level}"}},
                     row=EXPORT_ROW[:4] + [""] + EXPORT_ROW[5:])
    assert row.payload["tags"] == ["Business Finance"]


def test_a_pattern_that_does_not_match_leaves_the_field_empty_with_a_warning(tmp_path):
    row = payload_of(tmp_path, {"slug": {"column": "url", "pattern": "/learn/([a-z-]+)"}})
    assert "slug" not in row.payload and row.valid
    (issue,) = row.issues
    assert (issue.severity, issue.code, issue.column) == ("warning", "PATTERN_NOT_MATCHED", "slug")


def test_text_true_shows_a_workbook_number_as_excel_general_does(tmp_path):
    path = tmp_path / "export.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["name", "code", "rate"])
    book.active.append(["A course", 15.060000000000001, 2.0])
    book.save(path)
    result = validate_file(path, mapping={"title": "name", "courseType": {"value": "course"},
                                          "customFields.code": {"column": "code", "text": True},
                                          "customFields.rate": "rate"})
    assert result.rows[0].payload["customFields"] == {"code": "15.06", "rate": 2}


@pytest.mark.parametrize("fields, words", [
    ({"titel": "course_title"}, ["'titel' is not a course field", "did you mean title"]),
    ({"course_type": {"value": "course"}}, ["'course_type' is not a course field", "courseType"]),
    ({"externalId": "course id number"}, ["no column headed 'course id number'", "course_id"]),
    ({"externalId": {"column": "course_id", "value": "x"}}, ["exactly one of column, columns, value or template"]),
    ({"externalId": {"colum": "course_id"}}, ["'colum' is not an option", "did you mean column"]),
    ({"slug": {"column": "url", "pattern": "(["}}, ["is not a regular expression"]),
    ({"source": {"column": "url", "split": ","}}, ["split and split_pattern apply to authors and tags only"]),
    ({"tags": {"template": "no braces"}}, ["names no column"]),
])
def test_a_wrong_map_stops_naming_the_key(tmp_path, fields, words):
    source = write_csv(tmp_path / "export.csv", [EXPORT_ROW])
    with pytest.raises(MappingUnusable) as caught:
        validate_file(source, mapping={"title": "course_title", "courseType": {"value": "course"}, **fields})
    for word in words:
        assert word in str(caught.value)


def test_a_map_without_a_required_field_says_which(tmp_path):
    with pytest.raises(MappingUnusable, match="gives no Course Type"):
        load_mapping({"title": "course_title"})


def test_map_file_errors_name_the_file(tmp_path):
    path = tmp_path / "x.map.toml"
    path.write_text("[fields]\ntitle = \"a\"\ncourseType = { value = \"course\" \n", encoding="utf-8")
    with pytest.raises(MappingUnusable, match="x.map.toml: is not valid TOML"):
        load_mapping(path)
    path.write_text("title = \"a\"\n", encoding="utf-8")
    with pytest.raises(MappingUnusable, match=r"has no \[fields\] table"):
        load_mapping(path)


# --- messages name the export's own column ------------------------------------------------

def test_messages_name_the_exports_column_and_letter(tmp_path):
    source = write_csv(tmp_path / "export.csv", [EXPORT_ROW[:1] + [""] + EXPORT_ROW[2:]])
    result = validate_file(source, mapping={"title": "course_title", "courseType": {"value": "quiz"}})
    where = {i.code: result.columns.display(i.column) for i in result.rows[0].issues}
    assert where[codes.MISSING_REQUIRED_FIELD] == "course_title (B)"
    assert where[codes.INVALID_FIELD_VALUE] == "Course Type (the map's value 'quiz')"
    unused = [i for i in result.file_issues if i.code == "COLUMNS_NOT_IMPORTED"]
    assert len(unused) == 1 and "course_id, url, is_paid" in unused[0].message


# --- the silent losses, each now a value or a warning -------------------------------------

@pytest.mark.parametrize("header", ["Status", "course_id", "Course ID", "Course Slug", "error_code"])
def test_output_column_names_in_someone_elses_file_are_not_dropped(tmp_path, header):
    source = write_csv(tmp_path / "c.csv", [["A", "course", "published"]], ["Title", "Course Type", header])
    result = validate_file(source)
    if header == "Status":
        assert result.rows[0].payload["publishedStatus"] == "published"
    else:
        assert [(i.column, i.code) for i in result.file_issues] == [(header, codes.UNKNOWN_COLUMN)]


def test_our_own_output_columns_are_still_skipped_in_our_files(tmp_path):
    source = write_csv(tmp_path / "c.failures.csv", [["A", "course", "published", "2", "INVALID", "x"]],
                       ["Title", "Course Type", "Status", "source_row", "error_code", "error_message"])
    result = validate_file(source)
    assert result.rows[0].payload["publishedStatus"] == "published" and not result.file_issues


@pytest.mark.parametrize("text, expected", [("15.060", "15.060"), ("2.000", "2.000"), ("2.5", 2.5), ("4", 4),
                                            ("1.10", "1.10"), ("00042", "00042"), ("0.1", 0.1)])
def test_a_custom_field_number_only_when_it_reads_back_as_the_same_text(tmp_path, text, expected):
    source = write_csv(tmp_path / "c.csv", [["A", "course", text]], ["Title", "Course Type", "customFields.x"])
    value = validate_file(source).rows[0].payload["customFields"]["x"]
    assert value == expected and type(value) is type(expected)


def test_a_list_of_tags_keeps_its_items_whole():
    rows = importer.from_records([{"title": "A", "courseType": "course",
                                   "tags": ["Nuclear Systems, Policy, and Economics", "Energy"],
                                   "authors": ["Smith, Jane", "John Doe"]}])
    payload = importer.validate(rows).rows[0].payload
    assert payload["tags"] == ["Nuclear Systems, Policy, and Economics", "Energy"]
    assert payload["authors"] == ["Smith, Jane", "John Doe"]


def test_identical_rows_are_one_course_and_different_ones_stay_invalid(tmp_path):
    rows = [["1", "Same", "course"], ["1", "Same", "course"], ["2", "Twin title", "course"],
            ["3", "Twin title", "video"], ["1", "Same", "course"]]
    source = write_csv(tmp_path / "c.csv", rows, ["External ID", "Title", "Course Type"])
    result = validate_file(source)
    assert [r.row for r in result.valid_rows] == [2]
    assert [(r.row, r.same_as) for r in result.skipped_rows] == [(3, 2), (6, 2)]
    assert [r.row for r in result.invalid_rows] == [4, 5]


def test_a_column_the_map_does_not_use_does_not_make_rows_differ(tmp_path):
    rows = [["1", "Same", "a"], ["1", "Same", "b"]]
    source = write_csv(tmp_path / "c.csv", rows, ["id", "name", "scraped_at"])
    result = validate_file(source, mapping={"title": "name", "externalId": "id", "courseType": {"value": "course"}})
    assert [r.row for r in result.valid_rows] == [2] and [r.row for r in result.skipped_rows] == [3]


# --- the library takes the same map ----------------------------------------------------------

def test_the_library_takes_a_path_or_a_dict(tmp_path):
    source = write_csv(tmp_path / "export.csv", [EXPORT_ROW])
    path = tmp_path / "export.map.toml"
    path.write_text('[fields]\ntitle = "course_title"\ncourseType = { value = "course" }\n'
                    'externalId = "course_id"\n', encoding="utf-8")
    by_path = importer.validate(source, mapping=path)
    by_dict = importer.validate(importer.read(source), mapping={"fields": {
        "title": "course_title", "courseType": {"value": "course"}, "externalId": "course_id"}})
    assert by_path.rows[0].payload == by_dict.rows[0].payload == {
        "title": "Ultimate Investment Banking", "courseType": "course", "externalId": "1070968"}
    assert json.dumps(by_path.rows[0].payload)


def test_without_a_map_a_foreign_export_gets_one_line_with_the_way_forward(tmp_path):
    source = write_csv(tmp_path / "export.csv", [EXPORT_ROW])
    with pytest.raises(FileUnusable) as caught:
        validate_file(source)
    text = str(caught.value)
    assert "'course_title' looks like Title" in text and "importer map" in text


def test_the_map_says_what_real_exports_need(tmp_path):
    """A fallback of columns, a slug made from a short name, text replaced, counts written as 480k or
    124,980, and authors joined by ' - ' whose own names have hyphens (edX's instructors column)."""
    from importer.check.validating import validate_file

    path = tmp_path / "export.csv"
    path.write_text("shortname,idnumber,fullname,students,instructors\n"
                    "Intro Python 101,,Intro &amp; Python,480k,Anne-Marie Smith - John Doe\n"
                    "DS-2,DS2-ID,Data Science,\"124,980\",Mary Jones\n"
                    "X,,Broken count,lots,\n", encoding="utf-8")
    mapping = {"fields": {"title": {"column": "fullname", "replace": {"&amp;": "&"}},
                          "courseType": {"value": "course"},
                          "externalId": {"columns": ["idnumber", "shortname"]},
                          "slug": {"column": "shortname", "slugify": True},
                          "customFields.students": {"column": "students", "number": True},
                          "authors": {"column": "instructors", "split_pattern": r"\s+-\s+"}}}
    rows = validate_file(path, mapping=mapping).rows
    first, second, third = (r.payload for r in rows)
    assert first["title"] == "Intro & Python" and first["externalId"] == "Intro Python 101"
    assert first["slug"] == "intro-python-101" and second["slug"] == "ds-2"
    assert second["externalId"] == "DS2-ID"
    assert first["customFields"]["students"] == 480000 and second["customFields"]["students"] == 124980
    assert first["authors"] == ["Anne-Marie Smith", "John Doe"] and second["authors"] == ["Mary Jones"]
    assert third["customFields"]["students"] == "lots"
    assert [i.code for i in rows[2].issues if i.column == "customFields.students"] == ["NOT_A_NUMBER"]


def test_a_template_of_columns_keeps_each_tag_whole_and_text_true_keeps_placeholders_empty(tmp_path):
    from importer.check.validating import validate_file

    path = tmp_path / "export.csv"
    path.write_text('name,subject,level,code\nA,"Data Analysis, Statistics",Beginner,N/A\nB,Math,,00042\n',
                    encoding="utf-8")
    mapping = {"fields": {"title": "name", "courseType": {"value": "course"},
                          "tags": {"template": "{subject}; {level}"},
                          "externalId": {"column": "code", "text": True}}}
    first, second = validate_file(path, mapping=mapping).rows
    assert first.payload["tags"] == ["Data Analysis, Statistics", "Beginner"] and second.payload["tags"] == ["Math"]
    assert "externalId" not in first.payload  # N/A means nothing, text = true or not
    assert [i.code for i in first.issues if i.column == "externalId"] == ["PLACEHOLDER"]
    assert second.payload["externalId"] == "00042"


def test_importer_map_suggests_what_a_person_would_pick(tmp_path):
    """Moodle's customfield_ columns, its idnumber falling back on shortname, a column of slugs, ids a
    number would change, authors joined by ' - ', a pacing column never a Course Type, a numeric
    category never Tags; each suggestion that changes data says so."""
    from importer.check.suggesting import suggest_map
    from importer.read.reading import read_sheet

    path = tmp_path / "moodle.csv"
    path.write_text(
        "shortname,fullname,idnumber,category,format,handle,code,teacher,customfield_level\n"
        "PY101,Python basics,,3,Self-paced on your time,python-basics,00042,Ana Ruiz - Li Wei,Beginner\n"
        "DS201,Data science,DS-201,4,Instructor-led on a course schedule,data-science,15.060,Mary Jones,Advanced\n",
        encoding="utf-8")
    text = suggest_map(read_sheet(path))
    assert '"customFields.level" = { column = "customfield_level" }' in text
    assert 'externalId = { columns = ["idnumber", "shortname"] }' in text and "empty on some rows" in text
    assert 'slug = "handle"' in text
    assert 'authors = { column = "teacher", split = " - " }' in text and "split there" in text
    assert "courseType = { value = \"\" }  # TODO" in text and "'format' says how a course is paced" in text
    assert "'category' holds numbers" in text and "tags =" not in text.split("[fields]")[1].split("# Columns")[0]
    assert '"customFields.code" = { column = "code", text = true }' in text and "lose its zeros" in text
