"""How a run shows itself while it works, and the log it leaves.

`start_progress()` picks a tqdm bar on a terminal and plain periodic lines otherwise
(a log file, CI); both are a `Progress`, as is `NullProgress`, the do-nothing twin that
lets library code report progress without asking whether anyone watches.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Protocol

from ..core.outcomes import RowOutcome
from ..core.text import shown

PLAIN_EVERY_SECONDS = 10.0


class Progress(Protocol):
    def start(self, total: int, pace: float | None = None) -> None: ...
    def row_done(self, outcome: RowOutcome) -> None: ...
    def retried(self, reply, wait: float) -> None: ...
    def note(self, message: str) -> None: ...
    def close(self) -> None: ...


class NullProgress:
    """Shows nothing."""

    def start(self, total: int, pace: float | None = None) -> None: ...
    def row_done(self, outcome: RowOutcome) -> None: ...
    def retried(self, reply, wait: float) -> None: ...
    def note(self, message: str) -> None: ...
    def close(self) -> None: ...


class BarProgress:
    """A bar that fits 80 columns: rows done of rows to send, counts by status, and an ETA
    from the pacer's rate (`pace`, seconds a row) and the rows left, which holds on a resumed
    run too, where the rate so far says nothing."""

    # Short words that keep the line within 80 columns; any other status (an undo's `archived`)
    # shows under its own name. Only statuses seen so far are shown: an undo never says `new 0`.
    SHORT = {"created": "new", "updated": "upd", "exists": "had", "failed": "fail", "conflict": "conf",
             "not_found": "nf", "restored": "restored", "archived": "archived"}

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.counts: Counter = Counter()
        self.bar = None
        self.pace = None

    def start(self, total: int, pace: float | None = None) -> None:
        import shutil

        from tqdm import tqdm

        self.pace = pace
        width = min(shutil.get_terminal_size((80, 24)).columns, 80)
        self.bar = tqdm(total=total, file=self.stream, ncols=width, unit="row",
                        bar_format="{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{postfix}")  # tqdm puts ', ' first
        self.bar.set_postfix_str(self._postfix(), refresh=False)

    def row_done(self, outcome: RowOutcome) -> None:
        self.counts[outcome.status] += 1
        self.bar.update(1)
        self.bar.set_postfix_str(self._postfix())

    def retried(self, reply, wait: float) -> None:
        self.counts["retried"] += 1
        if self.bar:
            self.bar.set_postfix_str(self._postfix())

    def note(self, message: str) -> None:
        (self.bar.write if self.bar else print)(f"Note: {shown(message, 500)}", file=self.stream)

    def close(self) -> None:
        if self.bar:
            self.bar.close()

    def _postfix(self) -> str:
        c = self.counts
        order = list(self.SHORT) + [s for s in c if s not in self.SHORT and s != "retried"]
        parts = [f"{self.SHORT.get(status, status)} {c[status]}" for status in order if c[status]]
        if c["retried"]:
            parts.append(f"retry {c['retried']}")
        if self.pace and self.bar is not None:
            left = max(self.bar.total - self.bar.n, 0) * self.pace
            parts.append(f"ETA {int(left // 60)}:{int(left % 60):02d}")
        return " ".join(parts)


class PlainProgress(BarProgress):
    """One line every few seconds, for logs that are not a terminal."""

    def __init__(self, stream=sys.stderr, every: float = PLAIN_EVERY_SECONDS, clock=time.monotonic):
        super().__init__(stream)
        self.every, self.clock = every, clock
        self.total = 0
        self.done = 0
        self.label = ""  # what the lines are about, when several runs share a stream (an onboarding's clients)

    def start(self, total: int, pace: float | None = None) -> None:
        self.total, self.done = total, 0
        self.counts.clear()
        self.started = self.last = self.clock()

    def row_done(self, outcome: RowOutcome) -> None:
        self.counts[outcome.status] += 1
        self.done += 1
        now = self.clock()
        if now - self.last >= self.every or self.done == self.total:
            self.last = now
            elapsed = now - self.started
            rate = self.done / elapsed * 60 if elapsed > 0 else 0.0
            print(f"{self.label}[{self.done}/{self.total}] {self._postfix()} ({rate:.0f}/min)", file=self.stream,
                  flush=True)

    def retried(self, reply, wait: float) -> None:
        self.counts["retried"] += 1

    def _postfix(self) -> str:
        """Each status seen so far under its own name (a sync's updates, an undo's restores), and retries."""
        c = self.counts
        seen = [status for status in c if status != "retried" and c[status]]
        return " ".join([f"{status} {c[status]}" for status in seen] + [f"retried {c['retried']}"])

    def note(self, message: str) -> None:
        print(f"Note: {shown(message, 500)}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


def start_progress(stream=sys.stderr):
    return BarProgress(stream) if stream.isatty() else PlainProgress(stream)


class RunLog:
    """JSON lines, one per request: what was asked, what came back, how long we waited.
    Never a header: the key cannot end up here."""

    def __init__(self, path):
        self.path = path
        self.handle = open(path, "a", encoding="utf-8")
        self.failure: str | None = None  # why writing stopped (a full disk): the run goes on without it

    def request(self, reply, *, row, attempt, waited) -> None:
        self.write(event="request", method=reply.method, path=reply.path, status=reply.status,
                   code=None if reply.kind == "ok" else reply.code, attempt=attempt, row=row,
                   wait=round(waited, 3), elapsed=round(reply.elapsed, 3), course_id=reply.course_id,
                   error=reply.transport_error)

    def write(self, **record) -> None:
        """A log line. The log is for reading afterwards, not what keeps the courses' ids
        (the journal and the results do): a write that fails is noted, never raised."""
        if self.failure:
            return
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}
        try:
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.handle.flush()
        except (OSError, ValueError) as exc:
            self.failure = getattr(exc, "strerror", None) or str(exc)

    def close(self) -> None:
        try:
            self.handle.close()
        except OSError as exc:
            self.failure = self.failure or exc.strerror or str(exc)
