"""The guide's API (`shared/api/creating-courses-via-api.md`, with `contract-notes.md`):
`POST /incoming/v2/courses`, `PUT /courses/{id}`, and the reads the notes decide. Its answers
are already in the shape the run works with, so this module only names the paths."""

from __future__ import annotations

from urllib.parse import quote

from .api import CoursesAPI, Reply

COURSES_PATH = "/incoming/v2/courses"


class GuideAPI(CoursesAPI):
    name = "guide"

    def create(self, payload: dict) -> Reply:
        return self._send("POST", COURSES_PATH, json=payload)

    def update(self, course_id: str, changes: dict) -> Reply:
        """`PUT /courses/{id}` with only the fields that change (guide: the others stay)."""
        return self._send("PUT", f"{COURSES_PATH}/{quote(course_id, safe='')}", json=changes)

    def get(self, course_id: str) -> Reply:
        """`GET /courses/{id}`: the course, or 404."""
        return self._send("GET", f"{COURSES_PATH}/{quote(course_id, safe='')}")

    def find(self, field_name: str, value: str) -> Reply:
        """`GET /courses?externalId=X` (or slug, title): `body["courses"]` lists the matches."""
        return self._send("GET", COURSES_PATH, params={field_name: value})

    def list_page(self, cursor: str | None = None, per_page: int | None = None) -> Reply:
        params = {"perPage": per_page or self.page_size, **({"cursor": cursor} if cursor else {})}
        return self._send("GET", COURSES_PATH, params=params)
