"""The HTTP contract's shared core: the connection, the `Reply` every call returns, and
`CoursesAPI`, what the run asks of a platform whichever API it speaks.

The platform speaks two APIs (see `shared/api/`): the guide's (`guide.py`, `POST /courses`)
and the content API its vendor's own client uses (`content.py`, `content/course/create`).
Each module turns its API's requests and answers into this one contract: courses in the
guide's shape, `{"courses": [...], "pageInfo": {...}}` for lists and lookups, a course id in
the answer to a create. `dialects.py` finds out, with read-only requests, which one an
instance answers. The pipeline sees `Reply` values, never httpx objects or which API it is.

A reply is one of (see `Reply.kind`):

    ok           2xx with a course id
    row_failure  400/404/409/422, or 2xx without an id: this row is wrong, do not retry
    auth         401/403: the key is wrong, every row would fail the same way
    transient    429, 5xx, connect errors, timeouts before sending: retry after a wait
    lost         the request went out and no reply came back: it may have been applied
    unconfirmed  2xx to a write, without a course id or an error: it may have been applied

Every request has one overall deadline (`timeout`): httpx's timeouts apply to each read,
so a reply trickling in a byte a second would otherwise never end. A reply body is capped
(`MAX_BODY_BYTES`): a server cannot fill the machine's memory.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from ..core.limits import TargetLimits
from ..errors import InsecureTarget, TargetError

PING_PATH = "/incoming/v2/ping"
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
MAX_BODY_BYTES = 64 * 2**20  # a page of 100 courses with long descriptions is a few MB
USER_AGENT = "importer/0.1"
# A Date header is whole seconds: within this, this machine's finer clock is the better reading.
CLOCK_TOLERANCE = 5.0


def base_url_for(domain: str | None = None, base_url: str | None = None) -> str:
    """`--domain acme` -> https://acme.thoughtindustries.com; `--base-url` as given. Plain
    http:// only to a loopback address: anything else would send the key in clear text."""
    if domain is not None:
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", domain):
            raise TargetError(f"--domain {domain!r} is not a valid name: use the part before "
                              ".thoughtindustries.com, e.g. --domain acme")
        return f"https://{domain.lower()}.thoughtindustries.com"
    parts = urlsplit((base_url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"--base-url {base_url!r} is not an http(s) URL, e.g. https://acme.example.com")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InsecureTarget(f"refusing plain http:// to {parts.hostname}: the API key would travel "
                             "unencrypted. Use https:// (http:// is only for a sandbox on this machine)")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class RateSignals:
    """What the server said about its limit. Any field may be missing."""

    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None  # seconds from now until X-RateLimit-Reset
    retry_after: float | None = None  # seconds, from the Retry-After header or a retryAfter body field


@dataclass
class Reply:
    method: str
    path: str
    status: int | None  # None: no reply (see `transport_error`)
    body: object = None  # parsed JSON, or None
    text: str = ""  # the raw body, cut short, for reports when it is not JSON
    rate: RateSignals = field(default_factory=RateSignals)
    transport_error: str | None = None
    sent: bool = True  # False when the request surely never reached the server
    elapsed: float = 0.0
    location: str | None = None  # where a 3xx points
    content_type: str = ""

    @property
    def speaks_the_api(self) -> bool:
        """A reply in the contract's form: a JSON object (a login page or a captive portal answers
        with HTML, often 200)."""
        json_type = not self.content_type or "json" in self.content_type.lower()
        return isinstance(self.body, dict) and json_type

    def describe(self) -> str:
        """What came back, in a few words: status, type and the start of the text."""
        snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.text)).strip()[:120]
        kind = self.content_type.split(";")[0] or "no content type"
        shape = f"a JSON object with {', '.join(sorted(self.body)[:6]) or 'nothing'}" \
            if isinstance(self.body, dict) else kind
        quoted = f": {snippet!r}" if snippet and not isinstance(self.body, dict) else ""
        return f"HTTP {self.status}, {shape}{quoted}"

    @property
    def kind(self) -> str:
        if self.status is None:
            return "lost" if self.sent and self.method in ("POST", "PUT") else "transient"
        if self.status in (401, 403):
            return "auth"
        if self.status == 429 or self.status >= 500:
            return "transient"
        if 200 <= self.status < 300:
            if self.method in ("POST", "PUT") and not self.course_id:
                # Applied or not? An `errors` array says not; anything else is ambiguous,
                # like a lost reply: look the course up before anything is sent again.
                return "row_failure" if self._lists_errors else "unconfirmed"
            return "ok"
        return "row_failure"

    @property
    def _lists_errors(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("errors"))

    @property
    def course_id(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("id"), str) and self.body["id"]:
            return self.body["id"]
        return None

    @property
    def code(self) -> str:
        """The API's error code, or one that names what happened."""
        if isinstance(self.body, dict) and isinstance(self.body.get("code"), str):
            return self.body["code"]
        if self.status is None:
            return "NO_REPLY" if self.sent else "CONNECTION_FAILED"
        if self.status == 429:
            return "RATE_LIMITED"
        if 200 <= self.status < 300:
            return "NO_COURSE_ID"
        return f"HTTP_{self.status}"

    @property
    def message(self) -> str:
        if self.transport_error:
            return self.transport_error
        if isinstance(self.body, dict):
            for key in ("message", "error"):
                if isinstance(self.body.get(key), str):
                    return self.body[key]
            if self.body.get("errors"):
                return json.dumps(self.body["errors"], ensure_ascii=False)[:500]
        if 200 <= (self.status or 0) < 300:
            return f"the server answered {self.status} without a course id: {self.text[:300]}"
        snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", self.text)).strip()[:200]
        return f"HTTP {self.status}" + (f": {snippet}" if snippet else "")


