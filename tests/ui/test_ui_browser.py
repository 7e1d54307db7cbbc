"""The page in a real browser (issue 21): Debian's chromium driven by Selenium, against
`importer ui` started as a user starts it. Explicit waits with deadlines, never sleeps.
Skipped, saying why, where chromium and its driver are not installed (.ci/run installs them)."""

import csv
import json
import os
import re
import shutil
import threading
from pathlib import Path

import openpyxl
import pytest

from ..conftest import ROOT, wait_until
from .pages import page_process

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="Debian's chromium and chromium-driver are not installed here "
                                       "(.ci/run installs them with apt-get)")
WAIT = 60  # seconds: the longest any step may take before the test fails


@pytest.fixture
def server(tmp_path):
    """`importer ui` as a subprocess; yields the address it printed (with its token)."""
    with page_process(tmp_path) as (_, address):
        yield address


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, what):
    """Until the page has loaded whole and `condition` holds (a page being replaced is waited out)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d):
        return d.execute_script("return document.readyState") == "complete" and condition(d)

    return WebDriverWait(driver, WAIT, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)) \
        .until(ready, message=f"waiting for {what}")


def text_of(driver, css):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css).text


def upload(driver, address, path):
    from selenium.webdriver.common.by import By

    driver.get(address)
    wait(driver, lambda d: d.find_elements(By.ID, "file"), "the file step")
    driver.find_element(By.ID, "file").send_keys(str(path))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()


def plan_and_import(driver):
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: d.find_elements(By.LINK_TEXT, "Next: choose the target"), "the check page")
    driver.find_element(By.LINK_TEXT, "Next: choose the target").click()
    wait(driver, lambda d: d.find_elements(By.ID, "target-form"), "the target step")
    driver.find_element(By.CSS_SELECTOR, "#target-form button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.ID, "plan-summary"), "the plan")
    summary = text_of(driver, "#plan-summary")
    driver.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
    return summary


def test_mistakes_fixed_in_place_then_planned_imported_and_downloaded(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    upload(browser, server, ROOT / "samples" / "courses-with-mistakes.xlsx")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'select[data-cell="4-1"]'), "the check page")
    assert text_of(browser, "#invalid-count") == "13"
    cell = browser.find_element(By.CSS_SELECTOR, 'select[data-cell="4-1"]')  # row 4, Course Type: a dropdown
    assert "error" in cell.find_element(By.XPATH, "ancestor::td").get_attribute("class")
    browser.execute_script("window.stayed = true")  # gone if the page were loaded again
    Select(cell).select_by_value("video")
    wait(browser, lambda d: text_of(d, "#invalid-count") == "12", "the fixed cell checked again")
    assert browser.execute_script("return window.stayed === true")  # in place: no page load
    fixed = browser.find_element(By.CSS_SELECTOR, 'select[data-cell="4-1"]').find_element(By.XPATH, "ancestor::td")
    assert "error" not in fixed.get_attribute("class")

    summary = plan_and_import(browser)
    assert summary.startswith("Plan: 6 to create") and "12 invalid" in summary
    wait(browser, lambda d: d.find_elements(By.ID, "results"), "the import to finish")
    bar = browser.find_element(By.ID, "bar")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "6"
    ids = set(re.findall(r"crs_[0-9a-f]+", text_of(browser, "table.results")))
    assert len(ids) == 6
    browser.find_element(By.PARTIAL_LINK_TEXT, "courses-with-mistakes.results.xlsx").click()
    browser.find_element(By.PARTIAL_LINK_TEXT, "courses-with-mistakes.failures.xlsx").click()
    results = browser.downloads / "courses-with-mistakes.results.xlsx"
    failures = browser.downloads / "courses-with-mistakes.failures.xlsx"
    wait_until(lambda: results.exists() and failures.exists(), timeout=WAIT, what="the two downloads")
    rows = list(openpyxl.load_workbook(results)["Results"].iter_rows(min_row=2, values_only=True))
    assert {r[-4] for r in rows if r[-5] == "created"} == ids
    assert len(list(openpyxl.load_workbook(failures).active.iter_rows(min_row=2))) == 12


def test_a_foreign_export_through_the_mapping_screen(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    export = tmp_path / "lms_export.csv"
    with open(export, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["shortname", "fullname", "summary", "idnumber", "format"])
        writer.writerow(["NEG1", "Negotiation basics", "Learn to negotiate", "ID1", "online"])
        writer.writerow(["NEG2", "Advanced negotiation", "Harder cases", "ID2", "classroom"])
    upload(browser, server, export)
    wait(browser, lambda d: d.find_elements(By.ID, "columns-form"), "the mapping screen")
    assert Select(browser.find_element(By.ID, "column-title")).first_selected_option.text == "fullname"
    assert Select(browser.find_element(By.ID, "column-externalId")).first_selected_option.text == "idnumber"
    Select(browser.find_element(By.ID, "column-courseType")).select_by_visible_text("format")
    fieldset = browser.find_element(By.CSS_SELECTOR, 'fieldset[data-field="courseType"][data-column="4"]')
    wait(browser, lambda d: fieldset.is_displayed(), "the values of format")
    Select(fieldset.find_element(By.CSS_SELECTOR, 'select[aria-label="Course Type for online"]')) \
        .select_by_visible_text("course")
    Select(fieldset.find_element(By.CSS_SELECTOR, 'select[aria-label="Course Type for classroom"]')) \
        .select_by_visible_text("webinar")
    browser.find_element(By.ID, "columns-submit").click()
    wait(browser, lambda d: d.find_elements(By.ID, "valid-count"), "the check page")
    assert text_of(browser, "#valid-count") == "2" and text_of(browser, "#invalid-count") == "0"
    assert "Not imported" in browser.page_source and "shortname" in browser.page_source
    assert plan_and_import(browser).startswith("Plan: 2 to create")
    wait(browser, lambda d: d.find_elements(By.ID, "results"), "the import to finish")
    assert "created 2" in text_of(browser, "#counts-line")


def test_reload_and_a_second_tab_follow_the_import_and_stop_ends_it(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    many = tmp_path / "many.csv"
    many.write_text("Title,Course Type\n" + "".join(f"Course {i:03},course\n" for i in range(80)), encoding="utf-8")
    upload(browser, server, many)
    plan_and_import(browser)
    wait(browser, lambda d: int(d.find_element(By.ID, "bar").get_attribute("value")) >= 2, "the import under way")
    run_url = browser.current_url
    browser.refresh()
    wait(browser, lambda d: int(d.find_element(By.ID, "bar").get_attribute("value")) >= 3, "progress after a reload")
    assert browser.find_element(By.ID, "bar").get_attribute("max") == "80"

    browser.switch_to.new_window("tab")
    browser.get(run_url)
    wait(browser, lambda d: int(d.find_element(By.ID, "bar").get_attribute("value")) >= 4, "progress in a second tab")
    browser.find_element(By.CSS_SELECTOR, "#stop-form button").click()
    wait(browser, lambda d: d.find_elements(By.ID, "results"), "the import to stop")
    assert "Stopped by you" in browser.page_source
    assert text_of(browser, "h1") == "Import: stopped" and not browser.find_elements(By.ID, "left")  # no time left
    done = int(browser.find_element(By.ID, "bar").get_attribute("value"))
    assert 4 <= done < 80
    statuses = re.findall(r"<td>(created|not attempted \(run it again\))</td>", browser.page_source)
    assert statuses.count("created") == done and len(statuses) - done == 80 - done
    browser.switch_to.window(browser.window_handles[0])
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "results"), "the first tab to show the end")


def test_without_the_token_the_browser_gets_nothing(server, browser):
    from selenium.webdriver.common.by import By

    bare = server.split("?", 1)[0]
    browser.get(bare)
    assert "Forbidden" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(bare + "?token=not-the-token")
    assert "Forbidden" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(server)
    wait(browser, lambda d: d.find_elements(By.ID, "file"), "the page with the token")
    assert "token=" not in browser.current_url  # the token left the address bar
    cookies = browser.get_cookies()
    assert cookies and all(c["httpOnly"] and c.get("sameSite") == "Strict" for c in cookies)


def test_another_local_server_is_sent_nothing_of_the_page_and_cannot_frame_it(server, browser):
    """A person with the page open visits another local web server (a dev server, a hostile program):
    it receives no cookie of the page, and a frame of the page stays empty."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from selenium.webdriver.common.by import By

    browser.get(server)
    wait(browser, lambda d: d.find_elements(By.ID, "file"), "the page")
    page_url = browser.current_url
    seen: list[dict] = []

    class Recorder(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append({"path": self.path, "cookie": self.headers.get("Cookie", "")})
            body = f'<!doctype html><title>other</title><iframe id="framed" src="{page_url}"></iframe>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    other = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{other.server_address[1]}/anything")
        wait(browser, lambda d: d.find_elements(By.ID, "framed"), "the other server's page")
        browser.switch_to.frame(browser.find_element(By.ID, "framed"))
        assert not browser.find_elements(By.ID, "file")  # the page refused to be framed
        browser.switch_to.default_content()
    finally:
        other.shutdown()
    assert seen and all("importer_session" not in request["cookie"] for request in seen), seen
    browser.get(server)  # the launch address again: spent
    assert "used once already" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(page_url)  # the page itself still opens in this browser
    wait(browser, lambda d: d.find_elements(By.ID, "file"), "the page again")


def test_a_killed_page_is_noticed_then_its_import_continued_without_a_duplicate(browser, tmp_path):
    """kill -9 of `importer ui` mid-import: the open tab says the program is gone and takes its Stop away;
    the page started again on the same folder lists the run as interrupted, and Continue finishes it with
    every course created once (the page's sandbox kept its courses in the state folder)."""
    import json

    from selenium.webdriver.common.by import By

    rows = 40
    source = tmp_path / "courses.csv"
    source.write_text("Title,Course Type,External ID\n" + "".join(f"Course {i:03},course,K-{i:03}\n"
                                                                   for i in range(rows)), encoding="utf-8")
    with page_process(tmp_path) as (process, address):
        upload(browser, address, source)
        plan_and_import(browser)
        wait(browser, lambda d: int(d.find_element(By.ID, "bar").get_attribute("value")) >= 3, "the import under way")
        process.kill()  # SIGKILL: no handler runs, no file is finished
        process.wait(timeout=30)
        wait(browser, lambda d: d.find_element(By.ID, "gone-banner").is_displayed(), "the tab to notice")
        assert "importer ui is no longer running" in text_of(browser, "#gone-banner")
        assert not browser.find_element(By.ID, "stop-form").is_displayed()

    with page_process(tmp_path) as (_, address):
        browser.get(address)
        wait(browser, lambda d: d.find_elements(By.ID, "runs"), "the runs on the home page")
        assert "interrupted" in text_of(browser, "#runs")
        browser.find_element(By.LINK_TEXT, "Continue or look").click()
        wait(browser, lambda d: d.find_elements(By.ID, "continue-form"), "the interrupted run's page")
        assert text_of(browser, "h1") == "Import: interrupted"
        browser.find_element(By.CSS_SELECTOR, "#continue-form button").click()
        wait(browser, lambda d: d.find_elements(By.ID, "continue-note"), "the target step, continuing")
        assert browser.find_element(By.ID, "where-sandbox").is_selected()
        assert not browser.find_element(By.ID, "address").is_displayed()  # the sandbox needs no address
        rate = browser.find_element(By.ID, "sandbox_rate")
        rate.clear()
        rate.send_keys("1200")
        browser.find_element(By.CSS_SELECTOR, "#target-form button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.ID, "plan-summary"), "the plan")
        summary = text_of(browser, "#plan-summary")
        created_before = int(re.search(r"(\d+) already there", summary).group(1))
        assert created_before >= 3 and f"{rows - created_before} to create" in summary
        browser.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
        wait(browser, lambda d: d.find_elements(By.ID, "results"), "the continued import to end")
        assert text_of(browser, "h1") == "Import: done"

    stored: dict = {}
    for line in (tmp_path / "state" / "sandbox" / "guide.jsonl").read_text(encoding="utf-8").splitlines():
        course = json.loads(line)
        stored[course["id"]] = course
    titles = sorted(c["title"] for c in stored.values())
    assert titles == [f"Course {i:03}" for i in range(rows)]  # each once


def test_fixing_at_scale_in_place_a_suggestion_a_bulk_replace_filters_and_a_grid_that_stays(server, browser,
                                                                                              tmp_path):
    """5,000 rows: a title fixed with Tab (its twin's colours change too, no page load), a "Did you mean"
    taken in one click, `quiz` replaced by `course` in 125 rows with the count shown first, filters by
    kind and by column, and the header row, row numbers and Title column kept in view when scrolling."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    source = tmp_path / "big.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Title", "Course Type", "External ID", "Description", "Tags", "Source", "Authors"])
        for i in range(5000):
            kind = "quiz" if i % 40 == 7 else "course"
            writer.writerow([f"Course {i:04}", kind, f"B-{i:04}", f"About course {i}", "a, b", "cms", "Jane Doe"])
    rows = list(csv.reader(source.open(encoding="utf-8")))
    rows[3][0] = rows[2][0]  # rows 3 and 4 of the sheet share a title
    rows[5][1] = "vidoe"  # row 6: a near miss
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)

    upload(browser, server, source)
    wait(browser, lambda d: d.find_elements(By.ID, "grid"), "the check page")
    assert text_of(browser, "#invalid-count") == "128"  # 125 quizzes, two twins, one near miss
    browser.execute_script("window.stayed = true")

    title = browser.find_element(By.CSS_SELECTOR, 'input[data-cell="4-0"]')
    title.send_keys(Keys.CONTROL, "a")  # selected, then typed over: one change, when the cell is left
    title.send_keys("Course 0002 (second)", Keys.TAB)
    wait(browser, lambda d: text_of(d, "#invalid-count") == "126", "both twins checked again")
    assert "invalid" not in browser.find_element(By.ID, "row-3").get_attribute("class")

    browser.find_element(By.XPATH, "//button[normalize-space()=\"Use 'video'\"]").click()
    wait(browser, lambda d: text_of(d, "#invalid-count") == "125", "the suggestion taken")
    assert browser.execute_script("return window.stayed === true")  # every fix in place

    browser.find_element(By.CSS_SELECTOR, "#replace summary").click()
    Select(browser.find_element(By.ID, "replace-column")).select_by_visible_text("Course Type")
    browser.find_element(By.ID, "replace-old").send_keys("quiz")
    browser.find_element(By.ID, "replace-new").send_keys("course")
    browser.find_element(By.CSS_SELECTOR, "#replace-form button").click()
    wait(browser, lambda d: d.find_elements(By.ID, "replace-preview"), "the count first")
    assert "125 cells of Course Type hold 'quiz'" in text_of(browser, "#replace-preview")
    assert text_of(browser, "#invalid-count") == "125"  # nothing changed yet
    browser.find_element(By.CSS_SELECTOR, "#replace-form button").click()
    wait(browser, lambda d: d.find_elements(By.ID, "replace-note"), "the replace")
    assert "Replaced 125 cells of Course Type" in text_of(browser, "#replace-note")
    assert text_of(browser, "#invalid-count") == "0"

    Select(browser.find_element(By.ID, "show")).select_by_value("all")
    browser.find_element(By.CSS_SELECTOR, "#filters button").click()
    wait(browser, lambda d: "5000 rows" in text_of(d, "#shown-count"), "every row shown")
    header = browser.find_element(By.CSS_SELECTOR, "#grid thead th:nth-child(3)")  # Course Type's
    number = browser.find_element(By.CSS_SELECTOR, "#row-40 th")
    title = browser.find_element(By.CSS_SELECTOR, "#row-40 td.title-col")
    before = (header.rect["y"], number.rect["x"], title.rect["x"])
    browser.execute_script("var w = document.querySelector('.grid-wrap'); w.scrollTop = 1500; w.scrollLeft = 600;")
    wait(browser, lambda d: d.execute_script("return document.querySelector('.grid-wrap').scrollLeft") > 0,
         "the grid scrolled")
    after = (header.rect["y"], number.rect["x"], title.rect["x"])  # header row, row numbers, titles: in view
    assert all(abs(a - b) < 2 for a, b in zip(after, before, strict=True)), (before, after)


REAL_UDEMY = Path(os.environ.get("IMPORTER_REAL_EXPORTS", ROOT.parent / "shared" / "exports")) / "udemy_courses.csv"


def udemy_like(path, rows=300):
    """An export in the shape of Udemy's (the public Kaggle file, when $IMPORTER_REAL_EXPORTS holds it, is
    used instead: 3,678 rows): is_paid True/False, urls holding the slug, subject and level."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["course_id", "course_title", "url", "is_paid", "price", "num_subscribers", "num_reviews",
                         "num_lectures", "level", "content_duration", "published_timestamp", "subject"])
        for i in range(rows):
            writer.writerow([1000 + i, f"Course number {i}", f"https://www.udemy.com/course_number_{i}/",
                             "False" if i % 4 == 0 else "True", 0 if i % 4 == 0 else 20, 10, 1, 5, "All Levels",
                             "1.5", "2017-01-18T20:58:58Z", "Business Finance"])
    return path


