"""`importer run` end to end: the CLI as a subprocess, the sandbox over real HTTP on 127.0.0.1.

The sandbox allows 20 requests per 2 s (the documented 100/min, scaled down so the suite
is quick) and the importer is told 600/min, the same rate. What the server holds is read
back from its store directly, which spends none of the rate limit the run has just used up.
"""

import csv
import os
import re
import signal
import subprocess
import sys
from collections import Counter

import openpyxl
import pytest

from importer.sandbox import Sandbox

from ..conftest import run_cli, wait_until

KEY = "sandbox-test-key-6f1c2b"
HEADERS = ["Title *", "Course Type *", "Tags", "Authors", "External ID", "Is Free", "customFields.hours"]


def catalogue(n, *, prefix="Course", start=0):
    return [[f"{prefix} {i:03}", ["course", "Video", "Learning Path"][i % 3], f"tag{i % 4}, Shared",
             f"Author {i}; Smith, Jane", f"EXT-{i:05}", ["yes", "no"][i % 2], str(i % 7)]
            for i in range(start, start + n)]


def write_xlsx(path, rows, headers=HEADERS):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Courses"
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path, rows, headers=HEADERS):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([headers, *rows])
    return path


def read_sheet_rows(path):
    if str(path).endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = openpyxl.load_workbook(path).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def server_courses(sandbox) -> list[dict]:
    """Every course on the server, read from its store: not through the rate-limited list
    endpoint, which a run that just filled the window would answer with a 429."""
    return sandbox.store.all()


@pytest.fixture
def sandbox():
    with Sandbox(rate_limit=20, rate_window=2, api_key=KEY, seed=3) as running:
        yield running


def importer_run(sandbox, *args, key=KEY, timeout=180):
    return run_cli("run", *args, "--base-url", sandbox.base_url, "--rate-limit", "600", "--yes",
                   env={"TI_API_KEY": key}, timeout=timeout)


def assert_each_once(courses, expected_external_ids):
    counts = Counter(c["externalId"] for c in courses)
    assert sorted(counts) == sorted(expected_external_ids)
    assert set(counts.values()) == {1}


def test_every_valid_row_created_once_with_the_sheet_values(tmp_path, sandbox):
    rows = catalogue(24) + [["Broken type", "quiz", "", "", "EXT-B1", "", ""],
                            ["", "course", "", "", "EXT-B2", "", ""]]
    source = write_xlsx(tmp_path / "courses.xlsx", rows)
    done = importer_run(sandbox, source)
    assert done.returncode == 1, done.stderr  # two rows are invalid
    courses = server_courses(sandbox)
    assert_each_once(courses, [f"EXT-{i:05}" for i in range(24)])
    by_ext = {c["externalId"]: c for c in courses}
    first = by_ext["EXT-00002"]
    assert (first["title"], first["courseType"], first["isFree"]) == ("Course 002", "learning_path", True)
    assert first["tags"] == ["tag2", "Shared"] and first["authors"] == ["Author 2", "Smith, Jane"]
    # The sheet holds "2" as a text cell (openpyxl writes a str so): a workbook's text cell stays
    # text; only a cell typed as a number is sent as one.
    assert first["customFields"] == {"hours": "2"}

    results = read_sheet_rows(tmp_path / "courses.results.xlsx")
    assert [r["source_row"] for r in results] == list(range(2, 28))
    assert list(results[0])[:len(HEADERS)] == HEADERS  # the input's own columns and labels
    for row in results[:24]:
        assert row["status"] == "created"
        assert row["course_id"] == by_ext[row["External ID"]]["id"]
        assert row["course_slug"] == by_ext[row["External ID"]]["slug"]
    assert [r["status"] for r in results[24:]] == ["invalid", "invalid"]

    failures = read_sheet_rows(tmp_path / "courses.failures.xlsx")
    assert [f["External ID"] for f in failures] == ["EXT-B1", "EXT-B2"]
    assert [f["error_code"] for f in failures] == ["INVALID_FIELD_VALUE", "MISSING_REQUIRED_FIELD"]
    assert list(failures[0]) == HEADERS + ["source_row", "error_code", "error_message"]
    assert "created" in done.stdout and "courses.failures.xlsx" in done.stdout

    # The same file again sends nothing: every row is already there.
    posts_before = sandbox.stats()["byMethod"].get("POST", 0)
    again = importer_run(sandbox, source)
    assert again.returncode == 1
    assert sandbox.stats()["byMethod"].get("POST", 0) == posts_before
    rerun = read_sheet_rows(tmp_path / "courses.results-2.xlsx")
    assert Counter(r["status"] for r in rerun) == {"exists": 24, "invalid": 2}
    assert [r["course_id"] for r in rerun[:24]] == [r["course_id"] for r in results[:24]]


