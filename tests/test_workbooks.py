"""No cell of any workbook we write is a formula or a link (issue 12): error report, results,
failures and plan, written by the CLI from a sheet full of text that looks like both."""

import re
import zipfile

import openpyxl

from .conftest import run_cli

LOOKALIKES = ["=1+1", "+SUM(A1)", "@cmd", "-2+3", "http://example.com/x", "www.example.com",
              "mailto:someone@example.com", '=HYPERLINK("http://evil.example","click")', "=cmd|' /C calc'!A0"]


def assert_plain_workbook(path, expected_texts):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            data = archive.read(name).decode("utf-8", "replace")
            assert not re.search(r"<(\w+:)?hyperlinks?\b|relationships/hyperlink", data), \
                f"{path.name}:{name} has a hyperlink"
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[ >]", data), f"{path.name}:{name} has a formula"
    workbook = openpyxl.load_workbook(path)
    seen = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f" and cell.hyperlink is None, (path.name, cell.coordinate)
                if isinstance(cell.value, str):
                    seen.add(cell.value)
    missing = [t for t in expected_texts if t not in seen]
    assert not missing, f"{path.name} lost {missing}"


def test_no_workbook_we_write_has_a_formula_or_a_link(tmp_path):
    source = tmp_path / "lookalikes.csv"
    lines = ["Title,Course Type,Description,External ID"]
    for i, text in enumerate(LOOKALIKES):
        quoted = '"' + text.replace('"', '""') + '"'
        lines.append(f"{quoted},course,{quoted},{quoted if i == 0 else f'E{i}'}")
    lines.append('"=bad()",nope,"=also(bad)",E99')  # invalid: goes to the report and the failures
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    validated = run_cli("validate", source)
    assert validated.returncode == 1 and "Traceback" not in validated.stderr
    assert_plain_workbook(tmp_path / "lookalikes.errors.xlsx", LOOKALIKES + ["=bad()", "=also(bad)"])

    results, failures = tmp_path / "r.xlsx", tmp_path / "f.xlsx"
    ran = run_cli("run", source, "--sandbox", "--yes", "--rate-limit", "600", "--results", results,
                  "--failures", failures, "--report", tmp_path / "again.errors.xlsx")
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert_plain_workbook(results, LOOKALIKES)
    assert_plain_workbook(failures, ["=bad()", "=also(bad)"])

    plan = tmp_path / "plan.xlsx"
    planned = run_cli("plan", source, "--sandbox", "--plan", plan, "--report", tmp_path / "p.errors.xlsx")
    assert planned.returncode == 1, planned.stdout + planned.stderr
    assert_plain_workbook(plan, LOOKALIKES)
