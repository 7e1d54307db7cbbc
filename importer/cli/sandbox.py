"""`importer sandbox`: run the stand-in API in the foreground until Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from ..core.fields import key_list
from ..sandbox import DEFAULT_API_KEY


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(text)
    return value


def add_sandbox_parser(commands) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="run a local stand-in for the courses API, to rehearse a migration",
        description="Serve the courses API on 127.0.0.1 with the guide's validation, a sliding-window "
                    "rate limit and injectable faults. The accepted key is SANDBOX_API_KEY "
                    f"(default '{DEFAULT_API_KEY}').")
    sandbox.add_argument("--api", choices=("guide", "content"), default="guide",
                         help="the guide's API (POST /incoming/v2/courses, default) or the platform's content API "
                              "(POST /incoming/v2/content/course/create, courseGroups, releaseContent)")
    sandbox.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765; 0: any free)")
    sandbox.add_argument("--rate-limit", type=int, default=100, help="requests allowed per window (default 100)")
    sandbox.add_argument("--rate-window", type=float, default=60.0, help="window length in seconds (default 60)")
    sandbox.add_argument("--rate-limit-style", choices=("header", "body"), default="header",
                         help="429 answers with Retry-After and X-RateLimit-* headers (header), or with "
                              "only a retryAfter field in the body (body)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="added to every answer")
    sandbox.add_argument("--fail-rate", type=_rate, default=0.0,
                         help="share of requests answered 503 before anything is stored (0-1)")
    sandbox.add_argument("--drop-rate", type=_rate, default=0.0,
                         help="share of writes stored, then left without a reply (0-1)")
    sandbox.add_argument("--seed", type=int, help="makes faults and ids repeat exactly")
    sandbox.add_argument("--custom-fields", metavar="KEY,KEY",
                         type=key_list,
                         help="the configured custom field keys; others are silently dropped")
    sandbox.add_argument("--data", metavar="FILE", type=Path,
                         help="keep the courses in this file across restarts (default: memory only)")
    sandbox.set_defaults(handler=run_sandbox)


def run_sandbox(args) -> int:
    from ..core.system import termination_signals
    from ..sandbox.server import Sandbox, SandboxConfig

    config = SandboxConfig(
        port=args.port, rate_limit=args.rate_limit, rate_window=args.rate_window,
        rate_limit_style=args.rate_limit_style, latency_ms=args.latency_ms, fail_rate=args.fail_rate,
        drop_rate=args.drop_rate, seed=args.seed, custom_fields=args.custom_fields, data=args.data,
        api_key=os.environ.get("SANDBOX_API_KEY") or DEFAULT_API_KEY, api=args.api)
    stop = threading.Event()
    for each in termination_signals():
        signal.signal(each, lambda *_: stop.set())
    try:
        sandbox = Sandbox(config).start()
    except OSError as exc:
        from ..errors import ImporterError
        raise ImporterError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror})") from exc
    print(f"Sandbox listening on {sandbox.base_url}", flush=True)
    print(f"API key: {config.api_key}", flush=True)
    spoken = "the content API" if args.api == "content" else "the guide's API"
    print(f"Speaking {spoken}", flush=True)
    print(f"Rate limit: {config.rate_limit} requests per {config.rate_window:g} s; "
          f"courses {'kept in ' + str(config.data) if config.data else 'in memory only'}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        print("Sandbox stopped.", flush=True)
    return 0
