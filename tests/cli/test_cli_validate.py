"""`importer validate` run as a user runs it: a subprocess, its exit code, the files it writes."""

import csv
import json
import os

import openpyxl

from importer.core import issues

from ..conftest import ROOT

SAMPLES = ROOT / "samples"


def read_report(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_clean_sample_exits_0_and_writes_payloads(tmp_path, cli):
    payloads = tmp_path / "p.jsonl"
    done = cli("validate", SAMPLES / "courses.xlsx", "--payloads", payloads,
               "--custom-fields", "difficulty,estimatedHours,department")
    assert done.returncode == 0, done.stderr
    assert "valid:    28" in done.stdout and "invalid:  0" in done.stdout
    lines = [json.loads(line) for line in payloads.read_text().splitlines()]
    assert len(lines) == 28 and lines[0]["row"] == 2
    assert lines[0]["payload"]["title"] == "Introduction to Platform APIs"
    assert lines[26]["payload"]["externalId"] == "00027"
    assert lines[1]["payload"]["customFields"] == {"difficulty": "advanced", "estimatedHours": 4,
                                                   "department": "Engineering"}
    assert not (SAMPLES / "courses.errors.xlsx").exists()


def test_mistakes_sample_shows_every_code(tmp_path, cli):
    report = tmp_path / "r.csv"
    payloads = tmp_path / "p.jsonl"
    done = cli("validate", SAMPLES / "courses-with-mistakes.xlsx", "--report", report,
               "--payloads", payloads, "--custom-fields", "difficulty")
    assert done.returncode == 1
    assert f"Report: {report}" in done.stdout
    rows = read_report(report)
    assert list(rows[0]) == ["row", "column", "header", "value", "code", "severity", "message"]
    found = {r["code"] for r in rows}
    for code in (issues.MISSING_REQUIRED_FIELD, issues.INVALID_FIELD_VALUE, issues.DUPLICATE_TITLE,
                 issues.DUPLICATE_SLUG, issues.DUPLICATE_EXTERNAL_ID, issues.UNKNOWN_COLUMN,
                 issues.UNKNOWN_CUSTOM_FIELD, issues.HTML_STRIPPED, issues.ID_STORED_AS_NUMBER,
                 issues.ID_TOO_LONG_FOR_EXCEL):
        assert code in found, code
    assert {r["severity"] for r in rows} == {"error", "warning"}
    quiz = next(r for r in rows if r["value"] == "quiz")
    assert (quiz["row"], quiz["column"], quiz["code"]) == ("5", "courseType", "INVALID_FIELD_VALUE")
    assert quiz["header"] == "Course Type (B)"  # the user's own header, and its letter
    # The valid rows still get payloads: warnings do not block a row.
    assert {json.loads(line)["row"] for line in payloads.read_text().splitlines()} == {2, 16, 17, 18, 19}


def test_xlsx_report_marks_the_cells(tmp_path, cli):
    source = tmp_path / "courses.csv"
    source.write_text("Title,Course Type,Description\nGood,course,\nBad,quiz,<script>x</script>\n"
                      "=HYPERLINK(\"http://x\"),video,\n", encoding="utf-8")
    done = cli("validate", source)
    assert done.returncode == 1
    report = tmp_path / "courses.errors.xlsx"
    assert f"Report: {report}" in done.stdout
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask  # the mode any file the user makes gets
    workbook = openpyxl.load_workbook(report)
    courses = workbook["Courses"]
    bad = courses["B3"]
    assert bad.value == "quiz" and bad.fill.fgColor.rgb.endswith("FFC7CE")
    assert "Accepted values" in bad.comment.text
    assert courses["C3"].fill.fgColor.rgb.endswith("FFEB9C")  # a warning is yellow
    assert courses["A4"].value == '=HYPERLINK("http://x")' and courses["A4"].data_type == "s"
    errors = workbook["Errors"]
    assert [c.value for c in errors[1]] == ["row", "column", "header", "value", "code", "severity", "message"]
    assert (errors["C2"].value, errors["E2"].value) == ("Course Type (B)", "INVALID_FIELD_VALUE")


def test_unusable_files_exit_2_with_one_line(tmp_path, cli):
    missing_column = tmp_path / "x.csv"
    missing_column.write_text("Name,Kind\nA,course\n", encoding="utf-8")
    not_a_sheet = tmp_path / "y.xlsx"
    not_a_sheet.write_bytes(b"%PDF-1.4 this is not a workbook")
    for path, reason in ((tmp_path / "nope.csv", "file not found"),
                         (missing_column, "no Title or Course Type column"),
                         (not_a_sheet, "not a readable Excel workbook")):
        done = cli("validate", path)
        assert done.returncode == 2, done
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith(f"Error: {path}: ") and reason in done.stderr


def test_debug_shows_the_traceback(tmp_path, cli):
    done = cli("--debug", "validate", tmp_path / "nope.csv")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_every_command_has_help(cli):
    done = cli("--help")
    assert done.returncode == 0
    for command in ("validate", "template", "run", "sandbox"):
        assert command in done.stdout
        sub = cli(command, "--help")
        assert sub.returncode == 0 and len(sub.stdout) > 100
