"""The page through Starlette's test client (issue 21): the token, Host and Origin rules, and the
steps — a file with mistakes fixed in place, planned and imported on the page's sandbox, its
downloads; a foreign export through the mapping screen; the key in no file, log or page."""

import csv
import re
import time

import openpyxl
import pytest
from starlette.testclient import TestClient

from importer.sandbox import Sandbox
from importer.ui.app import create_app
from importer.ui.session import Session

from ..conftest import ROOT

PORT = 8766
BASE = f"http://127.0.0.1:{PORT}"
ORIGIN = {"Origin": BASE}
TOKEN = "test-token-" + "x" * 32


@pytest.fixture
def session(tmp_path):
    made = Session(tmp_path / "state")
    yield made
    made.close()


@pytest.fixture
def client(session):
    app = create_app(session, token=TOKEN, port_of=lambda: PORT)
    with TestClient(app, base_url=BASE, follow_redirects=False) as raw:
        yield raw


class Page:
    """The test client as the person's browser, once it has opened the launch address: it holds the
    cookie, and asks for the page's paths under the page's secret path (`/s/<secret>`)."""

    def __init__(self, client, base: str):
        self.client, self.base = client, base

    def _url(self, path: str) -> str:
        return path if path.startswith(self.base) else self.base + path

    def get(self, path, **options):
        return self.client.get(self._url(path), **options)

    def post(self, path, **options):
        return self.client.post(self._url(path), **options)

    @property
    def cookies(self):
        return self.client.cookies


def where(reply) -> str:
    """Where a reply sends the browser, as a path of the page (its secret prefix left out)."""
    return re.sub(r"^/s/[^/]+", "", reply.headers["location"])


@pytest.fixture
def page(client):
    """A client that has opened the launch address: it holds the session's cookie."""
    opened = client.get(f"/?token={TOKEN}")
    assert opened.status_code == 303 and re.fullmatch(r"/s/[\w-]{20,}/", opened.headers["location"])
    return Page(client, opened.headers["location"].rstrip("/"))


def upload(page, path, name=None):
    with open(path, "rb") as handle:
        reply = page.post("/upload", files={"file": (name or path.name, handle.read())}, headers=ORIGIN)
    assert reply.status_code == 303, reply.text
    return where(reply)


