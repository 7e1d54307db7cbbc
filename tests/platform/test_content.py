"""The content API module: every shape the public evidence shows, turned into the run's contract.

A `handler(request)` per test plays the server (httpx.MockTransport): cheap and exact. The
end-to-end behaviour over real HTTP is in tests/cli/test_content_api.py."""

import json

import httpx
import pytest

from importer.errors import NotTheAPI
from importer.platform import dialects
from importer.platform.api import Connection, Reply
from importer.platform.content import ContentAPI, as_guide, attributes
from importer.platform.guide import GuideAPI


def api_on(handler, cls=ContentAPI):
    api = cls("https://acme.example.com", "k", transport=httpx.MockTransport(handler))
    gated = []
    api.gate = gated.append  # every request passes the gate: True for a follow-up
    return api, gated


def sent_json(request):
    return json.loads(request.content) if request.content else None


def test_a_row_as_the_content_api_takes_it():
    payload = {"title": "T", "slug": "t", "description": "<p>d</p>", "authors": ["A"], "customFields": {"k": 1},
               "source": "cms", "courseType": "scorm", "externalId": "007", "tags": ["x"], "isFree": True,
               "publishedStatus": "published"}
    assert attributes(payload) == {"title": "T", "slug": "t", "description": "<p>d</p>", "authors": ["A"],
                                   "customFields": {"k": 1}, "source": "cms", "kind": "shareableContentObject",
                                   "sku": "007"}


@pytest.mark.parametrize(("item", "status"), [
    ({"status": "draft"}, "draft"), ({"publishedAt": "2026-01-01T00:00:00Z"}, "published"),
    ({"status": "published"}, "published"), ({"archivedAt": "2026-01-01", "publishedAt": "2025"}, "archived")])
def test_a_course_group_in_the_guides_shape(item, status):
    course = as_guide({"id": "c1", "title": "T", "kind": "xapi", "sku": "S-1", **item})
    assert (course["externalId"], course["courseType"], course["publishedStatus"]) == ("S-1", "xapi", status)


@pytest.mark.parametrize("answer", [["c-9"], {"courseIds": ["c-9"]}])
def test_create_answers_with_the_new_id_in_either_shape(answer):
    seen = []

    def server(request):
        seen.append((request.method, request.url.path, sent_json(request)))
        return httpx.Response(200, json=answer)

    api, gated = api_on(server)
    reply = api.create({"title": "T", "courseType": "course", "externalId": "E1", "tags": ["x"]})
    assert (reply.kind, reply.course_id) == ("ok", "c-9")
    assert seen == [("POST", "/incoming/v2/content/course/create",
                     {"courseAttributes": [{"title": "T", "kind": "courseGroup", "sku": "E1"}]})]
    assert gated == [False]


def test_a_background_job_is_followed_through_the_gate_to_the_course_id():
    polls = []

    def server(request):
        if request.method == "POST":
            return httpx.Response(200, json={"courseIds": [], "backgroundJob": {"id": "j1", "status": "queued"}})
        polls.append(request.url.path)
        done = len(polls) >= 3
        return httpx.Response(200, json={"id": "j1", "status": "completed" if done else "running",
                                         **({"courseIds": ["c-7"]} if done else {})})

    api, gated = api_on(server)
    reply = api.create({"title": "T", "courseType": "scorm"})
    assert (reply.kind, reply.course_id) == ("ok", "c-7")
    assert polls == ["/incoming/v2/jobs/j1"] * 3 and gated == [False, True, True, True]


def test_a_job_done_without_naming_the_course_is_a_yes_without_an_id_never_a_resend():
    def server(request):
        if request.method == "POST":
            return httpx.Response(200, json={"courseIds": [], "backgroundJob": {"id": "j2"}})
        return httpx.Response(200, json={"id": "j2", "status": "completed"})

    api, _ = api_on(server)
    assert api.create({"title": "T", "courseType": "course"}).kind == "unconfirmed"  # looked up, then


def test_a_failed_job_fails_the_row():
    def server(request):
        if request.method == "POST":
            return httpx.Response(200, json={"courseIds": [], "backgroundJob": {"id": "j3"}})
        return httpx.Response(200, json={"id": "j3", "status": "failed", "message": "bad package"})

    api, _ = api_on(server)
    reply = api.create({"title": "T", "courseType": "scorm"})
    assert reply.kind == "row_failure" and "bad package" in reply.message and reply.code == "JOB_FAILED"


def test_a_409_without_a_code_is_a_duplicate_the_run_looks_up():
    api, _ = api_on(lambda request: httpx.Response(409, json={"message": "sku taken"}))
    reply = api.create({"title": "T", "courseType": "course", "externalId": "E1"})
    assert reply.code.startswith("DUPLICATE_") and reply.kind == "row_failure" and reply.message == "sku taken"


def test_update_sends_the_changed_fields_then_releases():
    seen = []

    def server(request):
        seen.append((request.method, request.url.path, sent_json(request)))
        return httpx.Response(200, json={})

    api, gated = api_on(server)
    reply = api.update("c1", {"description": "new", "externalId": "E2", "publishedStatus": "published"})
    assert (reply.kind, reply.course_id) == ("ok", "c1")
    assert seen == [
        ("PUT", "/incoming/v2/content/course/update",
         {"courseAttributes": {"courseGroups": [{"id": "c1", "description": "new", "sku": "E2"}]}}),
        ("PUT", "/incoming/v2/content/c1/releaseContent", {})]
    assert gated == [False, True]


