"""A local stand-in for the courses API: the guide's behaviour, its rate limit, and faults.

    from importer.sandbox import Sandbox
    with Sandbox(rate_limit=20, rate_window=2) as sandbox:
        ...  # sandbox.base_url, sandbox.auth_headers, sandbox.stats()
"""

from .server import DEFAULT_API_KEY, Sandbox, SandboxConfig

__all__ = ["DEFAULT_API_KEY", "Sandbox", "SandboxConfig"]
