"""Who may use the page: the person who started `importer ui`, through the browser on this machine.

- Every request carries the launch token: the address printed at start sets it as a cookie
  (HttpOnly, SameSite=Strict) and the page's own links carry nothing else. Without it: 403.
- The Host header must be the address the page serves (a DNS-rebinding page elsewhere cannot
  reach it): 403 otherwise.
- Every request that changes anything is a POST whose Origin is the page's own: 403 otherwise.
"""

from __future__ import annotations

import hmac

from starlette.responses import PlainTextResponse, RedirectResponse

COOKIE = "importer_token"
SAFE_METHODS = ("GET", "HEAD")


class Guard:
    """ASGI middleware enforcing the three rules above."""

    def __init__(self, app, *, token: str, port_of):
        self.app = app
        self.token = token
        self.port_of = port_of  # the port the page listens on, known once the server is bound

    def _hosts(self) -> set[str]:
        port = self.port_of()
        return {f"127.0.0.1:{port}", f"localhost:{port}"}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if host not in self._hosts():
            return await _refuse(scope, receive, send, "This page answers only at its own address (127.0.0.1).")
        method = scope["method"]
        query = scope.get("query_string", b"").decode("latin-1")
        given = _query_token(query)
        if given is not None and method in SAFE_METHODS and scope["path"] == "/":
            if not hmac.compare_digest(given, self.token):
                return await _refuse(scope, receive, send, "This address's token is not this page's.")
            # The token leaves the address bar at once: it lives in a cookie only JavaScript cannot read.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            return await response(scope, receive, send)
        cookie = _cookie(headers.get("cookie", ""))
        if not cookie or not hmac.compare_digest(cookie, self.token):
            return await _refuse(scope, receive, send, "Open the page with the address `importer ui` printed.")
        if method not in SAFE_METHODS:
            origin = headers.get("origin", "")
            if origin not in {f"http://{h}" for h in self._hosts()}:
                return await _refuse(scope, receive, send, "A change must come from this page itself.")
        return await self.app(scope, receive, send)


async def _refuse(scope, receive, send, why: str):
    return await PlainTextResponse(f"Forbidden. {why}", status_code=403)(scope, receive, send)


def _query_token(query: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query).get("token")
    return values[0] if values else None


def _cookie(header: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None