class Connection:
    """One instance's HTTP client: the key, the timeouts, the proxy, the size caps. `send` returns a
    `Reply` and never raises for HTTP trouble."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url
        self.timeout = timeout
        self._transport = transport
        # Only the encodings `BoundedDecoder` reads, bounded: a reply's decoded size is capped
        # whatever its packed size (a 24 KB gzip bomb unpacks to gigabytes).
        self._headers = {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT,
                         "Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        self._client = self._new_client()

    def _new_client(self) -> httpx.Client:
        # A host that does not answer at all is known within 10 s (a connection, not a reply).
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT))
        # Loopback (the sandbox) never goes through a proxy; elsewhere HTTP(S)_PROXY, NO_PROXY and
        # SSL_CERT_FILE (a company's own certificate authority) are honoured, as httpx reads them.
        local = is_loopback(urlsplit(self.base_url).hostname or "")
        return httpx.Client(base_url=self.base_url, timeout=timeout, transport=self._transport,
                            headers=self._headers, trust_env=not local)

    def close(self) -> None:
        self._client.close()

    def send(self, method: str, path: str, **kwargs) -> Reply:
        """The request in a worker thread, given `timeout` seconds in all. Past that the
        worker is left to die with its connection (it stops at its next chunk; it is a
        daemon thread) and the client is replaced, so nothing waits on it."""
        started = time.monotonic()
        done: dict = {}
        client = self._client
        deadline = started + self.timeout
        worker = threading.Thread(target=_fetch, args=(client, method, path, kwargs, deadline, done),
                                  name="request", daemon=True)
        worker.start()
        worker.join(self.timeout + 0.5)
        elapsed = time.monotonic() - started
        if worker.is_alive() or "late" in done:
            done["abandoned"] = True
            self._client = self._new_client()
            return Reply(method, path, None, transport_error=f"no complete reply within {self.timeout:g} s",
                         sent=True, elapsed=elapsed)
        error = done.get("error")
        if isinstance(error, httpx.ProxyError):
            return Reply(method, path, None, transport_error=self._proxy_note(error), sent=False, elapsed=elapsed)
        if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
            return Reply(method, path, None, transport_error=self._connect_note(error), sent=False, elapsed=elapsed)
        if isinstance(error, (httpx.TransportError, httpx.StreamError)):  # read/write timeouts, dropped connections
            return Reply(method, path, None, transport_error=_describe(error), sent=True, elapsed=elapsed)
        if isinstance(error, httpx.InvalidURL | UnicodeError | httpx.LocalProtocolError):
            return Reply(method, path, None, transport_error="the request could not be formed (a character "
                         "the address or a header cannot hold)", sent=False, elapsed=elapsed)
        if error is not None:
            raise error
        if done.get("oversized"):
            return Reply(method, path, None, transport_error=f"the reply was larger than {MAX_BODY_BYTES // 2**20} MB "
                         "unpacked", sent=True, elapsed=elapsed)
        if done.get("undecodable"):
            return Reply(method, path, None, transport_error=done["undecodable"], sent=True, elapsed=elapsed)
        response, body = done["response"]
        return _reply_from(method, path, response, body, elapsed)

    def proxy(self) -> tuple[str, str] | None:
        """(the proxy's address, the variable that set it) for this base URL, if one is used."""
        if self._transport is not None:
            return None
        return proxy_for(self.base_url)

    def _connect_note(self, error: Exception) -> str:
        if "CERTIFICATE_VERIFY_FAILED" in str(error) or "certificate verify failed" in str(error):
            return (f"the server's TLS certificate is not trusted on this machine ({_ssl_reason(error)}): a "
                    "self-signed certificate, or one from a company's own authority (a proxy that inspects "
                    "HTTPS). Point SSL_CERT_FILE at a file holding that authority's certificate and the public "
                    "ones (see the README); the importer never turns the check off")
        proxy = self.proxy()
        if proxy:
            return (f"{_describe(error)} to the proxy {proxy[0]} (set by {proxy[1]}): is the proxy running, and is "
                    "its address right? NO_PROXY lists hosts reached without it")
        return _describe(error)

    def _proxy_note(self, error: Exception) -> str:
        proxy = self.proxy()
        where = f" {proxy[0]} (set by {proxy[1]})" if proxy else ""
        return f"the proxy{where} did not pass the connection on ({error}); ask who runs it, or check NO_PROXY"

class CoursesAPI:
    """What the run asks of a platform, whichever API it speaks (`guide.GuideAPI`,
    `content.ContentAPI`). Every call returns a `Reply` in the guide's shape; none raises for
    HTTP trouble. A call may take more than one request (a create followed through its
    background job, a lookup the API can only answer by listing): each request goes through
    `gate` first, which the run sets to its pacer, and every reply is handed to `heard`."""

    name = "guide"
    limits = TargetLimits()
    page_size = 100  # courses one list request may ask for
    lookups: tuple[str, ...] = ("externalId", "slug", "title")  # looked up one request each

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None,
                 connection: Connection | None = None):
        self.connection = connection or Connection(base_url, api_key, timeout=timeout, transport=transport)
        self.gate: Callable[[bool], None] | None = None  # called before each request; True: a follow-up
        self.heard: Callable[[Reply], None] | None = None  # called with each reply

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    @property
    def timeout(self) -> float:
        return self.connection.timeout

    def close(self) -> None:
        self.connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def proxy(self) -> tuple[str, str] | None:
        return self.connection.proxy()

    def _send(self, method: str, path: str, *, follow_up: bool = False, **kwargs) -> Reply:
        if self.gate is not None:
            self.gate(follow_up)
        reply = self.connection.send(method, path, **kwargs)
        if self.heard is not None:
            self.heard(reply)
        return reply

    # --- what every API answers ---

    def ping(self) -> Reply:
        """`GET /ping`: `{"valid": true}` with a good key (both APIs)."""
        return self._send("GET", PING_PATH)

    def create(self, payload: dict) -> Reply:
        """One course from a row's payload (the guide's fields); the reply carries its id."""
        raise NotImplementedError

    def update(self, course_id: str, changes: dict) -> Reply:
        """Only the fields that change, in the guide's names."""
        raise NotImplementedError

    def get(self, course_id: str) -> Reply:
        """The course in the guide's shape, or 404."""
        raise NotImplementedError

    def find(self, field_name: str, value: str) -> Reply:
        """`body["courses"]`: the courses whose `field_name` (externalId, slug, title) is `value`."""
        raise NotImplementedError

    def list_page(self, cursor: str | None = None, per_page: int | None = None) -> Reply:
        """A page of courses: `{"courses": [...], "pageInfo": {"cursor", "hasMore"}}`."""
        raise NotImplementedError

    def in_list_shape(self, reply: Reply) -> bool:
        """Whether a list or lookup answer is in the shape above (a portal's page is not)."""
        body = reply.body
        return reply.speaks_the_api and isinstance(body.get("courses"), list) and \
            isinstance(body.get("pageInfo", {}), dict)

    def left_for_update(self, payload: dict) -> dict:
        """The fields a create cannot carry on this API, sent as an update right after it (the
        content API creates every course as a draft: `published` is a second request)."""
        return {}

    def all_courses(self) -> list[dict]:
        """Every course on the instance, following the cursor while `hasMore`."""
        courses, cursor = [], None
        while True:
            reply = self.list_page(cursor)
            if reply.kind != "ok" or not isinstance(reply.body, dict):
                raise TargetError(f"listing courses failed: {reply.message}")
            courses += reply.body.get("courses") or []
            page = reply.body.get("pageInfo") or {}
            if not page.get("hasMore"):
                return courses
            cursor = page.get("cursor")


