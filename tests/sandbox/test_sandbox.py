"""The sandbox against the guide, over real HTTP on 127.0.0.1."""

import re
import socket
import time

import httpx
import pytest

from importer.sandbox import Sandbox

COURSES = "/incoming/v2/courses"
GUIDE_FULL = {
    "title": "Advanced Integration Patterns",
    "courseType": "course",
    "slug": "advanced-integration-patterns",
    "description": "<p>Learn how to build robust, production-grade integrations with the Thought Industries "
                   "platform.</p>",
    "publishedStatus": "draft",
    "authors": ["Jane Doe", "John Smith"],
    "tags": ["integration", "advanced", "api"],
    "externalId": "EXT-COURSE-042",
    "isFree": False,
    "customFields": {"difficulty": "advanced", "estimatedHours": 4},
}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def sandbox():
    with Sandbox(rate_limit=1000, rate_window=60, seed=1) as running:
        yield running


@pytest.fixture
def client(sandbox):
    with httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth_headers, timeout=5) as c:
        yield c


def test_guide_minimal_request(client):
    reply = client.post(COURSES, json={"title": "Introduction to Platform APIs", "courseType": "course"})
    assert reply.status_code == 201
    course = reply.json()
    assert re.fullmatch(r"crs_[0-9a-f]{10}", course["id"])
    assert course["slug"] == "introduction-to-platform-apis"
    assert course["publishedStatus"] == "draft" and course["isFree"] is False
    assert ISO_MS.match(course["createdAt"]) and course["createdAt"] == course["updatedAt"]


def test_guide_full_request_returns_the_guide_response(client):
    reply = client.post(COURSES, json=GUIDE_FULL)
    assert reply.status_code == 201
    course = reply.json()
    for key, value in GUIDE_FULL.items():
        assert course[key] == value, key
    assert list(course)[:5] == ["id", "title", "slug", "courseType", "publishedStatus"]
    assert client.get(f"{COURSES}/{course['id']}").json() == course


def test_guide_put_changes_only_what_is_sent(client):
    course = client.post(COURSES, json=GUIDE_FULL).json()
    time.sleep(0.002)
    reply = client.put(f"{COURSES}/{course['id']}",
                       json={"publishedStatus": "published", "tags": ["integration", "advanced", "api", "featured"]})
    assert reply.status_code == 200
    updated = reply.json()
    assert updated["publishedStatus"] == "published"
    assert updated["tags"] == ["integration", "advanced", "api", "featured"]
    assert {k: v for k, v in updated.items() if k not in ("publishedStatus", "tags", "updatedAt")} == \
           {k: v for k, v in course.items() if k not in ("publishedStatus", "tags", "updatedAt")}
    assert updated["updatedAt"] > course["updatedAt"]


@pytest.mark.parametrize("body, status, code, message", [
    ({"courseType": "course"}, 400, "MISSING_REQUIRED_FIELD", "Field 'title' is required."),
    ({"title": "  ", "courseType": "course"}, 400, "MISSING_REQUIRED_FIELD", "Field 'title' is required."),
    ({"title": "T"}, 400, "MISSING_REQUIRED_FIELD", "Field 'courseType' is required."),
    ({"title": "T", "courseType": "quiz"}, 400, "INVALID_FIELD_VALUE",
     "Invalid courseType 'quiz'. Accepted values: course, learning_path, webinar, video, article, scorm, xapi."),
    ({"title": "T" * 256, "courseType": "course"}, 400, "INVALID_FIELD_VALUE", None),
    ({"title": "T", "courseType": "course", "publishedStatus": "live"}, 400, "INVALID_FIELD_VALUE", None),
    ({"title": "T", "courseType": "course", "slug": "Not Valid"}, 400, "INVALID_FIELD_VALUE", None),
    ({"title": "T", "courseType": "course", "slug": "a--b"}, 400, "INVALID_FIELD_VALUE", None),
    ({"title": "T", "courseType": "course", "isFree": "yes"}, 400, "INVALID_FIELD_VALUE", None),
    ({"title": "T", "courseType": "course", "tags": "a,b"}, 400, "INVALID_FIELD_VALUE", None),
    ({"title": "T", "courseType": "course", "customFields": [1]}, 400, "INVALID_FIELD_VALUE", None),
    (["not", "an", "object"], 400, "INVALID_JSON", None),
])
def test_validation_errors(client, body, status, code, message):
    reply = client.post(COURSES, json=body)
    assert reply.status_code == status
    error = reply.json()
    assert set(error) == {"error", "message", "code", "statusCode"}
    assert (error["code"], error["statusCode"], error["error"]) == (code, status, "Validation Error")
    if message:
        assert error["message"] == message
    assert client.get(COURSES).json()["courses"] == []


