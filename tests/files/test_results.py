"""Where a run's files go, and what happens when they cannot go there."""

import csv

from importer.check.validating import validate_file
from importer.core.outcomes import RowOutcome, RunReport
from importer.files.results import OutputPaths, write_run_files

from ..cli.test_cli_run import catalogue, write_csv
from ..conftest import run_cli


def test_an_unwritable_output_path_is_refused_before_anything_is_sent(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(2))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    # No server is listening: a refusal that came after a request would say "cannot reach".
    done = run_cli("run", source, "--base-url", "http://127.0.0.1:9", "--yes",
                   "--results", blocker / "r.xlsx", env={"TI_API_KEY": "k"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cannot write the results to" in done.stderr and "nothing was sent" in done.stderr
    too_long = tmp_path / ("x" * 300 + ".xlsx")
    done = run_cli("run", source, "--base-url", "http://127.0.0.1:9", "--yes", "--failures", too_long,
                   env={"TI_API_KEY": "k"})
    assert done.returncode == 2 and "cannot write the failures file" in done.stderr


def test_outputs_may_not_be_the_input_or_each_other(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(1) + [["", "quiz", "", "", "", "", ""]])
    before = source.read_bytes()
    done = run_cli("validate", source, "--report", source)
    assert done.returncode == 2 and "is the input file itself" in done.stderr
    done = run_cli("validate", source, "--payloads", source)
    assert done.returncode == 2 and "is the input file itself" in done.stderr
    same = tmp_path / "same.csv"
    done = run_cli("run", source, "--base-url", "http://127.0.0.1:9", "--yes", "--results", same,
                   "--failures", same, env={"TI_API_KEY": "k"})
    assert done.returncode == 2 and "would both be written to" in done.stderr
    assert source.read_bytes() == before


def test_results_that_cannot_be_written_land_in_the_fallback_folder(tmp_path):
    source = write_csv(tmp_path / "courses.csv", catalogue(2))
    validation = validate_file(source)
    report = RunReport([RowOutcome(2, "created", "crs_1", "s1"), RowOutcome(3, "failed", error_code="X")])
    gone = tmp_path / "gone"
    gone.write_text("a file, so nothing can be written below it")
    written = write_run_files(validation, report, OutputPaths(gone / "r.xlsx", gone / "f.xlsx"),
                              fallback_dir=tmp_path / ".importer")
    assert written.fallback_reason and written.results.parent == tmp_path / ".importer"
    with open(written.results, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["status"], r["course_id"]) for r in rows] == [("created", "crs_1"), ("failed", "")]
    assert written.failures and written.failures.exists()