def test_faults_lose_nothing_and_duplicate_nothing(tmp_path):
    """Lost replies after the course was stored, 503s, and a server limit lower than told."""
    rows = catalogue(40)
    for row in rows[::2]:
        row[4] = ""  # half the rows have no externalId: looked up by title instead
    source = write_csv(tmp_path / "courses.csv", rows)
    with Sandbox(rate_limit=14, rate_window=2, api_key=KEY, seed=11, drop_rate=0.15, fail_rate=0.15) as sandbox:
        done = importer_run(sandbox, source, "--max-retries", "8")
        assert done.returncode == 0, done.stdout + done.stderr
        stats = sandbox.stats()
        assert stats["dropped"] >= 3 and stats["failed"] >= 3, stats
        courses = server_courses(sandbox)
    assert sorted(Counter(c["title"] for c in courses).items()) == [(f"Course {i:03}", 1) for i in range(40)]
    results = read_sheet_rows(tmp_path / "courses.results.xlsx")
    by_title = {c["title"]: c["id"] for c in courses}
    assert {r["status"] for r in results} == {"created"}
    assert all(r["course_id"] == by_title[r["Title *"]] for r in results)


def test_429_in_the_body_shape(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(25))
    with Sandbox(rate_limit=8, rate_window=2, api_key=KEY, rate_limit_style="body") as sandbox:
        done = importer_run(sandbox, source)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sandbox.stats()["throttled"] >= 1
        assert_each_once(server_courses(sandbox), [f"EXT-{i:05}" for i in range(25)])


def test_kill_9_then_the_same_command_again(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(50))
    with Sandbox(rate_limit=20, rate_window=2, api_key=KEY, latency_ms=40) as sandbox:
        command = [sys.executable, "-m", "importer", "run", str(source), "--base-url", sandbox.base_url,
                   "--rate-limit", "600", "--yes"]
        env = {**os.environ, "TI_API_KEY": KEY}
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: sandbox.stats()["courses"] >= 15, what="15 courses")
        process.kill()  # SIGKILL: no chance to tidy up
        process.wait(timeout=10)
        created_before = sandbox.stats()["courses"]
        assert 15 <= created_before < 50

        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert_each_once(server_courses(sandbox), [f"EXT-{i:05}" for i in range(50)])
    # The killed run's claimed results file stays empty; the second run's is the newest written.
    written = [p for p in tmp_path.glob("courses.results*.xlsx") if p.stat().st_size]
    results = read_sheet_rows(max(written, key=lambda p: p.stat().st_mtime))
    statuses = Counter(r["status"] for r in results)
    assert statuses["exists"] + statuses["created"] == 50
    assert statuses["exists"] >= created_before - 1  # the one in flight may be found, not remembered
    assert all(r["course_id"] for r in results)