def test_title_of_255_is_accepted(client):
    assert client.post(COURSES, json={"title": "T" * 255, "courseType": "course"}).status_code == 201


@pytest.mark.parametrize("second, code, message", [
    ({"title": "Advanced Integration Patterns", "courseType": "video"}, "DUPLICATE_TITLE",
     "A course with title 'Advanced Integration Patterns' already exists."),
    ({"title": "Other", "courseType": "course", "slug": "advanced-integration-patterns"}, "DUPLICATE_SLUG",
     "A course with slug 'advanced-integration-patterns' already exists."),
    ({"title": "Other", "courseType": "course", "externalId": "EXT-COURSE-042"}, "DUPLICATE_EXTERNAL_ID",
     "A course with externalId 'EXT-COURSE-042' already exists."),
])
def test_uniqueness(client, second, code, message):
    client.post(COURSES, json=GUIDE_FULL)
    reply = client.post(COURSES, json=second)
    assert reply.status_code == 422
    assert reply.json() == {"error": "Validation Error", "message": message, "code": code, "statusCode": 422}


def test_generated_slugs_stay_unique(client):
    first = client.post(COURSES, json={"title": "Intro: APIs!", "courseType": "course"}).json()
    second = client.post(COURSES, json={"title": "Intro APIs", "courseType": "course"}).json()
    assert (first["slug"], second["slug"]) == ("intro-apis", "intro-apis-2")


def test_field_behaviour(client):
    course = client.post(COURSES, json={
        "title": "T", "courseType": "course", "tags": [" API ", "api", "Basics"],
        "description": "<p>Hi <script>alert(1)</script><strong>there</strong><h1>big</h1></p>"}).json()
    assert course["tags"] == ["API", "Basics"]
    assert course["description"] == "<p>Hi <strong>there</strong>big</p>"


def test_unknown_custom_fields_are_silently_dropped():
    with Sandbox(custom_fields=["difficulty"]) as sandbox:
        reply = httpx.post(sandbox.base_url + COURSES, headers=sandbox.auth_headers,
                           json={**GUIDE_FULL, "customFields": {"difficulty": "advanced", "estimatedHours": 4}})
        assert reply.status_code == 201 and reply.json()["customFields"] == {"difficulty": "advanced"}


