"""The importer as a library (issue 13): a whole sync through the Python API against the
sandbox, from a DataFrame and from a list of dicts, compared with the CLI on the same data;
the documented example (docs/library.md) run as it is; and what a library call must not do to its process."""

import gc
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import importer
from importer.read.reading import read_sheet

from .conftest import ROOT, run_cli

KEY = "library-test-key"
FIRST = [{"Title": f"Course {i}", "Course Type": "course", "External ID": f"E{i}", "Tags": ["a", "b"],
          "customFields.level": i} for i in range(1, 5)]
SECOND = [{**FIRST[0], "Description": "New words"},                       # update
          {**FIRST[1], "Tags": ["a", "b", "c"]},                           # update
          FIRST[2], FIRST[3],                                              # unchanged
          {"Title": "Course 5", "Course Type": "video", "External ID": "E5", "Tags": ["x"],
           "customFields.level": 5},                                       # create
          {"Title": None, "Course Type": "course", "External ID": "E6", "Tags": [],
           "customFields.level": None}]                                     # invalid


def as_csv(records, path):
    frame = pd.DataFrame(records)
    frame["Tags"] = frame["Tags"].map(lambda tags: ", ".join(tags))
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def box():
    with importer.Sandbox(rate_limit=20, rate_window=2, api_key=KEY, custom_fields=["level"]) as running:
        yield running


@pytest.mark.parametrize("source", ["records", "dataframe"])
def test_a_sync_through_the_library_does_what_the_cli_does(box, tmp_path, source):
    with importer.connect(sandbox=box, state_dir=tmp_path / "state", rate_limit=600) as target:
        importer.apply(importer.plan(importer.validate(importer.from_records(FIRST)), target))
    rows = importer.from_records(SECOND) if source == "records" else importer.from_dataframe(pd.DataFrame(SECOND))
    checked = importer.validate(rows, custom_fields=["level"])

    # The CLI, on the same data as a CSV: the same payloads, the same plan.
    sheet = as_csv(SECOND, tmp_path / "second.csv")
    payloads = tmp_path / "p.jsonl"
    run_cli("validate", sheet, "--payloads", payloads, "--custom-fields", "level", "--report", tmp_path / "r.csv")
    cli_payloads = {json.loads(line)["row"]: json.loads(line)["payload"] for line in payloads.read_text().splitlines()}
    assert {r.row: r.payload for r in checked.valid_rows} == cli_payloads
    planned_file = tmp_path / "plan.csv"
    cli_plan = run_cli("plan", sheet, "--base-url", box.base_url, "--mode", "sync", "--plan", planned_file,
                       "--custom-fields", "level", "--report", tmp_path / "r2.csv", env={"TI_API_KEY": KEY})
    assert cli_plan.returncode == 1, cli_plan.stdout + cli_plan.stderr
    plan_rows = read_sheet(planned_file)
    cli_actions = {int(c[plan_rows.headers.index("source_row")]): c[plan_rows.headers.index("action")]
                   for _, c in plan_rows.rows}

    with importer.connect(sandbox=box, state_dir=tmp_path / "state", rate_limit=600) as target:
        planned = importer.plan(checked, target, mode="sync", custom_fields=["level"])
        assert {a.row: a.kind for a in planned.actions} == cli_actions == {
            2: "update", 3: "update", 4: "unchanged", 5: "unchanged", 6: "create", 7: "invalid"}
        frame = planned.to_dataframe()
        assert list(frame["action"]) == ["update", "update", "unchanged", "unchanged", "create", "invalid"]
        seen = []
        result = importer.apply(planned, progress=seen.append)
    assert result.counts() == {"created": 1, "updated": 2, "unchanged": 2, "invalid": 1}
    assert [o.status for o in seen] == ["updated", "updated", "created"]
    table = result.to_dataframe()
    assert list(table["status"]) == ["updated", "updated", "unchanged", "unchanged", "created", "invalid"]
    on_server = {c["externalId"]: c for c in box.store.all()}
    assert on_server["E1"]["description"] == "New words" and on_server["E2"]["tags"] == ["a", "b", "c"]
    assert on_server["E5"]["customFields"] == {"level": 5} and "E6" not in on_server
    result.write(tmp_path / "results.xlsx")
    assert read_sheet(tmp_path / "results.xlsx").rows[4][1][-5:-3] == ["created", on_server["E5"]["id"]]


