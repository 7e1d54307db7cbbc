"""Every benchmark scenario in one run, each figure measured side by side: `python benchmarks/run.py`.

Prints a table and writes it as JSON (benchmarks/results.json, or --json PATH). The import
scenarios run the real CLI as a subprocess against a sandbox over HTTP on 127.0.0.1, next
to the two reference loops a user might write instead (naive_loop.py, fixed_sleep.py).

    S1  20 req / 2 s window, 30 ms latency, 200 rows, the importer told the true rate
    S1c S1 against a sandbox speaking the content API, the importer told nothing about which
    S2  the server allows 12 / 2 s, the importer is told 20 / 2 s
    S3  a generous limit, 200 ms latency, 50 rows
    S4  S1 with 5 % drop-after-store and 5 % 503
    V1  importer validate on a 100,000-row CSV, against pandas.read_csv
    V2  importer validate on a 50,000-row XLSX, against pandas.read_excel (openpyxl)
    P1  validate, 100,000 rows, 20 % invalid: the XLSX error report against a CSV report
    P2  validate, 100,000 rows, all invalid, XLSX report: peak memory
    P3  validate of a 1,000,000-row CSV: peak memory, and time against pandas.read_csv
    P4  the sandbox with 50,000 courses stored: requests per second, against an empty one
    H1  peak memory of validate on hostile workbooks (one cell at XFD1048576, a 700 MB zip
        bomb) and on the largest sheet extent accepted
    H2  peak memory of validate on the worst CSV accepted (1,000,000 rows of unique values)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from importer.platform.guide import GuideAPI  # noqa: E402
from importer.sandbox import Sandbox  # noqa: E402

KEY = "benchmark-key"
PY = sys.executable


def write_catalogue(path: Path, rows: int, prefix: str = "Course") -> Path:
    """API field names as headers, so the reference loops can read it as plainly as a user would."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "courseType", "externalId", "tags"])
        for i in range(rows):
            writer.writerow([f"{prefix} {i:05}", "course", f"EXT-{i:06}", f"bench, t{i % 5}"])
    return path


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TI_API_KEY": KEY}, **kwargs)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}): {done.stderr[-800:]}")
    return elapsed, done


def run_importer(source: Path, sandbox: Sandbox, rate_per_minute: float, work: Path, *extra: str) -> dict:
    state = Path(tempfile.mkdtemp(dir=work))
    elapsed, done = timed([PY, "-m", "importer", "run", str(source), "--base-url", sandbox.base_url,
                           "--rate-limit", str(round(rate_per_minute)), "--yes", "--state-dir", str(state),
                           "--results", str(state / "results.xlsx"), "--failures", str(state / "failures.csv"),
                           *extra])
    events = [json.loads(line) for line in (state / "results.log.jsonl").read_text().splitlines()]
    end = next(e for e in events if e["event"] == "end")
    return {"elapsed": elapsed, "run_phase": end["elapsed"], "created": end["created"], "failed": end["failed"],
            "not_attempted": end["not_attempted"], "requests": sum(1 for e in events if e["event"] == "request")}


def server_courses(sandbox) -> list[dict]:
    """Every course on the server, through its paged list endpoint."""
    with GuideAPI(sandbox.base_url, sandbox.config.api_key) as api:
        return api.all_courses()


def scenario_s1(work: Path) -> dict:
    rows, limit, window = 200, 20, 2.0
    source = write_catalogue(work / "s1.csv", rows)
    ideal = rows * window / limit
    rate = limit * 60 / window
    with Sandbox(rate_limit=limit, rate_window=window, latency_ms=30, api_key=KEY) as sandbox:
        ours = run_importer(source, sandbox, rate, work)
        throttled = sandbox.stats()["throttled"]
    with Sandbox(rate_limit=limit, rate_window=window, latency_ms=30, api_key=KEY) as sandbox:
        naive, _ = timed([PY, str(HERE / "naive_loop.py"), str(source), sandbox.base_url])
        naive_429 = sandbox.stats()["throttled"]
    with Sandbox(rate_limit=limit, rate_window=window, latency_ms=30, api_key=KEY) as sandbox:
        fixed, _ = timed([PY, str(HERE / "fixed_sleep.py"), str(source), sandbox.base_url, str(rate)])
    return {"id": "S1", "ideal_s": ideal, "importer_s": ours["elapsed"], "importer_run_phase_s": ours["run_phase"],
            "naive_s": naive, "fixed_sleep_s": fixed, "importer_429": throttled, "naive_429": naive_429,
            "figures": [("elapsed ÷ ideal", ours["elapsed"] / ideal, "≤ 1.05", ours["elapsed"] / ideal <= 1.05),
                        ("429 count (naive loop's)", f"{throttled} ({naive_429})", "≤ 2", throttled <= 2),
                        ("elapsed ÷ naive loop", ours["elapsed"] / naive, "≤ 1.0", ours["elapsed"] <= naive),
                        ("elapsed ÷ fixed sleep", ours["elapsed"] / fixed, "≤ 0.85", ours["elapsed"] / fixed <= 0.85)]}


