"""Nothing lost, nothing hung, nothing crashed (issue 10): hostile servers, files and disks.

Each test runs the CLI as a subprocess, the way a user does, against a small misbehaving
server on 127.0.0.1 (`hostile_server`) or the sandbox, and checks the promise: the exit
code, no traceback, the input file unchanged, and every course the server holds present
with its id in the results file the run named.
"""

import hashlib
import os
import re
import resource
import signal
import subprocess
import sys
import time

import openpyxl
import pytest

from importer.read.reading import read_sheet
from importer.sandbox import Sandbox

from .conftest import run_cli, wait_until
from .hostile_files import far_cell_workbook, workbook_with_error_cells, zip_bomb_workbook
from .hostile_server import HostileServer

KEY = "hostile-test-key"


def write_courses(path, n=4):
    rows = "".join(f"Course {i},course,EXT-{i}\n" for i in range(1, n + 1))
    path.write_text("Title,Course Type,External ID\n" + rows, encoding="utf-8")
    return path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(path, server, *args, timeout=90, env=None):
    return run_cli("run", path, "--base-url", server.base_url, "--yes", "--rate-limit", "600", *args,
                   env={"TI_API_KEY": KEY, **(env or {})}, timeout=timeout)


def results_named(done) -> dict[str, str]:
    """{course id: status} from the results file the run's summary names."""
    match = re.search(r"^Results:\s+(.+)$", done.stdout, re.M)
    assert match, done.stdout + done.stderr
    sheet = read_sheet(match.group(1).strip())
    ids = sheet.headers.index("course_id")
    status = sheet.headers.index("status")
    return {cells[ids]: cells[status] for _, cells in sheet.rows if cells[ids]}


def assert_nothing_lost(done, server, source, before):
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert digest(source) == before, "the input file was changed"
    in_results = results_named(done)
    assert {c["id"] for c in server.courses} <= set(in_results), output
    titles = [c["title"] for c in server.courses]
    assert len(titles) == len(set(titles)), f"a course was created twice: {titles}"


# --- hostile servers ----------------------------------------------------------------------


def test_a_reply_that_trickles_in_is_cut_at_the_deadline_and_the_course_found(tmp_path):
    source = write_courses(tmp_path / "c.csv")
    before = digest(source)
    with HostileServer(posts=["ok", "trickle"], trickle_every=0.5) as server:
        started = time.monotonic()
        done = run(source, server, "--timeout", "2")
        took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert took < 40  # the trickle alone would take 100+ s
    assert_nothing_lost(done, server, source, before)
    assert len(server.courses) == 4 and set(results_named(done).values()) == {"created"}