def test_an_udemy_export_through_the_mapping_screen_with_its_values_inverted_and_a_live_preview(server, browser,
                                                                                               tmp_path):
    """The mapping screen says what the map file says: a value for every row, is_paid inverted into Is Free,
    the slug taken out of the url by a pattern (the preview following as it is typed), a text replaced, tags
    joined from two columns; Check and back keeps every choice; the import sends Is Free inverted."""
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    export = REAL_UDEMY if REAL_UDEMY.is_file() else udemy_like(tmp_path / "udemy_courses.csv")
    with export.open(encoding="utf-8") as handle:
        source = list(csv.DictReader(handle))
    started = time.perf_counter()
    upload(browser, server, export)
    wait(browser, lambda d: d.find_elements(By.ID, "columns-form"), "the mapping screen")
    print(f"\ncolumns screen for {len(source)} rows: {time.perf_counter() - started:.2f} s")
    assert "unmapped" in browser.find_element(By.ID, "column-courseType").find_element(
        By.XPATH, "ancestor::tr").get_attribute("class")  # required, and nothing fills it yet
    Select(browser.find_element(By.NAME, "value-courseType")).select_by_visible_text("course")
    wait(browser, lambda d: "unmapped" not in d.find_element(By.ID, "column-courseType").find_element(
        By.XPATH, "ancestor::tr").get_attribute("class"), "Course Type filled")
    Select(browser.find_element(By.ID, "column-isFree")).select_by_visible_text("is_paid")
    values = browser.find_element(By.CSS_SELECTOR, 'fieldset[data-field="isFree"]:not([hidden])')
    paid = Select(values.find_element(By.CSS_SELECTOR, 'select[aria-label="Is Free for True"]'))
    assert paid.first_selected_option.text == "false"  # a paid course is not free: inverted, as the map does
    Select(browser.find_element(By.ID, "column-slug")).select_by_visible_text("url")
    browser.find_element(By.ID, "more-slug").find_element(By.TAG_NAME, "summary").click()
    browser.find_element(By.NAME, "pattern-slug").send_keys(r"udemy\.com/([^/?#]+)")
    browser.find_element(By.NAME, "replace-from-slug").send_keys("_")
    browser.find_element(By.NAME, "replace-to-slug").send_keys("-")
    first_slug = re.search(r"udemy\.com/([^/?#]+)", source[0]["url"]).group(1).replace("_", "-")
    wait(browser, lambda d: d.find_elements(By.ID, "preview-table") and first_slug in text_of(d, "#preview-table"),
         "the live preview of the slug")
    browser.find_element(By.ID, "more-tags").find_element(By.TAG_NAME, "summary").click()
    browser.find_element(By.NAME, "template-tags").send_keys("{subject}; {level}")
    wait(browser, lambda d: source[0]["subject"] in text_of(d, "#preview-table"), "the tags in the preview")
    free = "No" if source[0]["is_paid"] == "True" else "Yes"  # inverted: a paid course is not free
    assert free in [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#preview-table tbody tr:first-child td")]

    browser.find_element(By.ID, "columns-submit").click()
    wait(browser, lambda d: d.find_elements(By.ID, "valid-count"), "the check page")
    valid = int(text_of(browser, "#valid-count"))
    assert valid >= len(source) - 60, (valid, len(source))  # a real export repeats some rows and titles
    browser.back()  # back to the columns: every choice kept
    wait(browser, lambda d: d.find_elements(By.ID, "columns-form"), "the mapping screen again")
    assert browser.find_element(By.NAME, "pattern-slug").get_attribute("value") == r"udemy\.com/([^/?#]+)"
    assert browser.find_element(By.NAME, "template-tags").get_attribute("value") == "{subject}; {level}"
    browser.find_element(By.ID, "columns-submit").click()
    wait(browser, lambda d: d.find_elements(By.LINK_TEXT, "Next: choose the target"), "the check page again")
    browser.find_element(By.LINK_TEXT, "Next: choose the target").click()
    wait(browser, lambda d: d.find_elements(By.ID, "target-form"), "the target step")
    rate = browser.find_element(By.ID, "sandbox_rate")
    rate.clear()
    rate.send_keys("100000")
    browser.find_element(By.CSS_SELECTOR, "#target-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "plan-summary"), "the plan")
    confirm = browser.find_elements(By.ID, "confirm")
    if confirm:
        confirm[0].send_keys(re.search(r"This changes (\d+) courses", browser.page_source).group(1))
    browser.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "results"), "the import to finish")
    stored = {}
    for line in (tmp_path / "state" / "sandbox" / "guide.jsonl").read_text(encoding="utf-8").splitlines():
        course = json.loads(line)
        stored[course["id"]] = course
    paid_by_id = {row["course_id"]: row["is_paid"] for row in source}
    assert len(stored) == valid
    assert all(c["isFree"] == (paid_by_id[c["externalId"]] == "False") for c in stored.values())
    assert any(c["isFree"] for c in stored.values()) and not all(c["isFree"] for c in stored.values())