def scenario_s1c(work: Path) -> dict:
    """S1 on the content API: the same rows, one create each, after the reads that find out which API
    the instance speaks."""
    rows, limit, window = 200, 20, 2.0
    source = write_catalogue(work / "s1c.csv", rows)
    ideal = rows * window / limit
    with Sandbox(rate_limit=limit, rate_window=window, latency_ms=30, api_key=KEY, api="content") as sandbox:
        ours = run_importer(source, sandbox, limit * 60 / window, work)
        throttled, stored = sandbox.stats()["throttled"], sandbox.stats()["courses"]
    return {"id": "S1c", "ideal_s": ideal, "importer_s": ours["elapsed"], "importer_429": throttled,
            "figures": [("content API: elapsed ÷ ideal", ours["elapsed"] / ideal, "≤ 1.05",
                         ours["elapsed"] / ideal <= 1.05),
                        ("content API: courses created / 429 count", f"{stored} / {throttled}", "200 / ≤ 2",
                         stored == rows and throttled <= 2)]}


def scenario_s2(work: Path) -> dict:
    rows, server_limit, window, told = 120, 12, 2.0, 20
    source = write_catalogue(work / "s2.csv", rows)
    with Sandbox(rate_limit=server_limit, rate_window=window, api_key=KEY) as sandbox:
        ours = run_importer(source, sandbox, told * 60 / window, work)
        stats = sandbox.stats()
    server_rate = server_limit / window
    # Over the creation phase: all its requests (POSTs and any retries) per second.
    achieved = (ours["requests"] - 1) / ours["run_phase"]
    share_429 = stats["throttled"] / stats["requests"]
    return {"id": "S2", "achieved_rate": achieved, "server_rate": server_rate, "throttled": stats["throttled"],
            "requests": stats["requests"],
            "figures": [("achieved rate ÷ server's rate", achieved / server_rate, "≥ 0.90",
                         achieved / server_rate >= 0.90),
                        ("429s ÷ requests", f"{share_429:.1%}", "≤ 5 %", share_429 <= 0.05)]}


def scenario_s3(work: Path) -> dict:
    rows, latency = 50, 0.2
    source = write_catalogue(work / "s3.csv", rows)
    with Sandbox(rate_limit=10000, rate_window=60, latency_ms=latency * 1000, api_key=KEY) as sandbox:
        ours = run_importer(source, sandbox, 10000, work)
    floor = rows * latency
    return {"id": "S3", "importer_run_phase_s": ours["run_phase"], "importer_s": ours["elapsed"],
            "figures": [("creation elapsed ÷ (rows × latency)", ours["run_phase"] / floor, "≤ 1.05",
                         ours["run_phase"] / floor <= 1.05),
                        ("whole command ÷ (rows × latency)", ours["elapsed"] / floor, "(with start-up, ping)", None)]}


def scenario_s4(work: Path, s1: dict) -> dict:
    rows, limit, window = 200, 20, 2.0
    source = write_catalogue(work / "s4.csv", rows)
    with Sandbox(rate_limit=limit, rate_window=window, latency_ms=30, api_key=KEY, drop_rate=0.05,
                 fail_rate=0.05, seed=4) as sandbox:
        ours = run_importer(source, sandbox, limit * 60 / window, work, "--max-retries", "8")
        courses = server_courses(sandbox)
        stats = sandbox.stats()
    counts = Counter(c["externalId"] for c in courses)
    duplicates = sum(n - 1 for n in counts.values())
    lost = sum(1 for i in range(rows) if f"EXT-{i:06}" not in counts)
    return {"id": "S4", "dropped": stats["dropped"], "failed_503": stats["failed"], "duplicates": duplicates,
            "lost": lost, "importer_s": ours["elapsed"],
            "figures": [("duplicates", duplicates, "0", duplicates == 0),
                        ("rows lost", lost, "0", lost == 0 and ours["created"] == rows),
                        ("elapsed ÷ S1", ours["elapsed"] / s1["importer_s"], "printed", None),
                        ("faults injected (drops, 503s)", f"{stats['dropped']}, {stats['failed']}", "", None)]}


