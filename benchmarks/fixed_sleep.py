"""A careful hand-written loop: sleep 60/rate seconds after every request, and on a 429
wait as long as Retry-After says. A reference for the benchmarks.

    TI_API_KEY=… python benchmarks/fixed_sleep.py courses.csv http://127.0.0.1:8765 600
"""

import csv
import os
import sys
import time

import httpx


def main(path: str, base_url: str, rate_per_minute: float) -> None:
    headers = {"Authorization": f"Bearer {os.environ['TI_API_KEY']}"}
    pause = 60.0 / rate_per_minute
    with open(path, encoding="utf-8-sig", newline="") as handle, httpx.Client(base_url=base_url,
                                                                              headers=headers) as client:
        for row in csv.DictReader(handle):
            body = {"title": row["title"], "courseType": row["courseType"], "externalId": row["externalId"],
                    "tags": [t.strip() for t in row["tags"].split(",") if t.strip()]}
            while True:
                reply = client.post("/incoming/v2/courses", json=body, timeout=30)
                time.sleep(pause)
                if reply.status_code != 429:
                    break
                time.sleep(float(reply.headers.get("Retry-After", 1)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
