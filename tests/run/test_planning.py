"""The plan as a table of cases: rows and what the platform holds in, one action per row out."""

import pytest

from importer.check.validating import validate_sheet
from importer.core.outcomes import Change
from importer.platform.catalogue import Catalogue, questions
from importer.read.reading import Sheet
from importer.run.planning import classify, make_plan

A = {"id": "crs_a", "title": "Alpha", "slug": "alpha", "externalId": "EXT-A", "courseType": "course",
     "tags": ["API", "basics"], "description": "<p>Hi</p>", "isFree": False, "authors": ["Jane"],
     "customFields": {"hours": 4}, "publishedStatus": "draft"}
B = {"id": "crs_b", "title": "Beta", "slug": "beta", "externalId": None, "courseType": "video", "tags": [],
     "customFields": {}}


def catalogue(*courses, complete=True):
    found = Catalogue(complete=complete)
    for course in courses:
        found.add(course)
    return found


@pytest.mark.parametrize("payload, kind, course, changes", [
    ({"title": "New", "courseType": "course"}, "create", None, ()),
    ({"title": "New", "courseType": "course", "externalId": "EXT-N"}, "create", None, ()),
    ({"title": "Alpha", "courseType": "course", "externalId": "EXT-A"}, "unchanged", "crs_a", ()),
    # An empty cell (absent from the payload) leaves the platform's value: not a change.
    ({"title": "Alpha", "courseType": "course"}, "unchanged", "crs_a", ()),
    ({"title": "Alpha", "courseType": "video", "externalId": "EXT-A"}, "update", "crs_a",
     (Change("courseType", "course", "video"),)),
    # Renaming a course found by its External ID is an update of its title.
    ({"title": "Alpha 2", "courseType": "course", "externalId": "EXT-A"}, "update", "crs_a",
     (Change("title", "Alpha", "Alpha 2"),)),
    # Tags are trimmed and case-insensitive on the server: the same set is no change.
    ({"title": "Alpha", "courseType": "course", "tags": ["basics", "api"]}, "unchanged", "crs_a", ()),
    ({"title": "Alpha", "courseType": "course", "tags": ["api", "new"]}, "update", "crs_a",
     (Change("tags", ["API", "basics"], ["api", "new"]),)),
    # Descriptions are compared after the server's cleaning.
    ({"title": "Alpha", "courseType": "course", "description": "<p>Hi<script>x</script></p>"}, "unchanged",
     "crs_a", ()),
    ({"title": "Alpha", "courseType": "course", "description": "<p>Hello</p>"}, "update", "crs_a",
     (Change("description", "<p>Hi</p>", "<p>Hello</p>"),)),
    ({"title": "Alpha", "courseType": "course", "customFields": {"hours": 5}}, "update", "crs_a",
     (Change("customFields.hours", 4, 5),)),
    # A key no course on the instance has, and not listed: the server would drop it; no change.
    ({"title": "Alpha", "courseType": "course", "customFields": {"colour": "red"}}, "unchanged", "crs_a", ()),
    ({"title": "Alpha", "courseType": "course", "isFree": True, "authors": ["Jane", "Joe"]}, "update", "crs_a",
     (Change("isFree", False, True), Change("authors", ["Jane"], ["Jane", "Joe"]))),
])
def test_classification(payload, kind, course, changes):
    action = classify(payload, catalogue(A, B), {"hours"})
    assert (action.kind, action.course_id, action.changes) == (kind, course, changes)


@pytest.mark.parametrize("payload, code, other", [
    ({"title": "Beta", "courseType": "course", "externalId": "EXT-N"}, "DUPLICATE_TITLE", "crs_b"),
    ({"title": "New", "courseType": "course", "externalId": "EXT-N", "slug": "beta"}, "DUPLICATE_SLUG", "crs_b"),
    ({"title": "New", "courseType": "course", "slug": "beta"}, None, None),  # found by slug: a rename
    ({"title": "New", "courseType": "course", "externalId": "EXT-A"}, None, None),  # matched: a rename
    ({"title": "Beta", "courseType": "course", "externalId": "EXT-A"}, "DUPLICATE_TITLE", "crs_b"),
    ({"title": "Gamma", "courseType": "course", "slug": "alpha", "externalId": "EXT-A"}, None, None),
    ({"title": "Gamma", "courseType": "course", "slug": "beta", "externalId": "EXT-A"}, "DUPLICATE_SLUG", "crs_b"),
])
def test_conflicts_name_the_other_course(payload, code, other):
    action = classify(payload, catalogue(A, B), set())
    if code is None:
        assert action.kind == "update"
        return
    assert (action.kind, action.code, action.course_id) == ("conflict", code, other)
    assert other in action.message and "Change this row" in action.message


