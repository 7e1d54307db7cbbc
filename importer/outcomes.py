"""What became of each row of a run: its status, and the run's report.

A module of its own so that the create loop, the progress display and the results files
all speak of the same statuses without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass

CREATED, EXISTS, INVALID, FAILED, NOT_ATTEMPTED = "created", "exists", "invalid", "failed", "not_attempted"
# The row is done: the course is on the platform as the sheet says.
OK_STATUSES = (CREATED, EXISTS)
# The row needs the user: it goes to the failures file.
FAILURE_STATUSES = (INVALID, FAILED, NOT_ATTEMPTED)
STATUSES = OK_STATUSES + FAILURE_STATUSES  # the order summaries list them in


@dataclass
class RowOutcome:
    row: int
    status: str
    course_id: str | None = None
    course_slug: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


@dataclass
class RunReport:
    outcomes: list[RowOutcome]  # in input order, one per data row
    stop_reason: str | None = None
    interrupted: bool = False
    lookup_supported: bool | None = None
    retries: int = 0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def all_ok(self) -> bool:
        return all(o.ok for o in self.outcomes)
