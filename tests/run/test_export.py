"""`importer export` end to end (issue 30): the CLI as a subprocess against the sandbox over HTTP, the
files it writes read back. The test of an export is the round trip: on the same instance, the file
validates without an error and a sync of it plans nothing."""

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openpyxl
import pytest

from importer.sandbox import Sandbox

from ..conftest import run_cli

KEY = "export-key-77"
AWKWARD = [
    {"title": "=SUM(A1:A9) in practice", "courseType": "course", "externalId": "00042", "tags": ["a, b", "plain"],
     "authors": ["Smith, Jane", "John Doe"], "customFields": {"level": "15.060", "hours": 4}},
    {"title": "+1 for teamwork", "courseType": "video", "externalId": "123456789012345678901234",
     "description": "<p>Bold <strong>moves</strong> and <a href=\"https://example.com\">links</a></p>"},
    {"title": "-10% pricing", "courseType": "article", "slug": "minus-ten", "isFree": True},
    {"title": "@mentions étiquette — 日本語 🚀", "courseType": "scorm", "externalId": "EXT-3",
     "publishedStatus": "published", "source": "cms"},
    {"title": "No External ID here", "courseType": "xapi", "slug": "no-external-id", "customFields": {"hours": 2.5}},
    {"title": "Only a title", "courseType": "webinar"},
]


def seed(sandbox, courses=AWKWARD):
    for course in courses:
        sandbox.store.create(course)


def export(sandbox, out, *extra, key=KEY):
    return run_cli("export", "--base-url", sandbox.base_url, "--out", out, "--rate-limit", "6000", *extra,
                   env={"TI_API_KEY": key}, timeout=120)


def plan(sandbox, path):
    return run_cli("plan", path, "--base-url", sandbox.base_url, "--mode", "sync", "--rate-limit", "6000",
                   env={"TI_API_KEY": KEY}, timeout=120)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_the_round_trip_validates_and_plans_no_change(tmp_path, suffix):
    with Sandbox(api_key=KEY, custom_fields=["level", "hours"]) as sandbox:
        seed(sandbox)
        archived = sandbox.store.create({"title": "Retired", "courseType": "course", "publishedStatus": "archived"})
        # A course the platform took long ago, with a slug the rules now refuse: exported, marked, never sent.
        old = sandbox.store.create({"title": "Legacy course", "courseType": "course", "externalId": "OLD-1"})
        sandbox.store._put({**old, "slug": "Legacy_Course"})
        out = tmp_path / f"catalogue{suffix}"
        done = export(sandbox, out)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Exported 7 courses, 2 custom fields to {out}" in done.stdout
        assert "2 cells hold a value" in done.stdout  # the refused slug, and the tag with a comma
        validated = run_cli("validate", out)
        assert validated.returncode == 0, validated.stdout
        planned = plan(sandbox, out)
        assert planned.returncode == 0 and "Plan: 0 to create, 0 to update, 7 unchanged" in planned.stdout, \
            planned.stdout
        everything = tmp_path / f"all{suffix}"
        assert export(sandbox, everything, "--include-archived").returncode == 0
        ids = [r["Platform course ID"] for r in rows_of(everything)]
        assert archived["id"] in ids and len(ids) == 8
    rows = {r["Title *"]: r for r in rows_of(out)}
    assert sorted(rows) == sorted([c["title"] for c in AWKWARD] + ["Legacy course"])
    assert rows["=SUM(A1:A9) in practice"]["External ID"] == "00042"
    assert rows["+1 for teamwork"]["External ID"] == "123456789012345678901234"
    legacy = rows["Legacy course"]
    assert legacy["Slug"] in (None, "") and "Legacy_Course" in legacy["Platform note"]
    if suffix == ".xlsx":
        book = openpyxl.load_workbook(out)
        sheet = book["Courses"]
        headers = [c.value for c in sheet[1]]
        assert headers[:3] == ["Title *", "Course Type *", "Slug"] and "customFields.hours" in headers
        assert sheet.data_validations.dataValidation  # the template's dropdowns
        ids = sheet[openpyxl.utils.get_column_letter(headers.index("External ID") + 1)][1:]
        assert all(cell.data_type == "s" for cell in ids if cell.value is not None)
        slug_cell = sheet.cell(row=[r[0].value for r in sheet.iter_rows()].index("Legacy course") + 1,
                               column=headers.index("Slug") + 1)
        assert slug_cell.comment and "Legacy_Course" in slug_cell.comment.text
        assert "Instructions" in book.sheetnames


