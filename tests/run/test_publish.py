"""`importer publish` end to end: the CLI as a subprocess against the sandbox, on both APIs.

A run creates drafts; publish takes every course it created, or the rows named; its own results
file is undone back to draft (on the guide's API); running it again sends nothing."""

from collections import Counter

import openpyxl

from importer.sandbox import Sandbox

from ..conftest import run_cli

KEY = "publish-test-key"


def write(path, n):
    lines = ["Title,Course Type,External ID,Published Status"]
    lines += [f"Draft {i},course,D-{i},draft" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*args, input=None):
    return run_cli(*args, env={"TI_API_KEY": KEY}, input=input)


def statuses(sandbox):
    return {c["externalId"]: c["publishedStatus"] for c in sandbox.store.all()}


def puts(sandbox):
    return sandbox.stats()["byMethod"].get("PUT", 0)


def test_publish_the_drafts_a_run_created_then_undo_back_to_draft(tmp_path):
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY, seed=4) as sandbox:
        target = ("--base-url", sandbox.base_url, "--rate-limit", "600")
        made = cli("run", write(tmp_path / "drafts.csv", 6), *target, "--yes")
        assert made.returncode == 0, made.stderr
        results = tmp_path / "drafts.results.xlsx"
        assert set(statuses(sandbox).values()) == {"draft"}

        no = cli("publish", results, *target, "--rows", "2,4-5", input="n\n")  # no terminal: refused
        assert no.returncode == 2 and "--yes" in no.stderr and puts(sandbox) == 0
        bad = cli("publish", results, *target, "--rows", "2,x", "--yes")
        assert bad.returncode == 2 and "'x' is not a row number" in bad.stderr

        some = cli("publish", results, *target, "--rows", "2,4-5,40", "--yes")
        assert some.returncode == 1, some.stdout + some.stderr  # row 40 is not the run's
        assert "Publish: publish 3 drafts, 1 rows the run did not create" in some.stdout
        assert statuses(sandbox) == {"D-0": "published", "D-1": "draft", "D-2": "published", "D-3": "published",
                                     "D-4": "draft", "D-5": "draft"}
        first = tmp_path / "drafts.results.publish.xlsx"
        sheet = list(openpyxl.load_workbook(first)["Results"].iter_rows(values_only=True))
        assert Counter(r[5] for r in sheet[1:]) == {"updated": 3, "not_in_run": 1}

        rest = cli("publish", results, *target, "--yes")
        assert rest.returncode == 0, rest.stdout + rest.stderr
        assert "publish 3 drafts, 3 already published" in rest.stdout
        assert set(statuses(sandbox).values()) == {"published"}
        sent = puts(sandbox)
        again = cli("publish", results, *target, "--yes")
        assert again.returncode == 0 and "Nothing to publish" in again.stdout and puts(sandbox) == sent

        undone = cli("undo", first, *target, "--yes")
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert statuses(sandbox) == {"D-0": "draft", "D-1": "published", "D-2": "draft", "D-3": "draft",
                                     "D-4": "published", "D-5": "published"}


def test_publish_on_the_content_api_releases_and_its_undo_says_what_to_do_by_hand(tmp_path):
    with Sandbox(rate_limit=50, rate_window=2, api_key=KEY, seed=4, api="content") as sandbox:
        target = ("--base-url", sandbox.base_url, "--rate-limit", "600")
        assert cli("run", write(tmp_path / "drafts.csv", 3), *target, "--yes").returncode == 0
        done = cli("publish", tmp_path / "drafts.results.xlsx", *target, "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "speaking the content API" in done.stdout
        # The content sandbox publishes only through content/{id}/releaseContent.
        assert {c["publishedStatus"] for c in sandbox.store.all()} == {"published"}
        back = cli("undo", tmp_path / "drafts.results.publish.xlsx", *target, "--yes")
        assert back.returncode == 1, back.stdout + back.stderr
        assert "failed" in back.stdout
        failures = list(openpyxl.load_workbook(tmp_path / "drafts.results.publish.undo-failures.xlsx").active
                        .iter_rows(values_only=True))
        assert all("admin screens" in row[4] for row in failures[1:]) and len(failures) == 4
        assert {c["publishedStatus"] for c in sandbox.store.all()} == {"published"}
