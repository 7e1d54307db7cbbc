"""The HTTP contract: how each kind of reply is read. httpx.MockTransport, no sockets."""

import email.utils
import time

import httpx
import pytest

from importer.errors import InsecureTarget, TargetError
from importer.platform.api import base_url_for, parse_retry_after, rate_signals
from importer.platform.guide import GuideAPI


def api_answering(handler):
    return GuideAPI("https://acme.example.com", "secret-key", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("status, body, kind, code", [
    (201, {"id": "crs_1", "slug": "s"}, "ok", None),
    (200, {"errors": [{"message": "bad"}]}, "row_failure", "NO_COURSE_ID"),
    (400, {"error": "Validation Error", "message": "m", "code": "INVALID_FIELD_VALUE", "statusCode": 400},
     "row_failure", "INVALID_FIELD_VALUE"),
    (422, {"code": "DUPLICATE_SLUG", "message": "dup"}, "row_failure", "DUPLICATE_SLUG"),
    (404, None, "row_failure", "HTTP_404"),
    (409, None, "row_failure", "HTTP_409"),
    (401, None, "auth", "HTTP_401"),
    (403, None, "auth", "HTTP_403"),
    (429, {"error": "rate_limit_exceeded", "retryAfter": 32}, "transient", "RATE_LIMITED"),
    (500, None, "transient", "HTTP_500"),
    (502, None, "transient", "HTTP_502"),
    (503, None, "transient", "HTTP_503"),
    (504, None, "transient", "HTTP_504"),
])
def test_reply_kinds(status, body, kind, code):
    reply = api_answering(lambda request: httpx.Response(status, json=body) if body is not None
                          else httpx.Response(status)).create({"title": "t", "courseType": "course"})
    assert reply.kind == kind
    if code:
        assert reply.code == code


def test_html_from_a_proxy_is_read_as_text():
    reply = api_answering(lambda r: httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")).ping()
    assert reply.kind == "transient" and reply.body is None
    assert reply.message == "HTTP 502: 502 Bad Gateway"


def test_the_key_is_sent_as_bearer_and_nowhere_else():
    seen = {}

    def handler(request):
        seen.update(auth=request.headers["Authorization"], url=str(request.url))
        return httpx.Response(200, json={"valid": True})

    api_answering(handler).ping()
    assert seen == {"auth": "Bearer secret-key", "url": "https://acme.example.com/incoming/v2/ping"}


@pytest.mark.parametrize("error, kind, sent", [
    (httpx.ConnectError("refused"), "transient", False),
    (httpx.ConnectTimeout("slow"), "transient", False),
    (httpx.ReadTimeout("slow"), "lost", True),
    (httpx.RemoteProtocolError("closed"), "lost", True),
])
def test_transport_errors(error, kind, sent):
    def handler(request):
        raise error

    reply = api_answering(handler).create({"title": "t", "courseType": "course"})
    assert (reply.kind, reply.sent, reply.status) == (kind, sent, None)
    # A lost reply to a read is just a failed read: retrying it is harmless.
    assert api_answering(handler).find("slug", "x").kind == "transient"


def test_rate_signals_from_headers_and_body():
    now = 1_800_000_000.0
    signals = rate_signals({"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(now + 12.5), "Retry-After": "7"}, None, now=now)
    assert (signals.limit, signals.remaining, signals.reset_in, signals.retry_after) == (60, 0, 12.5, 7.0)
    assert rate_signals({}, {"error": "rate_limit_exceeded", "retryAfter": 32}, now=now).retry_after == 32.0
    assert rate_signals({"X-RateLimit-Limit": "many"}, None).limit is None


def test_retry_after_as_http_date():
    moment = time.time() + 30
    assert parse_retry_after(email.utils.formatdate(moment, usegmt=True)) == pytest.approx(30, abs=1.5)
    assert parse_retry_after("not a date") is None
    assert parse_retry_after("120") == 120.0


@pytest.mark.parametrize("domain, base_url, expected", [
    ("acme", None, "https://acme.thoughtindustries.com"),
    (None, "https://learn.example.com/", "https://learn.example.com"),
    (None, "http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    (None, "http://localhost:8765", "http://localhost:8765"),
    (None, "http://[::1]:8765", "http://[::1]:8765"),
])
def test_targets(domain, base_url, expected):
    assert base_url_for(domain, base_url) == expected


@pytest.mark.parametrize("domain, base_url, error", [
    (None, "http://learn.example.com", InsecureTarget),
    (None, "http://10.0.0.5:8765", InsecureTarget),
    (None, "ftp://x", TargetError),
    ("acme.thoughtindustries.com", None, TargetError),
])
def test_refused_targets(domain, base_url, error):
    with pytest.raises(error):
        base_url_for(domain, base_url)