def proxy_for(url: str) -> tuple[str, str] | None:
    """The proxy the environment sets for `url`, as httpx reads it, and the variable that set it."""
    import os
    import urllib.request

    parts = urlsplit(url)
    host = parts.hostname or ""
    if is_loopback(host) or urllib.request.proxy_bypass_environment(host):
        return None
    for name in (f"{parts.scheme}_proxy", "all_proxy"):
        for variable in (name.upper(), name.lower()):
            if os.environ.get(variable):
                return os.environ[variable], variable
    return None


def _ssl_reason(error: Exception) -> str:
    found = re.search(r"certificate verify failed: ([^(\]]+)", str(error))
    return found.group(1).strip() if found else "certificate verify failed"


def _fetch(client: httpx.Client, method: str, path: str, kwargs: dict, deadline: float, done: dict) -> None:
    """Send, and read the body in chunks, stopping at the deadline or the size cap."""
    try:
        with client.stream(method, path, **kwargs) as response:
            decoder = BoundedDecoder(response.headers.get("Content-Encoding", ""), MAX_BODY_BYTES)
            chunks = []
            try:
                for raw in response.iter_raw():
                    if time.monotonic() > deadline or done.get("abandoned"):
                        done["late"] = True
                        return
                    chunks.append(decoder.decode(raw))
                chunks.append(decoder.flush())
            except httpx.StreamConsumed:  # a reply made whole in memory (a test's mock transport)
                chunks = [response.content]
            done["response"] = (response, b"".join(chunks))
    except ReplyTooLarge:
        done["oversized"] = True
    except UndecodableReply as exc:
        done["undecodable"] = str(exc)
    except BaseException as exc:  # handed to the caller's thread, which decides
        done["error"] = exc