def test_a_float_id_and_missing_values_read_as_from_excel():
    frame = pd.DataFrame({"Title": ["A", "B"], "Course Type": ["course", "course"], "External ID": [42.0, float("nan")],
                          "Is Free": [pd.NA, True]})
    checked = importer.validate(importer.from_dataframe(frame))
    first, second = checked.rows
    assert first.payload == {"title": "A", "courseType": "course", "externalId": "42"}
    assert [i.code for i in first.issues] == ["ID_STORED_AS_NUMBER"]
    assert second.payload == {"title": "B", "courseType": "course", "isFree": True} and second.valid


def test_library_calls_leave_the_process_as_they_found_it(box, tmp_path, capsys):
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    source = as_csv(FIRST, tmp_path / "c.csv")
    checked = importer.validate(source)
    with importer.connect(sandbox=box, state_dir=tmp_path / "state", rate_limit=600) as target:
        result = importer.apply(importer.plan(checked, target))
    assert result.counts() == {"created": 4}
    assert capsys.readouterr() == ("", "")
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)
    assert {s: signal.getsignal(s) for s in handlers} == handlers
    with pytest.raises(importer.ImporterError, match="no API key"):
        importer.connect(base_url="https://acme.example.com", api_key="")


def test_the_documented_example_runs_as_it_is(tmp_path):
    section = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Plan: 2 to create" in done.stdout and "1 invalid" in done.stdout
    assert re.search(r"created\s+crs_", done.stdout)
    assert Path(tmp_path / "api-courses.results.xlsx").exists()


def test_the_cli_never_imports_pandas():
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "importer", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0
    assert "pandas" not in done.stderr and "httpx" not in done.stderr
    for page_module in ("starlette", "uvicorn", "jinja2", "multipart"):  # the page's stack: `importer ui` only
        assert f" {page_module}" not in done.stderr


def test_onboarding_then_publishing_through_the_library(tmp_path, monkeypatch):
    template = tmp_path / "template.csv"
    template.write_text("Title,Course Type,External ID,Published Status\nWelcome,course,W-1,draft\n"
                        "Tools,video,W-2,draft\n", encoding="utf-8")
    clients = tmp_path / "clients.csv"
    with importer.Sandbox(api_key=KEY) as shared, importer.Sandbox(api_key="own-key") as own:
        clients.write_text("Client,Client key,Base URL,Key variable\nAcme,acme,,\nGlobex,globex,,\n"
                           f"Initech,initech,{own.base_url},OWN_KEY\n", encoding="utf-8")
        monkeypatch.setenv("OWN_KEY", "own-key")
        with importer.connect(sandbox=shared, state_dir=tmp_path / "state") as target:
            with importer.onboard(template, clients, target=target) as onboarding:
                assert [row[:5] for row in onboarding.table()] == [
                    ["Acme", "acme", shared.base_url, 2, 0], ["Globex", "globex", shared.base_url, 2, 0],
                    ["Initech", "initech", own.base_url, 2, 0]]
                done = []
                onboarding.apply(on_client_done=lambda run: done.append(run.client.key))
                assert sorted(done) == ["acme", "globex", "initech"]
                acme = next(run for run in onboarding.runs if run.client.key == "acme")
                result = importer.RunResult(acme.report, acme.validation, acme.target, acme.run_id)
                result.write(tmp_path / "acme.results.xlsx")
            assert sorted(c["externalId"] for c in shared.store.all()) == ["acme-W-1", "acme-W-2", "globex-W-1",
                                                                           "globex-W-2"]
            assert sorted(c["title"] for c in own.store.all()) == ["Tools (Initech)", "Welcome (Initech)"]
            actions, outcomes = importer.publish(target, tmp_path / "acme.results.xlsx", rows="3")
            assert [a.kind for a in actions] == ["publish"] and [o.status for o in outcomes.values()] == ["updated"]
        published = {c["externalId"]: c["publishedStatus"] for c in shared.store.all()}
        assert published == {"acme-W-1": "draft", "acme-W-2": "published", "globex-W-1": "draft",
                             "globex-W-2": "draft"}
