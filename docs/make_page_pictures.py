"""The README's pictures of the page, one a step, taken from a real browser: `importer ui` started
as a user starts it, Debian's headless chromium driven by Selenium through each step.

    python docs/make_page_pictures.py        (needs chromium and chromium-driver, as the browser tests)
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def until(driver, condition, seconds=60):
    return WebDriverWait(driver, seconds, poll_frequency=0.1).until(
        lambda d: d.execute_script("return document.readyState") == "complete" and condition(d))


def shoot(driver, name: str) -> None:
    height = driver.execute_script("return Math.min(document.body.scrollHeight, 1600)")
    driver.set_window_size(1300, max(height + 40, 500))
    driver.save_screenshot(str(HERE / f"page-{name}.png"))
    print(f"docs/page-{name}.png")


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        process = subprocess.Popen([sys.executable, "-m", "importer", "ui", "--port", "0", "--no-browser",
                                    "--state-dir", str(folder / "state")], stdout=subprocess.PIPE, text=True,
                                   cwd=folder)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
        deadline = time.monotonic() + 30
        while not any(line.startswith("Open ") for line in lines):
            if time.monotonic() > deadline:
                raise SystemExit("the page did not start")
            time.sleep(0.05)
        address = next(line.split(" ", 1)[1].strip() for line in lines if line.startswith("Open "))
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1300,900",
                         f"--user-data-dir={folder / 'profile'}"):
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            walk(driver, address, folder)
        finally:
            driver.quit()
            process.terminate()
            process.wait(timeout=60)
    return 0


def walk(driver, address: str, folder: Path) -> None:
    driver.get(address)  # a launch address opens the page once; the page's own address is kept
    until(driver, lambda d: d.find_elements(By.ID, "file"))
    home = driver.current_url
    shoot(driver, "1-file")

    export = folder / "lms_export.csv"
    with open(export, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["shortname", "fullname", "summary", "idnumber", "format", "teacher"])
        writer.writerow(["NEG1", "Negotiation basics", "Learn to negotiate", "ID1", "online", "Ana Ruiz"])
        writer.writerow(["NEG2", "Advanced negotiation", "Harder cases", "ID2", "classroom", "Li Wei"])
    driver.find_element(By.ID, "file").send_keys(str(export))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    until(driver, lambda d: d.find_elements(By.ID, "columns-form"))
    Select(driver.find_element(By.ID, "column-courseType")).select_by_visible_text("format")
    values = driver.find_element(By.CSS_SELECTOR, 'fieldset[data-field="courseType"]:not([hidden])')
    Select(values.find_element(By.CSS_SELECTOR, 'select[aria-label="Course Type for online"]')).select_by_visible_text(
        "course")
    Select(values.find_element(By.CSS_SELECTOR, 'select[aria-label="Course Type for classroom"]')) \
        .select_by_visible_text("webinar")
    until(driver, lambda d: d.find_elements(By.ID, "preview-table"))  # the preview follows the choices
    shoot(driver, "2-columns")

    driver.get(home)
    until(driver, lambda d: d.find_elements(By.ID, "file"))
    driver.find_element(By.ID, "file").send_keys(str(ROOT / "samples" / "courses-with-mistakes.xlsx"))
    driver.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    until(driver, lambda d: d.find_elements(By.ID, "invalid-count"))
    shoot(driver, "3-check")
    Select(driver.find_element(By.CSS_SELECTOR, 'select[data-cell="4-1"]')).select_by_value("video")  # in place
    until(driver, lambda d: d.find_element(By.ID, "invalid-count").text == "12")
    driver.find_element(By.LINK_TEXT, "Next: choose the target").click()
    until(driver, lambda d: d.find_elements(By.ID, "target-form"))
    shoot(driver, "4-target")
    driver.find_element(By.CSS_SELECTOR, "#target-form button").click()
    until(driver, lambda d: d.find_elements(By.ID, "plan-summary"))
    shoot(driver, "5-plan")
    driver.find_element(By.CSS_SELECTOR, "#import-form button").click()
    until(driver, lambda d: int(d.find_element(By.ID, "bar").get_attribute("value") or 0) >= 2)
    shoot(driver, "6-import")
    until(driver, lambda d: d.find_elements(By.ID, "results"))
    shoot(driver, "7-results")


if __name__ == "__main__":
    sys.exit(main())
