"""A sync that also sees what left the source: the platform's courses of one scope that no row names.

A CMS sync creates and updates; a course deleted from the CMS would stay published for ever. With
`--missing report` the plan lists the courses *of this source* (a scope the person names: a `source`
value, or a tag — never "everything not in the file") that no row of the file names; with
`--missing archive` the run archives them too (PUT publishedStatus=archived, journaled and in the
results' Missing sheet, so `importer undo` puts each back as it was).

A course is named by a row when the row's course is it (the plan matched it), or when any row —
a valid one or not — holds its External ID, slug or title: a row with a typo elsewhere must not get
its course archived.

The guards, because a truncated or empty export must never archive a catalogue (it happened to a
Canvas SIS import, every course unpublished):
    - a file with no rows, or no valid row, archives nothing, whatever is confirmed;
    - archiving more than `share` (default 10 %) of the scope needs the number typed back;
    - `--max-changes` counts the archives with the creates and updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Refused, TargetError

REPORT, ARCHIVE = "report", "archive"
MODES = (REPORT, ARCHIVE)
DEFAULT_SHARE = 10.0  # per cent of the scope a run may archive without the number typed back
ARCHIVED = "archived"
TO_ARCHIVE, REPORTED = "to_archive", "missing"  # how the plan names them


@dataclass(frozen=True)
class Scope:
    """The courses a sync is responsible for: those with this `source`, or this tag."""

    source: str | None = None
    tag: str | None = None

    def __post_init__(self):
        if (self.source is None) == (self.tag is None):
            raise TargetError("name the courses this file is responsible for: --scope-source VALUE (the courses "
                              "whose Source is VALUE) or --scope-tag TAG; the courses missing from the file are "
                              "looked for there only, never among all the platform's courses")
        if not (self.source or self.tag or "").strip():
            raise TargetError("the scope of --missing cannot be empty: name a Source value or a tag")

    def describe(self) -> str:
        return f"Source '{self.source}'" if self.source is not None else f"tag '{self.tag}'"


@dataclass
class Missing:
    """The courses of the scope no row names, and what the run is to do about them."""

    mode: str
    scope: Scope
    courses: list[dict]  # as the platform lists them, in its order
    scope_size: int  # courses in the scope (not archived)
    requests: int = 0
    share_limit: float = DEFAULT_SHARE
    refusal: str | None = None  # why nothing may be archived whatever is confirmed (an empty file)
    notes: list[str] = field(default_factory=list)

    @property
    def archives(self) -> int:
        """The archives the run will send (counted by --max-changes)."""
        return len(self.courses) if self.mode == ARCHIVE and not self.refusal else 0

    @property
    def share(self) -> float:
        return 100.0 * len(self.courses) / self.scope_size if self.scope_size else 0.0

    @property
    def needs_confirmation(self) -> bool:
        """Archiving more than the share allowed: the number must be typed back."""
        return self.archives > 0 and self.share > self.share_limit

    def summary(self) -> str:
        what = "to archive" if self.archives else "missing from the file (reported, not changed)"
        return (f"{len(self.courses)} of the {self.scope_size} courses with {self.scope.describe()} "
                f"{what} ({self.share:.0f} %)")


def find_missing(importer, validation, plan, scope: Scope, mode: str, *, share: float = DEFAULT_SHARE) -> Missing:
    """Read the scope's courses (`importer`: an `applying.Importer` whose API is chosen) and keep those
    no row names. Refuses archiving (not reporting) from a file with no row or no valid row, and on an
    API with no way to archive."""
    from .exporting import CourseReading

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if mode == ARCHIVE and not importer.api.limits.can_archive:
        raise Refused(f"--missing archive: {importer.api.limits.api} has no documented way to archive a course; "
                      "use --missing report to list them, and archive them in the platform's admin screens. "
                      "Nothing was sent")
    reading = CourseReading(importer, source=scope.source, tag=scope.tag)
    courses = list(reading)
    named_ids = {a.course_id for a in plan.actions if a.course_id}
    named_values = _named_values(validation)
    missing = [c for c in courses if c["id"] not in named_ids and not _named(c, named_values)]
    found = Missing(mode, scope, missing, len(courses), reading.requests, share)
    if mode == ARCHIVE:
        if not validation.rows:
            found.refusal = (f"{validation.sheet.path.name} has no rows: every course with {scope.describe()} "
                             "would be archived. An empty or headers-only file never archives anything")
        elif not validation.valid_rows:
            found.refusal = (f"no row of {validation.sheet.path.name} is valid: a file that cannot name its "
                             "courses never archives anything. Fix the rows first")
    return found


def _named_values(validation) -> dict[str, set]:
    """Every External ID, slug and title any row holds, valid or not (as the row would send it)."""
    named: dict[str, set] = {"externalId": set(), "slug": set(), "title": set()}
    for result in validation.rows:
        payload = result.payload
        for name, values in named.items():
            value = payload.get(name)
            if isinstance(value, str) and value:
                values.add(value.casefold() if name == "title" else value)
    return named


def _named(course: dict, named: dict[str, set]) -> bool:
    for name, values in named.items():
        value = course.get(name)
        if isinstance(value, str) and value and (value.casefold() if name == "title" else value) in values:
            return True
    return False


def check_archiving(missing: Missing | None, confirmed: int | None, ask=None) -> None:
    """Before anything is sent: refuse a run that would archive from an empty file, and one that would
    archive more than the share allowed unless the number is typed back (`ask`: a prompt returning
    what was typed; `confirmed`: the number given on the command line, for an unattended run)."""
    if missing is None or missing.mode != ARCHIVE:
        return
    if missing.refusal and missing.courses:
        raise Refused(f"--missing archive refused: {missing.refusal}. Nothing was sent")
    if not missing.needs_confirmation:
        return
    count = len(missing.courses)
    why = (f"this run would archive {count} of the {missing.scope_size} courses with {missing.scope.describe()} "
           f"({missing.share:.0f} %, more than the {missing.share_limit:g} % allowed without confirmation)")
    if confirmed is not None:
        if confirmed == count:
            return
        raise Refused(f"{why}, and --confirm-missing says {confirmed}, not {count}. Nothing was sent")
    if ask is None:
        raise Refused(f"{why}. If that is right, add --confirm-missing {count} (or run it on a terminal and type "
                      f"the number). Nothing was sent")
    typed = (ask(f"{why[0].upper()}{why[1:]}.\nType the number of courses to archive ({count}) to go on: ")
             or "").strip()
    if typed != str(count):
        raise Refused(f"not confirmed ('{typed}' is not {count}): nothing was sent")
