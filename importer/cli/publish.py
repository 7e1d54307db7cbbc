"""`importer publish RESULTS`: the command-line shell around `publishing`."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

from ..errors import Declined, OutputExists, Refused
from .console import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, shown


def add_publish_parser(commands) -> None:
    from .run import add_connection_options

    publish = commands.add_parser(
        "publish", help="publish the drafts a run created, when they are ready",
        description="Read a run's results file, read those courses from the platform, show what would be "
                    "published and ask; then publish each draft (on the content API, its release call). Courses "
                    "already published, archived or gone are left alone. What it did is written as a results file "
                    "that `importer undo` takes back to draft. Running it again sends nothing. Exit 0: every "
                    "course chosen is published; 1: some were not; 2: it could not start; 130: interrupted.")
    publish.add_argument("results", help="the results file of the run whose courses to publish (.xlsx, or .csv "
                                         "with its .run.csv beside it)")
    target = publish.add_mutually_exclusive_group(required=True)
    target.add_argument("--domain", metavar="NAME", help="the platform instance: NAME.thoughtindustries.com")
    target.add_argument("--base-url", metavar="URL", help="any other base URL (https://, or http:// on loopback)")
    publish.add_argument("--rows", metavar="ROWS",
                         help="only these rows of the run's sheet, e.g. 2,5-9 (default: every course it created)")
    publish.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    publish.add_argument("--out", metavar="PATH",
                         help="where to write what it did (default: <results>.publish.xlsx beside it)")
    add_connection_options(publish)
    publish.set_defaults(handler=cmd_publish)


def cmd_publish(args) -> int:
    from .. import __version__
    from ..pipeline import connect
    from ..platform.api import base_url_for
    from ..platform.journal import default_state_dir
    from ..run import publishing, undoing
    from ..run.progress import start_progress
    from .run import _api_key, _stop_on_signals

    rows = publishing.parse_rows(args.rows)
    record = undoing.read_run_record(args.results)
    base_url = base_url_for(args.domain, args.base_url)
    undoing.check_target(record, base_url)
    output = _output_path(args)
    if not args.yes and not sys.stdin.isatty():
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to publish without the question")
    chosen, unknown = publishing.chosen_courses(record, rows)
    sources: list[str] = []
    key = _api_key(base_url, sources)
    stop = threading.Event()
    started = publishing.now_iso()
    with contextlib.ExitStack() as stack:
        target = connect(base_url=base_url, api_key=key, rate_limit=args.rate_limit, timeout=args.timeout,
                         max_wait=args.max_wait, max_retries=args.max_retries,
                         state_dir=default_state_dir(args.results), stop=stop, progress=start_progress(),
                         key_source=sources[0] if sources else None, api=args.api)
        stack.callback(target.close)
        importer = target.importer
        current = importer.read_courses(list(chosen)) if chosen else {}
        actions = publishing.plan_publish(chosen, current, unknown)
        print(f"{publishing.summary(actions)} (from run {record.run_id}, on {base_url}, speaking {target.api_label})")
        for action in [a for a in actions if a.kind == publishing.PUBLISH][:10]:
            print(f"  + row {action.row:<5} {shown(action.course_id, 40)}  {shown(action.title, 60)}")
        for action in [a for a in actions if a.kind in (publishing.ARCHIVED, publishing.NOT_IN_RUN)][:10]:
            print(f"  ! row {action.row}: {shown(action.message)}")
        writes = [a for a in actions if a.kind == publishing.PUBLISH]
        if not writes:
            print("Nothing to publish: nothing was sent.")
            return EXIT_OK if all(a.kind == publishing.ALREADY for a in actions) else EXIT_ROWS
        if not args.yes:
            answer = input(f"Publish {len(writes)} courses on {base_url}? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                raise Declined("Not confirmed: nothing was sent.")
        with _stop_on_signals(stop):
            done, interrupted = publishing.publish(importer, actions)
            facts = publishing.publish_facts(record, base_url, importer.settings.run_id, started, target.api_label,
                                             __version__)
            publishing.write_publish_results(output, record, actions, done, facts)
    published = sum(1 for o in done.values() if o.status == "updated")
    failed = [o for o in done.values() if o.status != "updated"]
    print()
    print(f"published      {published:>6}")
    for o in failed[:10]:
        print(f"  ! row {o.row} {o.course_id}: {o.status}: {shown(o.error_message or '')}")
    print(f"Publish results: {output}  (importer undo {output} … puts them back to draft)")
    if interrupted or stop.is_set():
        print("Interrupted: run the same command again to publish the rest.")
        return EXIT_INTERRUPTED
    return EXIT_OK if not failed and all(a.kind in (publishing.PUBLISH, publishing.ALREADY) for a in actions) \
        else EXIT_ROWS


def _output_path(args) -> Path:
    if args.out:
        path = Path(args.out)
        if path.exists():
            raise OutputExists(f"{path} already exists and would be overwritten; move it away or choose another path")
        if path.suffix.lower() != ".xlsx":
            raise OutputExists(f"{path}: the publish results are a workbook; give a path ending in .xlsx")
        return path
    source = Path(args.results)
    n = 1
    while (path := source.with_name(f"{source.stem}.publish{'' if n == 1 else f'-{n}'}.xlsx")).exists():
        n += 1
    return path
