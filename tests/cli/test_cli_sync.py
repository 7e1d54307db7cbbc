"""Sync end to end: the CLI as a subprocess against a sandbox that already holds courses.
What the server holds is read back from its store (no rate limit spent)."""

import shutil
from collections import Counter

import openpyxl

from importer.sandbox import Sandbox

from .test_cli_run import KEY, catalogue, importer_run, read_sheet_rows, write_xlsx


def snapshot(sandbox):
    """Every course, without its updatedAt: what must not move unless the sheet moved it."""
    return {c["id"]: {k: v for k, v in c.items() if k != "updatedAt"} for c in sandbox.store.all()}


def writes(sandbox):
    by_method = sandbox.stats()["byMethod"]
    return by_method.get("POST", 0) + by_method.get("PUT", 0)


def sandbox_with(**options):
    return Sandbox(rate_limit=20, rate_window=2, api_key=KEY, seed=5, **options)


def test_the_same_file_from_two_folders_creates_each_course_once(tmp_path):
    first, second = tmp_path / "alice", tmp_path / "bob"
    first.mkdir(), second.mkdir()
    source = write_xlsx(first / "courses.xlsx", catalogue(8))
    with sandbox_with() as sandbox:
        assert importer_run(sandbox, source).returncode == 0
        before, sent = snapshot(sandbox), writes(sandbox)
        copy = shutil.copy(source, second / "courses.xlsx")  # another folder: another journal
        done = importer_run(sandbox, copy)
        assert done.returncode == 0, done.stdout + done.stderr
        assert writes(sandbox) == sent and snapshot(sandbox) == before
        assert Counter(r["status"] for r in read_sheet_rows(second / "courses.results.xlsx")) == {"exists": 8}
        synced = importer_run(sandbox, copy, "--mode", "sync")
        assert synced.returncode == 0 and "Plan: 0 to create, 0 to update, 8 unchanged" in synced.stdout
        assert writes(sandbox) == sent
        assert Counter(r["status"] for r in read_sheet_rows(second / "courses.results-2.xlsx")) == {"unchanged": 8}


def test_a_sync_applies_exactly_the_edited_cells(tmp_path):
    rows = catalogue(6)
    source = write_xlsx(tmp_path / "courses.xlsx", rows)
    with sandbox_with() as sandbox:
        assert importer_run(sandbox, source).returncode == 0
        before = snapshot(sandbox)
        rows[1][2] = "tag1, Shared, featured"  # row 3: tags
        rows[4][1] = "webinar"  # row 6: course type
        rows[0][6] = ""  # row 2: an emptied custom field leaves the platform's value
        edited = write_xlsx(tmp_path / "edited.xlsx", rows + [["Brand new", "article", "", "", "EXT-NEW", "", ""]])

        plan = importer_run(sandbox, edited, "--mode", "sync", "--dry-run")
        assert plan.returncode == 0 and "Plan: 1 to create, 2 to update, 4 unchanged" in plan.stdout
        changes = openpyxl.load_workbook(tmp_path / "edited.plan.xlsx")["Changes"]
        assert [[c.value for c in r] for r in changes.iter_rows(min_row=2)] == [
            [3, before_id(before, "EXT-00001"), "tags", "tag1\nShared", "tag1\nShared\nfeatured"],
            [6, before_id(before, "EXT-00004"), "courseType", "video", "webinar"]]
        assert writes(sandbox) == 6  # the plan wrote nothing

        done = importer_run(sandbox, edited, "--mode", "sync")
        assert done.returncode == 0, done.stdout + done.stderr
        after = snapshot(sandbox)
        tags_id, type_id = before_id(before, "EXT-00001"), before_id(before, "EXT-00004")
        assert after[tags_id]["tags"] == ["tag1", "Shared", "featured"]
        assert after[type_id]["courseType"] == "webinar"
        for course_id, course in before.items():  # every other field of every course as it was
            moved = {"tags"} if course_id == tags_id else {"courseType"} if course_id == type_id else set()
            assert {k: v for k, v in after[course_id].items() if k not in moved} == \
                   {k: v for k, v in course.items() if k not in moved}
        assert [c["title"] for c in after.values() if c["id"] not in before] == ["Brand new"]
        results = read_sheet_rows(tmp_path / "edited.results.xlsx")
        assert [r["status"] for r in results] == ["unchanged", "updated", "unchanged", "unchanged", "updated",
                                                  "unchanged", "created"]
        recorded = openpyxl.load_workbook(tmp_path / "edited.results.xlsx")["Changes"]
        assert [(r[2].value, r[3].value, r[5].value) for r in recorded.iter_rows(min_row=2)] == [
            ("tags", "tag1\nShared", "yes"), ("courseType", "video", "yes")]

        sent = writes(sandbox)
        again = importer_run(sandbox, edited, "--mode", "sync")  # a sync right after a sync
        assert again.returncode == 0 and writes(sandbox) == sent


