"""A local stand-in for the courses API: the guide's behaviour, its rate limit, and faults.

    from importer.sandbox import Sandbox
    with Sandbox(rate_limit=20, rate_window=2) as sandbox:
        ...  # sandbox.base_url, sandbox.auth_headers, sandbox.stats()
"""

DEFAULT_API_KEY = "sandbox-key"

__all__ = ["DEFAULT_API_KEY", "Sandbox", "SandboxConfig"]


def __getattr__(name):
    # The server (http.server and friends) loads on first use, not whenever the CLI starts.
    if name in ("Sandbox", "SandboxConfig"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