def child_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def write_big_csv(path: Path, rows: int, bad_every: int = 0) -> Path:
    """The V1 catalogue; with `bad_every`, every such row's Course Type is wrong."""
    types = ["course", "Video", "Learning Path", "article", "SCORM"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Title *", "Course Type *", "Slug", "Description", "Published Status", "Authors", "Tags",
                         "External ID", "Is Free", "Source", "customFields.difficulty", "customFields.hours"])
        for i in range(rows):
            kind = "nope" if bad_every and i % bad_every == 0 else types[i % 5]
            writer.writerow([f"Course {i} on topic {i % 97}", kind, f"course-{i}",
                             f"<p>About course {i}</p>", "draft", "Jane Doe; Smith, John", f"t{i % 10}, api, Basics",
                             f"EXT-{i:07}", ["yes", "no"][i % 2], "internal", "beginner", str(i % 9)])
    return path


def best_of(n: int, *commands: list[str]) -> list[float]:
    """The fastest of n runs of each command, taking turns, so that a noisy neighbour on the
    machine weighs on both sides of a ratio alike."""
    times = [[timed(command)[0] for command in commands] for _ in range(n)]
    return [min(run[i] for run in times) for i in range(len(commands))]


def scenario_v1(work: Path) -> dict:
    source = write_big_csv(work / "v1.csv", 100_000)
    importer, pandas = best_of(5, [PY, "-m", "importer", "validate", str(source)],
                               [PY, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1], dtype=str, "
                                "keep_default_na=False)", str(source)])
    # The peak memory of one validate run on its own (ru_maxrss of children is the largest so far).
    rss = json.loads(subprocess.run([PY, "-c", _RSS_PROBE, str(source)], capture_output=True, text=True,
                                    check=True).stdout)
    inproc = json.loads(subprocess.run([PY, "-c", _INPROCESS_CSV, str(source)], capture_output=True, text=True,
                                       check=True).stdout)
    return {"id": "V1", "importer_s": importer, "pandas_s": pandas, "peak_rss_mib": rss["mib"],
            "in_process_importer_s": inproc["importer_s"], "in_process_pandas_s": inproc["pandas_s"],
            "figures": [("elapsed ÷ pandas.read_csv (whole commands)", importer / pandas, "≤ 2.0",
                         importer / pandas <= 2.0),
                        ("elapsed ÷ pandas.read_csv (in one process)", inproc["importer_s"] / inproc["pandas_s"],
                         "(imports excluded)", None),
                        ("peak RSS", f"{rss['mib']:.0f} MiB", "≤ 1 GiB", rss["mib"] <= 1024)]}


# A child's ru_maxrss starts at its parent's size at fork and survives exec; VmHWM belongs
# to the new program alone.
_PEAK = "int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024"

_RSS_PROBE = f"""
import json, re, sys
from importer.check.validating import validate_file
validate_file(sys.argv[1])
print(json.dumps({{"mib": {_PEAK}}}))
"""

_INPROCESS_CSV = """
import json, sys, time
import pandas
from importer.check.validating import validate_file
best = {}
for _ in range(5):
    t = time.perf_counter(); validate_file(sys.argv[1]); a = time.perf_counter() - t
    t = time.perf_counter(); pandas.read_csv(sys.argv[1], dtype=str, keep_default_na=False); b = time.perf_counter() - t
    best = {"importer_s": min(a, best.get("importer_s", a)), "pandas_s": min(b, best.get("pandas_s", b))}
print(json.dumps(best))
"""


