"""Export benchmark X1: `importer export` of 10,000 and 50,000 courses, in one run.

For each size: the requests it took against the floor (⌈N / 100⌉ list pages, plus the key check
and the read that finds which API the instance speaks), the seconds, and the export process's peak
memory (its own, from the operating system's accounting of that child). The sandbox is told a
limit far above what the export asks for, so that the figure is the importer's, not the pacing's.

Run: `python benchmarks/export.py` (about a minute).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from importer.sandbox import Sandbox  # noqa: E402

KEY = "benchmark-key"


def seed(sandbox: Sandbox, n: int) -> None:
    """Courses stored as the API would have stored them (50,000 creates through HTTP would take long)."""
    for i in range(n):
        sandbox.store.create({"title": f"Course {i:06}", "courseType": ["course", "video", "article"][i % 3],
                              "externalId": f"EXT-{i:07}", "tags": ["bench", f"t{i % 7}"],
                              "authors": ["Jane Doe", "Smith, John"], "description": f"<p>About course {i}.</p>",
                              "customFields": {"level": "beginner", "hours": i % 9}})


def export(sandbox: Sandbox, out: Path) -> tuple[float, float, int]:
    before = sandbox.stats()["requests"]
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "importer", "export", "--base-url", sandbox.base_url,
                              "--out", str(out), "--rate-limit", "1000000"],
                             env={**os.environ, "TI_API_KEY": KEY}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(child.stderr.read().decode()[-1500:])
    return elapsed, usage.ru_maxrss / 1024, sandbox.stats()["requests"] - before


def main() -> int:
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for n in (10_000, 50_000):
            with Sandbox(api_key=KEY, rate_limit=1_000_000) as sandbox:
                seed(sandbox, n)
                elapsed, peak, requests = export(sandbox, Path(folder) / f"x{n}.xlsx")
            floor = math.ceil(n / 100) + 2
            figures += [("X1", f"{n:,} courses: requests ÷ the floor ({requests} ÷ {floor})",
                         round(requests / floor, 3),
                         "1.0", requests == floor),
                        ("X1", f"{n:,} courses: seconds", round(elapsed, 1), "(printed)", None),
                        ("X1", f"{n:,} courses: peak memory of the export (MiB)", round(peak), "< 500", peak < 500)]
    print(f"{'id':<4}{'figure':<62}{'measured':>10}  {'target':<10}met")
    for ident, what, value, target, met in figures:
        print(f"{ident:<4}{what:<62}{value!s:>10}  {target:<10}{'' if met is None else 'yes' if met else 'NO'}")
    return 0 if all(m in (True, None) for *_, m in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