def test_errors_on_their_step_the_stepper_the_back_button_and_a_narrow_window(server, browser):
    """A wrong address is said on the target step with what was typed kept (never the key); the stepper
    links back to the steps done; after an import the back button shows the plan read again (the courses
    are there now), never a stale 'nothing sent'; at 800 wide the page does not overflow sideways."""
    from selenium.webdriver.common.by import By

    browser.set_window_size(800, 900)
    upload(browser, server, ROOT / "samples" / "courses.xlsx")
    wait(browser, lambda d: d.find_elements(By.LINK_TEXT, "Next: choose the target"), "the check page")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 800
    browser.find_element(By.LINK_TEXT, "Next: choose the target").click()
    wait(browser, lambda d: d.find_elements(By.ID, "target-form"), "the target step")
    assert not browser.find_element(By.ID, "address").is_displayed()  # the sandbox is chosen: no address asked
    browser.find_element(By.ID, "where-platform").click()
    browser.find_element(By.ID, "address").send_keys("ac me")
    browser.find_element(By.ID, "api_key").send_keys("not-a-real-key")
    browser.find_element(By.CSS_SELECTOR, "#target-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "target-error"), "the error on the target step")
    assert "'ac me' is not a domain or an address" in text_of(browser, "#target-error")
    assert "--domain" not in browser.page_source and "not-a-real-key" not in browser.page_source
    assert browser.find_element(By.ID, "address").get_attribute("value") == "ac me"
    assert browser.find_element(By.ID, "api_key").get_attribute("value") == ""

    browser.find_element(By.ID, "where-sandbox").click()
    browser.find_element(By.CSS_SELECTOR, "#target-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "plan-summary"), "the plan")
    assert text_of(browser, "#plan-headline").startswith("28 courses will be created")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 800
    browser.find_element(By.LINK_TEXT, "3. Check").click()  # the stepper goes back to a step done
    wait(browser, lambda d: d.find_elements(By.ID, "grid") or d.find_elements(By.LINK_TEXT, "Next: choose the target"),
         "the check step again")
    browser.find_element(By.LINK_TEXT, "4. Target").click()
    wait(browser, lambda d: d.find_elements(By.ID, "target-form"), "the target step again")
    assert browser.find_element(By.ID, "where-sandbox").is_selected()  # what was chosen is kept
    rate = browser.find_element(By.ID, "sandbox_rate")
    rate.clear()
    rate.send_keys("6000")  # a rehearsal at a quicker pace
    browser.find_element(By.CSS_SELECTOR, "#target-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "import-form"), "the plan again")
    browser.find_element(By.CSS_SELECTOR, "#import-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "results"), "the import to finish")
    browser.back()
    wait(browser, lambda d: d.find_elements(By.ID, "plan-summary"), "the plan, after the back button")
    assert "28 already there" in text_of(browser, "#plan-summary")  # read again, not the page from before
    assert not browser.find_elements(By.ID, "import-form")  # nothing left to send