class ReplyTooLarge(Exception):
    pass


class UndecodableReply(Exception):
    pass


class BoundedDecoder:
    """A reply body unpacked (gzip, deflate, or several in turn) never beyond `limit` bytes: each
    step is asked for at most what is left, so memory stays bounded whatever the packing ratio."""

    def __init__(self, encodings: str, limit: int):
        import zlib

        self.limit = limit
        self.size = 0
        self.steps = []
        for name in [e.strip().lower() for e in encodings.split(",") if e.strip()][::-1]:
            if name in ("gzip", "x-gzip"):
                self.steps.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
            elif name == "deflate":
                self.steps.append(zlib.decompressobj())
            elif name != "identity":
                raise UndecodableReply(f"the reply came packed as {name!r}, which was not asked for")

    def decode(self, data: bytes) -> bytes:
        import zlib

        try:
            for step in self.steps:
                data = self._bounded(step, data)
        except zlib.error as exc:
            raise UndecodableReply(f"the reply's packing is damaged ({exc})") from None
        self.size += len(data)
        if self.size > self.limit:
            raise ReplyTooLarge
        return data

    def _bounded(self, step, data: bytes) -> bytes:
        out = [step.decompress(data, self.limit - self.size + 1)]
        produced = len(out[0])
        while step.unconsumed_tail:
            if self.size + produced > self.limit:
                raise ReplyTooLarge
            out.append(step.decompress(step.unconsumed_tail, self.limit - self.size - produced + 1))
            produced += len(out[-1])
        if self.size + produced > self.limit:
            raise ReplyTooLarge
        return b"".join(out)

    def flush(self) -> bytes:
        return self.decode(b"") if self.steps else b""


