"""`importer export`: the command-line shell around `run.exporting`."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path

from ..errors import TargetError
from .console import EXIT_OK, shown


def add_export_parser(commands) -> None:
    from .run import add_connection_options

    export = commands.add_parser(
        "export", help="write what the platform holds as the template, to edit and sync back",
        description="Read every course the platform holds (or those of one --source or --tag) with its course list, "
                    "paced under the rate limit, and write them as the template: its columns, dropdowns and "
                    "instructions, every custom field as its customFields.<key> column, ids as text, plus the "
                    "platform's course id, when it last changed and a note, which a run never sends. Edit it and "
                    "run it with --mode sync: rows left alone send nothing. Exit 0: written; 2: could not start.")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("--domain", metavar="NAME", help="the platform instance: NAME.thoughtindustries.com")
    target.add_argument("--base-url", metavar="URL", help="any other base URL (https://, or http:// on loopback)")
    target.add_argument("--sandbox", action="store_true", help="a fresh local sandbox (an empty template)")
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write, .xlsx or .csv")
    export.add_argument("--force", action="store_true", help="replace --out if it exists")
    export.add_argument("--source", metavar="VALUE", help="only the courses whose Source is VALUE")
    export.add_argument("--tag", metavar="TAG", help="only the courses with this tag")
    export.add_argument("--include-archived", action="store_true", help="archived courses too (default: left out)")
    add_connection_options(export)
    export.set_defaults(handler=cmd_export)


def cmd_export(args) -> int:
    from ..files.writing import check_outputs
    from ..pipeline import connect
    from ..platform.api import base_url_for
    from ..run.exporting import export_courses, refuse_existing
    from .run import _api_key

    out = Path(args.out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise TargetError(f"--out {out} must end in .xlsx or .csv")
    refuse_existing(out, args.force)  # before the key is even asked for
    check_outputs(out.parent, {"export": out})  # a folder that can be written, a path that can be made
    with contextlib.ExitStack() as stack:
        sandbox = None
        if args.sandbox:
            from ..sandbox import DEFAULT_API_KEY, Sandbox

            sandbox = stack.enter_context(Sandbox(api_key=os.environ.get("SANDBOX_API_KEY") or DEFAULT_API_KEY,
                                                  api="content" if args.api == "content" else "guide"))
            base_url, key, sources = sandbox.base_url, sandbox.config.api_key, ["the sandbox's key"]
        else:
            base_url, sources = base_url_for(args.domain, args.base_url), []
            key = _api_key(base_url, sources)
        print(f"Connecting to {base_url} …", flush=True)
        # An export writes nothing to the platform: its journal is a scratch one, so that it never
        # holds the lock of a run's journal.
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="importer-export-"))
        target = connect(base_url=base_url, api_key=key, rate_limit=args.rate_limit, timeout=args.timeout,
                         max_wait=args.max_wait, max_retries=args.max_retries, state_dir=scratch,
                         key_source=sources[0] if sources else None, stop=threading.Event(), api=args.api)
        stack.callback(target.close)
        print(f"Reading the courses, speaking {target.api_label} …", flush=True)
        result = export_courses(target.importer, out, source=args.source, tag=args.tag,
                                include_archived=args.include_archived, on_page=_progress())
    if sys.stderr.isatty():
        print(file=sys.stderr)
    what = " matching" if args.source or args.tag else ""
    if not result.courses:
        print(f"The platform holds no course{what}{'' if args.include_archived else ' that is not archived'}: "
              f"{result.path} is the template with no rows.")
    else:
        custom = f", {len(result.custom_keys)} custom fields" if result.custom_keys else ""
        print(f"Exported {result.courses:,}{what} courses{custom} to {shown(result.path)} with {result.requests} "
              f"list request{'s' if result.requests != 1 else ''}.")
    if result.note:
        print(f"Note: {result.note}.")
    if result.marked:
        print(f"Note: {result.marked} cells hold a value the platform has that the template's rules refuse: each is "
              "marked yellow and explained in the Platform note column; a sync never sends them as they are.")
    print("Edit the cells to change, then: importer run FILE --mode sync … (rows left alone send nothing)")
    return EXIT_OK


def _progress():
    """Courses read so far, on one line of a terminal; nothing when the output is not one."""
    if not sys.stderr.isatty():
        return None

    def shown_count(count: int) -> None:
        print(f"\r  {count:,} courses read", end="", file=sys.stderr, flush=True)

    return shown_count
