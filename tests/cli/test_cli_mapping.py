"""Exports of other systems, end to end through the CLI: `importer map`, then `run --map` on a
sandbox over HTTP, a sync after editing the export, and the failures file run again with the
same map. The real public exports (Udemy, edX, Coursera, Moodle) are data nobody here wrote and
are not committed: the tests that use them read them from $IMPORTER_REAL_EXPORTS or
../shared/exports and are skipped, saying so, where they are absent."""

import copy
import csv
import os
import tomllib
from pathlib import Path

import openpyxl
import pytest

from importer.check.validating import validate_file
from importer.sandbox import Sandbox

from ..conftest import ROOT, run_cli

KEY = "mapping-test-key"
MAPS = ROOT / "samples" / "maps"
HEADERS = ["course_id", "course_title", "url", "is_paid", "price", "level", "subject", "instructors"]
UDEMY_LIKE_MAP = """[fields]
title = "course_title"
externalId = "course_id"
courseType = { value = "course" }
isFree = { column = "is_paid", values = { "True" = false, "False" = true } }
slug = { column = "url", pattern = 'udemy\\.com/([^/?#]+)' }
tags = { template = "{subject}; {level}" }
authors = { column = "instructors", split = " - " }
"customFields.price" = { column = "price", text = true }
"""


def export_rows(n):
    return [[str(1000 + i), f"Course number {i}", f"https://www.udemy.com/course-{i}/", ["True", "False"][i % 2],
             f"{i}.50", ["All Levels", "Beginner Level"][i % 2], "Business Finance", f"Ann {i} - Bob {i}"]
            for i in range(n)]


def write_export(path, rows, headers=HEADERS):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([headers, *rows])
    return path


def read_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def sandbox():
    with Sandbox(rate_limit=1000, rate_window=2, api_key=KEY, seed=5) as running:
        yield running


def run(sandbox, *args):
    return run_cli("run", *args, "--base-url", sandbox.base_url, "--rate-limit", "6000", "--yes",
                   env={"TI_API_KEY": KEY}, timeout=300)