def test_reads_lookup_and_paging(client):
    ids = [client.post(COURSES, json={"title": f"Course {i:03}", "courseType": "course",
                                      "externalId": f"E{i}"}).json()["id"] for i in range(7)]
    assert client.get(f"{COURSES}/crs_0000000000").json()["code"] == "NOT_FOUND"
    found = client.get(COURSES, params={"externalId": "E3"}).json()
    assert [c["id"] for c in found["courses"]] == [ids[3]] and found["pageInfo"]["hasMore"] is False
    assert [c["id"] for c in client.get(COURSES, params={"slug": "course-005"}).json()["courses"]] == [ids[5]]
    assert [c["id"] for c in client.get(COURSES, params={"title": "Course 001"}).json()["courses"]] == [ids[1]]
    assert client.get(COURSES, params={"externalId": "nope"}).json()["courses"] == []
    seen, cursor = [], None
    while True:
        page = client.get(COURSES, params={"perPage": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [c["id"] for c in page["courses"]]
        if not page["pageInfo"]["hasMore"]:
            break
        cursor = page["pageInfo"]["cursor"]
    assert seen == ids
    assert client.get(COURSES, params={"perPage": 101}).status_code == 400
    assert client.get("/incoming/v2/ping").json() == {"valid": True}


def test_an_update_moves_a_course_in_the_lookups_and_frees_its_old_values(client):
    first = client.post(COURSES, json={"title": "Old", "courseType": "course", "externalId": "E1",
                                       "slug": "old"}).json()
    client.put(f"{COURSES}/{first['id']}", json={"title": "New", "slug": "new", "externalId": "E2"})
    for key, old, new in (("title", "Old", "New"), ("slug", "old", "new"), ("externalId", "E1", "E2")):
        assert client.get(COURSES, params={key: old}).json()["courses"] == []
        assert [c["id"] for c in client.get(COURSES, params={key: new}).json()["courses"]] == [first["id"]]
    # The old values are free again; the new ones are taken.
    second = client.post(COURSES, json={"title": "Old", "courseType": "course", "externalId": "E1", "slug": "old"})
    assert second.status_code == 201
    assert client.post(COURSES, json={"title": "New", "courseType": "course"}).json()["code"] == "DUPLICATE_TITLE"
    assert [c["id"] for c in client.get(COURSES, params={"perPage": 100}).json()["courses"]] == \
        [first["id"], second.json()["id"]]


def test_wrong_key_is_401_with_empty_body(sandbox):
    reply = httpx.get(sandbox.base_url + "/incoming/v2/ping", headers={"Authorization": "Bearer wrong"})
    assert reply.status_code == 401 and reply.content == b""
    assert httpx.post(sandbox.base_url + COURSES, json=GUIDE_FULL).status_code == 401
    assert sandbox.stats()["courses"] == 0


def test_rate_limit_with_headers():
    with Sandbox(rate_limit=5, rate_window=2) as sandbox, \
            httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth_headers) as client:
        before = time.time()
        replies = [client.post(COURSES, json={"title": f"T{i}", "courseType": "course" if i % 2 else "quiz"})
                   for i in range(7)]
        after = time.time()
        assert [r.status_code for r in replies] == [400, 201, 400, 201, 400, 429, 429]  # rejected ones count
        assert [r.headers["X-RateLimit-Remaining"] for r in replies] == ["4", "3", "2", "1", "0", "0", "0"]
        for reply in replies:
            assert reply.headers["X-RateLimit-Limit"] == "5"
            # When a slot frees: after the request arrived, at most a window later. Bounded by the
            # clock read before and after, so a busy machine cannot make it fail.
            assert before <= float(reply.headers["X-RateLimit-Reset"]) <= after + 2.01
        throttled = replies[-1]
        assert throttled.headers["Retry-After"] in ("1", "2")
        assert throttled.json()["statusCode"] == 429
        time.sleep(int(throttled.headers["Retry-After"]) + 0.05)
        assert client.get("/incoming/v2/ping").status_code == 200
        assert sandbox.stats()["throttled"] == 2


def test_rate_limit_body_shape():
    with Sandbox(rate_limit=1, rate_window=2, rate_limit_style="body") as sandbox, \
            httpx.Client(base_url=sandbox.base_url, headers=sandbox.auth_headers) as client:
        assert client.get("/incoming/v2/ping").status_code == 200
        reply = client.get("/incoming/v2/ping")
        assert reply.status_code == 429
        assert "Retry-After" not in reply.headers and "X-RateLimit-Limit" not in reply.headers
        body = reply.json()
        assert body["error"] == "rate_limit_exceeded" and body["retryAfter"] in (1, 2)


def fault_sequence(seed):
    with Sandbox(fail_rate=0.3, drop_rate=0.3, seed=seed) as sandbox:
        outcomes = []
        for i in range(20):
            try:
                reply = httpx.post(sandbox.base_url + COURSES, headers=sandbox.auth_headers,
                                   json={"title": f"T{i}", "courseType": "course"}, timeout=5)
                outcomes.append(reply.status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("dropped")
        stored = sorted(c["title"] for c in sandbox.store.all())
        return outcomes, stored, sandbox.stats()


def test_faults_repeat_with_the_seed():
    first, second, other = fault_sequence(7), fault_sequence(7), fault_sequence(8)
    assert first[:2] == second[:2]
    assert first[0] != other[0]
    outcomes, stored, stats = first
    assert {503, 201, "dropped"} <= set(outcomes)
    # A 503 stored nothing; a dropped reply stored the course.
    expected = sorted(f"T{i}" for i, o in enumerate(outcomes) if o in (201, "dropped"))
    assert stored == expected
    assert stats["failed"] == outcomes.count(503) and stats["dropped"] == outcomes.count("dropped")


def test_courses_persist_across_a_restart(tmp_path):
    data = tmp_path / "sandbox.jsonl"
    with Sandbox(data=data) as sandbox:
        created = httpx.post(sandbox.base_url + COURSES, headers=sandbox.auth_headers, json=GUIDE_FULL).json()
        httpx.put(f"{sandbox.base_url}{COURSES}/{created['id']}", headers=sandbox.auth_headers,
                  json={"publishedStatus": "published"})
    with Sandbox(data=data) as sandbox:
        again = httpx.get(f"{sandbox.base_url}{COURSES}/{created['id']}", headers=sandbox.auth_headers).json()
        assert again["publishedStatus"] == "published" and again["title"] == GUIDE_FULL["title"]
        duplicate = httpx.post(sandbox.base_url + COURSES, headers=sandbox.auth_headers, json=GUIDE_FULL)
        assert duplicate.json()["code"] == "DUPLICATE_TITLE"


def raw_request(port, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


def test_malformed_requests_are_answered_and_the_server_stays_up(sandbox, client):
    auth = sandbox.auth_headers
    cases = [
        (client.post(COURSES, content=b"{not json", headers={"Content-Type": "application/json"}), 400, "INVALID_JSON"),
        (client.post(COURSES, content=b"\xff\xfe", headers={"Content-Type": "application/json"}), 400, "INVALID_JSON"),
        (client.post(COURSES, content=b"title=x", headers={"Content-Type": "text/plain"}), 415,
         "UNSUPPORTED_MEDIA_TYPE"),
        (client.get("/nowhere"), 404, "NOT_FOUND"),
        (client.delete(COURSES), 405, "METHOD_NOT_ALLOWED"),
        (client.post("/incoming/v2/ping", json={}), 405, "METHOD_NOT_ALLOWED"),
        (client.put(f"{COURSES}/crs_0000000000", json={"title": "x"}), 404, "NOT_FOUND"),
    ]
    for reply, status, code in cases:
        assert reply.status_code == status and reply.json()["code"] == code
    huge = httpx.post(sandbox.base_url + COURSES, headers={**auth, "Content-Type": "application/json"},
                      content=b"[" + b"1," * (600 * 1024) + b"1]")
    assert huge.status_code == 413 and huge.json()["code"] == "PAYLOAD_TOO_LARGE"
    garbage = raw_request(sandbox.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400") and b'"statusCode": 400' in garbage
    assert client.get("/incoming/v2/ping").status_code == 200


def test_concurrent_clients(sandbox):
    import concurrent.futures

    def create(i):
        return httpx.post(sandbox.base_url + COURSES, headers=sandbox.auth_headers,
                          json={"title": f"C{i}", "courseType": "course"}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert list(pool.map(create, range(40))) == [201] * 40
    assert sandbox.stats()["courses"] == 40


def test_sandbox_command_serves_until_stopped(tmp_path):
    import signal
    import subprocess
    import sys

    # Port 0: the sandbox takes a free port and says which (binding a probe port, closing it
    # and handing it over would race with every other test that opens a socket).
    process = subprocess.Popen([sys.executable, "-m", "importer", "sandbox", "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env={"SANDBOX_API_KEY": "k-123", "PATH": ""})
    try:
        first = process.stdout.readline().strip()
        match = re.fullmatch(r"Sandbox listening on http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        port = int(match.group(1))
        assert process.stdout.readline().strip() == "API key: k-123"
        reply = httpx.get(f"http://127.0.0.1:{port}/incoming/v2/ping", headers={"Authorization": "Bearer k-123"})
        assert reply.json() == {"valid": True}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_sliding_window_with_a_fake_clock():
    """The window itself, exactly: no real time passes."""
    from importer.sandbox.server import SlidingWindow

    now = [100.0]
    window = SlidingWindow(3, 2.0, clock=lambda: now[0])
    assert [window.hit()[:2] for _ in range(4)] == [(True, 2), (True, 1), (True, 0), (False, 0)]
    assert window.hit()[2] == 2.0  # the first slot frees a whole window after it was taken
    now[0] += 1.0
    assert window.hit() == (False, 0, 1.0)
    now[0] += 1.0  # the first three have left the window
    assert window.hit()[:2] == (True, 2)
