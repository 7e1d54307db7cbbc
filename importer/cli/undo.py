"""`importer undo RESULTS`: the command-line shell around `undoing` and `applying.Importer.undo`."""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path

from ..errors import Declined, OutputExists, Refused, TargetError
from .console import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, shown

UNDO_COLUMNS = ("source_row", "course_id", "action", "status", "message")
DONE = ("restored", "archived", "already_undone")


def add_undo_parser(commands) -> None:
    from .run import add_connection_options

    undo = commands.add_parser(
        "undo", help="take back what a run did: restore updated courses, archive created ones",
        description="Read a run's results file, read those courses' current state from the platform, show what "
                    "undo would do and ask; then restore the previous value of every field the run updated and "
                    "archive every course it created (the API has no delete: an archived course keeps its title, "
                    "slug and External ID). A course changed since the run is left alone unless --force. Running "
                    "the same undo again sends nothing. Exit 0: everything undone; 1: some courses were skipped "
                    "or failed; 2: the undo could not start; 130: interrupted (run it again to finish).")
    undo.add_argument("results", help="the results file of the run to undo (.xlsx, or .csv with its .run.csv "
                                      "and .changes.csv beside it)")
    target = undo.add_mutually_exclusive_group()
    target.add_argument("--domain", metavar="NAME", help="the platform instance: NAME.thoughtindustries.com")
    target.add_argument("--base-url", metavar="URL", help="any other base URL (https://, or http:// on loopback)")
    undo.add_argument("--only", metavar="KEY,KEY",
                      help="with an onboarding's roll-up workbook: undo only these clients (Client key or name)")
    undo.add_argument("--force", action="store_true",
                      help="also undo courses changed since the run (their later changes are lost)")
    undo.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    undo.add_argument("--results", metavar="PATH", dest="undo_results",
                      help="where to write what undo did (default: <results>.undo.xlsx beside it)")
    add_connection_options(undo)
    undo.set_defaults(handler=cmd_undo)


def cmd_undo(args) -> int:
    from ..platform.api import base_url_for
    from ..run.onboarding import read_rollup

    clients = read_rollup(args.results)
    if clients is not None:
        return _undo_onboarding(args, clients)
    if args.only:
        raise TargetError("--only is for an onboarding's roll-up workbook; this is one run's results file")
    if not (args.domain or args.base_url):
        raise TargetError("name the instance the run changed: --domain NAME or --base-url URL")
    return _undo_run(args, args.results, base_url_for(args.domain, args.base_url))


def _undo_onboarding(args, clients: list[dict]) -> int:
    """Every client of an onboarding (or those --only names), one after another, each on its instance with
    the key its clients sheet named (the TI_API_KEY variable, or a prompt, for the shared one)."""
    import os

    from ..platform.api import base_url_for

    if args.undo_results:
        raise TargetError("--results names one file; an onboarding's undo writes one beside each client's results")
    wanted = {w.strip() for w in (args.only or "").split(",") if w.strip()}
    chosen = [c for c in clients if not wanted or c.get("client_key") in wanted or c.get("client") in wanted]
    unknown = wanted - {c.get("client_key") for c in clients} - {c.get("client") for c in clients}
    if unknown:
        raise TargetError(f"--only: no client {', '.join(sorted(unknown))} in this onboarding")
    given = base_url_for(args.domain, args.base_url) if args.domain or args.base_url else None
    worst = EXIT_OK
    for client in chosen:
        if not client.get("results"):
            print(f"{client['client']}: its run wrote no results (nothing to undo)")
            continue
        variable = client.get("key_variable")
        key = os.environ.get(variable, "").strip() if variable else None
        if variable and not key:
            raise TargetError(f"the {variable} environment variable (the key of {client['client']}'s instance) is "
                              "not set; nothing more was sent")
        if given and not variable and given.rstrip("/") != client["target"].rstrip("/"):
            raise TargetError(f"{client['client']}'s courses are on {client['target']}, not {given}")
        print(f"--- {client['client']} ({client['target']})")
        code = _undo_run(args, client["results"], client["target"], key=key,
                         key_source=f"the {variable} environment variable" if variable else None)
        worst = max(worst, code) if code != EXIT_INTERRUPTED else code
        if code == EXIT_INTERRUPTED:
            break
    return worst


