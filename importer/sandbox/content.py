"""The sandbox's content API: the platform's other way to create and update courses, as far as the
public evidence shows it (`shared/api/platform-content-api.md`), on the same store of courses.

    POST content/course/create     {"courseAttributes": [up to 100 courses]}: drafts; answers
                                   {"courseIds": [...]} (or a bare list, or a background job: `create_answer`)
    GET  jobs/{id}                 a job's status; it names the new ids once done (the second poll)
    PUT  content/course/update     {"courseAttributes": {"courseGroups": [{"id", ...}]}}: only the fields sent
    PUT  content/{id}/releaseContent   publishes a draft
    GET  courseGroups              ?perPage (default 25, at most 1,000) &cursor (opaque): a page under `data`
                                   with `pageInfo` (or `courseGroups`, or nested: `list_shape`); items whole,
                                   or only the summary fields (`list_items`)
    GET  courseGroups/{id}, courseGroups/slug/{slug}
    GET  courses/{id}/structure    as the vendor's client reads it: this instance answers under /courses/ too

The guide's endpoints (`POST /courses`, the `/courses` list) answer 404 here. A sku and a slug are
unique (409); a title need not be. Kinds the template has no Course Type for (`microCourse`) are kept.
"""

from __future__ import annotations

import base64
import itertools
import threading
from urllib.parse import unquote

from .store import ApiError, CourseStore

PREFIX = "/incoming/v2"
KIND_OF = {"course": "courseGroup", "video": "video", "article": "article", "scorm": "shareableContentObject",
           "xapi": "xApiObject"}
TYPE_OF = {kind: course_type for course_type, kind in KIND_OF.items()}
KINDS = (*TYPE_OF, "microCourse")
SPELLINGS = {"scorm": "shareableContentObject", "xapi": "xApiObject"}  # the vendor client's spellings
MAX_CREATE = 100
MAX_PER_PAGE = 1000
SUMMARY = ("id", "title", "slug", "kind", "publishedAt", "archivedAt")