def write_big_xlsx(path: Path, rows: int) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Courses")
    sheet.append(["Title *", "Course Type *", "Slug", "Description", "Published Status", "Authors", "Tags",
                  "External ID", "Is Free", "Source", "customFields.difficulty", "customFields.hours"])
    for i in range(rows):
        sheet.append([f"Course {i} on topic {i % 97}", "course", f"course-{i}", f"<p>About course {i}</p>", "draft",
                      "Jane Doe; Smith, John", f"t{i % 10}, api", f"EXT-{i:07}", i % 2 == 0, "internal",
                      "beginner", i % 9])
    workbook.save(path)
    return path


def scenario_v2(work: Path) -> dict:
    source = write_big_xlsx(work / "v2.xlsx", 50_000)
    importer, pandas = best_of(2, [PY, "-m", "importer", "validate", str(source)],
                               [PY, "-c", "import sys, pandas; pandas.read_excel(sys.argv[1], engine='openpyxl')",
                                str(source)])
    return {"id": "V2", "importer_s": importer, "pandas_s": pandas,
            "figures": [("elapsed ÷ pandas.read_excel (openpyxl)", importer / pandas, "< 1.0",
                         importer / pandas < 1.0)]}


_CLI_PEAK = f"""
import json, re, sys
from importer.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({{"exit": code, "mib": {_PEAK}}}))
"""