def test_the_corrected_failures_file_completes_the_import(tmp_path, sandbox):
    rows = catalogue(6) + [["Needs fixing", "quiz", "", "", "EXT-F1", "", ""],
                           ["Also broken", "course", "", "", "EXT-F2", "perhaps", ""]]
    source = write_xlsx(tmp_path / "courses.xlsx", rows)
    assert importer_run(sandbox, source).returncode == 1
    failures_path = tmp_path / "courses.failures.xlsx"
    workbook = openpyxl.load_workbook(failures_path)
    sheet = workbook["Courses"]
    assert sheet["B2"].value == "quiz" and sheet["F3"].value == "perhaps"
    sheet["B2"] = "webinar"
    sheet["F3"] = "no"
    workbook.save(failures_path)

    done = importer_run(sandbox, failures_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_each_once(server_courses(sandbox), [f"EXT-{i:05}" for i in range(6)] + ["EXT-F1", "EXT-F2"])
    fixed = read_sheet_rows(tmp_path / "courses.failures.results.xlsx")
    assert [r["status"] for r in fixed] == ["created", "created"]
    assert list(fixed[0])[:len(HEADERS)] == HEADERS
    assert not (tmp_path / "courses.failures.failures.xlsx").exists()


def test_a_wrong_key_stops_before_any_row_and_is_never_written(tmp_path, sandbox):
    wrong = "wrong-key-5ecr3t-do-not-print"
    source = write_xlsx(tmp_path / "courses.xlsx", catalogue(3))
    done = importer_run(sandbox, source, key=wrong)
    assert done.returncode == 2
    assert "refused" in done.stderr and "Traceback" not in done.stderr
    assert "check the TI_API_KEY environment variable" in done.stderr
    assert sandbox.stats()["byMethod"].get("POST", 0) == 0
    assert not (tmp_path / "courses.results.xlsx").exists()
    assert not (tmp_path / "courses.results.log.jsonl").exists()  # refused before a write: nothing left
    ok = importer_run(sandbox, source)
    assert ok.returncode == 0
    # What the refused run left (its log) does not push the real results to -2.
    assert (tmp_path / "courses.results.xlsx").exists() and not (tmp_path / "courses.results-2.xlsx").exists()
    for text in (done.stdout, done.stderr, ok.stdout, ok.stderr):
        assert wrong not in text and KEY not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert wrong.encode() not in data and KEY.encode() not in data, path


def test_formula_like_titles_stay_text(tmp_path, sandbox):
    rows = [['=HYPERLINK("http://evil.example","click")', "course", "", "", "EXT-X1", "", ""],
            ["+1 Tips for managers", "course", "", "", "EXT-X2", "", ""],
            ["@mention etiquette", "quiz", "", "", "EXT-X3", "", ""]]
    source = write_csv(tmp_path / "courses.csv", rows)
    done = importer_run(sandbox, source)
    assert done.returncode == 1
    sheet = openpyxl.load_workbook(tmp_path / "courses.results.xlsx").worksheets[0]
    title = sheet["A2"]
    assert title.value == '=HYPERLINK("http://evil.example","click")' and title.data_type == "s"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert sheet["J2"].data_type == "s" and sheet["J2"].value.startswith("crs_")  # ids are text
    # The failures CSV escapes for Excel, and reads back exactly.
    raw = (tmp_path / "courses.failures.csv").read_text(encoding="utf-8-sig")
    assert "'@mention etiquette" in raw
    from importer.read.reading import read_sheet
    assert read_sheet(tmp_path / "courses.failures.csv").rows[0][1][0] == "@mention etiquette"


def test_no_terminal_and_no_yes_refuses(tmp_path, sandbox):
    source = write_csv(tmp_path / "courses.csv", catalogue(2))
    done = run_cli("run", source, "--base-url", sandbox.base_url, env={"TI_API_KEY": KEY})
    assert done.returncode == 2 and "--yes" in done.stderr
    assert sandbox.stats()["requests"] == 0


def test_an_existing_results_file_is_not_overwritten(tmp_path, sandbox):
    source = write_csv(tmp_path / "courses.csv", catalogue(2))
    mine = tmp_path / "mine.xlsx"
    mine.write_text("precious")
    done = importer_run(sandbox, source, "--results", mine)
    assert done.returncode == 2 and "already exists" in done.stderr
    assert mine.read_text() == "precious" and sandbox.stats()["requests"] == 0


def test_plain_http_to_another_host_is_refused(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(1))
    done = run_cli("run", source, "--base-url", "http://learn.example.com", "--yes", env={"TI_API_KEY": KEY})
    assert done.returncode == 2 and "unencrypted" in done.stderr


def test_unreachable_host_exits_2(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(1))
    done = run_cli("run", source, "--base-url", "http://127.0.0.1:9", "--yes", "--max-retries", "1",
                   env={"TI_API_KEY": KEY})
    assert done.returncode == 2 and "cannot reach" in done.stderr


def test_dry_run_sends_no_course(tmp_path, sandbox):
    source = write_csv(tmp_path / "courses.csv", catalogue(3))
    done = importer_run(sandbox, source, "--dry-run", "--payloads", tmp_path / "p.jsonl")
    assert done.returncode == 0 and "key was accepted" in done.stdout
    # A dry run is a plan (the sync issue): the key check and the reads, never a write.
    assert set(sandbox.stats()["byMethod"]) == {"GET"}
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == 3
    assert not (tmp_path / "courses.results.xlsx").exists()
    assert (tmp_path / "courses.plan.xlsx").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_ends_cleanly_and_writes_both_files(tmp_path, stop_signal):
    source = write_csv(tmp_path / "courses.csv", catalogue(40))
    with Sandbox(rate_limit=20, rate_window=2, api_key=KEY) as sandbox:
        command = [sys.executable, "-m", "importer", "run", str(source), "--base-url", sandbox.base_url,
                   "--rate-limit", "600", "--yes"]
        env = {**os.environ, "TI_API_KEY": KEY}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: sandbox.stats()["courses"] >= 5, what="5 courses")
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 130, out + err
        stored = sandbox.stats()["courses"]
        results = read_sheet_rows(tmp_path / "courses.results.xlsx")
        statuses = Counter(r["status"] for r in results)
        assert statuses["created"] == stored and statuses["not_attempted"] == 40 - stored
        failures = read_sheet_rows(tmp_path / "courses.failures.csv")
        assert len(failures) == 40 - stored
        assert "Interrupted" in out
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0
        assert_each_once(server_courses(sandbox), [f"EXT-{i:05}" for i in range(40)])


