"""The sandbox server: the courses API on 127.0.0.1 (the guide's, or the content API: `api`), with its
rate limit and injectable faults.

Served by the standard library's `ThreadingHTTPServer`: one thread per connection is
plenty for a single importer plus a benchmark, it adds no dependency, and it lets a
fault close a connection without a reply, which is the case the importer must survive.

    with Sandbox(SandboxConfig(rate_limit=20, rate_window=2)) as sandbox:
        httpx.get(sandbox.base_url + "/incoming/v2/ping", headers=sandbox.auth_headers)
"""

from __future__ import annotations

import base64
import collections
import json
import math
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from . import DEFAULT_API_KEY
from .content import ContentRoutes
from .store import ApiError, CourseStore

MAX_BODY = 1024 * 1024
PREFIX = "/incoming/v2"


@dataclass
class SandboxConfig:
    port: int = 0  # 0: any free port
    rate_limit: int = 100  # requests ...
    rate_window: float = 60.0  # ... per this many seconds, sliding
    rate_limit_style: str = "header"  # "header": Retry-After + X-RateLimit-*; "body": retryAfter only
    latency_ms: float = 0.0
    fail_rate: float = 0.0  # answer 503 before storing anything
    drop_rate: float = 0.0  # store, then close the connection without a reply
    seed: int | None = None
    custom_fields: list[str] | None = None
    data: Path | None = None
    api_key: str = DEFAULT_API_KEY
    api: str = "guide"  # "guide": the guide's endpoints; "content": the platform's content API (sandbox/content.py)
    content_create_answer: str = "object"  # "object": {"courseIds": [...]}; "list": [...]; "job": a background job
    content_list_shape: str = "data"  # where a courseGroups page puts its items: "data", "courseGroups", "nested"
    content_list_items: str = "full"  # "full" course groups, or only the "summary" fields of the vendor's typedef
    html: str = "guide"  # how descriptions are cleaned: "guide", "keep" (as sent), "rename" (see store.CourseStore)


class SlidingWindow:
    """At most `limit` requests in any `window` seconds. Throttled requests are not counted,
    so a client that waits as told gets through."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def hit(self) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until a slot frees)."""
        with self._lock:
            now = self.clock()
            while self._times and self._times[0] <= now - self.window:
                self._times.popleft()
            allowed = len(self._times) < self.limit
            if allowed:
                self._times.append(now)
            wait = (self._times[0] + self.window - now) if self._times else self.window
            return allowed, self.limit - len(self._times), max(wait, 0.0)


@dataclass
class Stats:
    requests: int = 0
    by_status: collections.Counter = field(default_factory=collections.Counter)
    throttled: int = 0
    failed: int = 0  # injected 503s
    dropped: int = 0  # injected lost replies (the course was stored)
    by_method: collections.Counter = field(default_factory=collections.Counter)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: SandboxConfig):
        self.config = config
        if config.api not in ("guide", "content"):
            raise ValueError(f"api must be 'guide' or 'content', not {config.api!r}")
        self.store = CourseStore(custom_fields=config.custom_fields, data=config.data, seed=config.seed,
                                 unique_titles=config.api == "guide", html=config.html)
        self.content = ContentRoutes(self.store, create_answer=config.content_create_answer,
                                     list_shape=config.content_list_shape, list_items=config.content_list_items) \
            if config.api == "content" else None
        self.window = SlidingWindow(config.rate_limit, config.rate_window)
        self.faults = random.Random(config.seed)
        self.fault_lock = threading.Lock()
        self.stats = Stats()
        self.stats_lock = threading.Lock()
        super().__init__(("127.0.0.1", config.port), Handler)

    def draw_faults(self) -> tuple[bool, bool]:
        """Both draws happen for every request, so a seed gives the same sequence whatever
        the rates and the mix of requests."""
        with self.fault_lock:
            fail, drop = self.faults.random(), self.faults.random()
        return fail < self.config.fail_rate, drop < self.config.drop_rate

    def count(self, method: str, status: int | str) -> None:
        with self.stats_lock:
            self.stats.requests += 1
            self.stats.by_status[str(status)] += 1
            self.stats.by_method[method] += 1

    def stats_body(self) -> dict:
        with self.stats_lock:
            return {"requests": self.stats.requests, "byStatus": dict(self.stats.by_status),
                    "byMethod": dict(self.stats.by_method), "throttled": self.stats.throttled,
                    "failed": self.stats.failed, "dropped": self.stats.dropped,
                    "courses": len(self.store.courses)}


class Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API behind a proxy offers
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for
    # the client's delayed ACK, adding 40 ms to every reply.
    disable_nagle_algorithm = True
    server_version = "importer-sandbox"

    def log_message(self, format, *args):  # quiet: the stats endpoint tells what happened
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PATCH(self):
        self._handle("PATCH")

    def send_error(self, code, message=None, explain=None):
        """Requests the standard library rejects itself (bad request line, huge headers)
        get our JSON error body too."""
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # an unparsable request line leaves HTTP/0.9: no status line
        self._reply(code, {"error": "Bad Request", "message": message or "Malformed request.",
                           "code": "BAD_REQUEST", "statusCode": code})

    # --- the request cycle ---

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/_sandbox/"):
            return self._sandbox_endpoint(method, path)
        # Every request counts toward the limit, malformed ones included.
        allowed, remaining, wait = self.server.window.hit()
        headers = self._rate_headers(remaining, wait)
        try:
            body = self._read_body(method)  # read even when throttled, to keep the connection in step
            if not allowed:
                return self._throttled(method, wait, headers)
            if not self._authorized():
                self.server.count(method, 401)
                return self._reply(401, None, headers)  # the platform answers 401 with no body
            fail, drop = self.server.draw_faults()
            if self.server.config.latency_ms:
                time.sleep(self.server.config.latency_ms / 1000)
            if fail:
                with self.server.stats_lock:
                    self.server.stats.failed += 1
                raise ApiError(503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable.",
                               error="Service Unavailable")
            status, answer = self._route(method, path, body)
            if drop and method in ("POST", "PUT"):
                with self.server.stats_lock:
                    self.server.stats.dropped += 1
                self.server.count(method, "dropped")
                self.close_connection = True  # the course is stored; the reply is lost
                return
        except ApiError as exc:
            self.server.count(method, exc.status)
            if exc.status in (411, 413):
                self.close_connection = True
            # The content API's error bodies are known only to carry a message.
            body = exc.body() if self.server.content is None else {"message": exc.message}
            return self._reply(exc.status, body, headers)
        self.server.count(method, status)
        self._reply(status, answer, headers)

    def _read_body(self, method: str):
        if method not in ("POST", "PUT", "PATCH"):
            return None
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise ApiError(411, "LENGTH_REQUIRED", "A Content-Length header is required.", error="Length Required")
        try:
            length = int(length_header)
        except ValueError:
            raise ApiError(400, "INVALID_JSON", "Content-Length is not a number.") from None
        if length > MAX_BODY:
            raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body is larger than {MAX_BODY} bytes.",
                           error="Payload Too Large")
        raw = self.rfile.read(length)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json.",
                           error="Unsupported Media Type")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "INVALID_JSON", "Request body is not valid JSON.") from None

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.server.config.api_key}"

    def _route(self, method: str, path: str, body) -> tuple[int, dict]:
        store = self.server.store
        if path == PREFIX + "/ping":
            self._only(method, "GET")
            return 200, {"valid": True}
        if self.server.content is not None:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            answer = self.server.content.route(method, path, query, body)
            if answer is None:
                raise ApiError(404, "NOT_FOUND", f"No endpoint at {path}.", error="Not Found")
            return answer
        if path == PREFIX + "/courses":
            self._only(method, "GET", "POST")
            if method == "POST":
                return 201, store.create(body)
            return 200, self._list(store)
        if path.startswith(PREFIX + "/courses/") and path.count("/") == 4:
            course_id = unquote(path.rsplit("/", 1)[1])
            self._only(method, "GET", "PUT")
            if method == "PUT":
                return 200, store.update(course_id, body)
            return 200, store.get(course_id)
        raise ApiError(404, "NOT_FOUND", f"No endpoint at {path}.", error="Not Found")

    @staticmethod
    def _only(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ApiError(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here; use {' or '.join(allowed)}.",
                           error="Method Not Allowed")

    def _list(self, store: CourseStore) -> dict:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        criteria = {k: query[k] for k in ("externalId", "slug", "title") if k in query}
        try:
            per_page = int(query.get("perPage", 25))
            start = int(base64.urlsafe_b64decode(query["cursor"]).decode()) if query.get("cursor") else 0
        except ValueError:
            raise ApiError(400, "INVALID_FIELD_VALUE", "Invalid cursor or perPage.") from None
        if not 1 <= per_page <= 100:
            raise ApiError(400, "INVALID_FIELD_VALUE", "perPage must be between 1 and 100.")
        if criteria:
            matches = store.find(**criteria)
            page, has_more = matches[start:start + per_page], start + per_page < len(matches)
        else:
            page, has_more = store.page(start, per_page)
        cursor = base64.urlsafe_b64encode(str(start + per_page).encode()).decode() if has_more else None
        return {"courses": page, "pageInfo": {"cursor": cursor, "hasMore": has_more}}

    def _sandbox_endpoint(self, method: str, path: str) -> None:
        if not self._authorized():
            return self._reply(401, None)
        if path == "/_sandbox/stats" and method == "GET":
            return self._reply(200, self.server.stats_body())
        self._reply(404, ApiError(404, "NOT_FOUND", f"No endpoint at {path}.", error="Not Found").body())

    # --- rate limiting ---

    def _rate_headers(self, remaining: int, wait: float) -> dict:
        if self.server.config.rate_limit_style != "header":
            return {}
        return {"X-RateLimit-Limit": str(self.server.config.rate_limit),
                "X-RateLimit-Remaining": str(max(remaining, 0)),
                # Unix seconds, to the millisecond: with a 2-second test window whole seconds
                # would be too coarse to pace by.
                "X-RateLimit-Reset": f"{time.time() + wait:.3f}"}

    def _throttled(self, method: str, wait: float, headers: dict) -> None:
        with self.server.stats_lock:
            self.server.stats.throttled += 1
        self.server.count(method, 429)
        seconds = max(1, math.ceil(wait))
        if self.server.config.rate_limit_style == "header":
            body = {"error": "Too Many Requests", "code": "RATE_LIMITED", "statusCode": 429,
                    "message": f"Rate limit of {self.server.config.rate_limit} requests per "
                               f"{self.server.config.rate_window:g} seconds exceeded."}
            return self._reply(429, body, {**headers, "Retry-After": str(seconds)})
        body = {"error": "rate_limit_exceeded", "message": "Rate limit exceeded.", "retryAfter": seconds}
        self._reply(429, body)

    # --- the reply ---

    def _reply(self, status: int, body, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Sandbox:
    """A sandbox in a background thread: the handle tests and `importer run --sandbox` use."""

    def __init__(self, config: SandboxConfig | None = None, **options):
        self.config = config or SandboxConfig(**options)
        self.server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        self.server = SandboxServer(self.config)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(timeout=5)
            self.server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.config.api_key}"}

    @property
    def store(self) -> CourseStore:
        return self.server.store

    def stats(self) -> dict:
        return self.server.stats_body()
