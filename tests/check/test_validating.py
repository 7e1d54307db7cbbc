import pytest

from importer.check.validating import validate_file
from importer.errors import FileUnusable


def sheet(tmp_path, text, name="courses.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def codes(result):
    return sorted((i.row, i.column, i.code) for i in result.all_issues)


def test_clean_row_becomes_the_exact_payload(tmp_path):
    path = sheet(tmp_path,
                 "Title *,Course Type *,Slug,Description,Published Status,Authors,Tags,External ID,"
                 "Is Free,Source,customFields.difficulty,customFields.estimatedHours,customFields.empty\n"
                 'Advanced Integration Patterns , Course ,advanced-integration-patterns,<p>Learn</p>,'
                 'Draft,"Jane Doe; John Smith","integration, advanced, API, api",EXT-COURSE-042,no,,'
                 "advanced,4,\n")
    result = validate_file(path)
    assert result.all_issues == []
    assert result.rows[0].payload == {
        "title": "Advanced Integration Patterns", "courseType": "course",
        "slug": "advanced-integration-patterns", "description": "<p>Learn</p>",
        "publishedStatus": "draft", "authors": ["Jane Doe", "John Smith"],
        "tags": ["integration", "advanced", "API"], "externalId": "EXT-COURSE-042", "isFree": False,
        "customFields": {"difficulty": "advanced", "estimatedHours": 4},
    }
    assert result.rows[0].identity == ("externalId", "EXT-COURSE-042")


@pytest.mark.parametrize("row, column, code", [
    (",course", "title", "MISSING_REQUIRED_FIELD"),
    ("A,", "courseType", "MISSING_REQUIRED_FIELD"),
    ("A,quiz", "courseType", "INVALID_FIELD_VALUE"),
    ("A,course,,live", "publishedStatus", "INVALID_FIELD_VALUE"),
    ("A,course,Not A Slug", "slug", "INVALID_FIELD_VALUE"),
    ("A,course,a--b", "slug", "INVALID_FIELD_VALUE"),
    ("A,course,,,maybe", "isFree", "INVALID_FIELD_VALUE"),
    ("A" * 256 + ",course", "title", "INVALID_FIELD_VALUE"),
])
def test_row_errors(tmp_path, row, column, code):
    result = validate_file(sheet(tmp_path, "Title,Course Type,Slug,Published Status,Is Free\n" + row + "\n"))
    assert [(i.row, i.column, i.code, i.severity) for i in result.all_issues] == [(2, column, code, "error")]
    assert result.invalid_rows and not result.valid_rows


def test_title_of_255_is_fine(tmp_path):
    assert validate_file(sheet(tmp_path, "Title,Course Type\n" + "A" * 255 + ",course\n")).all_issues == []


def test_messages_help_fix_the_cell(tmp_path):
    result = validate_file(sheet(tmp_path, "Title,Course Type,Slug\nA,Learning Pth,Intro APIs!\n"))
    messages = {i.column: i.message for i in result.all_issues}
    assert "Did you mean 'learning_path'?" in messages["courseType"]
    assert "Accepted values: course, learning_path" in messages["courseType"]
    assert "Did you mean 'intro-apis'?" in messages["slug"]


def test_duplicates_flag_every_row_and_name_the_others(tmp_path):
    result = validate_file(sheet(tmp_path, "Title,Course Type,Slug,External ID\n"
                                 "A,course,s1,E1\nA,course,s2,E2\nB,course,s1,E3\nC,course,s3,E1\n"
                                 "A,course,,\n"))
    assert codes(result) == [
        (2, "externalId", "DUPLICATE_EXTERNAL_ID"), (2, "slug", "DUPLICATE_SLUG"),
        (2, "title", "DUPLICATE_TITLE"), (3, "title", "DUPLICATE_TITLE"),
        (4, "slug", "DUPLICATE_SLUG"), (5, "externalId", "DUPLICATE_EXTERNAL_ID"),
        (6, "title", "DUPLICATE_TITLE"),
    ]
    message = next(i.message for i in result.rows[0].issues if i.code == "DUPLICATE_TITLE")
    assert "rows 3, 6" in message


def test_warnings_leave_the_row_valid(tmp_path):
    result = validate_file(sheet(tmp_path, "Title,Course Type,Description,External ID,customFields.lvl,"
                                 "customFields.level,Notes\n"
                                 "A,course,<p>x</p><script>bad()</script>,12345678901234567,1,2,n\n"),
                           custom_fields=["level"])
    assert codes(result) == [
        (1, "Notes", "UNKNOWN_COLUMN"), (1, "customFields.lvl", "UNKNOWN_CUSTOM_FIELD"),
        (2, "description", "HTML_STRIPPED"), (2, "externalId", "ID_TOO_LONG_FOR_EXCEL"),
    ]
    assert all(i.severity == "warning" for i in result.all_issues)
    assert len(result.valid_rows) == 1


def test_unknown_columns_are_one_warning_for_the_file(tmp_path):
    rows = "".join(f"T{i},course,x\n" for i in range(50))
    result = validate_file(sheet(tmp_path, "Title,Course Type,Notes\n" + rows))
    assert [i.code for i in result.all_issues] == ["UNKNOWN_COLUMN"]


def test_output_columns_are_ignored_so_results_feed_back(tmp_path):
    result = validate_file(sheet(tmp_path, "Title,Course Type,source_row,status,course_id,course_slug,"
                                 "error_code,error_message\nA,course,2,failed,,,X,boom\n"))
    assert result.all_issues == [] and result.rows[0].payload == {"title": "A", "courseType": "course"}


@pytest.mark.parametrize("header, reason", [
    ("Name,Course Type", "no Title column"),
    ("Title,Kind", "no Course Type column"),
    ("Name,Kind", "no Title or Course Type column"),
    ("Title,Course Type,title", "both hold title"),
])
def test_unusable_headers(tmp_path, header, reason):
    with pytest.raises(FileUnusable, match=reason):
        validate_file(sheet(tmp_path, header + "\nA,course\n"))


def test_zero_width_spaces_are_trimmed_like_spaces(tmp_path):
    result = validate_file(sheet(tmp_path, "Title,Course Type,Tags\n\u200bIntro\u200b , Course\ufeff,\u200bapi\n"))
    assert result.rows[0].payload == {"title": "Intro", "courseType": "course", "tags": ["api"]}
    plain = validate_file(sheet(tmp_path, "Title,Course Type\n Intro ,course\n", name="plain.csv"))
    assert plain.sheet.invisible_marks is False and plain.rows[0].payload["title"] == "Intro"


# --- a fix in the page: one row checked again gives what the whole file checked again gives ------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from importer.check.validating import recheck_row, unique_values, validate_sheet  # noqa: E402
from importer.read.reading import read_sheet  # noqa: E402

small = st.sampled_from(["A", "B", "C", ""])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(small, st.sampled_from(["course", "quiz", ""]), small), min_size=1, max_size=7),
       fixes=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), small), min_size=1, max_size=4))
def test_a_row_checked_again_matches_the_whole_file_checked_again(tmp_path_factory, rows, fixes):
    path = tmp_path_factory.mktemp("fix") / "c.csv"
    # Each row's slug is its own, so no two rows are the identical course (those are skipped, not flagged).
    path.write_text("Title,Course Type,External ID,Slug\n" + "".join(
        f"{t},{k},{e},s{n}\n" for n, (t, k, e) in enumerate(rows)), encoding="utf-8")
    sheet = read_sheet(path)
    result = validate_sheet(sheet)
    index = unique_values(result)
    for position, column, value in fixes:
        if position >= len(sheet.rows):
            continue
        number, cells = sheet.rows[position]
        cells[column] = value or None
        recheck_row(result, number, cells, index)
    again = validate_sheet(sheet)
    assert [(r.row, sorted((i.code, i.column, i.message) for i in r.issues)) for r in result.rows] == \
        [(r.row, sorted((i.code, i.column, i.message) for i in r.issues)) for r in again.rows]
    assert len(result.valid_rows) == len(again.valid_rows)
