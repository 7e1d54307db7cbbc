"""The create loop against scripted servers (httpx.MockTransport) and a fake clock:
the cases that are hard to provoke on purpose over real HTTP."""

import json

import httpx
import pytest

from importer.check.validating import validate_file
from importer.errors import BadKey
from importer.platform.guide import GuideAPI
from importer.platform.journal import CREATED, SENDING, Journal
from importer.platform.pacing import Backoff, Pacer
from importer.run.applying import Importer, RunSettings


class Clock:
    def __init__(self):
        self.now = 0.0

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class ScriptedServer:
    """Stores courses; `script` says what to do with each POST in turn."""

    def __init__(self, script=(), lookup=True):
        self.script = list(script)
        self.lookup = lookup
        self.courses = []
        self.requests = []

    def __call__(self, request):
        self.requests.append((request.method, request.url.path, dict(request.url.params)))
        if request.url.path.endswith("/ping"):
            return httpx.Response(200, json={"valid": True})
        if request.method == "GET":
            if not self.lookup:
                return httpx.Response(405)
            (field, value), = request.url.params.items()
            return httpx.Response(200, json={"courses": [c for c in self.courses if c.get(field) == value],
                                             "pageInfo": {"cursor": None, "hasMore": False}})
        action = self.script.pop(0) if self.script else "ok"
        body = json.loads(request.content)
        if action == "503":
            return httpx.Response(503, text="<html>busy</html>")
        if action == "429":
            return httpx.Response(429, headers={"Retry-After": "7"})
        if action == "401":
            return httpx.Response(401)
        if any(c["title"] == body["title"] for c in self.courses):
            return httpx.Response(422, json={"code": "DUPLICATE_TITLE", "message": "A course with title exists.",
                                             "error": "Validation Error", "statusCode": 422})
        course = {**body, "id": f"crs_{len(self.courses):010d}", "slug": body.get("slug", "s")}
        self.courses.append(course)
        if action == "drop":
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(201, json=course)

    @property
    def posts(self):
        return sum(1 for m, _, _ in self.requests if m == "POST")


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("Title,Course Type,External ID\nA,course,E1\nB,course,\nC,video,E3\n", encoding="utf-8")
    return validate_file(path)


def importer_for(server, tmp_path, clock=None):
    clock = clock or Clock()
    api = GuideAPI("https://x.example.com", "k", transport=httpx.MockTransport(server))
    journal = Journal(tmp_path / "j.sqlite3")
    pacer = Pacer(600, 60, clock=clock.time, sleep=clock.sleep)
    return Importer(api, journal, "https://x.example.com", pacer, Backoff(base=1, cap=8),
                    settings=RunSettings(max_retries=3)), journal, clock


def test_lost_replies_are_looked_up_not_resent(sheet, tmp_path):
    server = ScriptedServer(["drop", "ok", "drop"])
    importer, journal, _ = importer_for(server, tmp_path)
    report = importer.run(sheet)
    assert [o.status for o in report.outcomes] == ["created", "created", "created"]
    assert server.posts == 3 and len(server.courses) == 3
    assert [o.course_id for o in report.outcomes] == [c["id"] for c in server.courses]
    lookups = [p for m, _, p in server.requests if m == "GET" and p]
    assert lookups == [{"externalId": "E1"}, {"externalId": "E3"}]


def test_transient_errors_back_off_and_honour_retry_after(sheet, tmp_path):
    server = ScriptedServer(["503", "429", "ok"])
    importer, _, clock = importer_for(server, tmp_path)
    report = importer.run(sheet)
    assert [o.status for o in report.outcomes] == ["created"] * 3 and report.retries == 2
    assert clock.now >= 7  # the Retry-After of the 429 was waited out
    assert len(server.courses) == 3


def test_a_row_that_keeps_failing_gives_up_and_is_retried_next_run(sheet, tmp_path):
    server = ScriptedServer(["503"] * 4)
    importer, journal, _ = importer_for(server, tmp_path)
    report = importer.run(sheet)
    first = report.outcomes[0]
    assert (first.status, first.error_code) == ("failed", "HTTP_503") and "after 4 attempts" in first.error_message
    assert [o.status for o in report.outcomes[1:]] == ["created", "created"]
    journal.close()  # the first run ends: the journal is free for the next one
    again, _, _ = importer_for(server, tmp_path)
    assert [o.status for o in again.run(sheet).outcomes] == ["created", "exists", "exists"]


def test_many_failures_in_a_row_stop_the_run(sheet, tmp_path):
    server = ScriptedServer(["503"] * 100)
    importer, _, _ = importer_for(server, tmp_path)
    importer.settings.max_consecutive_failures = 6
    report = importer.run(sheet)
    assert "failed 6 times in a row" in report.stop_reason
    assert [o.status for o in report.outcomes] == ["failed", "not_attempted", "not_attempted"]


def test_a_revoked_key_mid_run_stops_it(sheet, tmp_path):
    server = ScriptedServer(["ok", "401"])
    importer, _, _ = importer_for(server, tmp_path)
    report = importer.run(sheet)
    assert [o.status for o in report.outcomes] == ["created", "not_attempted", "not_attempted"]
    assert "refused" in report.stop_reason


def test_wrong_key_at_the_start(tmp_path):
    importer, _, _ = importer_for(lambda request: httpx.Response(401), tmp_path)
    with pytest.raises(BadKey):
        importer.check_key()


def test_crash_between_post_and_reply_is_resolved_by_lookup(sheet, tmp_path):
    server = ScriptedServer()
    importer, journal, _ = importer_for(server, tmp_path)
    # As if the previous run died after sending row 2's POST: the course exists, the journal says sending.
    server.courses.append({"title": "A", "courseType": "course", "externalId": "E1", "id": "crs_x", "slug": "a"})
    journal.record("https://x.example.com", "externalId:E1", SENDING)
    report = importer.run(sheet)
    assert [(o.status, o.course_id) for o in report.outcomes][0] == ("exists", "crs_x")
    assert server.posts == 2
    assert journal.get("https://x.example.com", "externalId:E1").status == CREATED


def test_without_lookup_endpoints_a_duplicate_after_a_lost_reply_is_unconfirmed(sheet, tmp_path):
    server = ScriptedServer(["drop"], lookup=False)
    importer, _, _ = importer_for(server, tmp_path)
    report = importer.run(sheet)
    first = report.outcomes[0]
    assert (first.status, first.error_code) == ("failed", "UNCONFIRMED")
    assert "admin panel" in first.error_message
    assert report.lookup_supported is False
    assert len(server.courses) == 3  # and still no duplicate: the server's uniqueness refused it