def test_the_readme_main_command(tmp_path):
    """`importer run samples/courses.xlsx --sandbox --yes`, on a copy of the sample."""
    import shutil

    from ..conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "importer run samples/courses.xlsx --sandbox --yes" in readme
    sample = shutil.copy(ROOT / "samples" / "courses.xlsx", tmp_path / "courses.xlsx")
    done = run_cli("run", sample, "--sandbox", "--yes", env={}, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^created\s+28$", done.stdout, re.M) and "crs_" in done.stdout
    results = read_sheet_rows(tmp_path / "courses.results.xlsx")
    assert len(results) == 28 and all(r["status"] == "created" and r["course_id"].startswith("crs_")
                                       for r in results)


def test_output_paths_number_past_earlier_runs_and_never_loop(tmp_path):
    from importer.files.results import choose_output_paths

    source = tmp_path / "c.xlsx"
    # A log left without its results sheet (a run refused at the key check) is appended to:
    # it does not push the next run's files to -2.
    (tmp_path / "c.results.log.jsonl").write_text("")
    paths = choose_output_paths(source, None, None)
    assert (paths.results.name, paths.failures.name, paths.log.name) == (
        "c.results.xlsx", "c.failures.xlsx", "c.results.log.jsonl")
    (tmp_path / "c.results.xlsx").write_text("")  # an earlier run's results: the next run numbers past them
    paths = choose_output_paths(source, None, None)
    assert (paths.results.name, paths.failures.name, paths.log.name) == (
        "c.results-2.xlsx", "c.failures-2.xlsx", "c.results-2.log.jsonl")
    named = tmp_path / "mine.xlsx"
    (tmp_path / "mine.log.jsonl").write_text("")  # appended to, not a reason to renumber forever
    assert choose_output_paths(source, str(named), None).results == named


def test_the_summary_json_says_what_a_scheduler_needs_whatever_the_outcome(tmp_path, sandbox):
    import json

    source = write_csv(tmp_path / "courses.csv", catalogue(3) + [["Broken", "quiz", "", "", "EXT-B", "", ""]])
    done = importer_run(sandbox, source, "--summary-json", tmp_path / "summary.json")
    assert done.returncode == 1
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_status"] == 1 and summary["error"] is None and summary["run_id"]
    assert summary["counts"] == {"created": 3, "invalid": 1} and summary["api"] == "guide"
    assert summary["files"]["results"].endswith("courses.results.xlsx") and summary["files"]["failures"]
    refused = importer_run(sandbox, source, "--summary-json", tmp_path / "refused.json", key="wrong-key")
    assert refused.returncode == 2
    said = json.loads((tmp_path / "refused.json").read_text(encoding="utf-8"))
    assert said["exit_status"] == 2 and "refused" in said["error"] and "wrong-key" not in json.dumps(said)
