"""Sync benchmarks R1-R3: what reading the platform before a sync costs, in requests and time.

    R1  re-sync of an unchanged 2,000-course file against a sandbox holding those 2,000,
        20 requests / 2 s: requests, and elapsed against the loop a user would write
        (for each row: GET by externalId, then PUT)
    R2  the same file with 50 rows changed and 50 new (each update reads its course first)
    R3  a 20-row file against a sandbox holding 20,000 courses
    R1c R1 against a sandbox speaking the content API (pages of 1,000 course groups)

Run: `python benchmarks/sync.py` (about a minute). The user's loop is timed on 50 rows and
scaled to 2,000: it is paced by the same rate limit, so its time grows linearly with the rows.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from importer.check.validating import validate_file  # noqa: E402
from importer.sandbox import Sandbox  # noqa: E402

KEY = "benchmark-key"
LIMIT, WINDOW = 20, 2.0


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["title", "courseType", "externalId", "tags", "description"], *rows])
    return path


def rows_for(n: int, start: int = 0, prefix: str = "Course") -> list[list[str]]:
    return [[f"{prefix} {i:05}", "course", f"EXT-{i:06}", f"bench, t{i % 5}", f"<p>About {i}</p>"]
            for i in range(start, start + n)]


def preload(sandbox: Sandbox, source: Path) -> None:
    """The courses of `source`, stored as the API would have stored them."""
    for row in validate_file(source).valid_rows:
        sandbox.store.create(row.payload)


def run(sandbox: Sandbox, source: Path, *extra: str) -> tuple[float, subprocess.CompletedProcess, int]:
    before = sandbox.stats()["requests"]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "importer", "run", str(source), "--base-url", sandbox.base_url,
                           "--rate-limit", str(round(LIMIT * 60 / WINDOW)), "--yes", *extra],
                          capture_output=True, text=True, env={**os.environ, "TI_API_KEY": KEY})
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-1500:] + done.stderr[-1500:])
    return elapsed, done, sandbox.stats()["requests"] - before


def users_loop(sandbox: Sandbox, rows: list[list[str]]) -> float:
    """For each row: GET by externalId, then PUT it; on 429 wait as told."""
    started = time.perf_counter()
    with httpx.Client(base_url=sandbox.base_url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        for title, course_type, external_id, tags, description in rows:
            while (found := client.get("/incoming/v2/courses", params={"externalId": external_id})).status_code == 429:
                time.sleep(float(found.headers.get("Retry-After", 1)))
            course_id = found.json()["courses"][0]["id"]
            body = {"title": title, "courseType": course_type, "tags": tags.split(", "), "description": description}
            while client.put(f"/incoming/v2/courses/{course_id}", json=body).status_code == 429:
                time.sleep(1)
    return time.perf_counter() - started


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    figures = []
    # R1
    source = write_rows(work / "r1.csv", rows_for(2000))
    with Sandbox(rate_limit=LIMIT, rate_window=WINDOW, api_key=KEY) as sandbox:
        preload(sandbox, source)
        elapsed, done, requests = run(sandbox, source, "--mode", "sync")
        assert "0 to create, 0 to update, 2000 unchanged" in done.stdout, done.stdout
        loop50 = users_loop(sandbox, rows_for(50))
        loop = loop50 * 2000 / 50
    figures += [("R1", "requests (ping + list pages)", requests, f"≤ {math.ceil(2000 / 100) + 2}",
                 requests <= 22),
                ("R1", f"elapsed ÷ user's loop ({elapsed:.1f} s ÷ {loop:.0f} s, scaled from 50 rows)",
                 round(elapsed / loop, 4), "≤ 0.02", elapsed / loop <= 0.02)]
    # R1c: the same re-sync on the content API (tags have no field there: not in the file)
    source = write_rows(work / "r1c.csv", [row[:3] + [""] + row[4:] for row in rows_for(2000)])
    with Sandbox(rate_limit=LIMIT, rate_window=WINDOW, api_key=KEY, api="content") as sandbox:
        preload(sandbox, source)
        elapsed_c, done, requests_c = run(sandbox, source, "--mode", "sync")
        assert "0 to create, 0 to update, 2000 unchanged" in done.stdout, done.stdout
    # ping, the guide's list (not there), the content API's list (found), two pages of 1,000
    figures += [("R1c", "content API: requests (ping + 2 reads to find the API + pages)", requests_c,
                 f"≤ {math.ceil(2000 / 1000) + 3}", requests_c <= 5),
                ("R1c", f"content API: elapsed ÷ R1's ({elapsed_c:.1f} s ÷ {elapsed:.1f} s)",
                 round(elapsed_c / elapsed, 3), "(printed)", None)]
    # R2
    changed = rows_for(2000)
    for row in changed[:50]:
        row[4] = "<p>Changed</p>"
    source = write_rows(work / "r2.csv", changed + rows_for(50, start=5000))
    with Sandbox(rate_limit=LIMIT, rate_window=WINDOW, api_key=KEY) as sandbox:
        preload(sandbox, write_rows(work / "r2-before.csv", rows_for(2000)))
        before = {c["id"]: dict(c) for c in sandbox.store.all()}
        elapsed, done, requests = run(sandbox, source, "--mode", "sync")
        after = {c["id"]: c for c in sandbox.store.all()}
        moved = sum(1 for i, c in before.items() if {k: v for k, v in after[i].items() if k != "updatedAt"}
                    != {k: v for k, v in c.items() if k != "updatedAt"})
        applied = sum(1 for c in after.values() if c["description"] == "<p>Changed</p>")
    # 20 pages, 50 creates, 50 updates each read just before its PUT (a course someone edited since
    # the plan must not be overwritten: issue 20), ping and one spare.
    figures += [("R2", "requests", requests, "≤ 20 + 50 + 2 × 50 + 2", requests <= 172),
                ("R2", "changes applied / courses touched / created", f"{applied} / {moved} / {len(after) - 2000}",
                 "50 / 50 / 50", (applied, moved, len(after) - 2000) == (50, 50, 50)),
                ("R2", "elapsed", round(elapsed, 1), "(printed)", None)]
    # R3
    source = write_rows(work / "r3.csv", rows_for(20, start=900000, prefix="Small"))
    with Sandbox(rate_limit=LIMIT, rate_window=WINDOW, api_key=KEY) as sandbox:
        for i in range(20000):  # stored directly: 20,000 creates through the API would take half an hour
            course_id = f"crs_{i:010x}"
            sandbox.store.courses[course_id] = {"id": course_id, "title": f"Existing {i}", "slug": f"existing-{i}",
                                                "courseType": "course", "externalId": f"OLD-{i}", "tags": [],
                                                "customFields": {}}
        elapsed, done, requests = run(sandbox, source, "--mode", "sync")
    figures += [("R3", "requests (20 rows, 20,000 courses stored)", requests, "≤ 3 × 20 + 2", requests <= 62),
                ("R3", "elapsed", round(elapsed, 1), "(printed)", None)]
    print(f"{'id':<4}{'figure':<72}{'measured':>16}  {'target':<16}met")
    for fid, name, value, target, met in figures:
        print(f"{fid:<4}{name:<72}{str(value):>16}  {target:<16}{'' if met is None else 'yes' if met else 'NO'}")
    return 0 if all(m in (True, None) for *_, m in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
