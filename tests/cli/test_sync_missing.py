"""A sync that also sees what left the source (`--missing report|archive`, scoped by Source or tag,
with its guards), and the clearing marker: the CLI as a subprocess against a sandbox over HTTP."""

import json
from collections import Counter

import openpyxl

from importer.sandbox import Sandbox

from ..conftest import run_cli
from .test_cli_run import KEY, write_xlsx

HEADERS = ["Title", "Course Type", "External ID", "Source", "Published Status", "Tags", "Description",
           "customFields.hours"]


def cms_rows(numbers, source="cms"):
    return [[f"{source} course {i}", "course", f"{source.upper()}-{i}", source, "published", f"t{i}, shared",
             f"<p>About {i}</p>", str(i)] for i in numbers]


def run(sandbox, path, *args, input=None):
    extra = () if input is not None else ("--yes",)
    return run_cli("run", path, "--base-url", sandbox.base_url, "--rate-limit", "600", *extra, *args,
                   env={"TI_API_KEY": KEY}, input=input)


def undo(sandbox, results):
    return run_cli("undo", results, "--base-url", sandbox.base_url, "--rate-limit", "600", "--yes",
                   env={"TI_API_KEY": KEY})


def by_external_id(sandbox):
    return {c["externalId"]: c for c in sandbox.store.all()}


def writes(sandbox):
    by_method = sandbox.stats()["byMethod"]
    return by_method.get("POST", 0) + by_method.get("PUT", 0)


def missing_sheet(path):
    sheet = openpyxl.load_workbook(path)["Missing"]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_missing_courses_are_reported_then_archived_within_the_scope_only_and_undone(tmp_path):
    sync = ("--mode", "sync", "--scope-source", "cms")
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY, seed=8) as sandbox:
        assert run(sandbox, write_xlsx(tmp_path / "all.xlsx", cms_rows(range(10)), HEADERS)).returncode == 0
        other = run(sandbox, write_xlsx(tmp_path / "other.xlsx", cms_rows(range(3), "other"), HEADERS))
        assert other.returncode == 0, other.stderr

        # Rows 0-8 of the CMS, and CMS-7's row now invalid (a bad type): it still names its course.
        rows = cms_rows(range(9))
        rows[7][1] = "quizz"
        less = write_xlsx(tmp_path / "less.xlsx", rows, HEADERS)
        sent = writes(sandbox)
        report = run(sandbox, less, *sync, "--missing", "report")
        assert report.returncode == 1, report.stdout + report.stderr  # the invalid row
        assert "1 of the 10 courses with Source 'cms' missing from the file (reported, not changed)" in report.stdout
        assert writes(sandbox) == sent  # reported: nothing sent
        [listed] = missing_sheet(tmp_path / "less.results.xlsx")
        assert (listed["external_id"], listed["status"]) == ("CMS-9", "missing")

        archive = run(sandbox, less, *sync, "--missing", "archive", "--summary-json", tmp_path / "summary.json")
        assert archive.returncode == 1, archive.stdout + archive.stderr
        summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
        assert summary["missing"] == {"archived": 1} and summary["exit_status"] == 1
        assert "Missing from the file: archived 1" in archive.stdout
        courses = by_external_id(sandbox)
        assert courses["CMS-9"]["publishedStatus"] == "archived"
        assert Counter(c["publishedStatus"] for c in courses.values()) == {"published": 12, "archived": 1}
        assert [r["status"] for r in missing_sheet(tmp_path / "less.results-2.xlsx")] == ["archived"]

        # The same run again: CMS-9 is archived already, out of the scope's live courses: nothing to do.
        again = run(sandbox, less, *sync, "--missing", "archive", "--dry-run")
        assert "0 missing from the file" in again.stdout, again.stdout

        undone = undo(sandbox, tmp_path / "less.results-2.xlsx")
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert by_external_id(sandbox)["CMS-9"]["publishedStatus"] == "published"


