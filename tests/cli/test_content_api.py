"""An instance that answers only the platform's content API: the CLI as a subprocess against the
sandbox speaking it (`Sandbox(api="content")`) over real HTTP, with no option telling the importer
which API it is. What the server holds is read from its store, in the guide's shape it keeps
(externalId is the sku, courseType the kind), and through the content API's own routes."""

import shutil
from collections import Counter

import openpyxl
import pytest

from importer.sandbox import Sandbox

from ..conftest import ROOT, run_cli
from .test_cli_run import HEADERS, catalogue, read_sheet_rows, write_csv, write_xlsx

KEY = "content-sandbox-key-41"
SAMPLE = ROOT / "samples" / "courses.xlsx"


def content_sandbox(**options):
    return Sandbox(api="content", rate_limit=options.pop("rate_limit", 20), rate_window=2, api_key=KEY, seed=5,
                   **options)


def importer_cli(sandbox, command, *args):
    yes = ("--yes",) if command != "plan" else ()
    return run_cli(command, *args, "--base-url", sandbox.base_url, "--rate-limit", "600", *yes,
                   env={"TI_API_KEY": KEY}, timeout=240)


def writes(sandbox) -> int:
    by_method = sandbox.stats()["byMethod"]
    return by_method.get("POST", 0) + by_method.get("PUT", 0)


def sample_rows():
    """The sample's rows, Course Type and Published Status as the importer reads them (`Learning Path`
    is learning_path, `Published` published)."""
    sheet = openpyxl.load_workbook(SAMPLE).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    rows = [dict(zip(values[0], row, strict=True)) for row in values[1:] if any(row)]
    for row in rows:
        row["type"] = row["Course Type *"].strip().lower().replace(" ", "_")
        row["status"] = (row["Published Status"] or "").strip().lower()
    return rows


def test_the_sample_on_a_content_only_instance_with_no_option(tmp_path):
    source = shutil.copy(SAMPLE, tmp_path / "courses.xlsx")
    rows = sample_rows()
    takeable = [r for r in rows if r["type"] not in ("learning_path", "webinar")]
    with content_sandbox() as sandbox:
        done = importer_cli(sandbox, "run", source)
        assert done.returncode == 1, done.stdout + done.stderr  # the learning paths and webinars stay
        out = done.stdout
        # Said before anything is sent: the API, the columns that do not reach it, the rows it cannot take.
        before_sending = out[:out.index("[")] if "[" in out else out
        assert "speaking the content API" in before_sending
        assert "Not sent: Tags (G)" in before_sending and "Not sent: Is Free (I)" in before_sending
        assert "'learning_path' will not be sent" in before_sending and "'webinar' will not be sent" in before_sending
        assert "Spoken: the content API" in out
        stored = {c["title"]: c for c in sandbox.store.all()}
        shown = {c["title"]: sandbox.server.content.shown(c) for c in sandbox.store.all()}
        guide_requests = sandbox.stats()["byStatus"].get("404", 0)
    assert sorted(stored) == sorted(r["Title *"] for r in takeable)  # each once, nothing else
    kinds = {"course": "courseGroup", "video": "video", "article": "article", "scorm": "shareableContentObject",
             "xapi": "xApiObject"}
    for row in takeable:
        group = shown[row["Title *"]]
        assert group["kind"] == kinds[row["type"]]
        assert group["sku"] == (row["External ID"] or None)
        wanted = "published" if row["status"] == "published" else "draft"  # archived: a draft
        assert group["status"] == wanted, row
        assert "tags" not in stored[row["Title *"]] or stored[row["Title *"]]["tags"] == []
    assert guide_requests == 1  # the one read that found the guide's list is not here

    results = read_sheet_rows(tmp_path / "courses.results.xlsx")
    by_title = {c["title"]: c["id"] for c in stored.values()}
    for result in results:
        if result["Course Type *"].strip().lower().replace(" ", "_") in ("learning_path", "webinar"):
            assert result["status"] == "invalid" and "no kind for" in result["error_message"]
        else:
            assert result["status"] == "created" and result["course_id"] == by_title[result["Title *"]]
    run_sheet = dict(openpyxl.load_workbook(tmp_path / "courses.results.xlsx")["Run"].iter_rows(values_only=True))
    assert run_sheet["api"].startswith("the content API")


