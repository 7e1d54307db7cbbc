"""Exports as JSON (issue 26): a list of objects, an object holding one list, JSON Lines; nested lists
and objects. Read as rows, then `importer map`, `validate --map` and `run` as for a CSV."""

import json

import pytest

from importer.errors import FileUnusable
from importer.read.reading import read_sheet
from importer.sandbox import Sandbox

from ..conftest import run_cli

# The shape of a public course catalogue API's listing: the courses under `elements`, paging beside them.
LISTING = {
    "elements": [
        {"id": "v1-123", "slug": "machine-learning", "name": "Machine Learning", "courseType": "v2.ondemand",
         "description": "Learn ML", "partnerIds": ["1", "2"], "domainTypes": [{"domainId": "data-science"}],
         "syllabus": [{"week": 1, "parts": ["intro", "regression"]}],
         "instructor": {"name": "Andrew Ng", "title": "Professor"}, "workload": "4-6 hours/week"},
        {"id": "v1-456", "slug": "learning-how-to-learn", "name": "Learning How to Learn",
         "courseType": "v2.ondemand", "description": "Mental tools", "partnerIds": ["3"],
         "instructor": {"name": "Barbara Oakley"}, "topics": ["learning, memory", "study"]},
    ],
    "paging": {"next": "100", "total": 808},
    "linked": {},
}


def test_a_listing_object_is_read_as_its_list_of_courses(tmp_path):
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(LISTING), encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.format == "json" and [n for n, _ in sheet.rows] == [2, 3]
    assert sheet.headers[:4] == ["id", "slug", "name", "courseType"]
    assert "instructor.name" in sheet.headers and "instructor.title" in sheet.headers  # nested keys as headers
    row = dict(zip(sheet.headers, sheet.rows[1][1], strict=True))
    assert row["topics"] == ("learning, memory", "study")  # a list's items stay whole
    # a list of flat objects: a column a key, each holding that key's values
    first = dict(zip(sheet.headers, sheet.rows[0][1], strict=True))
    assert first["domainTypes.domainId"] == ("data-science",)
    assert json.loads(first["syllabus"]) == [{"week": 1, "parts": ["intro", "regression"]}]  # deeper: its JSON


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json"])
def test_json_lines(tmp_path, suffix):
    path = tmp_path / f"courses{suffix}"
    path.write_text("\n".join(json.dumps({"title": f"C{i}", "courseType": "video", "tags": ["a", "b"],
                                          "customFields": {"hours": i}}) for i in range(3)) + "\n",
                    encoding="utf-8")
    sheet = read_sheet(path)
    assert sheet.headers == ["title", "courseType", "tags", "customFields.hours"]
    assert sheet.rows[2][1] == ["C2", "video", ("a", "b"), 2]


@pytest.mark.parametrize(("text", "words"), [("[1, 2]", "is not an object"), ("{broken", "not valid JSON"),
                                              ("[]", "holds no records"),
                                              ('{"a": [{"x": 1}], "b": [{"y": 2}]}', "several lists")])
def test_a_json_file_that_is_no_export_is_refused_in_words(tmp_path, text, words):
    path = tmp_path / "x.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileUnusable, match=words):
        read_sheet(path)


def test_map_validate_and_run_a_json_export(tmp_path):
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(LISTING), encoding="utf-8")
    suggested = run_cli("map", path)
    assert suggested.returncode == 0, suggested.stderr
    text = (tmp_path / "catalogue.json.map.toml").read_text(encoding="utf-8")
    assert 'title = "name"' in text and 'slug = "slug"' in text
    mapping = tmp_path / "catalogue.map.toml"
    mapping.write_text('[fields]\ntitle = "name"\nslug = "slug"\nexternalId = "id"\ndescription = "description"\n'
                       'courseType = { value = "course" }\nauthors = "instructor.name"\ntags = "topics"\n',
                       encoding="utf-8")
    validated = run_cli("validate", path, "--map", mapping)
    assert validated.returncode == 0 and "valid:    2" in validated.stdout, validated.stdout + validated.stderr
    with Sandbox(api_key="k") as sandbox:
        done = run_cli("run", path, "--map", mapping, "--base-url", sandbox.base_url, "--yes",
                       env={"TI_API_KEY": "k"}, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        stored = {c["externalId"]: c for c in sandbox.store.all()}
    assert stored["v1-456"]["tags"] == ["learning, memory", "study"] and stored["v1-123"]["authors"] == ["Andrew Ng"]


@pytest.mark.parametrize("document", [
    {"_embedded": {"courses": [{"title": "A"}, {"title": "B"}]}, "_links": {"self": {"href": "/x"}}},  # HAL
    {"data": [{"id": "1", "attributes": {"title": "A"}}, {"id": "2", "attributes": {"title": "B"}}],
     "included": [{"id": "p", "type": "person"}]},  # JSON:API: the data, not what it includes
])
def test_the_list_of_courses_is_found_where_apis_put_it(tmp_path, document):
    path = tmp_path / "api.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert [n for n, _ in read_sheet(path).rows] == [2, 3]
