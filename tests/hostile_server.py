"""A small courses server that misbehaves on purpose, on 127.0.0.1, for the hostile-server tests.

It keeps the courses it creates (so a test can check each ended up in a results file) and
answers lookups and list pages honestly. What it does wrong is scripted: `ping` says how the
key check is answered, `posts` lists what each POST does in turn (then "ok" for the rest).

    ok          201 with the course
    trickle     stores the course, then sends its 201 body one byte every `trickle_every` s
    no_id       stores the course, answers 201 with a body that has no id
    other_json  stores nothing, answers 200 with JSON in another API's shape ({"data": {...}})
    wait_year   429 with Retry-After: 31536000 (stores nothing)
    wait_6s     429 with Retry-After: 6 (stores nothing)
    reset_far   201 with the course, and X-RateLimit-Remaining: 0 / Reset: 99999999999
    skewed_429  429 with Retry-After as an HTTP date 2 s after the server's own clock (see `skew`)

And for the whole server:

    portal_after  after that many courses, every request is answered 200 with an HTML sign-in
                  page, as a captive portal or a login wall does
    list_shape    "data": list pages and lookups answer {"data": [...], "next": null};
                  "data_pages": only list pages do, lookups keep the contract's shape
    bomb_pages    list pages answer with a reply gzip-packed twice that unpacks to `bomb_mb` MB
    skew          seconds the server's clock (its Date header) is ahead of this machine's
"""

from __future__ import annotations

import email.utils
import itertools
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class HostileServer:
    def __init__(self, *, ping: str = "ok", posts: list[str] | None = None, trickle_every: float = 0.5,
                 portal_after: int | None = None, list_shape: str = "contract", bomb_pages: bool = False,
                 bomb_mb: int = 1024, skew: float = 0.0):
        self.ping = ping
        self.portal_after = portal_after
        self.list_shape = list_shape
        self.bomb_pages = bomb_pages
        self.bomb_mb = bomb_mb
        self.skew = skew
        self.posts = list(posts or [])
        self.trickle_every = trickle_every
        self.courses: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _store(self, payload: dict) -> dict:
        with self._lock:
            course = {"id": f"hostile_{next(self._ids):04}", "slug": f"s-{len(self.courses) + 1}", **payload}
            self.courses.append(course)
            return course

    def bomb(self) -> bytes:
        """`bomb_mb` MB of JSON-looking zeros, gzip-packed twice: a few KB on the wire."""
        if not hasattr(self, "_bomb"):
            inner = zlib.compressobj(9, zlib.DEFLATED, 31)
            block = b"0" * 2**20
            packed = [inner.compress(b'{"courses": [], "pad": "')]
            packed += [inner.compress(block) for _ in range(self.bomb_mb)]
            packed.append(inner.compress(b'"}') + inner.flush())
            outer = zlib.compressobj(9, zlib.DEFLATED, 31)
            self._bomb = outer.compress(b"".join(packed)) + outer.flush()
        return self._bomb

    def _next_post(self) -> str:
        with self._lock:
            return self.posts.pop(0) if self.posts else "ok"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def date_time_string(self, timestamp=None):
                return email.utils.formatdate(time.time() + server.skew, usegmt=True)

            def _portal(self) -> bool:
                if server.portal_after is None or len(server.courses) < server.portal_after:
                    return False
                page = b"<html><body><h1>Sign in to continue</h1><form>Wi-Fi access</form></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return True

            def _bomb(self) -> None:
                data = server.bomb()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip, gzip")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _reply(self, status: int, body: object = None, headers: dict | None = None,
                       trickle: bool = False) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if not trickle:
                    self.wfile.write(data)
                    return
                for byte in data:
                    if server._closing.wait(server.trickle_every):
                        return
                    try:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    except OSError:
                        return

            def do_GET(self):
                url = urlsplit(self.path)
                server.requests.append(("GET", self.path))
                if url.path.endswith("/ping"):
                    if server.ping == "redirect":
                        return self._reply(302, None, {"Location": "https://login.example.com/"})
                    if server.ping == "431":
                        return self._reply(431, {"message": "Request Header Fields Too Large"})
                    return self._reply(200, {"valid": True})
                if self._portal():
                    return None
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                wanted = {k: v for k, v in query.items() if k in ("externalId", "slug", "title")}
                if server.bomb_pages and not wanted:
                    return self._bomb()
                with server._lock:
                    found = [c for c in server.courses if all(c.get(k) == v for k, v in wanted.items())]
                if server.list_shape == "data" or (server.list_shape == "data_pages" and not wanted):
                    return self._reply(200, {"data": found, "next": None})
                return self._reply(200, {"courses": found, "pageInfo": {"hasMore": False, "cursor": None}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                if self._portal():
                    return None
                what = server._next_post()
                server.requests.append(("POST", what))
                if what == "skewed_429":
                    at = email.utils.formatdate(time.time() + server.skew + 2, usegmt=True)
                    return self._reply(429, {"message": "slow down"}, {"Retry-After": at})
                if what in ("wait_year", "wait_6s"):
                    seconds = "31536000" if what == "wait_year" else "6"
                    return self._reply(429, {"message": "slow down"}, {"Retry-After": seconds})
                course = server._store(payload)
                if what == "trickle":
                    return self._reply(201, course, trickle=True)
                if what == "no_id":
                    return self._reply(201, {"status": "created"})
                if what == "other_json":
                    with server._lock:  # nothing kept: this is not the courses API answering
                        server.courses.remove(course)
                    return self._reply(200, {"data": {"type": "course", "attributes": payload}})
                if what == "reset_far":
                    return self._reply(201, course, {"X-RateLimit-Remaining": "0",
                                                     "X-RateLimit-Reset": "99999999999"})
                return self._reply(201, course)

        return Handler