def _undo_run(args, results, base_url: str, *, key: str | None = None, key_source: str | None = None) -> int:
    from ..files.writing import check_outputs
    from ..pipeline import connect
    from ..platform.journal import default_state_dir
    from ..run import undoing
    from ..run.progress import start_progress
    from .run import _api_key, _stop_on_signals

    record = undoing.read_run_record(results)
    undoing.check_target(record, base_url)  # before the key is even asked for
    output = _output_path(args, results)
    check_outputs(results, {"undo results": output})
    if not args.yes and not sys.stdin.isatty():
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to undo without the question")
    sources: list[str] = [key_source] if key else []
    key = key or _api_key(base_url, sources)
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        # The same opening as `run` (and the library): the key checked, journal and pacer ready.
        target = connect(base_url=base_url, api_key=key, rate_limit=args.rate_limit, timeout=args.timeout,
                         max_wait=args.max_wait, max_retries=args.max_retries,
                         state_dir=default_state_dir(results), stop=stop, progress=start_progress(),
                         key_source=sources[0] if sources else None, api=args.api)
        stack.callback(target.close)
        importer = target.importer
        current = importer.read_courses(list(record.rows))
        journaled = {e.course_id for e in importer.journal.entries(base_url).values() if e.status == "created"}
        actions = undoing.plan_undo(record, current, force=args.force, journaled=journaled,
                                    can_archive=importer.api.limits.can_archive)
        print(f"{undoing.summary(actions)} (run {record.run_id}, on {base_url}, speaking {target.api_label})")
        for action in [a for a in actions if a.kind == undoing.BY_HAND]:  # every one: for the admin screens
            print(f"  to archive by hand: row {action.row} course {action.course_id}")
        for action in [a for a in actions if a.kind == undoing.NOT_THIS_RUN]:  # every one: a refusal
            print(f"  ! row {action.row} {action.course_id}: {shown(action.message)}")
        for action in [a for a in actions if a.kind == undoing.CHANGED_SINCE][:5]:
            print(f"  ! row {action.row} {action.course_id}: {shown(action.message)}")
        writes = [a for a in actions if a.kind in undoing.WRITES]
        if any(a.kind == undoing.ARCHIVE for a in writes):
            print("  Archiving is as close to deleting as the API allows: the course stays, hidden, and its title, "
                  "slug and External ID stay taken.")
        if writes and not args.yes:
            answer = input(f"Undo {len(writes)} courses on {base_url}? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                raise Declined("Not confirmed: nothing was sent.")
        with _stop_on_signals(stop):
            done, interrupted = importer.undo(actions)
            failures = _write_undo_results(output, actions, done, interrupted)
    statuses = [_status(a, done, interrupted)[0] for a in actions]
    print()
    for status in ("restored", "archived", "already_undone", "changed_since", "not_found", "not_this_run",
                   "archive_by_hand", "failed", "not_attempted"):
        if statuses.count(status):
            print(f"{status:<15}{statuses.count(status):>6}")
    print(f"Undo results: {output}")
    if failures:
        print(f"Not undone:   {failures}  (what could not be done, and why)")
    if interrupted or stop.is_set():
        print("Interrupted: run the same command again to finish the undo.")
        return EXIT_INTERRUPTED
    return EXIT_OK if all(s in DONE for s in statuses) else EXIT_ROWS


def _output_path(args, results) -> Path:
    if args.undo_results:
        path = Path(args.undo_results)
        if path.exists():
            raise OutputExists(f"{path} already exists and would be overwritten; move it away or choose another path")
        return path
    source = Path(results)
    n = 1
    while (path := source.with_name(f"{source.stem}.undo{'' if n == 1 else f'-{n}'}.xlsx")).exists():
        n += 1
    return path


def _status(action, done: dict, interrupted: bool) -> tuple[str, str]:
    from ..run import undoing

    if action.kind in undoing.WRITES:
        return done.get(action.course_id, ("not_attempted", "the undo was interrupted before this course"))
    return action.kind, action.message


def _write_undo_results(path: Path, actions, done: dict, interrupted: bool) -> Path | None:
    """Every course with what undo did; and, when any course was not undone, those rows again
    in a failures file beside it. Returns the failures file's path, if written."""
    from ..files.writing import Table, write_table

    rows = [[a.row, a.course_id, a.kind, *_status(a, done, interrupted)] for a in actions]
    left = [row for row in rows if row[3] not in DONE]
    failures = path.with_name(f"{path.stem}-failures{path.suffix}") if left else None
    try:
        for target, chosen in ((path, rows), (failures, left)):
            if target is not None:
                write_table(target, Table(UNDO_COLUMNS, chosen, sheet_name="Undo", text_columns={1},
                                          widths={0: 10, 1: 18, 2: 16, 3: 16, 4: 90}))
        return failures
    except OSError as exc:
        raise TargetError(f"the undo results could not be written to {path} ({exc.strerror or exc}); "
                          "run the same command again to see what is left") from exc
