import pytest

from importer.check.normalizing import (
    custom_field_value,
    normalize_bool,
    normalize_enum,
    split_authors,
    split_tags,
    to_text,
)
from importer.core import fields
from importer.core.fields import stripped_html_tags
from importer.core.issues import Issue, column_letter


@pytest.mark.parametrize("raw, expected", [
    (None, None), ("", None), ("   ", None), ("\u00a0 Title \u00a0", "Title"), ("\u200bX\ufeff", "X"),
    (42, "42"), (42.5, "42.5"), (1e20, "100000000000000000000"), (True, "TRUE"), ("00042", "00042"),
    ("  a  b ", "a  b"),
])
def test_to_text(raw, expected):
    assert to_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("course", "course"), ("Course", "course"), (" SCORM ", "scorm"), ("Learning Path", "learning_path"),
    ("learning-path", "learning_path"), ("LEARNING_PATH", "learning_path"), ("xAPI", "xapi"),
])
def test_course_type_casing(raw, expected):
    assert normalize_enum(raw, fields.COURSE_TYPES, "courseType") == expected


def test_unknown_enum_lists_values_and_nearest():
    result = normalize_enum("webinars", fields.COURSE_TYPES, "courseType")
    assert isinstance(result, Issue)
    assert "Accepted values: course, learning_path, webinar, video, article, scorm, xapi." in result.message
    assert "Did you mean 'webinar'?" in result.message
    assert normalize_enum("Published", fields.PUBLISHED_STATUSES, "publishedStatus") == "published"


@pytest.mark.parametrize("raw, expected", [
    ("yes", True), ("Yes", True), ("Y", True), ("true", True), ("TRUE", True), ("1", True), (1, True),
    (True, True), ("no", False), ("N", False), ("false", False), ("0", False), (0, False), (False, False),
    (" No ", False),
])
def test_booleans(raw, expected):
    assert normalize_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", 2, "oui"])
def test_unreadable_boolean(raw):
    assert isinstance(normalize_bool(raw), Issue)


@pytest.mark.parametrize("raw, expected", [
    ("api, basics", ["api", "basics"]),
    ("api;basics\nonboarding", ["api", "basics", "onboarding"]),
    ("API, api , Api", ["API"]),
    (" a ,, ;b; ", ["a", "b"]),
    ("x\r\ny", ["x", "y"]),
])
def test_tags(raw, expected):
    assert split_tags(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("Smith, Jane; John Doe", ["Smith, Jane", "John Doe"]),
    ("Jane Doe\nJohn Smith", ["Jane Doe", "John Smith"]),
    ("Jane Doe;; jane doe", ["Jane Doe"]),
    ("García, María", ["García, María"]),
])
def test_authors(raw, expected):
    assert split_authors(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (4, 4), (4.0, 4), (2.5, 2.5), ("4", 4), ("2.5", 2.5), ("-3", -3), ("00042", "00042"),
    ("1e5", "1e5"), ("advanced", "advanced"), (True, True), ("TRUE", True), ("false", False),
    ("", None), (None, None), ("1234567890123456", "1234567890123456"),
])
def test_custom_field_types(raw, expected):
    value = custom_field_value(raw)
    assert value == expected and type(value) is type(expected)


def test_html_the_server_strips():
    assert stripped_html_tags("<p>ok <strong>x</strong></p>") == []
    assert stripped_html_tags("<p>a</p><script>x</script><H1>t</H1>") == ["script", "h1"]


@pytest.mark.parametrize("header, field", [
    ("Title", "title"), ("title *", "title"), ("Course Type *", "courseType"), ("course_type", "courseType"),
    ("COURSETYPE", "courseType"), ("External ID", "externalId"), ("external_id", "externalId"),
    ("Is Free", "isFree"), ("Published Status", "publishedStatus"), ("customFields.estimatedHours",
    "customFields.estimatedHours"), ("customfields. Level ", "customFields.Level"),
    # A Status column is the published status; in our own results file it is skipped as ours
    # (see fields.importer_columns), not through this table.
    ("status", "publishedStatus"),
    ("course_id", None), ("Notes", None),
])
def test_header_aliases(header, field):
    assert fields.field_for_header(header) == field


@pytest.mark.parametrize("index, letter", [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letter):
    assert column_letter(index) == letter


def test_slugify():
    assert fields.slugify("Négociation commerciale — avancée!") == "negociation-commerciale-avancee"


# --- the column fast paths give the same answers as one cell at a time -----------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from importer.check.rules import CUSTOM_FIELD, RULES, run_rule  # noqa: E402

pieces = st.sampled_from(list("aZ09 -_,;<>/\n\t'=é") + ["\u00a0", "\u200b", "\ufeff", "<p>", "<script>",
                                                         "Course", "Learning Path", "Yes", "no", "4", "2.5"])
cell_text = st.one_of(st.none(), st.lists(pieces, max_size=6).map("".join))


@settings(max_examples=150, deadline=None)
@given(st.lists(cell_text, min_size=1, max_size=20), st.sampled_from([*RULES, "customFields.x"]))
def test_column_rules_match_cell_rules(column, name):
    rule = CUSTOM_FIELD if name.startswith("customFields.") else RULES[name]
    found: dict = {}
    values = run_rule(rule, list(column), list(range(2, 2 + len(column))), name, found)
    for index, raw in enumerate(column):
        value, problems = rule.cell(raw)
        assert values[index] == value
        assert [(i.code, i.message) for i in found.get(index, [])] == [(p.code, p.message) for p in problems]


@given(st.lists(st.one_of(st.none(), st.integers(-5, 5), st.booleans(), st.floats(allow_nan=False, width=32),
                          st.sampled_from(["1", "yes", "TRUE", "00042", "2.5"])), min_size=1, max_size=12))
def test_typed_workbook_cells_keep_their_types(column):
    for name in ("isFree", "externalId", "customFields.x"):
        rule = CUSTOM_FIELD if name.startswith("customFields.") else RULES[name]
        values = run_rule(rule, list(column), list(range(len(column))), name, {})
        assert values == [rule.cell(raw)[0] for raw in column]
        assert [type(v) for v in values] == [type(rule.cell(raw)[0]) for raw in column]