def test_an_empty_file_never_archives_and_a_big_cut_needs_its_number(tmp_path):
    sync = ("--mode", "sync", "--scope-source", "cms", "--missing", "archive")
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY, seed=9) as sandbox:
        assert run(sandbox, write_xlsx(tmp_path / "all.xlsx", cms_rows(range(10)), HEADERS)).returncode == 0
        sent = writes(sandbox)

        empty = run(sandbox, write_xlsx(tmp_path / "empty.xlsx", [], HEADERS), *sync, "--confirm-missing", "10")
        assert empty.returncode == 2, empty.stdout + empty.stderr
        assert "has no rows" in empty.stderr and "never archives" in empty.stderr

        half = write_xlsx(tmp_path / "half.xlsx", cms_rows(range(5)), HEADERS)
        refused = run(sandbox, half, *sync)
        assert refused.returncode == 2 and "5 of the 10 courses" in refused.stderr
        assert "--confirm-missing 5" in refused.stderr
        wrong = run(sandbox, half, *sync, "--confirm-missing", "4")
        assert wrong.returncode == 2 and "not 5" in wrong.stderr
        capped = run(sandbox, half, *sync, "--confirm-missing", "5", "--max-changes", "4")
        assert capped.returncode == 2 and "archive 5 courses, more than --max-changes 4" in capped.stderr
        no_scope = run(sandbox, half, "--mode", "sync", "--missing", "report")
        assert no_scope.returncode == 2 and "--scope-source" in no_scope.stderr
        assert writes(sandbox) == sent  # every refusal before anything was sent

        typed_wrong = run(sandbox, half, *sync, input="4\n")  # no terminal: the number must be given
        assert typed_wrong.returncode == 2 and writes(sandbox) == sent

        done = run(sandbox, half, *sync, "--confirm-missing", "5")
        assert done.returncode == 0, done.stdout + done.stderr
        statuses = Counter(c["publishedStatus"] for c in sandbox.store.all())
        assert statuses == {"published": 5, "archived": 5}


def test_the_clearing_marker_empties_fields_and_undo_puts_them_back(tmp_path):
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY, seed=10, custom_fields=["hours"]) as sandbox:
        assert run(sandbox, write_xlsx(tmp_path / "all.xlsx", cms_rows(range(3)), HEADERS)).returncode == 0
        rows = cms_rows(range(3))
        rows[0][5], rows[0][6], rows[0][7] = "(clear)", "(Clear)", " (CLEAR) "  # tags, description, hours
        rows[1][5], rows[1][6] = "", ""  # empty cells: the platform's values stay
        rows[2][2] = "(clear)"  # an External ID cannot be emptied: the row is refused
        edited = write_xlsx(tmp_path / "edited.xlsx", rows, HEADERS)

        checked = run_cli("validate", edited)
        assert checked.returncode == 1
        errors = list(openpyxl.load_workbook(tmp_path / "edited.errors.xlsx")["Errors"].iter_rows(values_only=True))
        report = {(r[0], r[1]): dict(zip(errors[0], r, strict=True)) for r in errors[1:]}
        assert report[(2, "tags")]["code"] == "CLEARED" and report[(2, "tags")]["severity"] == "warning"
        assert report[(4, "externalId")]["code"] == "CANNOT_CLEAR"

        done = run(sandbox, edited, "--mode", "sync")
        assert done.returncode == 1, done.stdout + done.stderr  # row 4
        courses = by_external_id(sandbox)
        assert courses["CMS-0"]["tags"] == [] and courses["CMS-0"]["description"] == ""
        assert courses["CMS-0"]["customFields"].get("hours") is None
        assert courses["CMS-1"]["tags"] == ["t1", "shared"] and courses["CMS-1"]["description"] == "<p>About 1</p>"

        assert undo(sandbox, tmp_path / "edited.results.xlsx").returncode == 0
        restored = by_external_id(sandbox)["CMS-0"]
        assert restored["tags"] == ["t0", "shared"] and restored["description"] == "<p>About 0</p>"
        assert restored["customFields"]["hours"] == "0"


def test_on_the_content_api_missing_courses_are_reported_and_archiving_is_refused(tmp_path):
    sync = ("--mode", "sync", "--scope-source", "cms")
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY, seed=12, api="content") as sandbox:
        made = run(sandbox, write_xlsx(tmp_path / "all.xlsx", cms_rows(range(4)), HEADERS))
        assert made.returncode == 0, made.stdout + made.stderr
        less = write_xlsx(tmp_path / "less.xlsx", cms_rows(range(3)), HEADERS)
        report = run(sandbox, less, *sync, "--missing", "report")
        assert report.returncode == 0, report.stdout + report.stderr
        assert "1 of the 4 courses with Source 'cms' missing from the file" in report.stdout
        [listed] = missing_sheet(tmp_path / "less.results.xlsx")
        assert listed["status"] == "missing" and listed["title"] == "cms course 3"
        sent = writes(sandbox)
        archive = run(sandbox, less, *sync, "--missing", "archive")
        assert archive.returncode == 2 and "no documented way to archive" in archive.stderr
        assert writes(sandbox) == sent