def cli_peak(*args: str) -> dict:
    """One CLI run in a fresh process: its exit code and its own peak RSS."""
    done = subprocess.run([PY, "-c", _CLI_PEAK, *args], capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def scenario_p1(work: Path) -> dict:
    source = write_big_csv(work / "p1.csv", 100_000, bad_every=5)
    report_csv = work / "p1.report.csv"
    xlsx, plain = best_of(2, [PY, "-m", "importer", "validate", str(source)],
                          [PY, "-m", "importer", "validate", str(source), "--report", str(report_csv)])
    return {"id": "P1", "xlsx_s": xlsx, "csv_s": plain,
            "figures": [("XLSX report ÷ CSV report (whole commands)", xlsx / plain, "≤ 8", xlsx / plain <= 8),
                        ("with the XLSX report", f"{xlsx:.1f} s", "printed", None)]}


def scenario_p2(work: Path) -> dict:
    source = write_big_csv(work / "p2.csv", 100_000, bad_every=1)
    peak = cli_peak("validate", str(source))
    return {"id": "P2", "peak_rss_mib": peak["mib"],
            "figures": [("peak RSS, every row invalid, XLSX report", f"{peak['mib']:.0f} MiB", "≤ 400 MiB",
                         peak["mib"] <= 400)]}


def scenario_p3(work: Path) -> dict:
    source = write_big_csv(work / "p3.csv", 1_000_000)
    importer, pandas = best_of(2, [PY, "-m", "importer", "validate", str(source)],
                               [PY, "-c", "import sys, pandas; pandas.read_csv(sys.argv[1], dtype=str, "
                                "keep_default_na=False)", str(source)])
    peak = cli_peak("validate", str(source))
    return {"id": "P3", "importer_s": importer, "pandas_s": pandas, "peak_rss_mib": peak["mib"],
            "figures": [("1M rows: elapsed ÷ pandas.read_csv", importer / pandas, "≤ 5", importer / pandas <= 5),
                        ("1M rows: peak RSS", f"{peak['mib']:.0f} MiB", "≤ 1 GiB", peak["mib"] <= 1024)]}


def _requests_per_second(sandbox: Sandbox, label: str, n: int = 200) -> float:
    """Creates, then updates, lookups by each unique field and list pages, one at a time."""
    import httpx

    started = time.perf_counter()
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth_headers) as client:
        ids = []
        for i in range(n):
            reply = client.post("/incoming/v2/courses", json={"title": f"{label} {i}", "courseType": "course",
                                                              "externalId": f"{label}-{i}"})
            ids.append(reply.json()["id"])
        for i, course_id in enumerate(ids):
            client.put(f"/incoming/v2/courses/{course_id}", json={"description": f"v{i}"})
        for i in range(n):
            for key, value in (("externalId", f"{label}-{i}"), ("slug", f"{label.lower()}-{i}"),
                               ("title", f"{label} {i}")):
                assert client.get("/incoming/v2/courses", params={key: value}).json()["courses"]
        cursor = None
        for _ in range(n // 2):
            page = client.get("/incoming/v2/courses", params={"perPage": 100, **({"cursor": cursor} if cursor
                                                                                   else {})}).json()
            cursor = page["pageInfo"]["cursor"]
    requests = n * 5 + n // 2
    return requests / (time.perf_counter() - started)


def scenario_p4(work: Path) -> dict:
    with Sandbox(rate_limit=10**9, rate_window=1, api_key=KEY) as empty:
        empty_rate = _requests_per_second(empty, "Empty")
    with Sandbox(rate_limit=10**9, rate_window=1, api_key=KEY) as full:
        for i in range(50_000):
            full.store.create({"title": f"Stored {i}", "courseType": "course", "externalId": f"S-{i}"})
        full_rate = _requests_per_second(full, "Full")
    return {"id": "P4", "empty_rps": empty_rate, "full_rps": full_rate,
            "figures": [("requests/s with 50,000 courses stored", f"{full_rate:.0f}", "≥ 200", full_rate >= 200),
                        ("÷ requests/s when empty", full_rate / empty_rate, "printed", None)]}


def scenario_h1(work: Path) -> dict:
    sys.path.insert(0, str(HERE.parent / "tests"))
    import xlsxwriter
    from hostile_files import far_cell_workbook, zip_bomb_workbook

    widest = work / "h1-widest.xlsx"  # the largest extent accepted: 9 columns down to row 1,048,576
    workbook = xlsxwriter.Workbook(str(widest))
    sheet = workbook.add_worksheet("Courses")
    sheet.write_row(0, 0, ["Title", "Course Type"])
    sheet.write_row(1, 0, ["A course", "course"])
    sheet.write_string(1_048_575, 8, "a stray cell")
    workbook.close()
    figures = []
    for label, path in (("one cell at XFD1048576", far_cell_workbook(work / "h1-far.xlsx")),
                        ("a 700 MB zip bomb", zip_bomb_workbook(work / "h1-bomb.xlsx")),
                        ("9 columns to row 1,048,576 (accepted)", widest)):
        peak = cli_peak("validate", str(path), "--report", str(work / "h1.report.csv"))
        figures.append((f"peak RSS, {label} (exit {peak['exit']})", f"{peak['mib']:.0f} MiB", "≤ 1.5 GiB",
                        peak["mib"] <= 1536))
    return {"id": "H1", "figures": figures}


def scenario_h2(work: Path) -> dict:
    import random

    rng = random.Random(1)
    source = work / "h2.csv"
    with source.open("w", encoding="utf-8") as handle:
        handle.write(",".join(["Title", "Course Type"] + [f"customFields.k{i}" for i in range(10)]) + "\n")
        for r in range(1_000_000):
            cells = (f"{r:08d}{c:02d}{''.join(rng.choices('abcdefghij', k=8))}" for c in range(10))
            handle.write(f"T{r:019d},course," + ",".join(cells) + "\n")
    peak = cli_peak("validate", str(source), "--report", str(work / "h2.report.csv"))
    return {"id": "H2", "figures": [("peak RSS, 1M rows x 12 unique cells", f"{peak['mib']:.0f} MiB", "≤ 1.5 GiB",
                                     peak["mib"] <= 1536)]}


SCENARIOS = ("S1", "S1c", "S2", "S3", "S4", "V1", "V2", "P1", "P2", "P3", "P4", "H1", "H2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run these scenarios only")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="where to write the figures")
    args = parser.parse_args()
    chosen = args.only or SCENARIOS
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        s1 = None
        for name in chosen:
            started = time.perf_counter()
            if name == "S1":
                result = s1 = scenario_s1(work)
            elif name == "S4":
                result = scenario_s4(work, s1 or scenario_s1(work))
            else:
                result = globals()[f"scenario_{name.lower()}"](work)
            result["scenario_s"] = round(time.perf_counter() - started, 1)
            results.append(result)
            print(f"{name} done in {result['scenario_s']} s", file=sys.stderr, flush=True)
    print_table(results)
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2, default=str) + "\n")
    print(f"\nMachine: {machine['platform']}, {machine['cpus']} CPUs, Python {machine['python']}")
    print(f"Figures written to {args.json}")
    return 0


def print_table(results: list[dict]) -> None:
    print("\n| id | figure | measured | target | met |\n|---|---|---|---|---|")
    for result in results:
        for label, value, target, met in result["figures"]:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            verdict = "" if met is None else ("yes" if met else "**no**")
            print(f"| {result['id']} | {label} | {shown} | {target} | {verdict} |")


if __name__ == "__main__":
    raise SystemExit(main())
