"""What a run shows while it works, and the log it leaves."""

import io
import json

from importer.core.outcomes import RowOutcome
from importer.platform.api import RateSignals, Reply
from importer.run.progress import BarProgress, NullProgress, PlainProgress, RunLog, start_progress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_lines_every_few_seconds_and_at_the_end():
    stream, clock = io.StringIO(), FakeClock()
    progress = PlainProgress(stream, every=10, clock=clock)
    progress.start(4)
    for status, at in (("created", 1), ("exists", 2), ("failed", 11), ("created", 12)):
        clock.now = at
        progress.row_done(RowOutcome(2, status))
    progress.retried(Reply("POST", "/x", 503), 1.5)
    progress.note("the server has no lookup")
    lines = stream.getvalue().splitlines()
    assert lines == ["[3/4] created 1 exists 1 failed 1 retried 0 (16/min)",
                     "[4/4] created 2 exists 1 failed 1 retried 0 (20/min)",
                     "Note: the server has no lookup"]


def test_the_bar_counts_by_status_with_an_eta_from_the_pace_and_fits_80_columns():
    stream = io.StringIO()
    progress = BarProgress(stream)
    progress.start(200, pace=0.6)  # the pacer's 100/min
    progress.row_done(RowOutcome(2, "created"))
    progress.retried(Reply("POST", "/x", 429), 2.0)
    progress.row_done(RowOutcome(3, "exists"))
    progress.row_done(RowOutcome(4, "updated"))
    shown = stream.getvalue()
    progress.close()
    last = shown.split("\r")[-1]
    assert "3/200" in last and "new 1 upd 1 had 1 retry 1 ETA 1:58" in last  # 197 rows x 0.6 s
    assert len(last.rstrip("\n")) <= 80


def test_start_progress_picks_plain_lines_without_a_terminal():
    assert isinstance(start_progress(io.StringIO()), PlainProgress)
    null = NullProgress()
    null.start(1), null.row_done(RowOutcome(2, "created")), null.note("x"), null.close()  # says nothing


def test_the_run_log_has_one_line_per_request_with_its_facts(tmp_path):
    path = tmp_path / "run.log.jsonl"
    log = RunLog(path)
    log.write(event="start", file="c.xlsx")
    ok = Reply("POST", "/incoming/v2/courses", 201, {"id": "crs_1"}, elapsed=0.1234)
    lost = Reply("POST", "/incoming/v2/courses", None, transport_error="no reply within the timeout",
                 rate=RateSignals(remaining=3))
    log.request(ok, row=2, attempt=1, waited=0.5)
    log.request(lost, row=3, attempt=2, waited=0.0)
    log.close()
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["event"] for r in records] == ["start", "request", "request"]
    first, second = records[1], records[2]
    assert {k: first[k] for k in ("method", "path", "status", "code", "attempt", "row", "wait", "elapsed",
                                  "course_id", "error")} == {
        "method": "POST", "path": "/incoming/v2/courses", "status": 201, "code": None, "attempt": 1, "row": 2,
        "wait": 0.5, "elapsed": 0.123, "course_id": "crs_1", "error": None}
    assert (second["status"], second["code"], second["error"]) == (None, "NO_REPLY", "no reply within the timeout")
    assert all("time" in r for r in records)


def test_plain_lines_name_every_status_seen_a_syncs_updates_and_an_undos_restores():
    stream, clock = io.StringIO(), FakeClock()
    progress = PlainProgress(stream, every=100, clock=clock)
    progress.start(3)
    for status in ("updated", "created", "updated"):
        progress.row_done(RowOutcome(2, status))
    undo = PlainProgress(stream, every=100, clock=clock)
    undo.start(2)
    for status in ("restored", "archived"):
        undo.row_done(RowOutcome(2, status))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[3/3] updated 2 created 1 retried 0")
    assert lines[1].startswith("[2/2] restored 1 archived 1 retried 0") and "created" not in lines[1]
