"""`importer ui`: serve the page on 127.0.0.1 and open it in the browser.

The address printed carries a launch token, good for one opening; the browser it opens gets another,
through a file only this user can read (see `ui/guard.py`). Ctrl-C stops the page; an import in
flight then ends as `run` does on Ctrl-C: after the request in flight, its files written.
"""

from __future__ import annotations

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

    from ..core.system import keep_files_private
    from ..errors import ImporterError
    from ..ui.app import create_app
    from ..ui.session import Session

    keep_files_private()  # every file and folder the page writes is the person's alone
    try:
        sock = socket.create_server(("127.0.0.1", args.port))
    except OSError as exc:
        raise ImporterError(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); is the page already "
                            "running? Use another --port") from None
    port = sock.getsockname()[1]
    session = Session(args.state_dir)
    guard = create_app(session, port_of=lambda: port)
    printed = f"http://127.0.0.1:{port}/?token={guard.new_launch_token()}"
    print(f"Open {printed}", flush=True)
    print("That address opens the page once, in one browser; the page is for this machine only. Stop it with "
          "Ctrl-C.", flush=True)
    opener = None
    if not args.no_browser:
        # The browser is opened on a file only this user can read, which forwards to a launch address of
        # its own: the token is never in a program's arguments, where `ps` shows it to every local user.
        opener = _forwarding_file(session.state_dir, f"http://127.0.0.1:{port}/?token={guard.new_launch_token()}")
        import webbrowser

        webbrowser.open(opener.as_uri())
    config = uvicorn.Config(guard, log_level="warning", access_log=False, lifespan="off", ws="none")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn hands Ctrl-C (or SIGTERM) back once it has stopped serving
        pass
    finally:
        session.close()  # an import in flight: after the request in flight, files written
        if opener is not None:
            opener.unlink(missing_ok=True)
    print("The page has stopped.", file=sys.stderr)
    return 0


def _forwarding_file(folder: Path, address: str) -> Path:
    """A page that sends the browser on to `address`, readable by this user only (as Jupyter does)."""
    import html
    import os

    from ..core.system import no_follow_flag

    path = folder / f"ui-open-{os.getpid()}.html"
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | no_follow_flag()
    with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as handle:
        quoted = html.escape(address, quote=True)
        handle.write(f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={quoted}">'
                     f'<title>Course importer</title><p>Opening the course importer… '
                     f'<a href="{quoted}">continue</a></p>\n')
    return path