def _reply_from(method: str, path: str, response: httpx.Response, content: bytes, elapsed: float) -> Reply:
    text = content[:4000].decode("utf-8", "replace")[:2000] if content else ""
    try:
        body = json.loads(content) if content else None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        body = None  # an HTML page from a proxy, say: kept as text
    return Reply(method, path, response.status_code, body, text, rate_signals(response.headers, body),
                 elapsed=elapsed, location=response.headers.get("Location"),
                 content_type=response.headers.get("Content-Type", ""))


def rate_signals(headers, body, now: float | None = None) -> RateSignals:
    """The limit the server states. Its times (a Retry-After date, a reset moment) are read
    against its own clock, from its `Date` header: a server a day ahead of this machine would
    otherwise ask for a day's wait on every retry."""
    now = time.time() if now is None else now
    server = server_now(headers)
    if server is not None and abs(server - now) > CLOCK_TOLERANCE:
        now = server  # its clock is off: its own times count from its own now
    return RateSignals(
        limit=_int(headers.get("X-RateLimit-Limit")),
        remaining=_int(headers.get("X-RateLimit-Remaining")),
        reset_in=_reset_in(headers.get("X-RateLimit-Reset"), now),
        retry_after=parse_retry_after(headers.get("Retry-After"), now)
        if headers.get("Retry-After") is not None else _body_retry_after(body),
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is seconds (`120`) or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment = _http_date(value)
    return None if moment is None else max(0.0, moment.timestamp() - (time.time() if now is None else now))


def server_now(headers) -> float | None:
    """The server's clock, from its `Date` header (None when absent, unreadable or without a zone)."""
    moment = _http_date(headers.get("Date") or "")
    return moment.timestamp() if moment is not None and moment.tzinfo is not None else None


def _http_date(value: str):
    """An HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`) as a datetime; None when it is not one."""
    try:
        return email.utils.parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _body_retry_after(body) -> float | None:
    if isinstance(body, dict) and isinstance(body.get("retryAfter"), int | float):
        return max(0.0, float(body["retryAfter"]))
    return None


def _reset_in(value: str | None, now: float) -> float | None:
    try:
        reset = float(value) if value is not None else None
    except ValueError:
        return None
    if reset is None:
        return None
    # Unix seconds, as documented; a small number is a delay in seconds, as some servers send.
    return max(0.0, reset - now) if reset > 1e9 else max(0.0, reset)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _describe(exc: Exception) -> str:
    kind = {httpx.ConnectError: "could not connect", httpx.ConnectTimeout: "connection timed out",
            httpx.ReadTimeout: "no reply within the timeout", httpx.RemoteProtocolError:
            "the connection closed without a reply", httpx.ReadError: "the connection broke",
            httpx.WriteError: "the connection broke while sending", httpx.PoolTimeout: "no free connection"}
    for cls, text in kind.items():
        if isinstance(exc, cls):
            return text
    return type(exc).__name__