@pytest.mark.parametrize(("change", "words"), [({"publishedStatus": "draft"}, "back to draft"),
                                               ({"publishedStatus": "archived"}, "archive"),
                                               ({"courseType": "webinar"}, "no kind for a webinar")])
def test_a_change_this_api_cannot_make_is_refused_without_a_request(change, words):
    api, gated = api_on(lambda request: pytest.fail(f"nothing may be sent: {request.url}"))
    reply = api.update("c1", change)
    assert reply.kind == "row_failure" and words in reply.message and not reply.sent and gated == []


@pytest.mark.parametrize("shape", ["data", "courseGroups", "nested"])
def test_a_page_of_course_groups_in_each_shape(shape):
    items = [{"id": "c1", "title": "A", "slug": "a", "kind": "video", "sku": "S1", "status": "published"}]
    page = {"cursor": "n2", "hasMore": True}
    body = {"data": {"data": items, "pageInfo": page}, "courseGroups": {"courseGroups": items, "pageInfo": page},
            "nested": {"data": {"APICourseGroups": {"courseGroups": items, "pageInfo": page}}}}[shape]
    asked = []

    def server(request):
        asked.append(dict(request.url.params))
        return httpx.Response(200, json=body)

    api, _ = api_on(server)
    reply = api.list_page("n1")
    assert asked == [{"perPage": "1000", "cursor": "n1"}]
    assert reply.body["pageInfo"] == {"cursor": "n2", "hasMore": True}
    course = reply.body["courses"][0]
    assert (course["id"], course["externalId"], course["courseType"], course["publishedStatus"]) == \
        ("c1", "S1", "video", "published")


def test_summary_list_items_are_read_whole_by_id():
    def server(request):
        if request.url.path.endswith("/courseGroups"):
            return httpx.Response(200, json={"data": [{"id": "c1", "title": "A", "slug": "a", "kind": "video"}],
                                             "pageInfo": {"hasMore": False}})
        assert request.url.path == "/incoming/v2/courseGroups/c1"
        return httpx.Response(200, json={"id": "c1", "title": "A", "slug": "a", "kind": "video", "sku": "S1",
                                         "description": "d"})

    api, gated = api_on(server)
    course = api.list_page().body["courses"][0]
    assert (course["externalId"], course["description"]) == ("S1", "d") and gated == [False, True]


def test_find_by_slug_uses_its_endpoint_and_by_sku_the_pages():
    def server(request):
        path = request.url.path
        if path == "/incoming/v2/courseGroups/slug/a-b":
            return httpx.Response(200, json={"id": "c1", "title": "A", "slug": "a-b", "kind": "video"})
        if path == "/incoming/v2/courseGroups/slug/none":
            return httpx.Response(404, json={"message": "not found"})
        cursor = request.url.params.get("cursor")
        items = [{"id": "c2", "sku": "S2", "title": "B"}] if cursor else [{"id": "c1", "sku": "S1", "title": "A"}]
        return httpx.Response(200, json={"data": items, "pageInfo": {"cursor": "p2", "hasMore": not cursor}})

    api, _ = api_on(server)
    assert [c["id"] for c in api.find("slug", "a-b").body["courses"]] == ["c1"]
    missing = api.find("slug", "none")
    assert missing.kind == "ok" and missing.body["courses"] == []
    assert [c["id"] for c in api.find("externalId", "S2").body["courses"]] == ["c2"]


def retry_once(send):
    return send()


def make_on(connection):
    return lambda name: dialects.api_for(name, connection)


@pytest.mark.parametrize(("guide_list", "groups", "spoken"), [
    ((200, {"courses": [], "pageInfo": {"hasMore": False}}), (404, {}), "guide"),
    ((404, {"message": "no"}), (200, {"data": [], "pageInfo": {"hasMore": False}}), "content"),
    # A content instance answers some paths under /courses/: only the guide's list shape counts.
    ((200, {"id": "x", "sections": []}), (200, {"courseGroups": [], "pageInfo": {}}), "content")])
def test_the_api_is_found_with_reads_only(guide_list, groups, spoken):
    methods = []

    def server(request):
        methods.append(request.method)
        status, body = guide_list if request.url.path == "/incoming/v2/courses" else groups
        return httpx.Response(status, json=body)

    connection = Connection("https://acme.example.com", "k", transport=httpx.MockTransport(server))
    assert dialects.detect(make_on(connection), retry_once, "acme").name == spoken
    assert set(methods) == {"GET"}


def test_an_instance_that_answers_neither_stops_before_anything_is_sent():
    methods = []

    def server(request):
        methods.append(request.method)
        return httpx.Response(200, text="<html>Sign in</html>", headers={"Content-Type": "text/html"})

    connection = Connection("https://acme.example.com", "k", transport=httpx.MockTransport(server))
    with pytest.raises(NotTheAPI, match="answers neither .* nothing was sent"):
        dialects.detect(make_on(connection), retry_once, "acme")
    assert methods == ["GET", "GET"]


def test_the_guide_api_is_unchanged_by_the_translation():
    api, _ = api_on(lambda request: httpx.Response(201, json={"id": "c1", "slug": "t"}), GuideAPI)
    reply = api.create({"title": "T", "courseType": "webinar", "tags": ["x"]})
    assert isinstance(reply, Reply) and reply.course_id == "c1" and api.limits.can_archive
