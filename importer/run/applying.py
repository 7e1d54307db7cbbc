"""Stage 5 — apply the plan: each create POSTed once, each update PUT, paced, retried, journaled.

`Importer.apply(validation, plan)` walks the rows in file order and does what the plan says
(`planning`): a `create` is POSTed, an `update` is PUT with only the changed fields, anything
else sends nothing and is reported. `Importer.read_catalogue` reads what the plan needs from
the platform through the same pacer; `Importer.run(validation)` creates without a plan (the
journal is then the only memory, as on an instance that cannot be read).

For a create the journal is asked first when the instance could not be read (created before
on this target: `exists`, nothing sent); `sending` is written before the POST and the outcome
after it. A POST whose reply was lost may have been
applied, so before it is sent again the course is looked up (by externalId, else slug,
else title); a duplicate-422 on such a resend also resolves to the course found.

Retries: 429, 5xx, connection errors and timeouts wait (the server's Retry-After when it
gives one, else capped jittered exponential backoff) and try again up to `max_retries`.
400/404/409/422 fail the row. 401/403 stop the run. So do `max_consecutive_failures`
transient failures in a row: the server is down, and burning through the file helps nobody.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from dataclasses import dataclass, field

from ..check.validating import RowResult, ValidationResult
from ..core.fields import CUSTOM_FIELD_PREFIX as CUSTOM_PREFIX
from ..core.outcomes import (
    ARCHIVED,
    CONFLICT,
    CREATED,
    EXISTS,
    FAILED,
    INVALID,
    MISSING,
    NOT_ATTEMPTED,
    NOT_FOUND,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Change,
    RowOutcome,
    RunReport,
)
from ..errors import BadKey, NotTheAPI, TargetBusy, TargetError, TargetUnreachable
from ..platform import catalogue as catalogue_reading
from ..platform.api import CoursesAPI, Reply
from ..platform.catalogue import Catalogue
from ..platform.journal import SENDING, Journal, identity_key
from ..platform.pacing import Backoff, Pacer
from . import planning
from .planning import Action, Plan
from .progress import NullProgress, Progress, RunLog

LONG_WAIT = 5.0  # seconds: a wait longer than this is shown, not sat through in silence
NO_WRITE_ENDPOINT = (404, 405, 501)  # a create answered so: the endpoint is not there, whatever the row holds


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:,.0f} days"


class Interrupted(Exception):
    """The user asked to stop (Ctrl-C, SIGTERM): finish what is in flight, send nothing more."""


@dataclass
class RunSettings:
    max_retries: int = 5
    max_consecutive_failures: int = 10
    max_wait: float = 300.0  # seconds: the longest wait a server may ask for before the run stops
    key_source: str = "the key (TI_API_KEY)"  # what a refused key's message tells the user to check
    source_file: str | None = None
    run_id: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ"))


@dataclass
class Importer:
    api: CoursesAPI
    journal: Journal
    target: str
    pacer: Pacer
    backoff: Backoff = field(default_factory=Backoff)
    settings: RunSettings = field(default_factory=RunSettings)
    stop: threading.Event = field(default_factory=threading.Event)
    log: RunLog | None = None
    progress: Progress = field(default_factory=NullProgress)

    def __post_init__(self):
        self._consecutive_failures = 0
        self._retries = 0
        self._waited = 0.0
        self._journal_error: sqlite3.Error | None = None
        self._stop_error: TargetError | None = None  # a reply not the API's: stop after this row
        self._display = None
        self.lookup_supported: bool | None = None
        self._heard: list[Reply] = []  # the replies of the request in hand (a call may take several)
        self._attach(self.api)

    # --- the API spoken ---

    def _attach(self, api: CoursesAPI) -> CoursesAPI:
        """Every request of `api` waits its turn at the pacer, and every reply teaches it."""
        api.gate, api.heard = self._gate, self._hear
        return api

    def choose_api(self, requested: str = "auto") -> CoursesAPI:
        """The API this instance speaks: the one asked for, or (`auto`) the one found with read-only
        requests (`dialects.detect`). Called after the key check, before anything is written."""
        from ..platform import dialects

        def make(name: str) -> CoursesAPI:
            return self._attach(dialects.api_for(name, self.api.connection))

        self.api = make(requested) if requested != "auto" else \
            dialects.detect(make, lambda send: self._with_retries(send, row=None), self.target)
        return self.api

    # --- the run ---

    def check_key(self) -> Reply:
        """One cheap request before any row: a wrong key or an unreachable host stops here."""
        reply = self._request(self.api.ping, None, 1)
        if reply.status is None and not reply.sent:
            # Nothing answers there (refused, no such host): say so now, not after a minute of
            # backing off. A server that answers but is busy (429, 5xx) is waited for as usual.
            advice = "" if "proxy" in reply.message or "certificate" in reply.message else "; check the address"
            raise TargetUnreachable(f"cannot reach {self.target}: {reply.message}{advice} (nothing was sent)")
        if reply.kind in ("transient", "lost"):
            self._note_transient(reply)
            self._back_off(1, reply)
            reply = self._with_retries(self.api.ping, row=None)
        if reply.kind == "auth":
            raise BadKey(f"the API key was refused by {self.target} (HTTP {reply.status}); "
                         f"check {self.settings.key_source} — nothing was sent")
        if reply.status is None:
            raise TargetUnreachable(f"cannot reach {self.target}: {reply.message}")
        if reply.kind == "transient":
            raise TargetUnreachable(f"{self.target} is not answering properly ({reply.message}); nothing was sent")
        if not 200 <= reply.status < 300 or (isinstance(reply.body, dict) and reply.body.get("valid") is False):
            raise TargetError(f"{self.target} did not accept the key check (HTTP {reply.status}"
                              f"{_redirect_note(reply)}): is the address right? Nothing was sent")
        return reply

    def read_catalogue(self, validation: ValidationResult) -> Catalogue:
        """What the platform holds for these rows, through the pacer (see `catalogue`)."""
        found = catalogue_reading.read_catalogue(
            validation.valid_rows, self.api, lambda send: self._with_retries(send, row=None))
        self.lookup_supported = found.visible
        found.kept = self.journal.kept(self.target)
        return found

    def plan(self, validation: ValidationResult, *, mode: str = "create", custom_fields: list[str] | None = None,
             missing: str | None = None, scope_source: str | None = None, scope_tag: str | None = None,
             missing_share: float | None = None) -> tuple[Plan, int]:
        """Read what the platform holds for these rows and classify each (`planning`); with `missing`, the
        scope's courses no row names too (`missing`). Returns the plan and the requests it took. Nothing
        is written."""
        from ..check.restricting import restrict_to
        from ..platform.dialects import LABELS

        # What this instance's API cannot take is said now, before the first write, and its rows and
        # cells marked: a row of a type it has no kind for is invalid here, a column it has no field
        # for is not sent (a warning on each cell).
        unsent = restrict_to(validation, self.api.limits)
        catalogue = self.read_catalogue(validation)
        made = planning.make_plan(validation, catalogue, mode=mode, custom_fields=custom_fields)
        made.api, made.notes = LABELS[self.api.name], unsent
        reads = catalogue.requests
        if missing is not None:
            from .missing import DEFAULT_SHARE, Scope, find_missing

            made.missing = find_missing(self, validation, made, Scope(scope_source, scope_tag), missing,
                                        share=DEFAULT_SHARE if missing_share is None else missing_share)
            reads += made.missing.requests
        return made, reads

    def read(self, send) -> Reply:
        """One read of the platform (`send`: a call of `self.api`), paced and retried like any request."""
        return self._with_retries(send, row=None)

    def run(self, validation: ValidationResult) -> RunReport:
        """Create every valid row, with the journal as the only memory (no plan)."""
        return self.apply(validation, planning.make_plan(validation, Catalogue(visible=False)))

    def apply(self, validation: ValidationResult, plan: Plan) -> RunReport:
        by_row = {r.row: r for r in validation.rows}
        self._display = validation.columns.display
        outcomes: dict[int, RowOutcome] = {}
        to_send = [a for a in plan.actions if a.kind in planning.WRITES]
        report = RunReport([])
        archives = plan.missing.archives if getattr(plan, "missing", None) else 0
        self.progress.start(len(to_send) + archives, pace=self.pacer.interval)
        try:
            for action in plan.actions:
                if action.kind in planning.WRITES and self.stop.is_set():
                    raise Interrupted
                outcome = self.apply_action(by_row[action.row], action, trust_server=plan.visible)
                outcomes[action.row] = outcome
                if action.kind in planning.WRITES:
                    self.progress.row_done(outcome)
                if self._journal_error:
                    raise self._journal_error
                if self._stop_error:
                    raise self._stop_error
            self._archive_missing(plan, report)
        except Interrupted:
            report.interrupted = True
        except TargetError as exc:
            report.stop_reason = str(exc)
        except sqlite3.Error as exc:
            # Without the journal a lost reply could not be told from a new course: stop.
            from ..platform.journal import journal_trouble

            advice = journal_trouble(exc)[1]
            report.stop_reason = (f"the journal ({self.journal.path}) could not be written ({exc}); stopped so that "
                                  f"nothing can be sent twice. {advice[0].upper()}{advice[1:]}")
        finally:
            self.progress.close()
        reason = "the run was interrupted before this row" if report.interrupted else \
            f"the run stopped before this row: {report.stop_reason}"
        for action in plan.actions:
            if action.row in outcomes:
                continue
            if action.kind in planning.WRITES:  # not reached: a re-run sends it
                outcomes[action.row] = RowOutcome(action.row, NOT_ATTEMPTED, action.course_id,
                                                  error_code="NOT_ATTEMPTED", error_message=reason)
            else:  # an invalid row, a conflict…: what it is whenever the run stopped (no request made)
                outcomes[action.row] = self.apply_action(by_row[action.row], action, trust_server=plan.visible)
        report.outcomes = [outcomes[r.row] for r in validation.rows]
        self._account_for_missing(plan, report, reason)
        for result in validation.skipped_rows:  # a skipped row's course is its twin's
            twin, outcome = outcomes.get(result.same_as), outcomes[result.row]
            if twin is not None and outcome.status == SKIPPED:
                outcome.course_id, outcome.course_slug = twin.course_id, twin.course_slug
        report.lookup_supported = self.lookup_supported
        report.retries = self._retries
        return report

    def apply_action(self, result: RowResult, action: Action, *, trust_server: bool) -> RowOutcome:
        course = action.course or {}
        if action.kind == planning.CREATE:
            return self.create_row(result, trust_server=trust_server)
        if action.kind == planning.UPDATE:
            return self.update_row(result, action)
        if action.kind == planning.INVALID:
            return invalid_outcome(result, self._display)
        if action.kind == planning.SKIP:
            return RowOutcome(result.row, SKIPPED, error_code=action.code, error_message=action.message)
        status = {planning.UNCHANGED: UNCHANGED, planning.EXISTS: EXISTS, planning.CONFLICT: CONFLICT,
                  planning.NOT_FOUND: NOT_FOUND}[action.kind]
        return RowOutcome(result.row, status, course.get("id"), course.get("slug"), error_code=action.code,
                          error_message=action.message, changes=action.changes)

    # --- the scope's courses no row names (see `missing`) ---

    def _archive_missing(self, plan: Plan, report: RunReport) -> None:
        """After every row: archive the scope's courses no row names, when the plan says so."""
        missing = getattr(plan, "missing", None)
        if missing is None:
            return
        report.missing_courses = {c["id"]: c for c in missing.courses}
        if not missing.archives:
            return
        for course in missing.courses:
            if self.stop.is_set():
                raise Interrupted
            outcome = self.archive_course(course)
            report.missing.append(outcome)
            self.progress.row_done(outcome)
            if self._journal_error:
                raise self._journal_error
            if self._stop_error:
                raise self._stop_error

    def _account_for_missing(self, plan: Plan, report: RunReport, reason: str) -> None:
        """Every missing course has an outcome, whatever stopped the run: listed, or not attempted."""
        missing = getattr(plan, "missing", None)
        if missing is None:
            return
        report.missing_courses = {c["id"]: c for c in missing.courses}
        done = {o.course_id for o in report.missing}
        for course in missing.courses:
            if course["id"] in done:
                continue
            if missing.archives:
                report.missing.append(RowOutcome(0, NOT_ATTEMPTED, course["id"], course.get("slug"),
                                                 "NOT_ATTEMPTED", reason))
            else:
                why = missing.refusal or f"reported by --missing {missing.mode}; nothing was sent"
                report.missing.append(RowOutcome(0, MISSING, course["id"], course.get("slug"), "MISSING",
                                                 f"has {missing.scope.describe()} but no row of the file names it: "
                                                 f"{why}"))

    def archive_course(self, course: dict) -> RowOutcome:
        """PUT publishedStatus=archived on a course no row names, its status as read just before journaled
        first (so an undo puts it back)."""
        course_id = course["id"]
        fresh = self._with_retries(lambda: self.api.get(course_id), row=None)
        if fresh.kind == "auth":
            raise BadKey(f"the API key was refused (HTTP {fresh.status}); the key may have been revoked")
        if fresh.status == 404:
            return RowOutcome(0, NOT_FOUND, course_id, course.get("slug"), "NOT_FOUND",
                              "no longer on the platform; nothing was sent")
        if fresh.kind != "ok" or not isinstance(fresh.body, dict):
            return RowOutcome(0, FAILED, course_id, course.get("slug"), fresh.code,
                              f"could not read the course before archiving it: {fresh.message}; nothing was sent")
        previous = fresh.body.get("publishedStatus")
        if previous == "archived":
            return RowOutcome(0, UNCHANGED, course_id, course.get("slug"), error_message="already archived")
        changes = (Change("publishedStatus", previous, "archived"),)
        self.journal.record_update(self.target, self.settings.run_id, course_id, 0, changes, applied=False)
        reply = self._with_retries(lambda: self.api.update(course_id, {"publishedStatus": "archived"}), row=None)
        if reply.kind == "auth":
            raise BadKey(f"the API key was refused (HTTP {reply.status}); the key may have been revoked")
        if reply.kind != "ok":
            return RowOutcome(0, FAILED, course_id, course.get("slug"), reply.code, reply.message)
        self.journal.record_update(self.target, self.settings.run_id, course_id, 0, changes, applied=True)
        return RowOutcome(0, ARCHIVED, course_id, course.get("slug"), changes=changes,
                          error_message="archived: no row of the file names it")

    # --- undo (see `undoing`) ---

    def read_courses(self, course_ids: list[str]) -> dict[str, dict | None]:
        """The current state of these courses (None: not on the platform). One GET each for
        up to 100; for more, list pages (100 courses a request) until all are found, then a
        GET for any still missing."""
        wanted = set(course_ids)
        found: dict[str, dict | None] = {}
        if len(wanted) > 100:
            cursor, pages = None, 0
            while wanted - found.keys() and pages < len(wanted):
                reply = self._with_retries(lambda c=cursor: self.api.list_page(c), row=None)
                pages += 1
                if reply.kind != "ok" or not isinstance(reply.body, dict):
                    break
                for course in reply.body.get("courses") or []:
                    if isinstance(course, dict) and course.get("id") in wanted:
                        found[course["id"]] = course
                page = reply.body.get("pageInfo") or {}
                if not page.get("hasMore"):
                    break
                cursor = page.get("cursor")
        for course_id in sorted(wanted - found.keys()):
            reply = self._with_retries(lambda i=course_id: self.api.get(i), row=None)
            if reply.status == 404:
                found[course_id] = None
            elif reply.kind == "ok" and isinstance(reply.body, dict):
                found[course_id] = reply.body
            else:
                raise TargetError(f"could not read course {course_id} from {self.target} ({reply.message}); "
                                  "nothing was changed")
        return found

    def each_write(self, items: list, one, left) -> tuple[dict, bool]:
        """`one(item)` -> (key, result) for each item in turn: the writes of an undo or a publish, paced and
        retried by the calls it makes, each shown as done. A stop asked for ends it before the next item
        (interrupted: True); a reason to stop (a refused key, a server gone) leaves every item not reached
        as `left(item, why)` -> (key, result). Returns ({key: result}, interrupted)."""
        done: dict = {}
        self.progress.start(len(items), pace=self.pacer.interval)
        interrupted = False
        try:
            for item in items:
                if self.stop.is_set():
                    raise Interrupted
                key, done[key] = one(item)
        except Interrupted:
            interrupted = True
        except TargetError as exc:
            for item in items:
                key, result = left(item, exc)
                done.setdefault(key, result)
        finally:
            self.progress.close()
        return done, interrupted

    def undo(self, actions) -> tuple[dict, bool]:
        """Send each restore or archive (a PUT of the fields it names), paced and retried like
        any write. Returns ({course id: (status, message)}, interrupted)."""
        from . import undoing

        def one(action):
            reply = self._with_retries(lambda: self.api.update(action.course_id, action.body), row=action.row)
            if reply.kind == "auth":
                raise BadKey(f"the API key was refused (HTTP {reply.status}); the key may have been revoked")
            status = ("restored" if action.kind == undoing.RESTORE else "archived") if reply.kind == "ok" else FAILED
            self.progress.row_done(RowOutcome(action.row, status, action.course_id))
            return action.course_id, (status, action.message if reply.kind == "ok" else reply.message)

        return self.each_write([a for a in actions if a.kind in undoing.WRITES], one, lambda action, why: (
            action.course_id, (NOT_ATTEMPTED, f"the undo stopped before this course: {why}")))

    # --- one row ---

    def update_row(self, result: RowResult, action: Action) -> RowOutcome:
        """PUT the changed fields, if the platform still holds what the plan saw in them: a course
        someone edited since the plan becomes a conflict, their edit kept. The previous values,
        as read just before the write, are journaled first: the run can be undone."""
        course_id = action.course_id
        fresh = self._with_retries(lambda: self.api.get(course_id), row=result.row)
        if fresh.kind == "auth":
            raise BadKey(f"the API key was refused (HTTP {fresh.status}) at row {result.row}; "
                         "the key may have been revoked")
        if fresh.status == 404:
            return RowOutcome(result.row, CONFLICT, course_id, error_code="CHANGED_SINCE_PLAN",
                              error_message="the course was deleted on the platform since the plan; nothing was sent")
        if fresh.kind in ("transient", "lost", "row_failure") and (fresh.speaks_the_api or fresh.status is None):
            return RowOutcome(result.row, FAILED, course_id, error_code=fresh.code,
                              error_message=f"could not read the course before updating it: {fresh.message}; "
                                            "nothing was sent")
        if fresh.kind != "ok" or not fresh.speaks_the_api or fresh.body.get("id") != course_id:
            raise NotTheAPI(f"the server stopped answering as the courses API (reading course {course_id} before "
                            f"updating it, it answered {fresh.describe()}); stopped before anything more was sent")
        edited = planning.edited_since(action, fresh.body)
        if edited:
            return RowOutcome(result.row, CONFLICT, course_id, fresh.body.get("slug"), error_code="CHANGED_SINCE_PLAN",
                              error_message=f"changed on the platform since the plan: {', '.join(edited)}; nothing "
                                            "was sent, so that edit is kept. Plan again to see the differences")
        action.changes = tuple(Change(c.field, planning.current_value(fresh.body, c.field), c.new)
                               for c in action.changes)
        if "customFields" in (action.body or {}):  # the whole object goes: built on what the platform holds now
            custom = dict(fresh.body.get("customFields") or {})
            custom.update({c.field[len(CUSTOM_PREFIX):]: c.new for c in action.changes
                           if c.field.startswith(CUSTOM_PREFIX)})
            action.body = {**action.body, "customFields": custom}
        self.journal.record_update(self.target, self.settings.run_id, course_id, result.row, action.changes,
                                   applied=False)
        reply = self._with_retries(lambda: self.api.update(course_id, action.body), row=result.row)
        if reply.kind == "ok" and not reply.speaks_the_api:
            raise NotTheAPI(f"the server stopped answering as the courses API (to the update of course {course_id} "
                            f"it answered {reply.describe()}); the update may not have been applied")
        if reply.kind == "ok":
            self.journal.record_update(self.target, self.settings.run_id, course_id, result.row, action.changes,
                                       applied=True)
            self.journal.record_kept(self.target, course_id, action.body, reply.body)
            return RowOutcome(result.row, UPDATED, course_id, reply.body.get("slug"), changes=action.changes)
        if reply.kind == "auth":
            raise BadKey(f"the API key was refused (HTTP {reply.status}) at row {result.row}; "
                         "the key may have been revoked")
        return RowOutcome(result.row, FAILED, course_id, (action.course or {}).get("slug"), error_code=reply.code,
                          error_message=reply.message)

    def create_row(self, result: RowResult, *, trust_server: bool = False) -> RowOutcome:
        """POST the row once. With `trust_server` the platform was just read and has no such
        course, so what the journal remembers of earlier runs does not count."""
        key = identity_key(result.identity)
        entry = None if trust_server else self.journal.get(self.target, key)
        if entry and entry.status == CREATED:
            return RowOutcome(result.row, EXISTS, entry.course_id, entry.course_slug)
        sent_before = bool(entry and entry.status == SENDING)
        if sent_before:
            # An earlier run sent this and never heard back: it may exist already.
            found = self.look_up(result)
            if found:
                return self._created(result, key, found, EXISTS)
        ambiguous = sent_before
        attempt = 0
        while True:
            attempt += 1
            self.journal.record(self.target, key, SENDING, source_file=self.settings.source_file,
                                source_row=result.row)
            reply = self._request(lambda: self.api.create(result.payload), result.row, attempt,
                                  before_log=lambda r: self._journal_created(result, key, r))
            kind = reply.kind
            if kind == "ok":
                return self._completed(result, RowOutcome(result.row, CREATED, reply.course_id,
                                                          reply.body.get("slug")), {})
            if kind == "auth":
                self.journal.record(self.target, key, FAILED, source_row=result.row)
                raise BadKey(f"the API key was refused (HTTP {reply.status}) at row {result.row}; "
                             "the key may have been revoked")
            if kind in ("unconfirmed", "row_failure") and not reply.speaks_the_api:
                # A login page or a captive portal answering for the server: stop, once a lookup
                # says the course was not made (the journal keeps `sending` otherwise, so the
                # next run looks it up before anything is sent).
                return self._not_the_api(result, key, reply)
            if kind == "unconfirmed":
                # The server said yes without saying to what: never resend blind. The journal
                # keeps `sending`, so a later run looks the course up before anything else.
                found = self.look_up(result)
                if found:
                    return self._created(result, key, found, CREATED)
                # A yes in no shape the contract has, and no course made: whatever answers is not
                # answering as the courses API; stop before more rows meet it.
                self._stop_error = NotTheAPI(f"the server stopped answering as the courses API: to the create of "
                                             f"row {result.row} it answered {reply.describe()} without a course id, "
                                             "and no such course was found")
                return RowOutcome(result.row, FAILED, error_code="UNCONFIRMED",
                                  error_message=f"{reply.message}. The course may have been created; it was not "
                                                "found by lookup, so it was not sent again. Check in the admin "
                                                "panel; a re-run looks it up again before sending.")
            if kind == "row_failure" and reply.status in NO_WRITE_ENDPOINT:
                # Not this row's fault: the address takes no course (another API, a wrong base URL).
                # Stop before every other row meets the same answer; nothing needs fixing in the cells.
                self.journal.record(self.target, key, FAILED, source_row=result.row)
                self._stop_error = NotTheAPI(
                    f"the platform answered HTTP {reply.status} to {reply.method} {reply.path}: it takes no course "
                    f"there, so no row can be created this way (nothing is wrong in the cells). The instance may "
                    f"speak the other API: run again without --api (or with --api auto) to find out")
                return RowOutcome(result.row, NOT_ATTEMPTED, error_code="NO_SUCH_ENDPOINT",
                                  error_message=str(self._stop_error))
            if kind == "row_failure":
                if reply.code.startswith("DUPLICATE_"):
                    # Ours after a lost reply, or made meanwhile by another run (another machine,
                    # another folder): when the course with this row's identity is there, it is this row's.
                    return self._resolve_duplicate(result, key, reply, CREATED if ambiguous and not sent_before
                                                   else EXISTS, ambiguous)
                self.journal.record(self.target, key, FAILED, source_row=result.row)
                return RowOutcome(result.row, FAILED, error_code=reply.code, error_message=reply.message)
            ambiguous = ambiguous or kind == "lost"
            self._note_transient(reply)
            if attempt > self.settings.max_retries:
                if not ambiguous:
                    self.journal.record(self.target, key, FAILED, source_row=result.row)
                return RowOutcome(result.row, FAILED, error_code=reply.code,
                                  error_message=f"{reply.message} (gave up after {attempt} attempts)")
            self._back_off(attempt, reply)
            if ambiguous:
                found = self.look_up(result)
                if found:
                    return self._created(result, key, found, CREATED)

    def _not_the_api(self, result: RowResult, key: str, reply: Reply) -> RowOutcome:
        what = (f"the server stopped answering as the courses API: to the create of row {result.row} it "
                f"answered {reply.describe()} (a login page or a network's sign-in page?)")
        try:
            found = self.look_up(result)
        except NotTheAPI:
            found, confirmed = None, False
        else:
            confirmed = self.lookup_supported is not False
        if found:
            self._stop_error = NotTheAPI(what)
            return self._created(result, key, found, CREATED)
        if confirmed:
            self.journal.record(self.target, key, FAILED, source_row=result.row)
        self._stop_error = NotTheAPI(what + ("; the course was not made" if confirmed else
                                             "; whether the course was made could not be checked, so the next "
                                             "run looks it up before sending"))
        return RowOutcome(result.row, NOT_ATTEMPTED if confirmed else FAILED, error_code="NOT_THE_API",
                          error_message=str(self._stop_error))

    def _journal_created(self, result: RowResult, key: str, reply: Reply) -> None:
        """Right after a 201, before anything else (the run log included): the id is on disk.
        If the journal cannot be written (a full disk), the row's outcome still carries the
        id to the results, and the run stops after it. What the server kept of a value it
        rewrites is remembered too (`Journal.record_kept`)."""
        if reply.kind == "ok":
            try:
                self.journal.record(self.target, key, CREATED, course_id=reply.course_id,
                                    course_slug=reply.body.get("slug"), source_file=self.settings.source_file,
                                    source_row=result.row)
                self.journal.record_kept(self.target, reply.course_id, result.payload, reply.body)
            except sqlite3.Error as exc:
                self._journal_error = exc

    def _created(self, result: RowResult, key: str, course: dict, status: str) -> RowOutcome:
        course_id, slug = course.get("id"), course.get("slug")
        self.journal.record(self.target, key, CREATED, course_id=course_id, course_slug=slug,
                            source_file=self.settings.source_file, source_row=result.row)
        outcome = RowOutcome(result.row, status, course_id, slug)
        return self._completed(result, outcome, course) if status == CREATED else outcome

    def _completed(self, result: RowResult, outcome: RowOutcome, course: dict) -> RowOutcome:
        """What the create could not carry on this API (`CoursesAPI.left_for_update`: on the content
        API, publishing, since every course is created as a draft) sent as an update right after it,
        journaled like any update. If that fails, the course stays created and says what is missing;
        a sync publishes it without creating it again."""
        left = {k: v for k, v in self.api.left_for_update(result.payload).items() if course.get(k) != v}
        if not left:
            return outcome
        changes = tuple(Change(name, course.get(name, "draft" if name == "publishedStatus" else None), value)
                        for name, value in left.items())
        self.journal.record_update(self.target, self.settings.run_id, outcome.course_id, result.row, changes,
                                   applied=False)
        fields_left = ", ".join(planning.LABELS.get(name, name) for name in left)
        try:
            reply = self._with_retries(lambda: self.api.update(outcome.course_id, left), row=result.row)
        except (Interrupted, TargetError) as exc:  # the course exists: its id goes to the results whatever stops
            if isinstance(exc, TargetError):
                self._stop_error = exc
            outcome.error_code = "NOT_COMPLETED"
            outcome.error_message = (f"created as a draft; the run stopped before {fields_left} was set "
                                     f"({exc or 'interrupted'}): run the same file again with --mode sync to finish it")
            return outcome
        if reply.kind == "ok":
            self.journal.record_update(self.target, self.settings.run_id, outcome.course_id, result.row, changes,
                                       applied=True)
            return outcome
        if reply.kind == "auth":
            raise BadKey(f"the API key was refused (HTTP {reply.status}) at row {result.row}; "
                         "the key may have been revoked")
        outcome.error_code = "NOT_COMPLETED"
        outcome.error_message = (f"created as a draft, but setting {fields_left} afterwards failed ({reply.message}); "
                                 "run the same file again with --mode sync to finish it (it is not created again)")
        return outcome

    def _resolve_duplicate(self, result: RowResult, key: str, reply: Reply, status: str,
                           ambiguous: bool) -> RowOutcome:
        """A duplicate is this row's course when the course with the row's identity is there."""
        found = self.look_up(result)
        if found:
            return self._created(result, key, found, status)
        self.journal.record(self.target, key, FAILED, source_row=result.row)
        if not ambiguous:
            return RowOutcome(result.row, FAILED, error_code=reply.code, error_message=reply.message)
        why = "this server cannot be searched" if self.lookup_supported is False else "no match was found"
        return RowOutcome(result.row, FAILED, error_code="UNCONFIRMED",
                          error_message=f"{reply.message} A reply was lost earlier, so this may be the course "
                                        f"sent then, but {why}; check in the admin panel before re-running.")

    def look_up(self, result: RowResult) -> dict | None:
        """The course on the server with this row's identity, if any. None when there is none,
        or when the server has no lookup endpoint (then resending is guarded only by the
        server's own uniqueness rules, which the run's summary says)."""
        if self.lookup_supported is False:
            return None
        field_name, value = result.identity
        if field_name == "row":
            return None
        reply = self._with_retries(lambda: self.api.find(field_name, value), row=result.row)
        if reply.status in (404, 405, 501):
            self.lookup_supported = False
            self.progress.note(f"{self.target} has no course lookup (HTTP {reply.status}): lost replies "
                               "cannot be reconciled automatically; duplicates are refused by the server's "
                               "uniqueness rules and reported as failures")
            return None
        if reply.kind == "ok" and not (reply.speaks_the_api and isinstance(reply.body.get("courses"), list)):
            # Never "not found" from a reply of another shape: that would resend a course that exists.
            raise NotTheAPI(f"the server stopped answering as the courses API (a lookup by {field_name} "
                            f"answered {reply.describe()}); stopped so that nothing is sent twice")
        if reply.kind != "ok":
            return None
        self.lookup_supported = True
        for course in reply.body["courses"]:
            if isinstance(course, dict) and course.get(field_name) == value and course.get("id"):
                return course
        return None

    # --- requests ---

    def _with_retries(self, send, row: int | None) -> Reply:
        """An idempotent request (ping, lookup, PUT), retried on transient trouble."""
        attempt = 0
        while True:
            attempt += 1
            reply = self._request(send, row, attempt)
            if reply.kind not in ("transient", "lost"):
                self._consecutive_failures = 0
                return reply
            self._note_transient(reply)
            if attempt > self.settings.max_retries:
                return reply
            self._back_off(attempt, reply)

    def _request(self, send, row: int | None, attempt: int, before_log=None) -> Reply:
        """One call of the API (one request, or a few: see `CoursesAPI`), each request paced by
        `_gate`. `before_log` sees the call's answer before the run log does: a new course's id
        is journaled before anything else is written."""
        self._heard = []
        reply = send()
        if reply.kind not in ("transient", "lost"):
            self._consecutive_failures = 0
        if before_log:
            before_log(reply)
        if self.log:
            for heard in self._heard:
                self.log.request(heard, row=row, attempt=attempt, waited=self._waited)
        return reply

    def _gate(self, follow_up: bool) -> None:
        """Before each request: the pacer's turn. A stop asked for ends the run before a call, never
        between the requests of one (a create is followed to its course id, an update to its end)."""
        self._wait_turn()
        if self.stop.is_set() and not follow_up:
            raise Interrupted

    def _hear(self, reply: Reply) -> None:
        self.pacer.learn(reply.rate)
        if reply.status == 429:
            self.pacer.throttled(reply.rate)
        self._heard.append(reply)

    def _wait_turn(self) -> None:
        """Wait for the pacer, within `max_wait`: a server asking for longer stops the run
        (the files are still written) with the time to come back. A long wait is shown."""
        wait, why = self.pacer.next_wait()
        if wait > self.settings.max_wait:
            until = dt.datetime.now().astimezone() + dt.timedelta(seconds=min(wait, 10 * 365 * 86400))
            raise TargetBusy(f"{self.target} asked to wait {_duration(wait)} ({why}), longer than --max-wait "
                             f"{self.settings.max_wait:g} s; run the same command again after "
                             f"{until:%Y-%m-%d %H:%M} to continue")
        if wait > LONG_WAIT:
            self.progress.note(f"waiting {wait:.0f} s: {why}")
        self._waited = self.pacer.wait_turn()

    def _note_transient(self, reply: Reply) -> None:
        if reply.status == 429:
            return  # the server is up and telling us to slow down: not a sign it is down
        self._consecutive_failures += 1
        if self._consecutive_failures >= self.settings.max_consecutive_failures:
            raise TargetUnreachable(f"{self.target} failed {self._consecutive_failures} times in a row "
                                    f"(last: {reply.message}); stopped so the rest of the file is not burned "
                                    "through — run the same command again when the server is back")

    def _back_off(self, attempt: int, reply: Reply) -> None:
        server_wait, why = reply.rate.retry_after, "the server's Retry-After"
        if server_wait is None and reply.status == 429:
            server_wait, why = reply.rate.reset_in, "the server's rate-limit reset"
        if server_wait is None:
            why = f"backing off after: {reply.message}"
        delay = self.backoff.delay(attempt, server_wait)
        self._retries += 1
        self.progress.retried(reply, delay)
        self.pacer.hold(delay, why)


def _redirect_note(reply: Reply) -> str:
    location = reply.location
    return f", redirecting to {location[:100]}" if location else ""


def invalid_outcome(result: RowResult, display=None) -> RowOutcome:
    """The row's errors as one message, each named by the column as the user's sheet shows it
    (`display`, e.g. `ColumnMap.display`: `Course Type (B)`)."""
    errors = [i for i in result.issues if i.is_error]
    message = "; ".join(f"{display(i.column) if display else i.column}: {i.message}" for i in errors)
    return RowOutcome(result.row, INVALID, error_code=errors[0].code if errors else None, error_message=message)