def test_an_external_id_used_by_another_course_is_a_conflict_not_exists():
    # The row's title is B's; its External ID is A's: two different courses.
    action = classify({"title": "Beta", "courseType": "video", "externalId": "EXT-A"}, catalogue(A, B), set())
    assert action.kind == "conflict" and "crs_b" in action.message and "crs_a" in action.message


def sheet(rows, headers=("Title", "Course Type", "External ID", "Tags")):
    return validate_sheet(Sheet("x.csv", list(headers), [(n, list(r)) for n, r in enumerate(rows, start=2)], "csv"))


def test_two_rows_matching_one_course_are_both_conflicts():
    validation = sheet([["Alpha", "course", "EXT-A", ""], ["Alpha copy", "course", "", ""],
                        ["Beta", "video", "", ""]])
    renamed = dict(A, title="Alpha copy")  # row 3 finds A by title, row 2 by External ID
    plan = make_plan(validation, catalogue(renamed, B), mode="sync")
    assert [a.kind for a in plan.actions] == ["conflict", "conflict", "unchanged"]
    assert "row 3" in plan.actions[0].message and "row 2" in plan.actions[1].message


def test_modes_decide_what_happens_to_each_kind():
    validation = sheet([["New", "course", "EXT-N", ""], ["Alpha", "course", "EXT-A", "api, basics"],
                        ["Beta", "course", "", ""], ["", "course", "", ""]])
    found = catalogue(A, B)
    create = make_plan(validation, found, mode="create")
    sync = make_plan(validation, found, mode="sync")
    update = make_plan(validation, found, mode="update")
    assert [a.kind for a in create.actions] == ["create", "exists", "exists", "invalid"]
    assert "courseType" in create.actions[2].message or "Course Type" in create.actions[2].message
    assert "--mode sync" in create.actions[2].message
    assert [a.kind for a in sync.actions] == ["create", "unchanged", "update", "invalid"]
    assert sync.actions[2].body == {"courseType": "course"}
    assert [a.kind for a in update.actions] == ["not_found", "unchanged", "update", "invalid"]
    assert sync.summary() == "Plan: 1 to create, 1 to update, 1 unchanged, 0 conflicts, 1 invalid"
    assert sync.writes == 2 and create.writes == 1


def test_an_unseen_instance_plans_creates():
    validation = sheet([["Alpha", "course", "EXT-A", ""]])
    plan = make_plan(validation, Catalogue(visible=False, why_not_visible="HTTP 404"), mode="sync")
    assert [a.kind for a in plan.actions] == ["create"] and not plan.visible


def test_custom_fields_put_whole_with_the_servers_keys():
    course = dict(A, customFields={"hours": 4, "level": "easy"})
    action = classify({"title": "Alpha", "courseType": "course", "externalId": "EXT-A",
                       "customFields": {"hours": 6, "colour": "red"}}, catalogue(course), {"hours", "level"})
    assert action.body == {"customFields": {"hours": 6, "level": "easy"}}


def test_lookups_asked_only_when_the_answer_is_unknown():
    partial = catalogue(A, complete=False)
    partial._asked.add(("externalId", "EXT-A"))
    # Found by External ID with the same title: no other course can hold that title.
    assert list(questions({"externalId": "EXT-A", "title": "Alpha"}, partial)) == []
    # A new title must be checked; a new course must have its identity and title looked up.
    assert list(questions({"externalId": "EXT-A", "title": "Renamed"}, partial)) == [("title", "Renamed")]
    assert list(questions({"externalId": "EXT-N", "title": "N", "slug": "n"}, partial)) == [
        ("externalId", "EXT-N"), ("slug", "n"), ("title", "N")]
    assert list(questions({"title": "Alpha"}, catalogue(A, complete=True))) == []  # everything is known
