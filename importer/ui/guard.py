"""Who may use the page: the person who started `importer ui`, through their browser on this machine.

The page holds a real API key while it runs, so whoever drives it can create or archive courses
with that key. Browsers keep cookies apart by host name, not by port: a cookie of 127.0.0.1 goes
to every local server the person visits. So the page lives under a secret path, and its cookie
is scoped to that path (`shared/page-security.md`):

- The page is served under `/s/<secret>/`: a path no other local server is ever asked for, in any
  browser (Safari included, which resolves no `*.localhost` name). The secret is made at launch and
  is never in a program's arguments. `Referrer-Policy: same-origin` keeps it out of requests to
  other sites.
- The session cookie carries a second secret, `Path=/s/<secret>/`, HttpOnly, SameSite=Strict: the
  browser sends it to that path only, so no other local server receives it, and the address alone
  (seen on a screen) is not enough. Every cookie of that name is checked: one tossed in by another
  local port locks nobody out.
- A launch address (`/?token=…`) is good for one exchange: it sets the cookie and forwards to the
  page. `importer ui` makes two, one for the browser it opens (through a file only the person can
  read, never a command line) and one printed in the terminal.
- The Host header must be the page's own address (a DNS-rebinding page elsewhere cannot reach it);
  a change is a POST whose Origin is the page's own; WebSocket requests are refused.
- Every answer refuses framing and sniffing, and carries a Content-Security-Policy that the page's
  own script and stylesheet satisfy.
"""

from __future__ import annotations

import hmac
import html
import secrets
import threading
from urllib.parse import parse_qs

from starlette.responses import HTMLResponse, RedirectResponse

COOKIE = "importer_session"
SAFE_METHODS = ("GET", "HEAD")
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                 b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                 b"object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make the page's own forms send Origin: null
    (b"cache-control", b"no-store"),
]


class Guard:
    """ASGI middleware enforcing the rules above. `base` is the page's secret path (`/s/<secret>`),
    the app's `root_path`."""

    def __init__(self, app, *, port_of, base: str | None = None, launch_tokens: list[str] | None = None):
        self.app = app
        self.port_of = port_of  # the port the page listens on, known once the server is bound
        self.base = base or f"/s/{secrets.token_urlsafe(24)}"
        self.session = secrets.token_urlsafe(32)  # the cookie's value: never in any address
        self._unspent = set(launch_tokens or ())
        self._lock = threading.Lock()

    def new_launch_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._unspent.add(token)
        return token

    def _hosts(self) -> set[str]:
        port = self.port_of()
        return {f"127.0.0.1:{port}", f"localhost:{port}"}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})  # nothing here speaks WebSocket
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = _with_headers(send)
        headers = _headers(scope)
        if headers.get("host", "") not in self._hosts():
            return await _refuse(scope, receive, send, "This page answers only at its own address (127.0.0.1).")
        path, method = scope["path"], scope["method"]
        if path == "/" and method in SAFE_METHODS:
            return await self._launch(scope, receive, send)
        if not (path == self.base or path.startswith(self.base + "/")):
            if path.startswith("/s/"):  # a tab left open from an earlier start of the page
                return await _refuse(scope, receive, send, "This tab was opened by an earlier start of the page, "
                                     "which has stopped. Start `importer ui` again: it opens a new tab, and the home "
                                     "page lists every run (one that was interrupted can be continued there).")
            return await _refuse(scope, receive, send, "Open the page with the address `importer ui` printed.")
        if not any(hmac.compare_digest(value, self.session) for value in _cookies(headers.get("cookie", ""))):
            return await _refuse(scope, receive, send, "This browser has not opened the page with its address: open "
                                                       "the address `importer ui` printed.")
        if method not in SAFE_METHODS and headers.get("origin", "") not in {f"http://{h}" for h in self._hosts()}:
            return await _refuse(scope, receive, send, "A change must come from this page itself.")
        if path == self.base:
            return await RedirectResponse(self.base + "/", status_code=307)(scope, receive, send)
        # The app behind sees where it lives: Starlette routes on the path after `root_path`.
        return await self.app(dict(scope, root_path=scope.get("root_path", "") + self.base), receive, send)

    async def _launch(self, scope, receive, send):
        """A launch address, spent on its first use: the cookie is set and the page opens at its path."""
        given = _query_token(scope.get("query_string", b""))
        with self._lock:
            known = given is not None and any(hmac.compare_digest(given, t) for t in self._unspent)
            if known:
                self._unspent.discard(given)
        if not known:
            why = "This address's token was used once already, or is not this page's: a launch address opens the " \
                  "page once. In the browser that opened it, the page is still open; elsewhere, start `importer " \
                  "ui` again for a new address." if given is not None else \
                  "Open the page with the address `importer ui` printed."
            return await _refuse(scope, receive, send, why)
        response = RedirectResponse(self.base + "/", status_code=303)
        response.set_cookie(COOKIE, self.session, httponly=True, samesite="strict", path=self.base + "/")
        return await response(scope, receive, send)


def _with_headers(send):
    async def sending(message):
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            message = dict(message, headers=[*message.get("headers", []),
                                             *[(n, v) for n, v in HEADERS if n not in present]])
        await send(message)
    return sending


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _refuse(scope, receive, send, why: str):
    """A refusal a person can read in the browser (a page, not a bare word); nothing of the page in it."""
    body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Forbidden</title></head><body>"
            f"<h1>Forbidden</h1><p>{html.escape(why)}</p></body></html>")
    return await HTMLResponse(body, status_code=403)(scope, receive, send)


def _query_token(query: bytes) -> str | None:
    """The `token` of a query string; any token that is not plain ASCII is simply not ours."""
    try:
        values = parse_qs(query.decode("ascii"), errors="strict").get("token")
    except (UnicodeDecodeError, ValueError):
        return ""
    return values[0] if values and values[0].isascii() else ("" if values else None)


def _cookies(header: str) -> list[str]:
    """Every value of the session cookie in a Cookie header (another local port may have set one too)."""
    found = []
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value.isascii():
            found.append(value)
    return found
