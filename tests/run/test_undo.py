"""`importer undo` end to end (issue 9): the CLI as a subprocess against the sandbox.

A create run, then a sync run that updates some courses and creates others; the sync run is
undone from a copy of its results file in another folder (no journal there), and the whole
server state is compared with what it was before the sync.
"""

import copy
import os
import shutil
import signal
import subprocess
import sys

import pytest

from importer.sandbox import Sandbox

from ..conftest import run_cli, wait_until

KEY = "undo-test-key"
HEADERS = "Title,Course Type,External ID,Description,Tags,customFields.level"


def write(path, rows):
    path.write_text(HEADERS + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def cli(*args, timeout=120):
    return run_cli(*args, env={"TI_API_KEY": KEY}, timeout=timeout)


def state(sandbox) -> dict:
    return {c["id"]: copy.deepcopy(c) for c in sandbox.store.all()}


def puts(sandbox) -> int:
    return sandbox.stats()["byMethod"].get("PUT", 0)


@pytest.fixture
def sandbox():
    with Sandbox(rate_limit=20, rate_window=2, api_key=KEY, custom_fields=["level"]) as running:
        yield running


V1 = [f"Course {i},course,E{i},About {i},\"a, b\",{i}" for i in range(1, 6)]
V2 = ["Course 1,course,E1,About one (new),\"a, b, c\",10",   # updated: description, tags, level
      "Course 2,course,E2,About two (new),\"a, b\",2",       # updated: description
      *V1[2:],                                              # unchanged
      "Course 6,course,E6,New six,x,6", "Course 7,course,E7,New seven,y,7"]  # created


def test_undo_of_a_sync_run_puts_everything_back(sandbox, tmp_path):
    base = ["--base-url", sandbox.base_url, "--rate-limit", "600", "--yes"]
    first = cli("run", write(tmp_path / "v1.csv", V1), *base)
    assert first.returncode == 0, first.stdout + first.stderr
    before = state(sandbox)

    results = tmp_path / "v2.results.xlsx"
    sync = cli("run", write(tmp_path / "v2.csv", V2), "--mode", "sync", "--results", results, *base)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    after_sync = state(sandbox)
    ids = {c["externalId"]: c["id"] for c in after_sync.values()}
    # Somebody edits course 2 after the run.
    sandbox.store.update(ids["E2"], {"description": "edited by hand"})
    edited = copy.deepcopy(sandbox.store.get(ids["E2"]))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(results, elsewhere / "r.xlsx")  # no journal, no input file there

    wrong = cli("undo", elsewhere / "r.xlsx", "--base-url", "http://127.0.0.1:9", "--yes")
    assert wrong.returncode == 2 and "records a run on" in wrong.stderr and "Traceback" not in wrong.stderr

    undo = cli("undo", elsewhere / "r.xlsx", *base)
    assert undo.returncode == 1, undo.stdout + undo.stderr  # one course was skipped
    assert "Undo: restore 1 updated courses, archive 2 created courses; 1 changed since the run (skipped)" \
        in undo.stdout
    now = state(sandbox)
    def without_stamp(course):
        return {k: v for k, v in course.items() if k != "updatedAt"}

    assert without_stamp(now[ids["E1"]]) == without_stamp(before[ids["E1"]])  # every field back
    for key in ("E3", "E4", "E5"):  # untouched courses untouched
        assert now[ids[key]] == before[ids[key]]
    for key in ("E6", "E7"):
        assert now[ids[key]]["publishedStatus"] == "archived"
    assert now[ids["E2"]] == edited  # changed since the run: kept as edited
    from importer.read.reading import read_sheet
    undone = {cells[1]: cells[3] for _, cells in read_sheet(elsewhere / "r.undo.xlsx").rows}
    assert undone == {ids["E1"]: "restored", ids["E2"]: "changed_since", ids["E6"]: "archived",
                      ids["E7"]: "archived"}
    assert [cells[1] for _, cells in read_sheet(elsewhere / "r.undo-failures.xlsx").rows] == [ids["E2"]]

    writes = puts(sandbox)
    again = cli("undo", elsewhere / "r.xlsx", *base)
    assert again.returncode == 1 and puts(sandbox) == writes, again.stdout  # a second undo sends no write
    assert "restore 0 updated courses, archive 0 created courses" in again.stdout

    forced = cli("undo", elsewhere / "r.xlsx", *base, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert state(sandbox)[ids["E2"]]["description"] == before[ids["E2"]]["description"]


def test_an_interrupted_undo_is_finished_by_running_it_again(sandbox, tmp_path):
    rows = [f"Course {i},course,E{i},,," for i in range(40)]
    results = tmp_path / "r.csv"  # a CSV results file: its Run facts are in r.run.csv beside it
    run = cli("run", write(tmp_path / "c.csv", rows), "--base-url", sandbox.base_url, "--rate-limit", "600",
              "--yes", "--results", results)
    assert run.returncode == 0, run.stdout + run.stderr
    command = [sys.executable, "-m", "importer", "undo", str(results), "--base-url", sandbox.base_url,
               "--yes", "--rate-limit", "300"]
    process = subprocess.Popen(command, env={**os.environ, "TI_API_KEY": KEY}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    archived = lambda: sum(c["publishedStatus"] == "archived" for c in sandbox.store.all())  # noqa: E731
    wait_until(lambda: archived() >= 3, timeout=60, what="three courses archived")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert 3 <= archived() < 40
    finish = cli("undo", results, "--base-url", sandbox.base_url, "--rate-limit", "600", "--yes")
    assert finish.returncode == 0, finish.stdout + finish.stderr
    assert archived() == 40


def test_a_file_that_is_not_a_runs_results_is_refused(tmp_path):
    source = write(tmp_path / "c.csv", V1)
    done = cli("undo", source, "--base-url", "http://127.0.0.1:9", "--yes")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not the results file of an `importer run`" in done.stderr