def test_an_export_through_a_map_then_a_sync_then_the_failures_file(tmp_path, sandbox):
    rows = export_rows(12)
    rows[3][2] = "https://www.udemy.com/Bad_Slug/"  # invalid slug: goes to the failures file
    rows.append(list(rows[5]))  # an identical row, as real exports hold: skipped, not failed
    export = write_export(tmp_path / "export.csv", rows)
    mapping = tmp_path / "udemy.map.toml"
    mapping.write_text(UDEMY_LIKE_MAP, encoding="utf-8")

    done = run(sandbox, export, "--map", mapping)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    courses = {c["externalId"]: c for c in sandbox.store.all()}
    assert sorted(courses) == sorted(str(1000 + i) for i in range(12) if i != 3)
    first = courses["1001"]
    assert (first["title"], first["slug"], first["isFree"]) == ("Course number 1", "course-1", True)
    assert first["tags"] == ["Business Finance", "Beginner Level"] and first["authors"] == ["Ann 1", "Bob 1"]
    assert first["customFields"] == {"price": "1.50"}

    results = openpyxl.load_workbook(tmp_path / "export.results.xlsx")
    statuses = [r[len(HEADERS) + 1] for r in results["Results"].iter_rows(min_row=2, values_only=True)]
    assert statuses.count("created") == 11 and statuses.count("skipped") == 1 and statuses.count("invalid") == 1
    facts = dict(results["Run"].iter_rows(min_row=2, values_only=True))
    assert facts["map"].endswith("udemy.map.toml") and tomllib.loads(facts["map_text"]) == tomllib.loads(UDEMY_LIKE_MAP)
    assert "--map" in facts["to continue"]

    failures = tmp_path / "export.failures.csv"
    failed = read_rows(failures)
    assert list(failed[0])[:len(HEADERS)] == HEADERS  # the export's own layout
    assert [r["source_row"] for r in failed] == ["5"] and "url (C)" in failed[0]["error_message"]

    # Fix the cell in the failures file and run it again with the same map.
    with open(failures, encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    table[1][2] = "https://www.udemy.com/good-slug/"
    with open(failures, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(table)
    again = run(sandbox, failures, "--map", mapping)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sandbox.store.find(externalId="1003")[0]["slug"] == "good-slug"

    # Edit two source rows; a sync changes exactly those courses.
    rows[1][1] = "Course number 1, revised"
    rows[7][6] = "Investing"
    rows[3][2] = "https://www.udemy.com/good-slug/"
    write_export(export, rows)
    before = {c["id"]: copy.deepcopy(c) for c in sandbox.store.all()}
    synced = run(sandbox, export, "--map", mapping, "--mode", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    changed = {c["externalId"] for c in sandbox.store.all() if c != before[c["id"]]}
    assert changed == {"1001", "1007"}
    assert sandbox.store.find(externalId="1007")[0]["tags"] == ["Investing", "Beginner Level"]


def test_importer_map_suggests_a_map_that_works_once_filled_in(tmp_path):
    export = write_export(tmp_path / "export.csv", export_rows(4))
    done = run_cli("map", export)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "export.csv.map.toml"
    text = path.read_text(encoding="utf-8")
    spec = tomllib.loads(text)["fields"]
    assert spec["title"] == "course_title" and spec["externalId"] == "course_id"
    assert spec["isFree"] == {"column": "is_paid", "values": {"True": False, "False": True}}
    assert spec["courseType"] == {"value": ""} and "TODO required" in text
    assert "#   url [C]:" in text  # an unused column, with samples
    assert "1 line marked TODO" in done.stdout

    flagged = run_cli("validate", export, "--map", path)
    assert flagged.returncode == 1 and "Course Type (the map's value '')" in flagged.stdout
    path.write_text(text.replace('courseType = { value = "" }', 'courseType = { value = "course" }'),
                    encoding="utf-8")
    fixed = run_cli("validate", export, "--map", path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Not imported (the map export.csv.map.toml does not use them): url, price, level" in fixed.stdout

    again = run_cli("map", export)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_map_that_names_a_missing_column_is_one_line_exit_2(tmp_path):
    export = write_export(tmp_path / "export.csv", export_rows(2))
    mapping = tmp_path / "m.map.toml"
    mapping.write_text('[fields]\ntitle = "name"\ncourseType = { value = "course" }\n', encoding="utf-8")
    done = run_cli("validate", export, "--map", mapping)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: ") and "no column headed 'name'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_version_and_messages_in_the_columns_words(tmp_path):
    assert run_cli("--version").stdout.startswith("importer ")
    sheet = write_export(tmp_path / "c.csv", [["", "quiz"]], ["Title", "Course Type"])
    done = run_cli("validate", sheet)
    assert "row 2, Title (A): Title is required." in done.stdout
    assert "Invalid Course Type 'quiz'" in done.stdout and "courseType" not in done.stdout


# --- real exports of other systems -----------------------------------------------------------

REAL = Path(os.environ.get("IMPORTER_REAL_EXPORTS", ROOT.parent / "shared" / "exports"))
# (export file, its map in samples/maps, the columns `importer map` must suggest)
EXPORTS = [
    ("udemy_courses.csv", "udemy.map.toml", {"title": "course_title", "externalId": "course_id"}),
    ("edx_courses.csv", "edx.map.toml", {"title": "title", "description": "course_description"}),
    ("coursera_data.csv", "coursera.map.toml", {"title": "course_title"}),
    ("moodle_courses.csv", "moodle.map.toml", {"title": "fullname", "externalId": "idnumber",
                                               "description": "summary"}),
]


@pytest.mark.parametrize("name, map_name, suggested", EXPORTS, ids=[e[0] for e in EXPORTS])
def test_a_real_export_end_to_end(tmp_path, name, map_name, suggested):
    if not (REAL / name).is_file():
        pytest.skip(f"the real export {name} is not in {REAL} (public data, not committed)")
    export = tmp_path / name
    export.write_bytes((REAL / name).read_bytes())
    done = run_cli("map", export)
    assert done.returncode == 0, done.stderr
    spec = tomllib.loads((tmp_path / f"{name}.map.toml").read_text(encoding="utf-8"))["fields"]
    for field, column in suggested.items():
        assert spec[field] == column
    assert "courseType" in spec and "title" in spec  # every required field present or flagged

    expected = validate_file(export, mapping=MAPS / map_name)
    with Sandbox(rate_limit=100_000, rate_window=1, api_key=KEY) as sandbox:
        ran = run(sandbox, export, "--map", MAPS / map_name)
        assert ran.returncode in (0, 1) and "Traceback" not in ran.stderr, ran.stderr
        held = {c["title"]: c for c in sandbox.store.all()}
    assert len(held) == len(expected.valid_rows)
    for row in expected.valid_rows:
        course = held[row.payload["title"]]
        for key, value in row.payload.items():
            if key == "description":
                continue  # the server cleans HTML
            assert course[key] == value, (row.row, key)