def wait_for_run(page, run_url, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        status = page.get(f"{run_url}/status").json()
        if status["finished"]:
            return status
        assert time.monotonic() < deadline, f"the run did not finish within {timeout} s"
        time.sleep(0.05)


# --- security ----------------------------------------------------------------------------------

def test_without_the_token_everything_is_refused(client):
    for path in ("/", "/template", "/static/page.js", "/check/x"):
        assert client.get(path).status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.post("/upload", headers=ORIGIN).status_code == 403


def test_the_token_becomes_an_httponly_strict_cookie_and_leaves_the_address(client):
    opened = client.get(f"/?token={TOKEN}")
    cookie = opened.headers["set-cookie"]
    base = opened.headers["location"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert f"Path={base}" in cookie and TOKEN not in cookie  # the cookie goes to the page's path only
    home = client.get(base)
    assert home.status_code == 200 and TOKEN not in home.text and TOKEN not in base


def test_another_host_is_refused_even_with_the_token(page):
    for host in ("evil.example", "127.0.0.1:9999", f"attacker.test:{PORT}"):
        assert page.get("/", headers={"Host": host}).status_code == 403


def test_a_change_from_another_origin_is_refused(page):
    for headers in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"}):
        assert page.post("/upload", headers=headers, files={"file": ("a.csv", b"x")}).status_code == 403
    assert page.get("/upload").status_code == 405  # a change is never a GET


# --- the steps ------------------------------------------------------------------------------------

def test_the_sample_with_mistakes_fixed_in_place_planned_imported_and_downloaded(page, session, tmp_path):
    check_url = upload(page, ROOT / "samples" / "courses-with-mistakes.xlsx")
    assert check_url.startswith("/check/")
    shown = page.get(check_url).text
    assert 'id="invalid-count">13<' in shown and 'class="error"' in shown and 'class="warning"' in shown
    assert "Course Type is required." in shown

    # Row 4 has no Course Type: fix it in place, checked again at once.
    fixed = page.post(f"{check_url}/cell", data={"row": "4", "column": "1", "value": "video"}, headers=ORIGIN)
    assert fixed.status_code == 303
    shown = page.get(check_url).text
    assert 'id="invalid-count">12<' in shown
    errors_only = page.get(f"{check_url}?show=errors").text
    assert 'id="row-4"' not in errors_only and 'id="row-5"' in errors_only

    download = page.get(f"{check_url}/fixed")
    path = tmp_path / "fixed.xlsx"
    path.write_bytes(download.content)
    assert openpyxl.load_workbook(path).active["B4"].value == "video"
    assert page.get(f"{check_url}/report").status_code == 200

    upload_id = check_url.rsplit("/", 1)[1]
    assert where(page.post(f"/target/{upload_id}", data={"where": "sandbox", "mode": "create"},
                           headers=ORIGIN)) == f"/plan/{upload_id}"
    plan = page.get(f"/plan/{upload_id}").text
    assert "Plan: 6 to create" in plan and "12 invalid" in plan and "Nothing has been sent" in plan
    assert session.sandbox.store.all() == []  # nothing before Import
    run_url = where(page.post(f"/import/{upload_id}", headers=ORIGIN))
    status = wait_for_run(page, run_url)
    assert status["counts"] == {"created": 6} and status["done"] == status["total"] == 6

    results = page.get(run_url).text
    assert "<progress" in results and "Fix the failures" in results and "Undo this run" in results
    assert "created: <strong>6</strong>" in results and "invalid: <strong>12</strong>" in results
    ids = set(re.findall(r"crs_[0-9a-f]+", results))
    assert ids == {c["id"] for c in session.sandbox.store.all()}
    links = dict(re.findall(r'href="/s/[^"]+/run/[^"]+/file/([^"]+)">Download ([^<]+)</a>', results))
    assert links == {"results": "courses-with-mistakes.results.xlsx",
                     "failures": "courses-with-mistakes.failures.xlsx", "log": "courses-with-mistakes.log.jsonl"}
    workbook = tmp_path / "results.xlsx"
    workbook.write_bytes(page.get(f"{run_url}/file/results").content)
    statuses = [r[-5] for r in openpyxl.load_workbook(workbook)["Results"].iter_rows(min_row=2, values_only=True)]
    assert statuses.count("created") == 6 and statuses.count("invalid") == 12

    # Fix the failures: the failures file comes back to the check page.
    again = where(page.post(f"{run_url}/fix", headers=ORIGIN))
    assert again.startswith("/check/") and 'id="invalid-count">12<' in page.get(again).text

    # Undo this run: planned, asked, done.
    undo_plan = page.get(f"{run_url}/undo").text
    assert "archive 6 created courses" in undo_plan
    undo_url = where(page.post(f"{run_url}/undo", headers=ORIGIN))
    wait_for_run(page, undo_url)
    assert {c["publishedStatus"] for c in session.sandbox.store.all()} == {"archived"}


def test_a_foreign_export_through_the_mapping_screen(page, session, tmp_path):
    export = tmp_path / "catalogue_export.csv"
    with open(export, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["course_id", "course_title", "summary", "format", "price"])
        writer.writerow(["101", "Negotiation basics", "Learn to negotiate", "Self-paced", "20"])
        writer.writerow(["102", "Advanced negotiation", "Harder cases", "Live", "40"])
    columns_url = upload(page, export)
    assert columns_url.startswith("/columns/")
    screen = page.get(columns_url).text
    assert re.search(r'name="column-title".*?<option value="1" selected>course_title', screen, re.S)
    assert re.search(r'name="column-externalId".*?<option value="0" selected>course_id', screen, re.S)
    assert "Negotiation basics" in screen  # sample values beside the fields
    form = {"column-title": "1", "column-externalId": "0", "column-description": "2", "column-courseType": "3",
            "source-courseType-3-0": "Self-paced", "target-courseType-3-0": "course",
            "source-courseType-3-1": "Live", "target-courseType-3-1": "webinar",
            "custom-4": "on", "custom-key-4": "price", "map_name": "catalogue"}
    check_url = where(page.post(columns_url, data=form, headers=ORIGIN))
    shown = page.get(check_url).text
    assert 'id="valid-count">2<' in shown and 'id="invalid-count">0<' in shown
    saved = session.maps_dir / "catalogue.map.toml"
    assert saved.exists() and 'courseType = { column = "format"' in saved.read_text(encoding="utf-8")
    upload_id = check_url.rsplit("/", 1)[1]
    page.post(f"/target/{upload_id}", data={"where": "sandbox"}, headers=ORIGIN)
    assert "Plan: 2 to create" in page.get(f"/plan/{upload_id}").text
    wait_for_run(page, where(page.post(f"/import/{upload_id}", headers=ORIGIN)))
    by_ext = {c["externalId"]: c for c in session.sandbox.store.all()}
    assert by_ext["102"]["courseType"] == "webinar" and by_ext["101"]["customFields"] == {"price": 20}
    assert "catalogue.map.toml" in page.get("/").text  # offered next time


def test_a_large_change_is_confirmed_by_typing_its_number(page, session, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("Title,Course Type\n" + "".join(f"Course {i},course\n" for i in range(120)), encoding="utf-8")
    upload_id = upload(page, path).rsplit("/", 1)[1]
    page.post(f"/target/{upload_id}", data={"where": "sandbox"}, headers=ORIGIN)
    assert "Type 120 to confirm" in page.get(f"/plan/{upload_id}").text
    refused = page.post(f"/import/{upload_id}", data={"confirm": "12"}, headers=ORIGIN)
    assert refused.status_code == 400 and session.sandbox.store.all() == []


def test_the_key_is_in_no_file_log_or_page(page, session, tmp_path):
    key = "page-secret-key-0123456789abcdef"
    with Sandbox(api_key=key) as platform:
        source = tmp_path / "five.csv"
        source.write_text("Title,Course Type\n" + "".join(f"Course {i},course\n" for i in range(5)), encoding="utf-8")
        upload_id = upload(page, source).rsplit("/", 1)[1]
        bad = page.post(f"/target/{upload_id}", data={"where": "platform", "address": platform.base_url,
                                                        "api_key": "wrong-key"}, headers=ORIGIN)
        assert bad.status_code == 400 and "refused" in bad.text and "wrong-key" not in bad.text
        chosen = page.post(f"/target/{upload_id}", data={"where": "platform", "address": platform.base_url,
                                                           "api_key": key}, headers=ORIGIN)
        assert chosen.status_code == 303
        pages = [page.get(f"/plan/{upload_id}").text]
        run_url = where(page.post(f"/import/{upload_id}", headers=ORIGIN))
        wait_for_run(page, run_url, timeout=120)
        pages += [page.get(run_url).text, page.get("/").text, page.get(f"/check/{upload_id}").text]
        assert len(platform.store.all()) == 5
    assert all(key not in text for text in pages)
    assert all(key not in cookie.value for cookie in page.cookies.jar)
    for path in session.state_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_the_pages_import_on_the_content_api(page, session, tmp_path):
    """The page's sandbox speaking the content API: the plan names it and what will not reach it, the
    import creates what it can take, and the undo lists the created courses for the admin screens."""
    source = tmp_path / "mixed.csv"
    source.write_text("Title,Course Type,Tags,Published Status\nIntro,course,api,published\nClip,video,,draft\n"
                      "Live session,webinar,,published\n", encoding="utf-8")
    upload_id = upload(page, source).rsplit("/", 1)[1]
    chosen = page.post(f"/target/{upload_id}", data={"where": "sandbox", "api": "content"}, headers=ORIGIN)
    assert chosen.status_code == 303 and session.sandbox.config.api == "content"
    plan = page.get(f"/plan/{upload_id}").text
    assert "Plan: 2 to create" in plan and "1 invalid" in plan
    assert "Speaking the content API" in plan and "Tags (C): not sent" in plan and "no kind for a webinar" in plan
    run_url = page.post(f"/import/{upload_id}", headers=ORIGIN).headers["location"]
    status = wait_for_run(page, run_url, timeout=120)
    assert status["counts"] == {"created": 2}
    stored = {c["title"]: c["publishedStatus"] for c in session.sandbox.store.all()}
    assert stored == {"Intro": "published", "Clip": "draft"}
    assert "speaking the content API" in page.get(run_url).text
    undo_plan = page.get(f"{run_url}/undo").text
    assert "2 created courses to archive by hand" in undo_plan and "archive_by_hand" in undo_plan


def test_the_columns_screen_inverts_is_paid_takes_a_wide_form_and_an_address_without_its_scheme(page, session,
                                                                                             tmp_path):
    """Wrong data or a dead end before (issue 27): is_paid mapped to Is Free was not inverted; a wide
    export's columns screen answered "Too many fields"; an address typed as host:port was refused."""
    export = tmp_path / "udemy_like.csv"
    headers = ["course_id", "course_title", "is_paid", "level", "subject"] + [f"extra{i}" for i in range(7)]
    with open(export, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for i in range(20):
            writer.writerow([f"{1000 + i}", f"Course {i}", ["True", "False"][i % 2], f"Level {i % 20}",
                             f"Subject {i}"] + [f"v{i}-{j}" for j in range(7)])
    columns_url = upload(page, export)
    screen = page.get(columns_url).text
    # The form as the browser sends it: every field, each select at what the page selected.
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', screen))
    for name, options in re.findall(r'<select (?:id="[^"]*" )?name="([^"]+)"[^>]*>(.*?)</select>', screen, re.S):
        picked = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)</option>', options)
        form[name] = (picked.group(1) if picked.group(1) is not None else picked.group(2)) if picked else ""
    form["column-courseType"] = ""
    form["value-courseType"] = "course"
    assert len(form) > 1000  # more fields than Starlette takes by default
    chosen = page.post(columns_url, data=form, headers=ORIGIN)
    assert chosen.status_code == 303, re.search(r'role="alert">([^<]*)', chosen.text).group(1)
    saved = next(session.maps_dir.glob("*.map.toml")).read_text(encoding="utf-8")
    assert '"True" = false' in saved and '"False" = true' in saved  # a paid course is not free
    upload_id = where(chosen).rsplit("/", 1)[1]
    free = {r.payload["externalId"]: r.payload["isFree"] for r in session.upload(upload_id).validation.rows}
    assert free["1000"] is False and free["1001"] is True  # what will be sent: paid is not free
    with Sandbox(api_key="k") as platform:
        port = platform.base_url.rsplit(":", 1)[1]
        typed = page.post(f"/target/{upload_id}", data={"where": "platform", "address": f"127.0.0.1:{port}",
                                                          "api_key": "k"}, headers=ORIGIN)
        assert typed.status_code == 303, typed.text[:300]
        assert "Plan: 20 to create" in page.get(f"/plan/{upload_id}").text


def test_start_from_what_the_platform_holds(page, session, tmp_path):
    """The first step's export: the platform's courses as the template, downloaded, then given back."""
    with Sandbox(api_key="k") as platform:
        for i in range(3):
            platform.store.create({"title": f"Held {i}", "courseType": "video", "externalId": f"00{i}"})
        port = platform.base_url.rsplit(":", 1)[1]
        reply = page.post("/export", data={"where": "platform", "address": f"127.0.0.1:{port}", "api_key": "k"},
                          headers=ORIGIN)
        assert reply.status_code == 200 and "127.0.0.1-" in reply.headers["content-disposition"]
        path = tmp_path / "held.xlsx"
        path.write_bytes(reply.content)
        rows = list(openpyxl.load_workbook(path)["Courses"].iter_rows(min_row=2, values_only=True))
        assert sorted((r[0], r[7]) for r in rows) == [("Held 0", "000"), ("Held 1", "001"), ("Held 2", "002")]
        upload_id = upload(page, path).rsplit("/", 1)[1]  # given back to the same platform: nothing to send
        plan = page.get(f"/plan/{upload_id}").text
        assert "Plan: 0 to create, 0 to update, 0 unchanged, 3 already there" in plan, plan[:2000]


def test_the_drafts_of_an_import_are_published_from_its_results_and_the_publish_undone(page, session, tmp_path):
    source = tmp_path / "drafts.csv"
    source.write_text("Title,Course Type,External ID,Published Status\nOne,course,P-1,draft\nTwo,video,P-2,draft\n"
                      "Three,article,P-3,published\n", encoding="utf-8")
    upload_id = upload(page, source).rsplit("/", 1)[1]
    assert page.post(f"/target/{upload_id}", data={"where": "sandbox"}, headers=ORIGIN).status_code == 303
    assert "Plan: 3 to create" in page.get(f"/plan/{upload_id}").text
    run_url = page.post(f"/import/{upload_id}", headers=ORIGIN).headers["location"]
    assert wait_for_run(page, run_url)["counts"] == {"created": 3}
    assert "Publish the drafts it created" in page.get(run_url).text

    preview = page.get(f"{run_url}/publish").text
    assert "Publish: publish 2 drafts, 1 already published" in preview and "Publish 2 courses" in preview
    refused = page.post(f"{run_url}/publish", headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    published_url = page.post(f"{run_url}/publish", headers=ORIGIN).headers["location"]
    wait_for_run(page, published_url)
    assert {c["externalId"]: c["publishedStatus"] for c in session.sandbox.store.all()} == \
        {"P-1": "published", "P-2": "published", "P-3": "published"}
    shown = page.get(published_url).text
    assert "Publish: done" in shown and "Undo this publish" in shown
    workbook = page.get(f"{published_url}/file/results")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"

    assert "restore 2 updated courses" in page.get(f"{published_url}/undo").text
    undone_url = page.post(f"{published_url}/undo", headers=ORIGIN).headers["location"]
    wait_for_run(page, undone_url)
    assert {c["externalId"]: c["publishedStatus"] for c in session.sandbox.store.all()} == \
        {"P-1": "draft", "P-2": "draft", "P-3": "published"}
    assert "Nothing to publish" not in page.get(f"{run_url}/publish").text  # drafts again: publishable


def test_the_checked_file_onboarded_once_per_client_with_a_run_page_for_each(page, session, tmp_path):
    source = tmp_path / "template.csv"
    source.write_text("Title,Course Type,External ID,Tags\nWelcome,course,W-1,start\nTools,video,W-2,\n",
                      encoding="utf-8")
    upload_id = upload(page, source).rsplit("/", 1)[1]
    assert page.post(f"/target/{upload_id}", data={"where": "sandbox"}, headers=ORIGIN).status_code == 303
    assert 'id="onboard-form"' in page.get(f"/plan/{upload_id}").text

    bad = page.post(f"/onboard/{upload_id}", files={"file": ("clients.csv", b"Client,Client key,API key\nA,a,sk\n")},
                    headers=ORIGIN)
    assert bad.status_code == 400 and "never holds a key" in bad.text and "uploads" not in bad.text
    clients = b"Client,Client key,customFields.region\nAcme Corp,acme,EU\nGlobex,globex,US\n"
    planned = page.post(f"/onboard/{upload_id}", files={"file": ("clients.csv", clients)}, headers=ORIGIN)
    assert planned.status_code == 303 and where(planned) == f"/onboard/{upload_id}"
    shown = page.get(f"/onboard/{upload_id}").text
    assert "2 clients from clients.csv: 4 courses to create" in shown and "Acme Corp" in shown
    run_url = page.post(f"/onboard/{upload_id}/start", headers=ORIGIN).headers["location"]
    wait_for_run(page, run_url)
    titles = sorted(c["title"] for c in session.sandbox.store.all())
    assert titles == ["Tools (Acme Corp)", "Tools (Globex)", "Welcome (Acme Corp)", "Welcome (Globex)"]
    assert {c["externalId"]: c["customFields"].get("region") for c in session.sandbox.store.all()} == \
        {"acme-W-1": "EU", "acme-W-2": "EU", "globex-W-1": "US", "globex-W-2": "US"}
    results = page.get(run_url).text
    assert "Onboarding: done" in results and "created 2" in results
    rollup = page.get(f"{run_url}/file/rollup")
    assert rollup.status_code == 200 and rollup.content[:2] == b"PK"
    client_page = re.search(r'href="(/s/[^"]+/run/onboard-[^"]+-globex)"', results).group(1)
    assert "Undo this run" in page.get(client_page).text
    undone_url = page.post(f"{client_page}/undo", headers=ORIGIN).headers["location"]
    wait_for_run(page, undone_url)
    archived = sorted(c["title"] for c in session.sandbox.store.all() if c["publishedStatus"] == "archived")
    assert archived == ["Tools (Globex)", "Welcome (Globex)"]


def test_plan_and_results_read_as_sentences_titles_and_pages_not_a_silent_cut(page, session, tmp_path):
    source = tmp_path / "many.csv"
    rows = [f"Course {i:03},{'quizz' if i % 45 == 0 else 'course'},M-{i:03}" for i in range(450)]
    source.write_text("Title,Course Type,External ID\n" + "\n".join(rows) + "\n", encoding="utf-8")
    upload_id = upload(page, source).rsplit("/", 1)[1]
    assert page.post(f"/target/{upload_id}", data={"where": "sandbox", "sandbox_rate": "6000"},
                     headers=ORIGIN).status_code == 303
    plan = page.get(f"/plan/{upload_id}").text
    assert "440 courses will be created; 10 rows need you (errors or conflicts) and will not be sent — fix them " \
           "first?" in plan
    assert plan.count("<td>to create</td>") == 195 and "Rows 1–200 of 450" in plan  # 5 of them invalid
    reads = session.sandbox.stats()["byMethod"].get("GET", 0)
    last = page.get(f"/plan/{upload_id}?page=3").text
    assert "Rows 401–450 of 450" in last and "<td>Course 449</td>" in last
    invalid = page.get(f"/plan/{upload_id}?action=invalid").text
    assert invalid.count("<td>has errors</td>") == 10 and "quizz" in invalid
    assert session.sandbox.stats()["byMethod"].get("GET", 0) == reads  # paging reads nothing again

    page.get(f"/plan/{upload_id}")
    run_url = page.post(f"/import/{upload_id}", data={"confirm": "440"}, headers=ORIGIN).headers["location"]
    wait_for_run(page, run_url, timeout=120)
    results = page.get(run_url).text
    assert "<td>Course 001</td><td>created</td>" in results and "Rows 1–200 of 450" in results
    failed = page.get(f"{run_url}?status=invalid").text
    assert failed.count("<td>invalid</td>") == 10 and "Rows 1–10 of 10 invalid" in failed


def test_the_warnings_count_is_what_the_warnings_filter_shows(page, tmp_path):
    import importer

    sample = ROOT / "samples" / "courses-with-mistakes.xlsx"
    checked = importer.validate(sample)
    on_rows = [i for r in checked.rows for i in r.issues if not i.is_error]
    rows_warned = {i.row for i in on_rows}
    assert len(checked.file_issues) and len(on_rows) < checked.warning_count  # the file's own warning too
    check_url = upload(page, sample)
    shown = page.get(check_url).text
    assert f'<strong id="warning-count">{len(on_rows)}</strong>' in shown
    warned = page.get(f"{check_url}?show=warnings").text
    assert f'{len(rows_warned)} row' in re.search(r'<span id="shown-count">[^<]*</span>', warned).group(0)
    assert set(map(int, re.findall(r'<tr id="row-(\d+)"', warned))) == rows_warned


def test_the_mapping_screen_says_what_a_map_file_says(page, session, tmp_path):
    """A fallback column, a template, a pattern, a replace, a split on a pattern, a slug, a number and a
    text custom field, a value for every row: the map saved is the one `--map` reads, and the rows are
    sent as it says; a bad pattern comes back on the same screen, the choices kept."""
    export = tmp_path / "lms.csv"
    export.write_text("idnumber,shortname,fullname,url,teachers,students,code\n"
                      ",NEG-1,Negotiation basics,https://x.test/course/Neg_Basics?x=1,Ana Ruiz - Li Wei,480k,007\n"
                      "ID2,NEG-2,Advanced negotiation,https://x.test/course/Neg_Adv,Li Wei,\"1,250\",010\n",
                      encoding="utf-8")
    columns = upload(page, export)
    upload_id = columns.rsplit("/", 1)[1]
    assert columns.startswith("/columns/")
    form = {"column-title": "2", "value-courseType": "course", "column-externalId": "0", "fallback-externalId": "1",
            "column-slug": "3", "pattern-slug": r"/course/([^/?#]+)", "replace-from-slug": "_", "replace-to-slug": "-",
            "slugify-slug": "on", "column-authors": "4", "split-pattern-authors": r"\s+-\s+",
            "template-description": "{fullname} ({shortname})", "custom-5": "on", "custom-key-5": "students",
            "custom-number-5": "on", "custom-6": "on", "custom-key-6": "code", "custom-text-6": "on",
            "map_name": "lms"}
    bad = page.post(f"/columns/{upload_id}", data={**form, "pattern-slug": "/course/(["}, headers=ORIGIN)
    assert bad.status_code == 400 and "is not one" in bad.text and 'value="{fullname} ({shortname})"' in bad.text
    saved = page.post(f"/columns/{upload_id}", data=form, headers=ORIGIN)
    assert saved.status_code == 303 and where(saved) == f"/check/{upload_id}"
    text = (session.maps_dir / "lms.map.toml").read_text(encoding="utf-8")
    assert 'externalId = { columns = ["idnumber", "shortname"] }' in text
    assert 'split_pattern = "\\\\s+-\\\\s+"' in text and 'number = true' in text and 'text = true' in text
    result = session.upload(upload_id).validation
    first, second = (r.payload for r in result.rows)
    assert first["externalId"] == "NEG-1" and second["externalId"] == "ID2"
    assert first["slug"] == "neg-basics" and first["authors"] == ["Ana Ruiz", "Li Wei"]
    assert first["description"] == "Negotiation basics (NEG-1)"
    assert first["customFields"] == {"students": 480000, "code": "007"}
    assert second["customFields"]["students"] == 1250
    again = page.get(f"/columns/{upload_id}").text  # back from the check: every choice kept
    assert 'value="/course/([^/?#]+)"' in again and 'name="custom-number-5" class="live" checked' in again


def test_a_run_of_an_earlier_page_is_undone_after_connecting_to_its_target(page, session, tmp_path):
    """After a restart the page knows the run but holds no target: its undo asks to connect (the sandbox
    preselected for a rehearsal), then shows what it would do, then does it: no dead end."""
    source = tmp_path / "three.csv"
    source.write_text("Title,Course Type,External ID\nOne,course,R-1\nTwo,video,R-2\nThree,article,R-3\n",
                      encoding="utf-8")
    upload_id = upload(page, source).rsplit("/", 1)[1]
    assert page.post(f"/target/{upload_id}", data={"where": "sandbox"}, headers=ORIGIN).status_code == 303
    page.get(f"/plan/{upload_id}")
    run_url = where(page.post(f"/import/{upload_id}", headers=ORIGIN))
    assert wait_for_run(page, run_url)["counts"] == {"created": 3}
    session.close()  # the page's program ends; a new one starts on the same folder

    later = Session(session.state_dir)
    try:
        app = create_app(later, token=TOKEN, port_of=lambda: PORT)
        with TestClient(app, base_url=BASE, follow_redirects=False) as raw:
            opened = raw.get(f"/?token={TOKEN}")
            again = Page(raw, opened.headers["location"].rstrip("/"))
            assert "Open" in again.get("/").text and "three.csv" in again.get("/").text
            asked = again.get(f"{run_url}/undo").text
            assert 'id="connect-form"' in asked and 'id="where-sandbox" checked' in asked
            connected = again.post(f"{run_url}/connect", data={"where": "sandbox", "then": "undo"}, headers=ORIGIN)
            assert connected.status_code == 303 and where(connected) == f"{run_url}/undo"
            assert "archive 3 created courses" in again.get(f"{run_url}/undo").text
            undone = where(again.post(f"{run_url}/undo", headers=ORIGIN))
            wait_for_run(again, undone)
            assert {c["publishedStatus"] for c in later.sandbox.store.all()} == {"archived"}
    finally:
        later.close()
