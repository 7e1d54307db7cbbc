"""What ops staff read (part of issue 11): the first line of each message, and its exit code."""

import subprocess

import openpyxl
import pytest

from ..conftest import run_cli


def test_a_mistyped_command_names_the_nearest_one():
    done = run_cli("valdate", "courses.csv")
    assert done.returncode == 2 and "usage:" not in done.stderr
    assert done.stderr.strip() == "Error: `valdate` is not a command of importer; did you mean `importer validate`?"


def test_a_clean_validate_removes_our_own_stale_report_and_nothing_else(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type\nA,nope\n", encoding="utf-8")
    assert run_cli("validate", source).returncode == 1
    assert (tmp_path / "c.errors.xlsx").exists()
    source.write_text("Title,Course Type\nA,course\n", encoding="utf-8")
    done = run_cli("validate", source)
    assert done.returncode == 0 and "Removed the earlier error report" in done.stdout
    assert not (tmp_path / "c.errors.xlsx").exists()
    # A workbook of the user's at that path is not ours: it stays.
    theirs = openpyxl.Workbook()
    theirs.active.title = "Notes"
    theirs.save(tmp_path / "c.errors.xlsx")
    again = run_cli("validate", source)
    assert again.returncode == 0 and (tmp_path / "c.errors.xlsx").exists() and "Removed" not in again.stdout


def test_warnings_are_listed_not_only_counted(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type,Notes\nA,course,x\n", encoding="utf-8")
    done = run_cli("validate", source)
    assert done.returncode == 0
    assert "  warning: row 1, Notes (C): Column 'Notes' is not a course field and is ignored." in done.stdout


def test_an_empty_or_cut_off_workbook_says_so(tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    done = run_cli("validate", empty)
    assert done.returncode == 2 and "is empty (0 bytes)" in done.stderr and "EOCD" not in done.stderr
    cut = tmp_path / "cut.xlsx"
    book = openpyxl.Workbook()
    book.save(cut)
    cut.write_bytes(cut.read_bytes()[:300])
    done = run_cli("validate", cut)
    assert done.returncode == 2 and "damaged or cut off" in done.stderr and "EOCD" not in done.stderr


def test_the_host_is_checked_before_anything_is_asked_and_the_user_sees_it(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type\nA,course\n", encoding="utf-8")
    done = run_cli("run", source, "--base-url", "http://127.0.0.1:9", "--yes", env={"TI_API_KEY": "k"})
    assert done.returncode == 2
    assert "Connecting to http://127.0.0.1:9 …" in done.stdout
    assert done.stderr.startswith("Error: cannot reach http://127.0.0.1:9") and "Plan:" not in done.stdout


def test_a_report_open_in_another_program_says_to_close_it(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type\nA,nope\n", encoding="utf-8")
    report = tmp_path / "c.errors.xlsx"
    report.write_bytes(b"")
    # Excel keeps what it has open locked; an immutable file is refused the same way (EPERM).
    if subprocess.run(["chattr", "+i", str(report)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not allowed here, so a locked file cannot be made")
    try:
        done = run_cli("validate", source)
    finally:
        subprocess.run(["chattr", "-i", str(report)], capture_output=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"Error: the error report cannot be written: {report} is open in another "
                                   "program (Excel?) or read-only; close it there and run again")


def test_a_server_allowing_more_than_the_rate_limit_is_said_once_at_the_end(tmp_path):
    from importer.sandbox import Sandbox

    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type\n" + "".join(f"C{i},course\n" for i in range(12)), encoding="utf-8")
    with Sandbox(rate_limit=20, rate_window=2, api_key="k") as box:  # 600 requests a minute
        done = run_cli("run", source, "--base-url", box.base_url, "--rate-limit", "240", "--yes",
                       env={"TI_API_KEY": "k"})
    assert done.returncode == 0, done.stdout + done.stderr
    notes = [line for line in done.stdout.splitlines() if line.startswith("Note: the server's headers allowed")]
    assert len(notes) == 1 and "more than --rate-limit 240" in notes[0] and "--rate-limit 5" in notes[0]


def test_a_bare_importer_prints_the_help_and_debug_is_taken_after_the_command(tmp_path):
    bare = run_cli()
    assert bare.returncode == 0 and "COMMAND" in bare.stdout and "validate" in bare.stdout and not bare.stderr
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type\nA,course\n", encoding="utf-8")
    late = run_cli("validate", source, "--debug")
    assert late.returncode == 0 and "valid:    1" in late.stdout, late.stderr


def test_a_pipe_closed_early_ends_quietly(tmp_path):
    import subprocess
    import sys

    source = tmp_path / "bad.csv"
    source.write_text("Title,Course Type\n" + "".join(f"T{i},quiz\n" for i in range(20000)), encoding="utf-8")
    command = f'"{sys.executable}" -m importer validate "{source}" | head -1'
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("Read 20000 rows") and "BrokenPipe" not in done.stderr and not done.stderr


def test_invalid_rows_stay_invalid_whenever_the_run_stops(tmp_path):
    import importer
    from importer.sandbox import Sandbox

    rows = [["Course 1", "course"], ["Broken", "quiz"], ["Course 2", "video"], ["Also broken", ""]]
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type\n" + "".join(f"{t},{c}\n" for t, c in rows), encoding="utf-8")
    with Sandbox() as sandbox, importer.connect(sandbox=sandbox, state_dir=tmp_path / "state") as target:
        planned = importer.plan(importer.validate(source), target)
        target.importer.stop.set()  # stopped before the first write
        result = importer.apply(planned)
    statuses = [(o.row, o.status) for o in result.outcomes]
    assert statuses == [(2, "not_attempted"), (3, "invalid"), (4, "not_attempted"), (5, "invalid")]
    assert "Course Type" in result.outcomes[1].error_message and "Course Type" in result.outcomes[3].error_message