class ContentRoutes:
    """The content API's endpoints over a `CourseStore` holding courses in the guide's shape."""

    def __init__(self, store: CourseStore, *, create_answer: str = "object", list_shape: str = "data",
                 list_items: str = "full"):
        self.store = store
        self.create_answer, self.list_shape, self.list_items = create_answer, list_shape, list_items
        self.kinds: dict[str, str] = {}  # course id -> its kind, where the template has no Course Type for it
        self.jobs: dict[str, dict] = {}
        self._job_ids = itertools.count(1)
        self._lock = threading.Lock()

    def route(self, method: str, path: str, query: dict, body) -> tuple[int, object] | None:
        """(status, answer) for a content API path; None when the path is not one of them."""
        if path == f"{PREFIX}/content/course/create":
            _only(method, "POST")
            return 200, self.create(body)
        if path == f"{PREFIX}/content/course/update":
            _only(method, "PUT")
            return 200, self.update(body)
        if path.startswith(f"{PREFIX}/content/") and path.endswith("/releaseContent") and path.count("/") == 5:
            _only(method, "PUT")
            return 200, self.release(unquote(path.split("/")[4]))
        if path.startswith(f"{PREFIX}/jobs/") and path.count("/") == 4:
            _only(method, "GET")
            return 200, self.job(unquote(path.rsplit("/", 1)[1]))
        if path == f"{PREFIX}/courseGroups":
            _only(method, "GET")
            return 200, self.page(query)
        if path.startswith(f"{PREFIX}/courseGroups/slug/") and path.count("/") == 5:
            _only(method, "GET")
            found = self.store.find(slug=unquote(path.rsplit("/", 1)[1]))
            if not found:
                raise ApiError(404, "NOT_FOUND", "Course group not found.", error="Not Found")
            return 200, self.shown(found[0])
        if path.startswith(f"{PREFIX}/courseGroups/") and path.count("/") == 4:
            _only(method, "GET")
            return 200, self.shown(self.store.get(unquote(path.rsplit("/", 1)[1])))
        if path.startswith(f"{PREFIX}/courses/") and path.endswith("/structure") and path.count("/") == 5:
            _only(method, "GET")
            course = self.store.get(unquote(path.split("/")[4]))
            return 200, {"id": course["id"], "sections": []}
        return None

    # --- writes ---

    def create(self, body) -> object:
        items = body.get("courseAttributes") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise ApiError(400, "INVALID_FIELD_VALUE", "courseAttributes must be a non-empty array.")
        if len(items) > MAX_CREATE:
            raise ApiError(400, "INVALID_FIELD_VALUE", f"At most {MAX_CREATE} courses per request.")
        bodies = [self._guide_body(item, creating=True) for item in items]
        for guide in bodies:  # all or nothing: every item is checked before any is stored
            self._check_unique(guide, None)
        ids = []
        for item, guide in zip(items, bodies, strict=True):
            course = self.store.create(guide)
            if item["kind"] not in TYPE_OF:
                self.kinds[course["id"]] = item["kind"]
            ids.append(course["id"])
        scorm = any(SPELLINGS.get(i["kind"], i["kind"]) == "shareableContentObject" for i in items)
        if self.create_answer == "job" or scorm:
            with self._lock:
                job_id = f"job_{next(self._job_ids)}"
                self.jobs[job_id] = {"courseIds": ids, "polls": 0}
            return {"courseIds": [], "backgroundJob": {"id": job_id, "status": "queued"}}
        return ids if self.create_answer == "list" else {"courseIds": ids}

    def job(self, job_id: str) -> dict:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise ApiError(404, "NOT_FOUND", f"Job '{job_id}' not found.", error="Not Found")
            job["polls"] += 1
            if job["polls"] < 2:
                return {"id": job_id, "status": "processing"}
            return {"id": job_id, "status": "completed", "courseIds": job["courseIds"]}

    def update(self, body) -> dict:
        attributes = body.get("courseAttributes") if isinstance(body, dict) else None
        groups = attributes.get("courseGroups") if isinstance(attributes, dict) else None
        if not isinstance(groups, list) or not groups:
            raise ApiError(400, "INVALID_FIELD_VALUE", "courseAttributes.courseGroups must be a non-empty array.")
        checked = []
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("id"), str):
                raise ApiError(400, "INVALID_FIELD_VALUE", "Every course group needs its id.")
            self.store.get(group["id"])
            guide = self._guide_body(group, creating=False)
            self._check_unique(guide, group["id"])
            checked.append((group, guide))
        for group, guide in checked:
            self.store.update(group["id"], guide)
            if "kind" in group:
                self.kinds.pop(group["id"], None)
                if group["kind"] not in TYPE_OF:
                    self.kinds[group["id"]] = group["kind"]
        return {"courseIds": [group["id"] for group, _ in checked]}

    def release(self, course_id: str) -> dict:
        course = self.store.get(course_id)
        if course.get("publishedStatus") == "archived":
            raise ApiError(409, "STATE_CONFLICT", "An archived course cannot be released.", error="Conflict")
        self.store.update(course_id, {"publishedStatus": "published"})
        return {"id": course_id, "status": "published"}

    def _guide_body(self, item, *, creating: bool) -> dict:
        if not isinstance(item, dict):
            raise ApiError(400, "INVALID_FIELD_VALUE", "Each course must be an object.")
        if creating or "kind" in item:
            kind = SPELLINGS.get(item.get("kind"), item.get("kind"))
            if kind not in KINDS:
                raise ApiError(400, "INVALID_FIELD_VALUE", f"Invalid kind '{item.get('kind')}'. Accepted values: "
                                                           f"{', '.join(KINDS)}.")
            item = {**item, "kind": kind}
        if creating and not (isinstance(item.get("title"), str) and item["title"].strip()):
            raise ApiError(400, "MISSING_REQUIRED_FIELD", "Field 'title' is required.")
        body = {k: item[k] for k in ("title", "slug", "description", "authors", "customFields", "source")
                if k in item}
        if "sku" in item:
            body["externalId"] = item["sku"]
        if "kind" in item:
            body["courseType"] = TYPE_OF.get(item["kind"], "course")
        if creating:
            body["publishedStatus"] = "draft"  # every course is created as a draft; release publishes it
        return body

    def _check_unique(self, guide: dict, own_id: str | None) -> None:
        for name, label in (("externalId", "sku"), ("slug", "slug")):
            value = guide.get(name)
            if value in (None, ""):
                continue
            holder = self.store.find(**{name: value})
            if holder and holder[0]["id"] != own_id:
                raise ApiError(409, "CONFLICT", f"A course with {label} '{value}' already exists.", error="Conflict")

    # --- reads ---

    def page(self, query: dict) -> dict:
        try:
            per_page = int(query.get("perPage", 25))
            start = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
        except ValueError:
            raise ApiError(400, "INVALID_FIELD_VALUE", "Invalid cursor or perPage.") from None
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ApiError(400, "INVALID_FIELD_VALUE", f"perPage must be between 1 and {MAX_PER_PAGE}.")
        courses, has_more = self.store.page(start, per_page)
        items = [self.shown(c) for c in courses]
        if self.list_items == "summary":
            items = [{k: item.get(k) for k in SUMMARY} for item in items]
        cursor = base64.urlsafe_b64encode(str(start + per_page).encode()).decode() if has_more else None
        page = {"cursor": cursor, "hasMore": has_more}
        if self.list_shape == "courseGroups":
            return {"courseGroups": items, "pageInfo": page}
        if self.list_shape == "nested":
            return {"data": {"APICourseGroups": {"courseGroups": items, "pageInfo": page}}}
        return {"data": items, "pageInfo": page}

    def shown(self, course: dict) -> dict:
        """A stored course as this API shows a course group."""
        status = course.get("publishedStatus") or "draft"
        return {"id": course["id"], "title": course["title"], "slug": course["slug"],
                "kind": self.kinds.get(course["id"], KIND_OF.get(course.get("courseType"), "courseGroup")),
                "status": status, "sku": course.get("externalId"), "description": course.get("description"),
                "authors": course.get("authors", []), "customFields": course.get("customFields", {}),
                "source": course.get("source"), "createdAt": course.get("createdAt"),
                "updatedAt": course.get("updatedAt"),
                "publishedAt": course.get("updatedAt") if status == "published" else None,
                "archivedAt": course.get("updatedAt") if status == "archived" else None}


def _only(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; use {' or '.join(allowed)}.",
                       error="Method Not Allowed")