def test_a_server_asking_to_wait_a_year_stops_the_run_cleanly(tmp_path):
    source = write_courses(tmp_path / "c.csv")
    before = digest(source)
    with HostileServer(posts=["ok", "wait_year"]) as server:
        done = run(source, server, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "asked to wait 365 days (the server's Retry-After), longer than --max-wait 300 s" in done.stdout
    assert "run the same command again after" in done.stdout
    assert_nothing_lost(done, server, source, before)
    assert len(server.courses) == 1


def test_a_rate_limit_reset_far_in_the_future_stops_cleanly_without_overflow(tmp_path):
    source = write_courses(tmp_path / "c.csv")
    before = digest(source)
    with HostileServer(posts=["reset_far"]) as server:
        done = run(source, server, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "OverflowError" not in done.stdout + done.stderr
    assert "asked to wait" in done.stdout and "the server's rate limit" in done.stdout
    assert_nothing_lost(done, server, source, before)




def test_a_long_wait_is_shown_with_its_reason(tmp_path):
    source = write_courses(tmp_path / "c.csv", n=1)
    with HostileServer(posts=["wait_6s"]) as server:
        done = run(source, server, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Note: waiting [67] s: the server's Retry-After", done.stderr), done.stderr
    assert len(server.courses) == 1


def test_a_created_answer_without_an_id_is_looked_up_and_never_resent(tmp_path):
    source = write_courses(tmp_path / "c.csv")
    before = digest(source)
    with HostileServer(posts=["no_id", "ok", "no_id"]) as server:
        done = run(source, server)
        assert done.returncode == 0, done.stdout + done.stderr
        assert_nothing_lost(done, server, source, before)
        assert [what for method, what in server.requests if method == "POST"] == ["no_id", "ok", "no_id", "ok"]
        again = run(source, server, "--results", tmp_path / "again.xlsx")
        assert again.returncode == 0 and len(server.courses) == 4  # the re-run sends nothing
        assert set(results_named(again).values()) == {"exists"}


@pytest.mark.parametrize("ping", ["redirect", "431"])
def test_a_key_check_that_is_not_a_2xx_stops_before_anything_is_sent(tmp_path, ping):
    source = write_courses(tmp_path / "c.csv")
    with HostileServer(ping=ping) as server:
        done = run(source, server)
    assert done.returncode == 2
    assert "did not accept the key check" in done.stderr and "Traceback" not in done.stderr
    assert server.courses == [] and not any(m == "POST" for m, _ in server.requests)
    if ping == "redirect":
        assert "redirecting to https://login.example.com/" in done.stderr


@pytest.mark.parametrize("key", ["abc\ndef-secret", "clé-secret"])
def test_a_key_that_cannot_go_in_a_header_is_one_line_showing_none_of_it(tmp_path, key):
    source = write_courses(tmp_path / "c.csv")
    with HostileServer() as server:
        done = run(source, server, env={"TI_API_KEY": key})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "holds a character an API key cannot have" in done.stderr
    for part in ("abc", "def-secret", "clé", "secret"):
        assert part not in done.stdout + done.stderr
    assert server.requests == []


# --- the run's own files ---------------------------------------------------------------


def test_a_control_character_in_a_title_is_an_error_and_every_file_is_written(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"Title,Course Type\nGood,course\nBad\x0bone,course\n")
    before = digest(source)
    with HostileServer() as server:
        done = run(source, server)
    assert done.returncode == 1, done.stdout + done.stderr
    assert_nothing_lost(done, server, source, before)
    assert [c["title"] for c in server.courses] == ["Good"]
    failures = read_sheet(tmp_path / "in.failures.csv")
    assert failures.rows[0][1][:2] == ["Bad\x0bone", "course"]  # kept exactly, to fix and send again
    assert "U+000B" in " ".join(map(str, failures.rows[0][1]))


def test_a_value_longer_than_an_excel_cell_is_never_cut(tmp_path):
    description = "word " * 8000  # 40,000 characters
    source = tmp_path / "long.csv"
    source.write_text(f"Title,Course Type,Description\nLong,course,{description}\nBad,nope,x\n", encoding="utf-8")
    with HostileServer() as server:
        done = run(source, server, "--results", tmp_path / "r.xlsx", "--failures", tmp_path / "f.xlsx")
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "more than an Excel cell can (32,767), so the files are CSV" in done.stdout
        assert server.courses[0]["description"] == description.strip()
    results = read_sheet(tmp_path / "r.csv")
    assert results.rows[0][1][2] == description
    assert read_sheet(tmp_path / "f.csv").rows[0][1][:3] == ["Bad", "nope", "x"]
    # The error report only shows cells: there the long one is cut, visibly.
    report = openpyxl.load_workbook(tmp_path / "long.errors.xlsx", read_only=True).worksheets[0]
    shown = list(report.iter_rows(values_only=True))[1][2]
    assert len(shown) <= 32_767 and "cut here for Excel: the cell holds 40,000 characters" in shown


def test_ctrl_c_and_sigterm_again_and_again_never_lose_the_results(tmp_path):
    source = write_courses(tmp_path / "c.csv", n=30)
    before = digest(source)
    with Sandbox(rate_limit=20, rate_window=2, api_key=KEY) as sandbox:
        command = [sys.executable, "-m", "importer", "run", str(source), "--base-url", sandbox.base_url,
                   "--yes", "--rate-limit", "120"]
        env = {**os.environ, "TI_API_KEY": KEY}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: len(sandbox.store.all()) >= 3, timeout=60, what="three courses created")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT, signal.SIGINT):
            process.send_signal(sig)
            time.sleep(0.005)
        out, err = process.communicate(timeout=60)
        done = subprocess.CompletedProcess(command, process.returncode, out, err)
        # 130; or, when a late signal lands after the files are written and the summary
        # printed, while the interpreter shuts down (its handlers are then the system's),
        # the plain death by that signal: the files are whole either way.
        assert done.returncode == 130 or (done.returncode < 0 and "Results:" in out), out + err
        assert_nothing_lost(done, type("S", (), {"courses": sandbox.store.all()}), source, before)


# --- hostile files ------------------------------------------------------------------------


def validate(path, *args, **kwargs):
    return run_cli("validate", path, *args, **kwargs)


def one_error_line(done):
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize("build, expected", [
    (far_cell_workbook, "far beyond any catalogue"),
    (zip_bomb_workbook, "expands to 700 MB"),
])
def test_workbooks_that_would_eat_the_machine_are_refused_in_one_line(tmp_path, build, expected):
    path = build(tmp_path / "hostile.xlsx")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = validate(path)
    assert done.returncode == 2
    assert expected in one_error_line(done)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 1.5 * 2**20 or peak_kib == before  # never near the 1.5 GiB promise


@pytest.mark.parametrize("make", ["fifo", "/dev/zero", "/dev/null"])
def test_pipes_and_devices_are_refused_in_one_line(tmp_path, make):
    if make == "fifo":
        path = tmp_path / "courses.csv"
        os.mkfifo(path)
    else:
        path = make
    done = validate(path, timeout=20)
    assert done.returncode == 2
    assert "is not a file but a pipe or device" in one_error_line(done)


def test_excel_error_cells_a_lowercase_sheet_and_a_hidden_first_sheet(tmp_path):
    path = workbook_with_error_cells(tmp_path / "errors.xlsx")
    done = validate(path, "--report", tmp_path / "report.csv")
    assert done.returncode == 1 and "(sheet courses;" in done.stdout
    report = read_sheet(tmp_path / "report.csv")
    found = {(cells[0], cells[1], cells[4]) for _, cells in report.rows}
    assert found == {("3", "description", "EXCEL_ERROR_VALUE"), ("4", "title", "EXCEL_ERROR_VALUE")}


def test_a_bom_file_with_bytes_that_are_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfTitle,Course Type\nGood,course\nBad\xff,course\n")
    done = validate(path)
    assert done.returncode == 2
    assert "line 3: bytes that are not UTF-8" in one_error_line(done)


def test_a_huge_cell_and_terminal_escapes_are_shortened_and_shown_safely(tmp_path):
    path = tmp_path / "big.csv"
    title = "\x1b[2J\x1b]0;pwned\x07" + "x" * 5_000_000
    path.write_text(f"Title,Course Type\n{title},course\n", encoding="utf-8")
    done = validate(path)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert max(map(len, done.stdout.splitlines())) < 1000


def test_sigterm_during_validate_ends_like_ctrl_c(tmp_path):
    path = tmp_path / "many.csv"
    with path.open("w") as handle:
        handle.write("Title,Course Type,Description\n")
        for i in range(400_000):
            handle.write(f"Course {i},course,{'d' * 40}\n")
    process = subprocess.Popen([sys.executable, "-m", "importer", "validate", str(path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def handler_installed():  # SigCgt: the signals the process catches; SIGTERM is bit 15
        status = open(f"/proc/{process.pid}/status").read()
        mask = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M).group(1), 16)
        return bool(mask & (1 << (signal.SIGTERM - 1)))

    wait_until(handler_installed, timeout=30, what="the SIGTERM handler")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert (process.returncode, err.strip()) == (130, "Interrupted."), out + err


# --- failing disks, through the library ----------------------------------------------------


def test_a_journal_that_cannot_be_written_stops_the_run_and_keeps_the_id(tmp_path):
    from importer.check.validating import validate_file
    from importer.platform.guide import GuideAPI
    from importer.platform.journal import Journal
    from importer.platform.pacing import Pacer
    from importer.run.applying import Importer
    from importer.run.progress import RunLog

    validation = validate_file(write_courses(tmp_path / "c.csv", n=3))
    with Sandbox(api_key=KEY) as sandbox, GuideAPI(sandbox.base_url, KEY) as api, \
            Journal(tmp_path / "journal.sqlite3") as journal:
        # The database refuses to record a course as created, as a full disk would; and the
        # run log sits on a device that is always full (every write fails with ENOSPC).
        journal._db.execute("CREATE TEMP TRIGGER full BEFORE UPDATE ON courses WHEN NEW.status = 'created' "
                            "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
        log = RunLog(tmp_path / "log.jsonl")
        log.handle = open("/dev/full", "w")
        importer = Importer(api, journal, sandbox.base_url, Pacer(6000, 60), log=log)
        report = importer.run(validation)
        created = sandbox.store.all()
    assert len(created) == 1, "the run must stop after the row whose id could not be journaled"
    assert [(o.status, o.course_id) for o in report.outcomes][0] == ("created", created[0]["id"])
    assert [o.status for o in report.outcomes][1:] == ["not_attempted", "not_attempted"]
    assert "journal" in report.stop_reason and "database or disk is full" in report.stop_reason
    assert log.failure == "No space left on device"
