"""Stage 4 — plan: each validated row, against what the platform holds, becomes one action.

Pure functions: rows and a `Catalogue` in, a `Plan` out; nothing is sent. A row's identity
is its External ID, else its slug, else its title. Against the course with that identity:

    create     no course has it, and no other course uses the row's title, slug or External ID
    update     the course exists and differs in a field the row fills in (the changes listed)
    unchanged  the course exists and already holds every value the row fills in
    conflict   a unique value of the row belongs to another course, or two rows match one course
    skip       the row repeats an earlier row exactly: one course, sent once
    invalid    validation said so

The mode then decides what is done about it (`MODES`): `create` leaves existing courses as they
are (`exists`, with the differences listed), `update` creates nothing (`not_found`), `sync`
does both. Values are compared as the server stores them, so a sync right after a sync plans
nothing: tags trimmed and case-folded, descriptions after the server's HTML cleaning, an empty
cell meaning "leave the platform's value", and custom field keys the instance does not know
left out (the server would drop them again on every sync).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..core import fields
from ..core.outcomes import Change
from ..platform.catalogue import UNIQUE_FIELDS, Catalogue

CREATE, UPDATE, UNCHANGED, EXISTS = "create", "update", "unchanged", "exists"
CONFLICT, NOT_FOUND, INVALID = "conflict", "not_found", "invalid"
SKIP = "skip"  # the identical course as an earlier row: that row's course is this row's too
MODES = ("create", "sync", "update")
WRITES = (CREATE, UPDATE)
LABELS = {f.name: f.label for f in fields.FIELDS}


@dataclass
class Action:
    row: int
    kind: str
    course: dict | None = None  # the platform's course this row is about
    changes: tuple[Change, ...] = ()
    code: str | None = None  # for conflict / not_found
    message: str | None = None
    body: dict | None = None  # the PUT body of an update: the changed fields only

    @property
    def course_id(self) -> str | None:
        return self.course.get("id") if self.course else None


@dataclass
class Plan:
    mode: str
    actions: list[Action]  # one per data row, in file order
    visible: bool  # False: the instance could not be read, every valid row is a create
    why_not_visible: str | None = None
    api: str | None = None  # the API spoken, as the plan names it
    notes: list[str] = field(default_factory=list)  # what of the file will not reach the platform, and why
    missing: object = None  # `missing.Missing`: the scope's courses no row names (--missing), if asked

    @property
    def changes_count(self) -> int:
        """Creates, updates and archives: what --max-changes counts."""
        return self.writes + (self.missing.archives if self.missing is not None else 0)

    def count(self, kind: str) -> int:
        return sum(1 for a in self.actions if a.kind == kind)

    @property
    def writes(self) -> int:
        return sum(1 for a in self.actions if a.kind in WRITES)

    def summary(self) -> str:
        """`Plan: 12 to create, 3 to update, 185 unchanged, 2 conflicts, 4 invalid`, in the spirit of terraform."""
        parts = [f"{self.count(CREATE)} to create", f"{self.count(UPDATE)} to update",
                 f"{self.count(UNCHANGED)} unchanged"]
        if self.count(EXISTS):
            parts.append(f"{self.count(EXISTS)} already there")
        parts.append(f"{self.count(CONFLICT)} conflict{'s' if self.count(CONFLICT) != 1 else ''}")
        if self.count(NOT_FOUND):
            parts.append(f"{self.count(NOT_FOUND)} not found")
        if self.count(SKIP):
            parts.append(f"{self.count(SKIP)} skipped (the same as an earlier row)")
        parts.append(f"{self.count(INVALID)} invalid")
        if self.missing is not None:
            parts.append(f"{len(self.missing.courses)} missing from the file"
                         + (" to archive" if self.missing.archives else ""))
        return "Plan: " + ", ".join(parts)


def make_plan(validation, catalogue: Catalogue, *, mode: str = "create",
              custom_fields: list[str] | None = None) -> Plan:
    """One action per row of `validation` (a `ValidationResult`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    comparable = comparable_custom_keys(catalogue, custom_fields)
    actions = {}
    for result in validation.rows:
        if not result.valid:
            actions[result.row] = Action(result.row, INVALID)
        elif result.same_as is not None:
            actions[result.row] = Action(result.row, SKIP, code="SAME_AS_ROW",
                                         message=f"the same course as row {result.same_as}, which is sent once")
        elif not catalogue.visible:
            actions[result.row] = Action(result.row, CREATE)
        else:
            actions[result.row] = classify_row(result, catalogue, comparable)
    _flag_shared_courses(actions)
    plan = Plan(mode, [actions[r.row] for r in validation.rows], catalogue.visible, catalogue.why_not_visible)
    for action in plan.actions:
        _apply_mode(action, mode)
    return plan


def comparable_custom_keys(catalogue: Catalogue, custom_fields: list[str] | None) -> set[str]:
    """Custom field keys the instance is known to hold: seen on one of its courses, or named
    by --custom-fields. Any other key the server drops, so it is never a change."""
    return set(catalogue.custom_keys) | set(custom_fields or ())


def classify(payload: dict, catalogue: Catalogue, comparable: set[str], clears: tuple[str, ...] = ()) -> Action:
    """The action for one valid row (its payload, and the fields it empties: `RowResult.clears`) against
    the catalogue. `row` is filled in by the caller."""
    identity = next((name for name in UNIQUE_FIELDS if payload.get(name) not in (None, "")), None)
    course = catalogue.find(identity, payload[identity]) if identity else None
    for name in UNIQUE_FIELDS:
        value = payload.get(name)
        if value in (None, ""):
            continue
        other = catalogue.find(name, value)
        if other is not None and (course is None or other["id"] != course["id"]):
            return Action(0, CONFLICT, other, code=f"DUPLICATE_{_code_name(name)}",
                          message=_conflict_message(name, value, other, course))
    if course is None:
        return Action(0, CREATE)
    changes = changes_between(payload, course, comparable, catalogue.kept) + clearings(clears, course)
    if not changes:
        return Action(0, UNCHANGED, course)
    return Action(0, UPDATE, course, changes, body=update_body(course, changes))


def classify_row(result, catalogue: Catalogue, comparable: set[str]) -> Action:
    action = classify(result.payload, catalogue, comparable, result.clears)
    action.row = result.row
    return action


def changes_between(payload: dict, course: dict, comparable: set[str], kept: dict | None = None) -> tuple[Change, ...]:
    """Each field the row fills in whose value differs from the course's, as the server compares.
    `kept`: what the server kept of values sent before (see `Catalogue.kept`)."""
    found = []
    for name, new in payload.items():
        if name == "customFields":
            current = course.get("customFields") or {}
            for key, value in new.items():
                if key in comparable and not same_custom_value(value, current.get(key)):
                    found.append(Change(fields.CUSTOM_FIELD_PREFIX + key, current.get(key), value))
        elif not same_value(name, new, course.get(name)) and \
                (kept or {}).get((course.get("id"), name)) != (new, course.get(name)):
            found.append(Change(name, course.get(name), new))
    return tuple(found)


def clearings(clears: tuple[str, ...], course: dict) -> tuple[Change, ...]:
    """The fields a row empties (cells holding the clearing marker) that the course holds a value in."""
    return tuple(Change(name, current_value(course, name), fields.cleared_value(name)) for name in clears
                 if current_value(course, name) not in (None, "", [], {}))


def same_custom_value(new, current) -> bool:
    """A text that reads back as exactly the platform's number is that number: no sync churns on
    the type alone ("2.5" and 2.5; but "15.060" is not 15.06)."""
    if isinstance(new, str) and isinstance(current, int | float) and not isinstance(current, bool):
        return new in (str(current), repr(current))
    return new == current and type(new) is type(current) if isinstance(new, bool) or isinstance(current, bool) \
        else new == current


def same_value(name: str, new, current) -> bool:
    if name == "tags":
        return {t.strip().casefold() for t in new} == {str(t).strip().casefold() for t in current or ()}
    if name == "description":  # the server's value as it is, or our prediction of its cleaning
        return new == current or fields.clean_description(new) == (current or "")
    return new == current


def current_value(course: dict, name: str):
    """A field of a course as the platform holds it (`customFields.<key>` too)."""
    if name.startswith(fields.CUSTOM_FIELD_PREFIX):
        return (course.get("customFields") or {}).get(name[len(fields.CUSTOM_FIELD_PREFIX):])
    return course.get(name)


def edited_since(action: Action, fresh: dict) -> list[str]:
    """The fields an update would change whose value on the platform is no longer the one the
    plan saw: someone edited them in between, and the update must not overwrite that."""
    return [_label(c.field) for c in action.changes
            if current_value(fresh, c.field) != current_value(action.course or {}, c.field)]


def update_body(course: dict, changes: tuple[Change, ...]) -> dict:
    """Only the changed fields. customFields goes whole — the server's keys with the changes
    applied — which is right whether the platform merges or replaces the object."""
    body = {c.field: c.new for c in changes if not c.field.startswith(fields.CUSTOM_FIELD_PREFIX)}
    if any(c.field.startswith(fields.CUSTOM_FIELD_PREFIX) for c in changes):
        custom = dict(course.get("customFields") or {})
        custom.update({c.field[len(fields.CUSTOM_FIELD_PREFIX):]: c.new for c in changes
                       if c.field.startswith(fields.CUSTOM_FIELD_PREFIX)})
        body["customFields"] = custom
    return body


def _flag_shared_courses(actions: dict[int, Action]) -> None:
    """Two rows about one course (one by External ID, one by title, say): neither is sent."""
    rows_by_course = defaultdict(list)
    for row, action in actions.items():
        if action.kind in (UPDATE, UNCHANGED):
            rows_by_course[action.course_id].append(row)
    for rows in rows_by_course.values():
        if len(rows) < 2:
            continue
        for row in rows:
            action = actions[row]
            others = [str(r) for r in rows if r != row]
            action.kind, action.code = CONFLICT, "SAME_COURSE_TWICE"
            action.changes, action.body = (), None
            action.message = (f"This row and row {', '.join(others)} are both about course {action.course_id} "
                              f"({_describe(action.course)}); keep one of them.")


def _apply_mode(action: Action, mode: str) -> None:
    if mode == "create" and action.kind in (UPDATE, UNCHANGED):
        if action.changes:
            differing = ", ".join(_label(c.field) for c in action.changes)
            action.message = (f"Already on the platform; it differs in {differing}. "
                              "Run with --mode sync to apply the changes.")
        action.kind, action.body = EXISTS, None
    elif mode == "update" and action.kind == CREATE:
        action.kind, action.code = NOT_FOUND, "NOT_FOUND"
        action.message = "No course on the platform has this row's External ID, slug or title; --mode update " \
                         "creates nothing (use --mode sync to create it)."


def _conflict_message(name: str, value, other: dict, course: dict | None) -> str:
    label = LABELS[name]
    mine = f" This row's course is {course['id']}." if course else ""
    return (f"{label} '{value}' is already used by another course on the platform: {other['id']} "
            f"({_describe(other)}).{mine} Change this row's {label}, or change that course first.")


def _describe(course: dict) -> str:
    parts = [f"title '{course.get('title')}'"]
    if course.get("externalId"):
        parts.append(f"External ID '{course['externalId']}'")
    return ", ".join(parts)


def _label(name: str) -> str:
    if name.startswith(fields.CUSTOM_FIELD_PREFIX):
        return name
    return LABELS.get(name, name)


def _code_name(name: str) -> str:
    return {"externalId": "EXTERNAL_ID", "slug": "SLUG", "title": "TITLE"}[name]