def rows_of(path):
    if path.suffix == ".csv":
        from importer.read.reading import read_sheet

        sheet = read_sheet(path)
        return [dict(zip(sheet.headers, cells, strict=True)) for _, cells in sheet.rows]
    sheet = openpyxl.load_workbook(path)["Courses"]
    values = list(sheet.iter_rows(values_only=True))
    return [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def test_five_edited_cells_are_five_changes_sent_once_and_undone(tmp_path):
    with Sandbox(api_key=KEY, custom_fields=["level", "hours"], rate_limit=600, rate_window=60) as sandbox:
        seed(sandbox)
        before = {c["id"]: dict(c) for c in sandbox.store.all()}
        out = tmp_path / "catalogue.xlsx"
        assert export(sandbox, out).returncode == 0
        book = openpyxl.load_workbook(out)
        sheet = book["Courses"]
        headers = [c.value for c in sheet[1]]
        column = {h: i + 1 for i, h in enumerate(headers)}
        # Five cells that held a value (undo puts a value back; it cannot empty a field: see the README)
        sheet.cell(row=3, column=column["Description"], value="<p>New words</p>")
        sheet.cell(row=5, column=column["Source"], value="partner")
        sheet.cell(row=6, column=column["customFields.hours"], value=3)
        sheet.cell(row=2, column=column["Authors"], value="Ana Ruiz")
        sheet.cell(row=4, column=column["Is Free"], value="No")
        book.save(out)
        planned = plan(sandbox, out)
        assert "Plan: 0 to create, 5 to update, 1 unchanged" in planned.stdout, planned.stdout
        changes = openpyxl.load_workbook(tmp_path / "catalogue.plan.xlsx")["Changes"]
        assert len(list(changes.iter_rows(min_row=2))) == 5
        puts = sandbox.stats()["byMethod"].get("PUT", 0)
        synced = run_cli("run", out, "--base-url", sandbox.base_url, "--mode", "sync", "--yes", "--rate-limit",
                         "6000", "--results", tmp_path / "sync.xlsx", env={"TI_API_KEY": KEY}, timeout=120)
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert sandbox.stats()["byMethod"]["PUT"] - puts == 5
        again = run_cli("run", out, "--base-url", sandbox.base_url, "--mode", "sync", "--yes", "--rate-limit",
                        "6000", env={"TI_API_KEY": KEY}, timeout=120)
        assert sandbox.stats()["byMethod"]["PUT"] - puts == 5, again.stdout  # a sync right after a sync: nothing
        undo = run_cli("undo", tmp_path / "sync.xlsx", "--base-url", sandbox.base_url, "--yes", "--rate-limit",
                       "6000", env={"TI_API_KEY": KEY}, timeout=120)
        assert undo.returncode == 0 and "restore 5 updated courses" in undo.stdout, undo.stdout + undo.stderr
        after = {c["id"]: c for c in sandbox.store.all()}
    for course_id, course in before.items():
        assert {k: v for k, v in after[course_id].items() if k != "updatedAt"} == \
               {k: v for k, v in course.items() if k != "updatedAt"}


def test_the_content_api_exports_the_same_with_sku_as_the_external_id(tmp_path):
    with Sandbox(api_key=KEY, api="content") as sandbox:
        seed(sandbox, [c for c in AWKWARD if c["courseType"] != "webinar"])
        out = tmp_path / "content.xlsx"
        done = export(sandbox, out)
        assert done.returncode == 0 and "speaking the content API" in done.stdout, done.stdout + done.stderr
        assert "Plan: 0 to create, 0 to update, 5 unchanged" in plan(sandbox, out).stdout
    by_title = {r["Title *"]: r for r in rows_of(out)}
    assert by_title["=SUM(A1:A9) in practice"]["External ID"] == "00042"  # the sku
    assert by_title["@mentions étiquette — 日本語 🚀"]["Course Type *"] == "scorm"


def test_refusals_an_empty_instance_and_a_description_too_long_for_a_cell(tmp_path):
    with Sandbox(api_key=KEY) as sandbox:
        empty = tmp_path / "empty.xlsx"
        done = export(sandbox, empty)
        assert done.returncode == 0 and "holds no course" in done.stdout
        assert rows_of(empty) == [] and openpyxl.load_workbook(empty)["Courses"]["A1"].value == "Title *"
        existing = export(sandbox, empty)
        assert existing.returncode == 2 and "--force" in existing.stderr and "Traceback" not in existing.stderr
        wrong = export(sandbox, tmp_path / "never.xlsx", key="wrong-key")
        assert wrong.returncode == 2 and "refused" in wrong.stderr and not (tmp_path / "never.xlsx").exists()
        long_text = "word " * 7999 + "end"
        sandbox.store.create({"title": "Long read", "courseType": "article", "description": long_text})
        asked = tmp_path / "long.xlsx"
        done = export(sandbox, asked)
        assert done.returncode == 0 and "long.csv instead of long.xlsx" in done.stdout, done.stdout
        assert not asked.exists() and rows_of(tmp_path / "long.csv")[0]["Description"] == long_text  # whole


def test_the_list_is_read_in_pages_and_nothing_else(tmp_path):
    with Sandbox(api_key=KEY) as sandbox:
        for i in range(250):
            sandbox.store.create({"title": f"Course {i:03}", "courseType": "course", "externalId": f"E{i}",
                                  "source": "cms" if i % 2 else "lms", "tags": ["even"] if i % 2 == 0 else []})
        before = sandbox.stats()["byMethod"].get("GET", 0)
        out = tmp_path / "all.csv"
        done = export(sandbox, out, "--api", "guide")
        assert done.returncode == 0 and "with 3 list requests" in done.stdout, done.stdout
        # ping, then 3 pages of 100: no read per course
        assert sandbox.stats()["byMethod"]["GET"] - before == 4
        assert len(rows_of(out)) == 250
        assert export(sandbox, tmp_path / "cms.csv", "--source", "cms").returncode == 0
        assert len(rows_of(tmp_path / "cms.csv")) == 125
        assert export(sandbox, tmp_path / "even.csv", "--tag", "EVEN").returncode == 0
        assert {r["Source"] for r in rows_of(tmp_path / "even.csv")} == {"lms"}


def test_a_connection_lost_mid_export_leaves_no_file_under_the_asked_name(tmp_path):
    class Dying(BaseHTTPRequestHandler):
        pages = Counter()

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.endswith("/ping"):
                body, status = {"valid": True}, 200
            elif "cursor" not in self.path:
                body, status = {"courses": [{"id": "c1", "title": "One", "courseType": "course"}],
                                "pageInfo": {"cursor": "p2", "hasMore": True}}, 200
            else:
                self.connection.close()  # the second page never comes
                return
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Dying)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "half.xlsx"
        done = run_cli("export", "--base-url", f"http://127.0.0.1:{server.server_address[1]}", "--out", out,
                       "--max-retries", "1", env={"TI_API_KEY": KEY}, timeout=120)
    finally:
        server.shutdown()
    assert done.returncode == 2 and "could not read the courses" in done.stderr, done.stdout + done.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_library_returns_the_rows_as_a_dataframe(tmp_path):
    import importer

    with Sandbox(api_key=KEY, custom_fields=["level", "hours"]) as sandbox:
        seed(sandbox)
        with importer.connect(sandbox=sandbox, state_dir=tmp_path / "state") as target:
            frame = importer.export(target, tmp_path / "catalogue.xlsx")
    assert len(frame) == 6 and list(frame.columns[:2]) == ["Title *", "Course Type *"]
    assert frame.loc[frame["Title *"] == "=SUM(A1:A9) in practice", "External ID"].item() == "00042"
    assert (tmp_path / "catalogue.xlsx").exists()


