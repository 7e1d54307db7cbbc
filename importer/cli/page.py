"""`importer ui`: serve the page on 127.0.0.1 and open it in the browser.

The address printed carries a one-time token; the page refuses every request without it. Ctrl-C
stops the page; an import in flight then ends as `run` does on Ctrl-C: after the request in
flight, its files written.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

DEFAULT_PORT = 8766


def add_ui_parser(commands) -> None:
    ui = commands.add_parser(
        "ui", help="the whole migration in a local web page",
        description="Serve the importer's page on 127.0.0.1 (this machine only) and open it in the browser: "
                    "file, columns, check and fix, target, plan, import, results and undo. Stop with Ctrl-C.")
    ui.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT}; 0: any free)")
    ui.add_argument("--no-browser", action="store_true", help="print the address only; do not open a browser")
    ui.add_argument("--state-dir", metavar="DIR", type=Path, default=Path(".importer"),
                    help="where uploads, maps, run files and the journal are kept (default .importer/ here, "
                         "the folder `importer run` uses for files in this folder)")
    ui.set_defaults(handler=cmd_ui)


def cmd_ui(args) -> int:
    import socket

    import uvicorn

    from ..errors import ImporterError
    from ..ui.app import create_app
    from ..ui.session import Session

    try:
        sock = socket.create_server(("127.0.0.1", args.port))
    except OSError as exc:
        raise ImporterError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); is the page already "
                            "running? Use another --port") from None
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    session = Session(args.state_dir)
    app = create_app(session, token=token, port_of=lambda: port)
    address = f"http://127.0.0.1:{port}/?token={token}"
    print(f"Open {address}", flush=True)
    print("The page is for this machine only. Stop it with Ctrl-C.", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(address)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn hands Ctrl-C (or SIGTERM) back once it has stopped serving
        pass
    finally:
        session.close()  # an import in flight: after the request in flight, files written
    print("The page has stopped.", file=sys.stderr)
    return 0