def test_a_sync_sends_two_updates_then_nothing_and_its_undo_restores_them(tmp_path):
    rows = catalogue(6, start=0)
    for row in rows:
        row[1] = "course"  # kinds the content API has
    source = write_xlsx(tmp_path / "courses.xlsx", rows)
    with content_sandbox(custom_fields=["hours"]) as sandbox:
        first = importer_cli(sandbox, "run", source)
        assert first.returncode == 0, first.stdout + first.stderr
        before = {c["id"]: dict(c) for c in sandbox.store.all()}
        rows[1][0] = "Course 001 (second edition)"
        rows[4][3] = "Ada Lovelace"  # authors
        edited = write_xlsx(tmp_path / "edited.xlsx", rows)
        plan = importer_cli(sandbox, "plan", edited, "--mode", "sync")
        assert "Plan: 0 to create, 2 to update, 4 unchanged" in plan.stdout, plan.stdout
        sent = writes(sandbox)
        synced = importer_cli(sandbox, "run", edited, "--mode", "sync", "--results", tmp_path / "sync.xlsx")
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert writes(sandbox) == sent + 2
        after = {c["id"]: c for c in sandbox.store.all()}
        changed = {i for i in after if after[i] != before[i]}
        assert sorted(after[i]["title"] for i in changed) == ["Course 001 (second edition)", "Course 004"]
        assert [after[i]["authors"] for i in changed if after[i]["title"] == "Course 004"] == [["Ada Lovelace"]]

        again = importer_cli(sandbox, "run", edited, "--mode", "sync")
        assert again.returncode == 0 and writes(sandbox) == sent + 2, again.stdout  # then nothing

        undo = importer_cli(sandbox, "undo", tmp_path / "sync.xlsx")
        assert undo.returncode == 0, undo.stdout + undo.stderr
        assert "restore 2 updated courses" in undo.stdout
        restored = {c["id"]: c for c in sandbox.store.all()}
        for course_id, course in before.items():
            assert {k: v for k, v in restored[course_id].items() if k != "updatedAt"} == \
                   {k: v for k, v in course.items() if k != "updatedAt"}


