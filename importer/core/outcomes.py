"""What became of each row of a run: its status, and the run's report.

A module of its own so that the create loop, the progress display and the results files
all speak of the same statuses without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CREATED, UPDATED, UNCHANGED, EXISTS = "created", "updated", "unchanged", "exists"
CONFLICT, NOT_FOUND, INVALID, FAILED, NOT_ATTEMPTED = "conflict", "not_found", "invalid", "failed", "not_attempted"
SKIPPED = "skipped"  # the identical course as an earlier row, which carries it
# The row is done: its course is on the platform (`exists`: as it was, the mode did not change it;
# `skipped`: the same course as an earlier row).
OK_STATUSES = (CREATED, UPDATED, UNCHANGED, EXISTS, SKIPPED)
# The row needs the user: it goes to the failures file.
FAILURE_STATUSES = (CONFLICT, NOT_FOUND, INVALID, FAILED, NOT_ATTEMPTED)
STATUSES = OK_STATUSES + FAILURE_STATUSES  # the order summaries list them in
# A course of the sync's scope that no row names (`run.missing`): listed, or archived.
MISSING, ARCHIVED = "missing", "archived"
MISSING_STATUSES = (MISSING, ARCHIVED, FAILED, NOT_ATTEMPTED, NOT_FOUND, UNCHANGED)


@dataclass(frozen=True)
class Change:
    """One field of one course: what the platform holds, and what the row says."""

    field: str  # the API name, or `customFields.<key>`
    current: object
    new: object


@dataclass
class RowOutcome:
    row: int
    status: str
    course_id: str | None = None
    course_slug: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    changes: tuple[Change, ...] = ()  # applied (updated), or found but not applied (exists)

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
    # The scope's courses no row names (`run.missing`), each with its outcome (row 0: no row of the file),
    # and the courses themselves as the plan read them, by id.
    missing: list[RowOutcome] = field(default_factory=list)
    missing_courses: dict[str, dict] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES}

    @property
    def all_ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and all(o.status in (MISSING, ARCHIVED, UNCHANGED, NOT_FOUND)
                                                        for o in self.missing)