@pytest.mark.parametrize("html", ["keep", "rename"])
def test_a_sync_right_after_a_sync_sends_nothing_whatever_the_server_does_to_a_description(tmp_path, html):
    """An instance that keeps <b>, or rewrites it to <strong> and adds rel to links: the importer's
    prediction of the guide's cleaning is wrong there, so what the server kept of what was sent is
    remembered (the journal), and an export of what it holds round-trips as it is."""
    rows = ["Bold,course,B1,<p><b>Big</b> news</p>", "Link,course,L1,<p><a href=\"https://example.com\">site</a></p>",
            "Plain,course,P1,<p>Plain</p>"]
    source = tmp_path / "c.csv"
    source.write_text("Title,Course Type,External ID,Description\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with Sandbox(api_key=KEY, html=html) as sandbox:
        base = ["--base-url", sandbox.base_url, "--rate-limit", "6000", "--yes"]
        created = run_cli("run", source, *base, env={"TI_API_KEY": KEY}, timeout=120)
        assert created.returncode == 0, created.stdout + created.stderr
        writes = sandbox.stats()["byMethod"].get("PUT", 0)
        again = run_cli("run", source, *base, "--mode", "sync", env={"TI_API_KEY": KEY}, timeout=120)
        assert "0 to update, 3 unchanged" in again.stdout, again.stdout
        assert sandbox.stats()["byMethod"].get("PUT", 0) == writes
        out = tmp_path / "held.xlsx"
        assert export(sandbox, out).returncode == 0
        held = plan(sandbox, out)
        assert "Plan: 0 to create, 0 to update, 3 unchanged" in held.stdout, held.stdout
    stored = {r["Title *"]: r["Description"] for r in rows_of(out)}
    assert "<b>" in stored["Bold"] if html == "keep" else "<strong>" in stored["Bold"]
