"""The loop a user would write from the guide's advice: read the CSV, POST each row, and on
a 429 sleep 1, 2, 4, 8… seconds before trying again. A reference for the benchmarks.

    TI_API_KEY=… python benchmarks/naive_loop.py courses.csv http://127.0.0.1:8765
"""

import csv
import os
import sys
import time

import httpx


def main(path: str, base_url: str) -> None:
    headers = {"Authorization": f"Bearer {os.environ['TI_API_KEY']}"}
    with open(path, encoding="utf-8-sig", newline="") as handle, httpx.Client(base_url=base_url,
                                                                              headers=headers) as client:
        for row in csv.DictReader(handle):
            body = {"title": row["title"], "courseType": row["courseType"], "externalId": row["externalId"],
                    "tags": [t.strip() for t in row["tags"].split(",") if t.strip()]}
            delay = 1
            while True:
                reply = client.post("/incoming/v2/courses", json=body, timeout=30)
                if reply.status_code != 429:
                    break
                time.sleep(delay)
                delay *= 2


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