def before_id(courses, external_id):
    return next(i for i, c in courses.items() if c["externalId"] == external_id)


def test_conflicts_not_found_and_the_change_guard(tmp_path):
    source = write_xlsx(tmp_path / "courses.xlsx", catalogue(3))
    with sandbox_with() as sandbox:
        assert importer_run(sandbox, source).returncode == 0
        sent = writes(sandbox)
        # An External ID that belongs to another course: a conflict, never "exists" with its id.
        clash = write_xlsx(tmp_path / "clash.xlsx", [["Another title", "course", "", "", "EXT-00001", "", ""],
                                                     ["Course 002", "course", "", "", "EXT-NEW", "", ""]])
        done = importer_run(sandbox, clash, "--mode", "sync")
        assert done.returncode == 1 and writes(sandbox) == sent + 1  # row 2 is a rename of EXT-00001
        statuses = [r["status"] for r in read_sheet_rows(tmp_path / "clash.results.xlsx")]
        assert statuses == ["updated", "conflict"]
        failures = read_sheet_rows(tmp_path / "clash.failures.xlsx")
        assert [f["error_code"] for f in failures] == ["DUPLICATE_TITLE"]
        assert "already used by another course" in failures[0]["error_message"]

        unknown = write_xlsx(tmp_path / "unknown.xlsx", [["Nobody", "course", "", "", "EXT-NOPE", "", ""]])
        done = importer_run(sandbox, unknown, "--mode", "update")
        assert done.returncode == 1 and writes(sandbox) == sent + 1
        assert read_sheet_rows(tmp_path / "unknown.results.xlsx")[0]["status"] == "not_found"

        many = write_xlsx(tmp_path / "many.xlsx", catalogue(5, prefix="More", start=50))
        done = importer_run(sandbox, many, "--max-changes", "4")
        assert done.returncode == 2 and "--max-changes" in done.stderr and "Traceback" not in done.stderr
        assert writes(sandbox) == sent + 1 and not (tmp_path / "many.results.xlsx").exists()


def test_faults_during_a_sync_apply_every_change_once(tmp_path):
    rows = catalogue(30)
    source = write_xlsx(tmp_path / "courses.xlsx", rows)
    with sandbox_with() as clean:
        assert importer_run(clean, source).returncode == 0
        existing = clean.store.all()
    for row in rows[::3]:
        row[1] = "article"
    edited = write_xlsx(tmp_path / "edited.xlsx", rows + catalogue(10, prefix="Late", start=100))
    with sandbox_with(drop_rate=0.3, fail_rate=0.15) as sandbox:
        for course in existing:  # an instance that already holds the 30 courses
            sandbox.store.courses[course["id"]] = course
        done = importer_run(sandbox, edited, "--mode", "sync", "--max-retries", "8")
        assert done.returncode == 0, done.stdout + done.stderr
        stats = sandbox.stats()
        assert stats["dropped"] >= 1 and stats["failed"] >= 2, stats
        courses = sandbox.store.all()
    assert Counter(c["externalId"] for c in courses) == {f"EXT-{i:05}": 1 for i in [*range(30), *range(100, 110)]}
    types = {c["externalId"]: c["courseType"] for c in courses}
    assert all(types[f"EXT-{i:05}"] == "article" for i in range(0, 30, 3))
