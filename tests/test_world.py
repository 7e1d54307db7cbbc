"""The world around a run (issue 20): two runs at once, another machine, an edit between plan
and write, a damaged journal, proxies and TLS, a captive portal, replies of another shape, a
decompression bomb, a server whose clock is off, and a results file edited by hand. The rule
behind them all: no id lost, nobody's edit overwritten, no course twice, every stop one line
naming its cause."""

import csv
import os
import resource
import sqlite3
import subprocess
import sys
import time

import openpyxl
import pytest

import importer
from importer.platform.api import BoundedDecoder, ReplyTooLarge
from importer.sandbox import Sandbox

from .conftest import ROOT, run_cli, wait_until
from .hostile_server import HostileServer
from .network_helpers import HOST_NAME, ForwardProxy, TLSFront, closed_port, make_certificates

KEY = "world-test-key"


def write_courses(path, n, *, prefix="Course", start=0):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Title", "Course Type", "External ID", "Description"])
        for i in range(start, start + n):
            writer.writerow([f"{prefix} {i:03}", "course", f"EXT-{i:04}", f"<p>About {i}</p>"])
    return path


def results_rows(path):
    sheet = openpyxl.load_workbook(path)["Results"]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def one_line_error(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    return lines[0]


def run(base_url, *args, env=None, timeout=180):
    return run_cli("run", *args, "--base-url", base_url, "--yes", env={"TI_API_KEY": KEY, **(env or {})},
                   timeout=timeout)


# --- two runs at once, in one folder ----------------------------------------------------------

def test_a_second_run_of_the_same_file_refuses_at_once_and_no_id_is_lost(tmp_path):
    source = write_courses(tmp_path / "c.csv", 12)
    with Sandbox(api_key=KEY) as sandbox:
        first = subprocess.Popen([sys.executable, "-m", "importer", "run", str(source), "--base-url",
                                  sandbox.base_url, "--yes", "--rate-limit", "120"],
                                 env={**os.environ, "TI_API_KEY": KEY}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: sandbox.store.all(), timeout=60, what="the first run's first course")
            second = run(sandbox.base_url, source, "--rate-limit", "120")
        finally:
            out, err = first.communicate(timeout=120)
        assert second.returncode == 2
        line = one_line_error(second)
        assert "another run is using the journal" in line and f"process {first.pid}" in line
        assert first.returncode == 0, err
        held = {c["id"] for c in sandbox.store.all()}
    assert len(held) == 12
    assert {r["course_id"] for r in results_rows(tmp_path / "c.results.xlsx")} == held
    assert not (tmp_path / "c.results-2.xlsx").exists()  # the refused run left no file of its own


def test_results_paths_are_claimed_so_a_parallel_choice_moves_on(tmp_path):
    from importer.files.results import choose_output_paths

    source = write_courses(tmp_path / "c.csv", 1)
    first = choose_output_paths(source, None, None)
    second = choose_output_paths(source, None, None)
    assert first.results.name == "c.results.xlsx" and second.results.name == "c.results-2.xlsx"
    first.release()
    assert not first.results.exists() and second.results.exists()


# --- another machine, and someone's edit ------------------------------------------------------

def test_a_course_another_machine_made_after_the_plan_is_exists_not_failed(tmp_path):
    rows = importer.from_records([{"title": f"T{i}", "courseType": "course", "externalId": f"E{i}"}
                                  for i in range(3)])
    checked = importer.validate(rows)
    with Sandbox(api_key=KEY) as sandbox, importer.connect(sandbox=sandbox, state_dir=tmp_path) as target:
        planned = importer.plan(checked, target)
        other = sandbox.store.create({"title": "T1", "courseType": "course", "externalId": "E1"})
        result = importer.apply(planned)
    statuses = [(o.status, o.course_id) for o in result.outcomes]
    assert statuses[1] == ("exists", other["id"])
    assert [s for s, _ in statuses] == ["created", "exists", "created"]


def test_an_edit_between_plan_and_write_is_a_conflict_and_is_kept(tmp_path):
    records = [{"title": f"T{i}", "courseType": "course", "externalId": f"E{i}", "description": "old",
                "customFields": {"level": 1}} for i in range(3)]
    with Sandbox(api_key=KEY, custom_fields=["level", "owner"]) as sandbox:
        with importer.connect(sandbox=sandbox, state_dir=tmp_path) as target:
            importer.apply(importer.plan(importer.validate(importer.from_records(records)), target))
        for record in records:
            record["description"] = "new"
            record["customFields"] = {"level": 2}
        checked = importer.validate(importer.from_records(records))
        with importer.connect(sandbox=sandbox, state_dir=tmp_path) as target:
            planned = importer.plan(checked, target, mode="sync")
            edited = sandbox.store.find(externalId="E1")[0]
            sandbox.store.update(edited["id"], {"description": "someone's edit"})
            other_key = sandbox.store.find(externalId="E2")[0]
            sandbox.store.update(other_key["id"], {"customFields": {"level": 1, "owner": "ana"}})
            result = importer.apply(planned)
        by_ext = {c["externalId"]: c for c in sandbox.store.all()}
    outcome = result.outcomes[1]
    assert (outcome.status, outcome.error_code) == ("conflict", "CHANGED_SINCE_PLAN")
    assert "changed on the platform since the plan: Description" in outcome.error_message
    assert by_ext["E1"]["description"] == "someone's edit"  # kept
    assert by_ext["E0"]["description"] == "new" and by_ext["E2"]["description"] == "new"
    # Another custom field edited meanwhile is not one this update changes: it is kept too.
    assert by_ext["E2"]["customFields"] == {"level": 2, "owner": "ana"}


# --- a damaged journal ----------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["garbage", "half", "locked"])
def test_a_damaged_journal_is_named_with_what_to_do(tmp_path, damage):
    source = write_courses(tmp_path / "c.csv", 2)
    state = tmp_path / ".importer"
    journal = state / "journal.sqlite3"
    holder = None
    with Sandbox(api_key=KEY) as sandbox:
        assert run(sandbox.base_url, source).returncode == 0
        if damage == "garbage":
            journal.write_bytes(b"this is not a database" * 100)
            for side in state.glob("journal.sqlite3-*"):
                side.unlink()
        elif damage == "half":
            data = journal.read_bytes()
            journal.write_bytes(data[: len(data) // 2 or 100] + b"\x00garbage" * 50)
            for side in state.glob("journal.sqlite3-*"):
                side.unlink()
        else:  # another program holds the database itself, exclusively
            holder = sqlite3.connect(journal, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
        write_courses(source, 3)
        try:
            done = run(sandbox.base_url, source)
        finally:
            if holder is not None:
                holder.close()
        created = len(sandbox.store.all())
    assert done.returncode == 2
    line = one_line_error(done)
    assert str(journal) in line
    if damage == "locked":
        assert "another run" in line and "disk" not in line
    else:
        assert "damaged" in line and "Move it aside" in line
    assert created == 2  # nothing was sent


def test_a_read_only_journal_message():
    from importer.platform.journal import journal_error

    error = journal_error(ROOT / "j.sqlite3", sqlite3.OperationalError("attempt to write a readonly database"))
    assert "read-only" in str(error) and "Move it aside" in str(error)


# --- proxies and TLS ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_a_dead_proxy_is_named(tmp_path):
    source = write_courses(tmp_path / "c.csv", 1)
    proxy = f"http://127.0.0.1:{closed_port()}"
    done = run_cli("run", source, "--base-url", "https://courses.example.com", "--yes",
                   env={"TI_API_KEY": KEY, "HTTPS_PROXY": proxy})
    assert done.returncode == 2
    line = one_line_error(done)
    assert f"the proxy {proxy} (set by HTTPS_PROXY)" in line and "check the address" not in line


def test_loopback_never_goes_through_a_proxy(tmp_path):
    source = write_courses(tmp_path / "c.csv", 2)
    dead = f"http://127.0.0.1:{closed_port()}"
    done = run_cli("run", source, "--sandbox", "--yes",
                   env={"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead})
    assert done.returncode == 0, done.stderr


def test_through_a_proxy_to_tls_trusted_and_not(tmp_path, certificates):
    ca, cert, key = certificates
    source = write_courses(tmp_path / "c.csv", 2)
    with Sandbox(api_key=KEY) as sandbox, TLSFront(sandbox.port, cert, key) as front, \
            ForwardProxy({f"{HOST_NAME}:443": front.port}) as proxy:
        env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}"}
        refused = run(f"https://{HOST_NAME}", source, env=env)
        assert refused.returncode == 2
        line = one_line_error(refused)
        assert "certificate is not trusted" in line and "SSL_CERT_FILE" in line
        assert sandbox.store.all() == []
        trusted = run(f"https://{HOST_NAME}", source, env={**env, "SSL_CERT_FILE": str(ca)})
        assert trusted.returncode == 0, trusted.stdout + trusted.stderr
        assert len(sandbox.store.all()) == 2
        assert proxy.seen and all(s == f"CONNECT {HOST_NAME}:443" for s in proxy.seen)


# --- replies that are not the API's -------------------------------------------------------------

def test_a_portal_appearing_mid_run_stops_it_with_every_id_kept(tmp_path):
    source = write_courses(tmp_path / "c.csv", 8)
    with HostileServer(portal_after=3) as server:
        done = run(server.base_url, source, "--rate-limit", "6000")
        posts = [r for r in server.requests if r[0] == "POST"]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Stopped: the server stopped answering as the courses API" in done.stdout
    rows = results_rows(tmp_path / "c.results.xlsx")
    assert [r["status"] for r in rows][:3] == ["created"] * 3
    assert {r["course_id"] for r in rows if r["status"] == "created"} == {c["id"] for c in server.courses}
    assert [r["status"] for r in rows][4:] == ["not_attempted"] * 4
    assert len(posts) == 3  # the fourth POST met the portal (not counted by the server), then nothing


def test_a_write_answered_in_another_apis_json_shape_stops_the_run(tmp_path):
    source = write_courses(tmp_path / "c.csv", 5)
    with HostileServer(posts=["ok", "other_json"]) as server:
        done = run(server.base_url, source, "--rate-limit", "6000")
        posts = [r for r in server.requests if r[0] == "POST"]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Stopped: the server stopped answering as the courses API" in done.stdout
    statuses = [r["status"] for r in results_rows(tmp_path / "c.results.xlsx")]
    assert statuses == ["created", "failed", "not_attempted", "not_attempted", "not_attempted"]
    assert len(posts) == 2 and len(server.courses) == 1


@pytest.mark.parametrize("shape", ["data", "data_pages"])
def test_a_list_in_another_shape_is_never_an_empty_instance(tmp_path, shape):
    source = write_courses(tmp_path / "c.csv", 3)
    with HostileServer(list_shape=shape) as server:
        server._store({"title": "Course 001", "courseType": "course", "externalId": "EXT-0001"})
        # The guide's API, said: found out (--api auto), an instance whose lists answer in no shape of
        # either API stops before anything is sent (tests/cli/test_content_api.py).
        done = run(server.base_url, source, "--rate-limit", "6000", "--api", "guide")
        posts = [r for r in server.requests if r[0] == "POST"]
    if shape == "data":
        assert done.returncode == 2 and posts == []
        assert "in a shape the importer does not know" in one_line_error(done)
    else:  # the pages cannot be read, the lookups can: the existing course is found
        assert done.returncode == 0, done.stdout + done.stderr
        statuses = [r["status"] for r in results_rows(tmp_path / "c.results.xlsx")]
        assert statuses == ["created", "exists", "created"] and len(posts) == 2


def _memory_cap():
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 2**20, 1536 * 2**20))


def test_a_decompression_bomb_is_a_failed_request_under_a_memory_cap(tmp_path):
    source = write_courses(tmp_path / "c.csv", 2)
    with HostileServer(bomb_pages=True, bomb_mb=2048) as server:
        done = subprocess.run([sys.executable, "-m", "importer", "run", str(source), "--base-url", server.base_url,
                               "--yes", "--rate-limit", "6000", "--max-retries", "1"],
                              env={**os.environ, "TI_API_KEY": KEY}, capture_output=True, text=True, timeout=120,
                              preexec_fn=_memory_cap)
    assert done.returncode == 2
    line = one_line_error(done)
    assert "larger than 64 MB unpacked" in line and "MemoryError" not in line


def test_the_bounded_decoder_stops_at_its_limit():
    import zlib

    packed = zlib.compress(b"0" * (50 * 2**20), 9)
    decoder = BoundedDecoder("deflate", 2**20)
    with pytest.raises(ReplyTooLarge):
        decoder.decode(packed)
    assert BoundedDecoder("deflate", 2**27).decode(zlib.compress(b"abc")) == b"abc"


def test_waits_are_read_against_the_servers_clock(tmp_path):
    source = write_courses(tmp_path / "c.csv", 2)
    with HostileServer(posts=["skewed_429"], skew=86_400) as server:
        started = time.monotonic()
        done = run(server.base_url, source, "--rate-limit", "6000", "--max-wait", "60")
        elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(server.courses) == 2
    assert elapsed < 60  # two seconds by the server's clock, not a day by ours


# --- undo of a results file edited by hand --------------------------------------------------------

def test_undo_refuses_a_course_the_run_did_not_create(tmp_path):
    source = write_courses(tmp_path / "c.csv", 3)
    with Sandbox(api_key=KEY) as sandbox:
        old = sandbox.store.create({"title": "Old course", "courseType": "course", "externalId": "OLD"})
        old_id = old["id"]
        with sandbox.store._lock:
            sandbox.store.courses[old_id]["createdAt"] = "2019-05-01T10:00:00Z"
        assert run(sandbox.base_url, source).returncode == 0
        results = tmp_path / "c.results.xlsx"
        book = openpyxl.load_workbook(results)
        sheet = book["Results"]
        headers = [c.value for c in sheet[1]]
        sheet.cell(row=2, column=headers.index("course_id") + 1, value=old_id)  # a hand edit
        book.save(results)
        undo = run_cli("undo", results, "--base-url", sandbox.base_url, "--yes", env={"TI_API_KEY": KEY})
        assert undo.returncode == 1, undo.stdout + undo.stderr
        assert f"{old_id}: not created by this run" in undo.stdout
        assert sandbox.store.get(old_id)["publishedStatus"] == "draft"
        statuses = sorted(c["publishedStatus"] for c in sandbox.store.all() if c["id"] != old_id)
        assert statuses == ["archived", "archived", "draft"]  # the other two undone; the edited row's own left
        forced = run_cli("undo", results, "--base-url", sandbox.base_url, "--yes", "--force",
                         "--results", tmp_path / "forced.xlsx", env={"TI_API_KEY": KEY})
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert sandbox.store.get(old_id)["publishedStatus"] == "archived"
