"""The platform's content API (`shared/api/platform-content-api.md`): what its vendor's own client
uses to create and update courses. Every request and answer is turned into the run's contract
(the guide's shape), so that planning, applying and undo never learn which API is spoken.

    create   POST content/course/create {"courseAttributes": [one course]}; the answer is a list of
             ids, {"courseIds": [...]}, or {"courseIds": [], "backgroundJob": {...}} followed through
             GET jobs/{id}. One course a request, as the guide's pattern: batching is not asked for.
    update   PUT content/course/update {"courseAttributes": {"courseGroups": [{"id", changed fields}]}}
    publish  PUT content/{id}/releaseContent: every course is created as a draft
    read     GET courseGroups (pages of up to 1,000, by cursor), courseGroups/{id},
             courseGroups/slug/{slug}; there is no lookup by sku or title, so those list the pages

The guide's fields as this API takes them (the README has the table): title, slug, description,
authors, customFields and source as they are; courseType as `kind`; externalId as `sku`;
publishedStatus `published` as a release after the create. Tags and Is Free have no field here,
and nothing public archives a course or takes one back to draft: `LIMITS` says so, and the plan
says it before anything is sent.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from ..core.limits import TargetLimits
from .api import CoursesAPI, Reply

PREFIX = "/incoming/v2"
CREATE_PATH = f"{PREFIX}/content/course/create"
UPDATE_PATH = f"{PREFIX}/content/course/update"
GROUPS_PATH = f"{PREFIX}/courseGroups"
JOBS_PATH = f"{PREFIX}/jobs"
MAX_PER_PAGE = 1000
JOB_POLLS = 30  # each through the pacer; a job not done by then is looked up by the row's identity

# The template's Course Type -> the content API's kind. The portal spells SCORM and xAPI this way;
# the vendor's client writes `scorm` and `xapi`: both are read back.
KINDS = {"course": "courseGroup", "video": "video", "article": "article", "scorm": "shareableContentObject",
         "xapi": "xApiObject"}
TYPES = {**{kind: course_type for course_type, kind in KINDS.items()}, "scorm": "scorm", "xapi": "xapi"}
SAME_NAME = ("title", "slug", "description", "authors", "customFields", "source")

LIMITS = TargetLimits(
    api="the content API",
    unsent_fields={
        "tags": "the content API takes tags as separate objects by id and shows no field for tag names",
        "isFree": "the content API shows no field for it",
    },
    refused_values={"courseType": {
        "learning_path": "the content API has no kind for a learning path, so this row cannot be created on "
                         "this instance (create it in the admin screens, or change the Course Type)",
        "webinar": "the content API has no kind for a webinar, so this row cannot be created on this instance "
                   "(create it in the admin screens, or change the Course Type)",
    }},
    unsent_values={"publishedStatus": {
        "archived": "the content API has no documented way to archive a course: it is created as a draft",
    }},
    can_archive=False,
)
NO_WAY_BACK = {
    "draft": "the content API has no documented way to take a published course back to draft; do it in the "
             "platform's admin screens",
    "archived": "the content API has no documented way to archive a course; archive it in the platform's admin "
                "screens",
}


class ContentAPI(CoursesAPI):
    name = "content"
    limits = LIMITS
    page_size = MAX_PER_PAGE
    lookups = ("slug",)  # by sku or title only by listing: the catalogue reads the pages instead

    # --- writes ---

    def create(self, payload: dict) -> Reply:
        reply = self._send("POST", CREATE_PATH, json={"courseAttributes": [attributes(payload)]})
        if not reply.status or not 200 <= reply.status < 300:
            return _duplicate_named(reply)
        ids = course_ids(reply.body)
        if ids:
            return _answer(reply, {"id": ids[0]})
        job = reply.body.get("backgroundJob") if isinstance(reply.body, dict) else None
        if isinstance(job, dict) and job.get("id"):
            return self._follow_job(reply, str(job["id"]))
        return reply  # a yes without an id: the run looks the course up before anything is sent again

    def _follow_job(self, reply: Reply, job_id: str) -> Reply:
        """The create's background job, polled through the pacer until it names the new course. A
        job that ends without naming it, or does not end, answers as a yes without an id: the run
        then looks the course up by its identity, and never sends it again blind."""
        for _ in range(JOB_POLLS):
            answer = self._send("GET", f"{JOBS_PATH}/{quote(job_id, safe='')}", follow_up=True)
            body = answer.body if isinstance(answer.body, dict) else {}
            if answer.kind != "ok":
                continue
            ids = course_ids(body) or course_ids(body.get("result"))
            if ids:
                return _answer(reply, {"id": ids[0]})
            status = str(body.get("status") or "").lower()
            if status in ("failed", "error", "errored", "cancelled", "canceled"):
                why = body.get("message") or body.get("error") or status
                return _answer(reply, {"errors": [why], "code": "JOB_FAILED",
                                       "message": f"the platform's background job {job_id} for this course {why}"})
            if status in ("completed", "complete", "done", "succeeded", "success", "finished"):
                break
        return _answer(reply, {"backgroundJob": {"id": job_id}})

    def update(self, course_id: str, changes: dict) -> Reply:
        """The changed fields through content/course/update, then a release when the change is to
        `published`. A change this API cannot make is refused before anything is sent."""
        status = changes.get("publishedStatus")
        if status in NO_WAY_BACK:
            return _refused("PUT", UPDATE_PATH, NO_WAY_BACK[status])
        if changes.get("courseType") is not None and changes["courseType"] not in KINDS:
            return _refused("PUT", UPDATE_PATH, LIMITS.refused_values["courseType"][changes["courseType"]])
        group = {"id": course_id, **attributes({k: v for k, v in changes.items() if k != "publishedStatus"})}
        reply = None
        if len(group) > 1:
            reply = self._send("PUT", UPDATE_PATH, json={"courseAttributes": {"courseGroups": [group]}})
            if not _confirmed(reply):
                return reply
        if status == "published":
            reply = self._send("PUT", f"{PREFIX}/content/{quote(course_id, safe='')}/releaseContent", json={},
                               follow_up=reply is not None)
            if not _confirmed(reply):
                return reply
        if reply is None:  # nothing this API carries changed (tags, say): nothing to send
            return Reply("PUT", UPDATE_PATH, 200, {"id": course_id}, sent=False, content_type="application/json")
        return _answer(reply, {"id": course_id})

    def left_for_update(self, payload: dict) -> dict:
        return {"publishedStatus": "published"} if payload.get("publishedStatus") == "published" else {}

    # --- reads ---

    def get(self, course_id: str) -> Reply:
        reply = self._send("GET", f"{GROUPS_PATH}/{quote(course_id, safe='')}")
        course = _one(reply)
        return _answer(reply, as_guide(course)) if course is not None else reply

    def list_page(self, cursor: str | None = None, per_page: int | None = None) -> Reply:
        params = {"perPage": min(per_page or self.page_size, MAX_PER_PAGE), **({"cursor": cursor} if cursor else {})}
        reply = self._send("GET", GROUPS_PATH, params=params)
        found = page_of(reply)
        if found is None:
            return reply
        items, page, _ = found
        courses = []
        for item in items:
            if isinstance(item, dict) and item.get("id") and is_summary(item):
                # A list item with only the summary fields (the vendor's typedef): the course is read
                # whole, by id, so that its sku, description and the rest can be compared.
                whole = self._send("GET", f"{GROUPS_PATH}/{quote(str(item['id']), safe='')}", follow_up=True)
                if _one(whole) is None:
                    return whole
                item = _one(whole)
            courses.append(as_guide(item))
        return _answer(reply, {"courses": courses, "pageInfo": page})

    def find(self, field_name: str, value: str) -> Reply:
        if field_name == "slug":
            reply = self._send("GET", f"{GROUPS_PATH}/slug/{quote(str(value), safe='')}")
            if reply.status == 404 and reply.speaks_the_api or reply.status == 404 and not reply.text.strip():
                return _answer(reply, {"courses": [], "pageInfo": {"hasMore": False}}, status=200)
            course = _one(reply)
            return _answer(reply, {"courses": [as_guide(course)], "pageInfo": {"hasMore": False}}) \
                if course is not None else reply
        # No lookup by sku or title: the pages are read (rare: after a lost reply, or for a few rows).
        matches, cursor = [], None
        while True:
            reply = self.list_page(cursor)
            if reply.kind != "ok" or not self.in_list_shape(reply):
                return reply
            matches += [c for c in reply.body["courses"] if c.get(field_name) == value]
            page = reply.body.get("pageInfo") or {}
            cursor = page.get("cursor")
            if not page.get("hasMore") or not cursor:
                return _answer(reply, {"courses": matches, "pageInfo": {"hasMore": False}})


# --- the two shapes --------------------------------------------------------------------------------


def attributes(payload: dict) -> dict:
    """A row's payload (the guide's fields) as a content API course: what has no field here is left out."""
    body = {name: payload[name] for name in SAME_NAME if name in payload}
    if payload.get("courseType") is not None:
        body["kind"] = KINDS.get(payload["courseType"], payload["courseType"])
    if "externalId" in payload:
        body["sku"] = payload["externalId"]
    return body


def as_guide(item: dict) -> dict:
    """A content API course group in the guide's shape: sku as externalId, kind as courseType, and a
    published status from its status and dates."""
    status = str(item.get("status") or "").lower()
    if item.get("archivedAt") or status == "archived":
        published = "archived"
    elif item.get("publishedAt") or status in ("published", "released", "active"):
        published = "published"
    else:
        published = "draft"
    course = {name: item.get(name) for name in ("id", "title", "slug", "description", "authors", "customFields",
                                                 "source", "createdAt", "updatedAt")}
    course.update(externalId=item.get("sku"), courseType=TYPES.get(item.get("kind"), item.get("kind")),
                  publishedStatus=published, kind=item.get("kind"))
    return course


def is_summary(item: dict) -> bool:
    """A list item with none of the fields a sync compares beyond the summary (id, title, slug, kind)."""
    return not any(name in item for name in ("sku", "description", "authors", "customFields", "source", "status"))


def course_ids(body) -> list[str]:
    """The new course ids, in any shape the evidence shows: a list, or {"courseIds": [...]}."""
    if isinstance(body, dict):
        body = body.get("courseIds")
    if isinstance(body, list):
        return [str(i) for i in body if isinstance(i, str | int) and not isinstance(i, bool) and str(i)]
    return []


def page_of(reply: Reply) -> tuple[list, dict, bool] | None:
    """(items, pageInfo, whether it is surely this API's) of a courseGroups page: under `data` (the
    vendor's typedef), under `courseGroups`, or nested as `data.APICourseGroups.courseGroups` (the
    portal). A list under `data` alone is any JSON API's answer: it is surely a courseGroups page
    when it says where the next page is, or names its items course groups. None: not a page."""
    if reply.kind != "ok" or not reply.speaks_the_api:
        return None
    body = reply.body
    holders = [body]
    nested = body.get("data")
    while isinstance(nested, dict):
        holders.append(nested)
        nested = next((v for v in nested.values() if isinstance(v, dict)), None)
    for holder in holders:
        for key in ("data", "courseGroups"):
            if isinstance(holder.get(key), list):
                page = holder.get("pageInfo") if isinstance(holder.get("pageInfo"), dict) else body.get("pageInfo")
                sure = isinstance(page, dict) or key == "courseGroups"
                page = page if isinstance(page, dict) else {}
                return holder[key], {"cursor": page.get("cursor"), "hasMore": bool(page.get("hasMore"))}, sure
    return None


def _one(reply: Reply) -> dict | None:
    """The course group of a by-id or by-slug answer: the object itself, or under `data` / `courseGroup`."""
    if reply.kind != "ok" or not reply.speaks_the_api:
        return None
    body = reply.body
    for key in ("data", "courseGroup"):
        if isinstance(body.get(key), dict):
            body = body[key]
    return body if body.get("id") else None


def _answer(reply: Reply, body: dict, status: int | None = None) -> Reply:
    """The reply as the run's contract has it: the same request, status and rate signals, the body
    translated. A JSON content type, since the body now is the contract's JSON."""
    return replace(reply, body=body, status=status or reply.status, content_type="application/json")


def _confirmed(reply: Reply) -> bool:
    """A 2xx in JSON or with no body: the content API's answers to update and release are not public."""
    return reply.status is not None and 200 <= reply.status < 300 and \
        (reply.speaks_the_api or isinstance(reply.body, list) or not reply.text.strip())


def _refused(method: str, path: str, why: str) -> Reply:
    """An answer made here, for a change this API cannot make: nothing was sent."""
    return Reply(method, path, 422, {"code": "NOT_ON_THIS_API", "message": why}, sent=False,
                 content_type="application/json")


def _duplicate_named(reply: Reply) -> Reply:
    """A 409 (duplicate or state conflict) without a code of ours: named a duplicate, so that the run
    looks the course up by the row's identity before it calls the row failed."""
    if reply.status == 409 and not (isinstance(reply.body, dict) and isinstance(reply.body.get("code"), str)):
        body = reply.body if isinstance(reply.body, dict) else {}
        return replace(reply, body={**body, "code": "DUPLICATE_CONTENT",
                                    "message": body.get("message") or "the platform says this course exists"})
    return reply