def test_lost_replies_and_503s_make_no_duplicate_and_publish_every_published_row(tmp_path):
    rows = [[f"Course {i:03}", ["course", "video", "article"][i % 3], f"EXT-{i:05}" if i % 2 else "",
             ["published", "draft"][i % 2]] for i in range(16)]
    source = write_csv(tmp_path / "courses.csv", rows, ["Title", "Course Type", "External ID", "Published Status"])
    with content_sandbox(drop_rate=0.2, fail_rate=0.2, rate_limit=100) as sandbox:
        done = run_cli("run", source, "--base-url", sandbox.base_url, "--rate-limit", "3000", "--yes",
                       "--max-retries", "8", env={"TI_API_KEY": KEY}, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        stats = sandbox.stats()
        assert stats["dropped"] >= 3 and stats["failed"] >= 3, stats
        courses = sandbox.store.all()
    assert sorted(Counter(c["title"] for c in courses).items()) == [(f"Course {i:03}", 1) for i in range(16)]
    status = {c["title"]: c["publishedStatus"] for c in courses}
    assert status == {f"Course {i:03}": ["published", "draft"][i % 2] for i in range(16)}
    results = read_sheet_rows(tmp_path / "courses.results.xlsx")
    ids = {c["title"]: c["id"] for c in courses}
    assert all(r["status"] == "created" and r["course_id"] == ids[r["Title"]] for r in results)


@pytest.mark.parametrize(("answer", "shape", "items"), [("job", "data", "full"), ("list", "courseGroups", "full"),
                                                         ("object", "nested", "summary")])
def test_every_answer_shape_the_evidence_shows(tmp_path, answer, shape, items):
    source = write_csv(tmp_path / "courses.csv", [[f"C{i}", "video", f"E{i}"] for i in range(5)],
                       ["Title", "Course Type", "External ID"])
    with content_sandbox(content_create_answer=answer, content_list_shape=shape, content_list_items=items) as sandbox:
        done = importer_cli(sandbox, "run", source)
        assert done.returncode == 0, done.stdout + done.stderr
        ids = {c["externalId"]: c["id"] for c in sandbox.store.all()}
        assert sorted(ids) == [f"E{i}" for i in range(5)]
        results = read_sheet_rows(tmp_path / "courses.results.xlsx")
        assert [r["course_id"] for r in results] == [ids[f"E{i}"] for i in range(5)]
        again = importer_cli(sandbox, "run", source, "--mode", "sync")  # read back in that shape: nothing to do
        assert "Plan: 0 to create, 0 to update, 5 unchanged" in again.stdout, again.stdout


def test_the_fixed_failures_file_completes_the_import(tmp_path):
    rows = catalogue(3)  # course, Video, Learning Path
    source = write_xlsx(tmp_path / "courses.xlsx", rows)
    with content_sandbox(custom_fields=["hours"]) as sandbox:
        first = importer_cli(sandbox, "run", source)
        assert first.returncode == 1
        failures = tmp_path / "courses.failures.xlsx"
        book = openpyxl.load_workbook(failures)
        sheet = book["Courses"]
        assert sheet["B2"].value == "Learning Path"
        sheet["B2"] = "article"
        book.save(failures)
        fixed = importer_cli(sandbox, "run", failures)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert sorted(c["externalId"] for c in sandbox.store.all()) == ["EXT-00000", "EXT-00001", "EXT-00002"]
    assert list(read_sheet_rows(tmp_path / "courses.failures.results.xlsx")[0])[:len(HEADERS)] == HEADERS


def test_the_guides_api_asked_of_a_content_instance_says_so_and_stops(tmp_path):
    source = write_csv(tmp_path / "courses.csv", [[f"C{i}", "video", f"E{i}"] for i in range(5)],
                       ["Title", "Course Type", "External ID"])
    with content_sandbox() as sandbox:
        done = importer_cli(sandbox, "run", source, "--api", "guide")
        posts = sandbox.stats()["byMethod"].get("POST", 0)
        assert sandbox.store.all() == []
    assert done.returncode == 1 and posts == 1, done.stdout + done.stderr  # one 404, then the run stops
    assert "nothing is wrong in the cells" in done.stdout and "--api auto" in done.stdout
    assert "fix the cells" not in done.stdout
    assert Counter(r["status"] for r in read_sheet_rows(tmp_path / "courses.results.xlsx")) == {"not_attempted": 5}


def test_an_instance_that_answers_neither_api_stops_before_anything_is_sent(tmp_path):
    from ..hostile_server import HostileServer

    source = write_csv(tmp_path / "courses.csv", [["C1", "video", "E1"]], ["Title", "Course Type", "External ID"])
    with HostileServer(list_shape="data") as server:  # answers every list as {"data": [...], "next": null}
        done = run_cli("run", source, "--base-url", server.base_url, "--yes", env={"TI_API_KEY": "k"})
        assert done.returncode == 2, done.stdout + done.stderr
        assert "answers neither the guide's course list" in done.stderr and "Traceback" not in done.stderr
        assert [m for m, _ in server.requests if m != "GET"] == []


def test_a_stop_between_a_create_and_its_release_keeps_the_course_id(tmp_path):
    """The content API creates a draft, then releases it: a stop asked for in between ends the run
    before the release, and the created course is in the results with its id, saying what is left."""
    import importer

    source = write_csv(tmp_path / "c.csv", [["Published one", "course", "E1", "published"]],
                       ["Title", "Course Type", "External ID", "Published Status"])
    with content_sandbox(rate_limit=100) as sandbox, \
            importer.connect(sandbox=sandbox, state_dir=tmp_path / "state", rate_limit=6000) as target:
        planned = importer.plan(importer.validate(source), target)
        api = target.importer.api
        create = api.create

        def create_then_stop(payload):  # the stop arrives while the create's answer comes back
            reply = create(payload)
            target.importer.stop.set()
            return reply

        api.create = create_then_stop
        result = importer.apply(planned)
        stored = sandbox.store.all()
    [outcome] = result.outcomes
    assert outcome.status == "created" and outcome.course_id == stored[0]["id"]
    assert outcome.error_code == "NOT_COMPLETED" and "--mode sync" in outcome.error_message
    assert stored[0]["publishedStatus"] == "draft"
