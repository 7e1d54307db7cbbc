"""The sandbox's courses: validation as the guide describes it, storage, lookups.

Every rule here is one the guide (`shared/api/creating-courses-via-api.md`) states or
`contract-notes.md` decides; the texts of the guide's error messages are reproduced
exactly. A rule broken raises `ApiError`, which the server turns into the error body.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import threading
from pathlib import Path

from ..core import fields


class ApiError(Exception):
    """An error answer: `{"error", "message", "code", "statusCode"}`."""

    def __init__(self, status: int, code: str, message: str, error: str = "Validation Error"):
        super().__init__(message)
        self.status, self.code, self.message, self.error = status, code, message, error

    def body(self) -> dict:
        return {"error": self.error, "message": self.message, "code": self.code, "statusCode": self.status}


def _invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD_VALUE", message)


def now_iso() -> str:
    """`2026-03-13T14:22:00.000Z`: milliseconds and a Z, as the guide's examples show."""
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


COURSE_KEYS = ("id", "title", "slug", "courseType", "publishedStatus", "description", "authors", "tags",
               "externalId", "isFree", "source", "customFields", "createdAt", "updatedAt")


UNIQUE_KEYS = ("title", "slug", "externalId")


class CourseStore:
    """Courses in memory, in creation order, optionally journaled to a JSON-lines file so a
    rehearsal survives a restart. Thread-safe: the server handles requests concurrently.

    Each unique field has an index (value -> id), and the creation order is a list, so a
    create, an update, a lookup and a list page take the same time with 50,000 courses
    stored as with none: a rehearsal measures the importer, not the sandbox."""

    def __init__(self, *, custom_fields: list[str] | None = None, data: Path | None = None,
                 seed: int | None = None, unique_titles: bool = True, html: str = "guide"):
        self.custom_fields = None if custom_fields is None else set(custom_fields)
        # How descriptions are cleaned: "guide" (the guide's basic tags), "keep" (stored as sent), or
        # "rename" (<b> and <i> become <strong> and <em>, links get rel="nofollow", then the guide's
        # cleaning): real instances differ, and a sync must not resend what the server rewrote.
        self.html = html
        self.unique_titles = unique_titles  # the guide: titles are unique per instance
        self.data = Path(data) if data else None
        self._ids = random.Random(seed)
        self._lock = threading.RLock()
        self.courses: dict[str, dict] = {}
        self._order: list[str] = []  # ids in creation order
        self._index: dict[str, dict] = {key: {} for key in UNIQUE_KEYS}
        if self.data and self.data.exists():
            self._load()

    # --- persistence ---

    def _load(self) -> None:
        for line in self.data.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    course = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash mid-write: the previous state stands
                self._put(course)

    def _persist(self, course: dict) -> None:
        if self.data:
            self.data.parent.mkdir(parents=True, exist_ok=True)
            with self.data.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(course, ensure_ascii=False) + "\n")

    # --- reads ---

    def get(self, course_id: str) -> dict:
        with self._lock:
            course = self.courses.get(course_id)
        if course is None:
            raise ApiError(404, "NOT_FOUND", f"Course '{course_id}' not found.", error="Not Found")
        return course

    def find(self, **criteria) -> list[dict]:
        with self._lock:
            indexed = next((k for k in criteria if k in self._index), None)
            if indexed is None:
                courses = list(self.courses.values())
            else:
                found = self._index[indexed].get(criteria[indexed])
                courses = [self.courses[found]] if found else []
        return [c for c in courses if all(c.get(k) == v for k, v in criteria.items())]

    def all(self) -> list[dict]:
        with self._lock:
            return [self.courses[i] for i in self._order]

    def page(self, start: int, count: int) -> tuple[list[dict], bool]:
        """Courses `start` to `start + count` in creation order, and whether more follow."""
        with self._lock:
            ids = self._order[start:start + count]
            return [self.courses[i] for i in ids], start + count < len(self._order)

    def _put(self, course: dict) -> None:
        """Store (or replace) a course and keep the indexes true. Under the lock."""
        previous = self.courses.get(course["id"])
        if previous is None:
            self._order.append(course["id"])
        else:
            for key in UNIQUE_KEYS:
                if previous.get(key) is not None and self._index[key].get(previous[key]) == previous["id"]:
                    del self._index[key][previous[key]]
        self.courses[course["id"]] = course
        for key in UNIQUE_KEYS:
            if course.get(key) is not None:
                self._index[key][course[key]] = course["id"]

    # --- writes ---

    def create(self, body) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "Request body must be a JSON object.")
        for name in fields.REQUIRED:
            value = body.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise ApiError(400, "MISSING_REQUIRED_FIELD", f"Field '{name}' is required.")
        values = self._checked(body)
        with self._lock:
            self._check_unique(values, None)
            if not values.get("slug"):
                values["slug"] = self._free_slug(values["title"])
            stamp = now_iso()
            course = {
                "id": self._new_id(), "title": values["title"], "slug": values["slug"],
                "courseType": values["courseType"],
                "publishedStatus": values.get("publishedStatus", "draft"),
                "description": values.get("description"), "authors": values.get("authors", []),
                "tags": values.get("tags", []), "externalId": values.get("externalId"),
                "isFree": values.get("isFree", False), "source": values.get("source"),
                "customFields": values.get("customFields", {}), "createdAt": stamp, "updatedAt": stamp,
            }
            self._put(course)
            self._persist(course)
            return course

    def update(self, course_id: str, body) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "INVALID_JSON", "Request body must be a JSON object.")
        for name in fields.REQUIRED:
            if name in body and (body[name] is None or (isinstance(body[name], str) and not body[name].strip())):
                raise ApiError(400, "MISSING_REQUIRED_FIELD", f"Field '{name}' is required.")
        values = self._checked(body)
        with self._lock:
            course = dict(self.get(course_id))
            self._check_unique(values, course_id)
            course.update(values)
            course["updatedAt"] = now_iso()
            self._put(course)
            self._persist(course)
            return course

    def _cleaned(self, html: str) -> str:
        if self.html == "keep":
            return html
        if self.html == "rename":
            for old, new in (("<b>", "<strong>"), ("</b>", "</strong>"), ("<i>", "<em>"), ("</i>", "</em>")):
                html = html.replace(old, new)
            html = fields.clean_description(html)
            return re.sub(r"<a (?![^>]*\brel=)", '<a rel="nofollow" ', html)
        return fields.clean_description(html)

    def _new_id(self) -> str:
        while True:
            course_id = "crs_" + "".join(self._ids.choice("0123456789abcdef") for _ in range(10))
            if course_id not in self.courses:
                return course_id

    def _free_slug(self, title: str) -> str:
        base = fields.slugify(title) or "course"
        taken = self._index["slug"]
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        return slug

    def _check_unique(self, values: dict, own_id: str | None) -> None:
        def taken(key: str) -> bool:
            holder = self._index[key].get(values[key])
            return holder is not None and holder != own_id

        if self.unique_titles and "title" in values and taken("title"):
            raise ApiError(422, "DUPLICATE_TITLE", f"A course with title '{values['title']}' already exists.")
        if values.get("slug") and taken("slug"):
            raise ApiError(422, "DUPLICATE_SLUG", f"A course with slug '{values['slug']}' already exists.")
        if values.get("externalId") is not None and taken("externalId"):
            raise ApiError(422, "DUPLICATE_EXTERNAL_ID",
                           f"A course with externalId '{values['externalId']}' already exists.")

    def _checked(self, body: dict) -> dict:
        """The fields of a request body, checked and cleaned; unknown keys are ignored."""
        values: dict = {}
        if "title" in body:
            title = body["title"]
            if not isinstance(title, str):
                raise _invalid("Field 'title' must be a string.")
            title = title.strip()
            if len(title) > fields.TITLE_MAX_LENGTH:
                raise _invalid(f"Field 'title' must be at most {fields.TITLE_MAX_LENGTH} characters.")
            values["title"] = title
        for name, accepted in fields.ENUM_VALUES.items():
            if name in body and body[name] is not None:
                if body[name] not in accepted:
                    raise _invalid(f"Invalid {name} '{body[name]}'. Accepted values: {', '.join(accepted)}.")
                values[name] = body[name]
        if body.get("slug") is not None:
            slug = body["slug"]
            if not isinstance(slug, str) or not fields.SLUG_PATTERN.match(slug):
                raise _invalid(f"Invalid slug '{slug}'. Use lowercase letters, digits and single hyphens.")
            values["slug"] = slug
        for name in ("description", "externalId", "source"):
            if body.get(name) is not None:
                if not isinstance(body[name], str):
                    raise _invalid(f"Field '{name}' must be a string.")
                values[name] = body[name]
        if "description" in values:
            values["description"] = self._cleaned(values["description"])
        for name in ("authors", "tags"):
            if body.get(name) is not None:
                items = body[name]
                if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                    raise _invalid(f"Field '{name}' must be an array of strings.")
                values[name] = fields.unique_casefold([i.strip() for i in items]) if name == "tags" else list(items)
        if body.get("isFree") is not None:
            if not isinstance(body["isFree"], bool):
                raise _invalid("Field 'isFree' must be a boolean.")
            values["isFree"] = body["isFree"]
        if body.get("customFields") is not None:
            custom = body["customFields"]
            if not isinstance(custom, dict):
                raise _invalid("Field 'customFields' must be an object.")
            # Keys the instance does not know are dropped without a word, as the guide says.
            values["customFields"] = {k: v for k, v in custom.items()
                                      if self.custom_fields is None or k in self.custom_fields}
        return values
