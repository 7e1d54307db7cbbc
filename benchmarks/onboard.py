"""Onboarding on N instances at once: `python benchmarks/onboard.py [--rows R] [--n 1 5 20]`.

Each client has its own sandbox (20 requests per 2 s window, 30 ms latency, as S1), the real CLI runs
`importer onboard` as a subprocess against all of them. The ideal is one instance's: R rows at the
rate limit (R ÷ rate), since the instances are driven at the same time, each under its own pacer.
Printed: elapsed ÷ ideal at every N (the issue asks ≤ 1.1), the 429s, and every course created once.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from importer.sandbox import Sandbox  # noqa: E402

KEY = "benchmark-onboard-key"
LIMIT, WINDOW = 20, 2.0


def write_template(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Title", "Course Type", "External ID", "Tags"])
        for i in range(rows):
            writer.writerow([f"Course {i:05}", "course", f"EXT-{i:05}", f"bench, t{i % 5}"])
    return path


def one(n: int, rows: int, work: Path) -> dict:
    folder = work / f"n{n}"
    folder.mkdir()
    template = write_template(folder / "template.csv", rows)
    boxes = [Sandbox(rate_limit=LIMIT, rate_window=WINDOW, latency_ms=30, api_key=KEY, seed=i).start()
             for i in range(n)]
    try:
        clients = folder / "clients.csv"
        with clients.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Client", "Client key", "Base URL", "Key variable"])
            for i, box in enumerate(boxes):
                writer.writerow([f"Client {i}", f"c{i}", box.base_url, "BENCH_TI_KEY"])
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "importer", "onboard", str(template), "--clients", str(clients),
                               "--rate-limit", str(round(LIMIT * 60 / WINDOW)), "--yes"], capture_output=True,
                              text=True, env={**os.environ, "BENCH_TI_KEY": KEY})
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"N={n}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        counts = [Counter(c["externalId"] for c in box.store.all()) for box in boxes]
        once = all(len(c) == rows and set(c.values()) == {1} for c in counts)
        throttled = sum(box.stats()["throttled"] for box in boxes)
    finally:
        for box in boxes:
            box.stop()
    ideal = rows * WINDOW / LIMIT
    return {"n": n, "rows": rows, "ideal_s": ideal, "elapsed_s": elapsed, "ratio": elapsed / ideal,
            "429": throttled, "each_once": once}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200, help="template rows, created on every instance")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 5, 20], help="instances (one client each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-onboard-") as work:
        results = [one(n, args.rows, Path(work)) for n in args.n]
    print(f"{'N':>3} {'rows each':>9} {'ideal s':>8} {'elapsed s':>9} {'elapsed ÷ ideal':>16} {'429s':>5} "
          f"{'each once':>9}   target: ratio ≤ 1.1 at every N")
    for r in results:
        print(f"{r['n']:>3} {r['rows']:>9} {r['ideal_s']:>8.1f} {r['elapsed_s']:>9.1f} {r['ratio']:>16.3f} "
              f"{r['429']:>5} {str(r['each_once']):>9}")
    worst = max(r["ratio"] for r in results)
    first, last = results[0], results[-1]
    print(f"ratio at N={last['n']} ÷ ratio at N={first['n']}: {last['ratio'] / first['ratio']:.3f}")
    return 0 if worst <= 1.1 and all(r["each_once"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
