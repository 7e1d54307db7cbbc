"""`importer run` and `importer plan`: the command-line shell around `planning` and `applying.Importer`.

It decides the things only a command line can — the target and key, the confirmation,
the terminal display, Ctrl-C — and leaves the work to the library.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import sys
import threading
import time
from pathlib import Path

from ..core.outcomes import STATUSES
from ..errors import Declined, Refused, RunFilesLost, TargetError
from ..platform.pacing import DEFAULT_RATE_PER_MINUTE
from .console import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, print_validation_summary, shown, write_validation_outputs

MODES = ("create", "sync", "update")  # as planning.MODES, without importing the planner for --help
API_CHOICES = ("auto", "guide", "content")  # as dialects.CHOICES, without importing httpx for --help
MISSING_MODES = ("report", "archive")  # as missing.MODES

KEY_VARIABLE = "TI_API_KEY"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _percent(text: str) -> float:
    value = float(text.rstrip("%").strip())
    if not 0 <= value <= 100:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < 10**7:
        raise ValueError(text)
    return value


def add_connection_options(command) -> None:
    """The options every command that talks to a platform takes besides `run`'s own: which API, the
    pace, and how long a request and a wait may take (`undo`, `export`)."""
    command.add_argument("--api", choices=API_CHOICES, default="auto",
                         help="which API the instance speaks (default auto: found out with read-only requests)")
    command.add_argument("--rate-limit", type=_positive_int, default=DEFAULT_RATE_PER_MINUTE, metavar="N",
                         help=f"requests per minute to stay under (default {DEFAULT_RATE_PER_MINUTE})")
    command.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                         help="how long one request may take in all (default 30)")
    command.add_argument("--max-wait", type=_positive_float, default=300.0, metavar="SECONDS",
                         help="the longest wait the server may ask for (default 300)")
    command.add_argument("--max-retries", type=int, default=5, metavar="N", help="retries of one request (default 5)")


def add_run_parsers(commands, add_input_options) -> None:
    run = commands.add_parser(
        "run", help="create (or sync) every valid course on the platform, exactly once",
        description="Validate the sheet, read what the platform already holds, show the plan, then apply it: "
                    "POST /incoming/v2/courses for new courses and, with --mode sync or update, PUT for changed "
                    f"ones, paced under the rate limit. The API key comes from the {KEY_VARIABLE} environment "
                    "variable, or a prompt. Exit 0: every row created, updated, unchanged or already there; 1: "
                    "some rows need you (invalid, conflict, not found, failed, not attempted); 2: the run could "
                    "not start; 130: interrupted.")
    _add_target_options(run, add_input_options)
    run.add_argument("--max-retries", type=int, default=5, metavar="N",
                     help="retries of one request on 429, 5xx and network errors (default 5)")
    run.add_argument("--results", metavar="PATH", help="results sheet, .xlsx or .csv (default: beside the input)")
    run.add_argument("--failures", metavar="PATH",
                     help="failures file to fix and run again, .xlsx or .csv (default: beside the input)")
    run.add_argument("--state-dir", metavar="DIR", type=Path,
                     help="where the journal of what was sent is kept (default: .importer/ beside the input)")
    run.add_argument("--payloads", metavar="PATH", help="also write each valid row's JSON body (.jsonl)")
    run.add_argument("--dry-run", action="store_true", help="the same as `importer plan`: nothing is written")
    run.add_argument("--summary-json", metavar="PATH",
                     help="also write the run's summary as JSON (counts, files, run id, exit status), whatever "
                          "the outcome: for a scheduled sync")
    run.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    run.set_defaults(handler=cmd_run)

    plan = commands.add_parser(
        "plan", help="show what a run would do on the platform; change nothing",
        description="Validate, check the key, read what the platform holds and classify every row: create, "
                    "update (with its field changes), unchanged, conflict or invalid. Writes the plan workbook; "
                    "sends no write. Exit codes as for run.")
    _add_target_options(plan, add_input_options)
    plan.add_argument("--plan", metavar="PATH", help="the plan workbook (default: <file>.plan.xlsx beside it)")
    # A plan is a run with the writes off: the same handler, dry_run set.
    plan.set_defaults(handler=cmd_run, dry_run=True, max_retries=5, payloads=None)


def _add_target_options(command, add_input_options) -> None:
    add_input_options(command)
    target = command.add_mutually_exclusive_group()
    target.add_argument("--domain", metavar="NAME", help="the platform instance: NAME.thoughtindustries.com")
    target.add_argument("--base-url", metavar="URL", help="any other base URL (https://, or http:// on loopback)")
    target.add_argument("--sandbox", action="store_true",
                        help="start the local sandbox in this process and use it (a rehearsal)")
    command.add_argument("--api", choices=API_CHOICES, default="auto",
                         help="which API the instance speaks: the guide's (POST /incoming/v2/courses), the "
                              "platform's content API, or auto (default): found out with read-only requests "
                              "before anything is sent. With --sandbox: the API the sandbox speaks")
    command.add_argument("--mode", choices=MODES, default="create",
                         help="create: only new courses, existing ones are left as they are (default); sync: "
                              "create new courses and update changed ones; update: only update existing ones")
    command.add_argument("--max-changes", type=_positive_int, metavar="N",
                         help="refuse to start (nothing sent) when the plan would create, update and archive more "
                              "than N courses in all: the guard a scheduled sync needs")
    missing = command.add_argument_group(
        "courses missing from the file",
        "A sync can also see what left the source: the platform's courses of one scope (a Source value or a tag, "
        "never all its courses) that no row of the file names. An empty or headers-only file never archives.")
    missing.add_argument("--missing", choices=MISSING_MODES,
                         help="report: list them in the plan and the results; archive: also archive them after the "
                              "rows (undone by `importer undo`)")
    scope = missing.add_mutually_exclusive_group()
    scope.add_argument("--scope-source", metavar="VALUE", help="the scope: the courses whose Source is VALUE")
    scope.add_argument("--scope-tag", metavar="TAG", help="the scope: the courses tagged TAG")
    missing.add_argument("--missing-share", type=_percent, default=10.0, metavar="PERCENT",
                         help="archiving more than this share of the scope needs the number typed back, or "
                              "--confirm-missing (default 10)")
    missing.add_argument("--confirm-missing", type=int, metavar="N",
                         help="for an unattended run: the number of courses it may archive beyond the share, as "
                              "the plan counts them; any other count refuses to start")
    command.add_argument("--rate-limit", type=_positive_int, default=DEFAULT_RATE_PER_MINUTE, metavar="N",
                         help=f"requests per minute to stay under (default {DEFAULT_RATE_PER_MINUTE}); the "
                              "importer slows down further if the server says its limit is lower")
    command.add_argument("--timeout", type=_positive_float, default=30.0, metavar="SECONDS",
                         help="how long one request may take in all, reply included (default 30)")
    command.add_argument("--max-wait", type=_positive_float, default=300.0, metavar="SECONDS",
                         help="the longest wait the server may ask for (Retry-After, a rate-limit reset); a "
                              "server asking for more stops the run cleanly, files written, saying when to "
                              "run again (default 300)")


def cmd_run(args) -> int:
    # Imported here, not at the top: building the parser for any command must stay cheap,
    # and these bring in httpx and SQLite.
    from ..check.validating import validate_file_for_cli as validate_file
    from ..files.results import choose_output_paths

    summary = {"kind": "importer run summary", "file": str(Path(args.file).resolve()), "mode": args.mode,
               "started": _now_iso()}
    args.summary = summary
    status, error = EXIT_OK, None
    try:
        validation = validate_file(args.file, sheet=args.sheet, custom_fields=args.custom_fields,
                                   mapping=args.mapping)
        summary.update(rows=len(validation.rows), valid=len(validation.valid_rows),
                       invalid=len(validation.invalid_rows))
        paths = None if args.dry_run else choose_output_paths(args.file, args.results, args.failures)
        try:
            status = _run_with_paths(args, validation, paths)
            return status
        finally:
            if paths is not None:
                paths.release()  # the claimed files this run did not write
    except KeyboardInterrupt:
        status, error = EXIT_INTERRUPTED, "interrupted"
        raise
    except Exception as exc:  # said on the terminal by the CLI's one line; recorded here too
        status, error = getattr(exc, "exit_code", 2), str(exc)
        raise
    finally:
        if getattr(args, "summary_json", None):
            _write_summary(args.summary_json, {**summary, "exit_status": status, "error": error,
                                               "finished": _now_iso()})


def _run_with_paths(args, validation, paths) -> int:
    from ..files.results import default_plan_path

    outputs = {"plan": plan_path(args, default_plan_path)} if args.dry_run else \
        {"results": paths.results, "failures file": paths.failures, "run log": paths.log}
    report_path = write_validation_outputs(validation, args, outputs)
    print_validation_summary(validation, report_path)
    if not (args.domain or args.base_url or args.sandbox):
        if not args.dry_run:
            raise TargetError("name the platform to import into: --domain NAME, --base-url URL, or --sandbox "
                              "to rehearse on a local sandbox")
        print("Dry run: no target given, so the platform was not read. Nothing was sent.")
        return EXIT_OK if not validation.invalid_rows else EXIT_ROWS
    if not args.dry_run and not args.yes and not sys.stdin.isatty():
        # Known before anything is sent: the plan could not be confirmed.
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to run without the question")
    with contextlib.ExitStack() as stack:
        log = None
        if not args.dry_run:  # from the key check on, every request is in the run log
            from ..run.progress import RunLog
            log = RunLog(paths.log)
            stack.callback(log.close)
        session = _open_session(args, validation, stack, log)
        plan = session.plan(validation)
        if args.dry_run:
            from ..files.results import write_plan_file
            written, why = write_plan_file(validation, plan, outputs["plan"])
            if why:
                print(f"Note: {why}.")
            print(f"The key was accepted by {session.base_url}. Plan written to {written}. Nothing was sent.")
            return EXIT_OK if all(a.kind in ("create", "update", "unchanged", "exists") for a in plan.actions) \
                else EXIT_ROWS
        if plan.changes_count:
            _confirm(args, plan, session.base_url)
        return _apply(args, session, validation, plan, paths)


class _Session:
    """A target opened for one command (`pipeline.Target`), and what the command asked."""

    def __init__(self, args, base_url, target, state_dir):
        self.args, self.base_url, self.target, self.state_dir = args, base_url, target, state_dir
        self.importer = target.importer

    def plan(self, validation):
        from ..pipeline import plan as make_plan

        args = self.args
        if args.missing and args.mode == "create":
            raise TargetError("--missing needs --mode sync (or update): a create-only run is not a sync of the "
                              "source. Nothing was sent")
        planned = make_plan(validation, self.target, mode=args.mode, custom_fields=args.custom_fields,
                            missing=args.missing, scope_source=args.scope_source, scope_tag=args.scope_tag,
                            missing_share=args.missing_share)
        plan = planned.plan
        where = f"the sandbox at {self.base_url} (a rehearsal)" if args.sandbox else self.base_url
        _print_plan(validation, plan, where, args.rate_limit, planned.reads)
        if args.max_changes is not None and plan.changes_count > args.max_changes:
            raise Refused(f"the plan would create, update or archive {plan.changes_count} courses, more than "
                          f"--max-changes {args.max_changes}; nothing was sent")
        if not args.dry_run:
            from ..run.missing import check_archiving

            check_archiving(plan.missing, args.confirm_missing,
                            ask=input if sys.stdin.isatty() and not args.yes else None)
        return plan


def _open_session(args, validation, stack, log) -> _Session:
    """The library's `connect`, with what only the CLI has: the sandbox started in this
    process, the key prompt, the stop event for Ctrl-C, the run log and the progress display."""
    from ..pipeline import connect
    from ..platform.api import base_url_for
    from ..platform.journal import default_state_dir
    from ..run.progress import start_progress

    sandbox = None
    if args.sandbox:
        from ..sandbox import DEFAULT_API_KEY, Sandbox

        key = os.environ.get("SANDBOX_API_KEY") or DEFAULT_API_KEY
        sandbox = stack.enter_context(Sandbox(api_key=key, custom_fields=args.custom_fields,
                                              api="content" if args.api == "content" else "guide"))
        base_url = sandbox.base_url
    sources = []
    if not args.sandbox:
        base_url = base_url_for(args.domain, args.base_url)
        key = _api_key(base_url, sources)
    state_dir = getattr(args, "state_dir", None) or default_state_dir(args.file)
    # Before anything is asked: the host and the key are checked first, and the user sees that
    # it is happening (an unreachable host answers within the connect timeout, not 30 s).
    print(f"Connecting to {base_url} …", flush=True)
    target = connect(base_url=base_url, api_key=key, rate_limit=args.rate_limit, timeout=args.timeout,
                     max_wait=args.max_wait, max_retries=args.max_retries, state_dir=state_dir,
                     key_source=sources[0] if sources else "the sandbox's key (SANDBOX_API_KEY)",
                     stop=threading.Event(), log=log, progress=start_progress(),
                     source_file=str(Path(args.file).resolve()), api=args.api)
    stack.callback(target.close)
    return _Session(args, base_url, target, state_dir)


def _apply(args, session: _Session, validation, plan, paths) -> int:
    from ..files.results import write_run_files

    importer = session.importer
    log = importer.log
    log.write(event="start", file=str(args.file), target=session.base_url, api=session.target.api, mode=args.mode,
              run_id=importer.settings.run_id, rows=len(validation.rows), valid=len(validation.valid_rows),
              rate_limit_per_minute=args.rate_limit)
    started = time.monotonic()
    started_at = _now_iso()
    _warm_up_workbook_writer()
    # Ctrl-C and SIGTERM stop the sending; they never cut the writing of the files short,
    # however often they come: the courses created must end up in them.
    with _stop_on_signals(importer.stop):
        report = importer.apply(validation, plan)
        elapsed = time.monotonic() - started
        facts = run_facts(args, session.base_url, importer.settings.run_id, started_at, report, paths.failures,
                          validation.mapping, api=session.target.api_label)
        try:
            written = write_run_files(validation, report, paths, fallback_dir=session.state_dir, facts=facts)
        except OSError as exc:
            _print_outcomes_as_last_resort(validation, report, exc)
            raise RunFilesLost(str(exc)) from None
    log.write(event="end", elapsed=round(elapsed, 3), interrupted=report.interrupted,
              stop_reason=report.stop_reason, **report.counts())
    getattr(args, "summary", {}).update(
        run_id=importer.settings.run_id, target=session.base_url, api=session.target.api,
        counts={k: v for k, v in report.counts().items() if v}, interrupted=report.interrupted,
        missing={s: sum(1 for o in report.missing if o.status == s) for s in {o.status for o in report.missing}},
        stop_reason=report.stop_reason, elapsed_s=round(elapsed, 1),
        files={"results": str(written.results), "failures": str(written.failures) if written.failures else None,
               "log": str(paths.log)})
    _print_summary(validation, report, written, paths.log, elapsed, session.target.api_label)
    _note_a_faster_server(importer.pacer, args.rate_limit, plan.writes, elapsed)
    if log.failure:
        print(f"Note: the run log could not be written to the end ({log.failure}); the results above are whole.")
    if report.interrupted or importer.stop.is_set():
        return EXIT_INTERRUPTED
    return EXIT_OK if report.all_ok and not written.displaced else EXIT_ROWS


RESULTS_KIND = "importer run results"  # the Run sheet's first fact: what `undo` looks for


def run_facts(args, base_url: str, run_id: str, started_at: str, report, failures=None, mapping=None,
              api: str | None = None) -> dict:
    """What the run was, for the results' Run sheet: `undo` refuses a file without them, or
    one whose target is not the one it is given."""
    from .. import __version__

    target = f"--domain {args.domain}" if args.domain else f"--base-url {args.base_url}" if args.base_url \
        else "--sandbox"
    mode = f" --mode {args.mode}" if args.mode != "create" else ""
    mapped = f" --map {args.mapping}" if getattr(args, "mapping", None) else ""
    again = f"importer run {failures} {target}{mode}{mapped}" if failures and not report.all_ok else \
        "nothing: every row is done"
    return {"kind": RESULTS_KIND, "run_id": run_id, "target": base_url, **({"api": api} if api else {}),
            "rehearsal": "yes: the sandbox started by --sandbox" if args.sandbox else "no",
            "mode": args.mode, "file": str(Path(args.file).resolve()), "started": started_at,
            "finished": _now_iso(), "outcome": ", ".join(f"{k} {v}" for k, v in report.counts().items() if v),
            "to continue": again, "importer_version": __version__, **(mapping.facts() if mapping else {})}


def _write_summary(path, summary: dict) -> None:
    """The run's summary as JSON, for a scheduler to read: written whatever the outcome."""
    import json

    from ..files.writing import atomic_write

    try:
        atomic_write(Path(path), lambda handle: json.dump(summary, handle, indent=2, ensure_ascii=False),
                     encoding="utf-8")
    except OSError as exc:
        print(f"Note: the summary could not be written to {path} ({exc.strerror or exc}).", file=sys.stderr)


def _now_iso() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def plan_path(args, default) -> Path:
    return Path(args.plan) if getattr(args, "plan", None) else default(args.file)


def _warm_up_workbook_writer() -> None:
    """Importing the workbook writer takes a moment; do it while the run waits on the rate limit,
    not after the last course, when the user is waiting for the results sheet."""
    threading.Thread(target=lambda: __import__("xlsxwriter"), name="warm-up", daemon=True).start()


def _api_key(base_url: str, sources: list | None = None) -> str:
    """The key, from TI_API_KEY or the hidden prompt; `sources` gets where it came from."""
    key = os.environ.get(KEY_VARIABLE, "").strip()
    source = f"the {KEY_VARIABLE} environment variable"
    if not key and sys.stdin.isatty():
        key = getpass.getpass(f"API key for {base_url} (input hidden): ").strip()
        source = "the key you typed"
    if key:
        if sources is not None:
            sources.append(source)
        return _usable_key(key, source)
    raise TargetError(f"no API key: set the {KEY_VARIABLE} environment variable (it is never taken "
                      "from the command line, where other users and shell history could see it)")


def _usable_key(key: str, source: str) -> str:
    """A key goes into an HTTP header: printable ASCII only. Nothing of the key is shown."""
    if all(" " < char < "\x7f" for char in key):
        return key
    raise TargetError(f"{source} holds a character an API key cannot have (a line break, a space or a "
                      "non-ASCII character, often from copying); copy the key again. Nothing was sent")


def _print_plan(validation, plan, base_url: str, rate: int, reads: int) -> None:
    print(f"{plan.summary()} (mode {plan.mode}, on {base_url})")
    if plan.api:
        print(f"  speaking {plan.api}")
    for note in plan.notes:
        print(f"  Not sent: {shown(note, 500)}")
    if not plan.visible:
        print(f"  The platform's courses could not be read ({plan.why_not_visible}): every valid row is planned "
              "as a create; the journal of earlier runs and the server's uniqueness rules guard against "
              "duplicates. Sync and update are not available on this instance.")
    else:
        print(f"  read with {reads} request{'s' if reads != 1 else ''}")
    for action in [a for a in plan.actions if a.kind == "update"][:5]:
        print(f"  ~ row {action.row} {action.course_id}")
        for change in action.changes[:6]:
            print(f"      {change.field}: {_short(change.current)} -> {_short(change.new)}")
    for action in [a for a in plan.actions if a.kind in ("conflict", "not_found")][:5]:
        print(f"  ! row {action.row} {action.kind}: {shown(action.message)}")
    if plan.count("exists") and any(a.changes for a in plan.actions if a.kind == "exists"):
        print("  Some courses already there differ from the sheet; --mode sync would update them.")
    if validation.invalid_rows:
        print(f"  {len(validation.invalid_rows)} invalid rows will not be sent; they go to the failures file")
    if plan.missing is not None:
        _print_missing(plan.missing)
    minutes = plan.changes_count / rate if rate else 0
    duration = f"{minutes * 60:.0f} s" if minutes < 2 else f"{minutes:.0f} min"
    print(f"  {plan.changes_count} writes at up to {rate} requests/minute: about {duration}")


def _print_missing(missing) -> None:
    print(f"  Missing: {missing.summary()}")
    sign = "-" if missing.archives else "?"
    for course in missing.courses[:10]:
        ident = f", External ID '{course['externalId']}'" if course.get("externalId") else ""
        print(f"  {sign} {shown(course['id'], 40)} '{shown(course.get('title') or '', 60)}'{ident}")
    if len(missing.courses) > 10:
        where = "results" if missing.archives else "plan"
        print(f"    … and {len(missing.courses) - 10} more (all listed in the {where} file's Missing sheet)")
    if missing.refusal and missing.courses:
        print(f"  Not archived: {missing.refusal}")


def _short(value, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return shown(text if len(text) <= limit else text[:limit - 1] + "…")


def _confirm(args, plan, base_url: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to run without the question")
    what = [f"create {plan.count('create')}"] if plan.count("create") else []
    if plan.count("update"):
        what.append(f"update {plan.count('update')}")
    if plan.missing is not None and plan.missing.archives:
        what.append(f"archive {plan.missing.archives}")
    answer = input(f"{' and '.join(what).capitalize()} courses on {base_url}? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise Declined("Not confirmed: nothing was sent.")


def _note_a_faster_server(pacer, rate_limit: int, writes: int, elapsed: float) -> None:
    """Said once, at the end: the server's headers allowed more than --rate-limit."""
    allowed = pacer.server_rate_per_minute
    if not allowed or allowed < rate_limit * 1.2 or writes < 10:
        return
    faster = writes / (allowed * 0.99) * 60
    print(f"Note: the server's headers allowed about {allowed:.0f} requests/minute, more than --rate-limit "
          f"{rate_limit}. At that rate these {writes} writes would have taken about {faster:.0f} s instead of "
          f"{elapsed:.0f} s: add --rate-limit {int(allowed * 0.95)} next time.")


def _failures_advice(report, failures) -> str:
    """What to do with the failures file depends on what is in it: a row not attempted (the
    run was stopped) needs nothing but a re-run; the others need their cells fixed."""
    to_fix = sum(1 for o in report.outcomes if o.status in ("invalid", "conflict", "not_found", "failed"))
    waiting = report.count("not_attempted")
    if not to_fix:
        return f"{waiting} rows not attempted, nothing to fix: run the same command, or importer run {failures} …"
    if waiting:
        return (f"fix the cells of the {to_fix} rows marked red or explained in error_message; the {waiting} "
                f"rows not attempted need nothing. Then: importer run {failures} …")
    return f"fix the cells, then: importer run {failures} …"


def _print_outcomes_as_last_resort(validation, report, exc: OSError) -> None:
    """No file could be written anywhere (the disk is full everywhere): the terminal is the
    last place left for the ids of the courses created."""
    import csv

    print(f"Error: the results could not be written anywhere ({exc}). Every row's outcome follows; "
          "copy it before closing this window.", file=sys.stderr)
    writer = csv.writer(sys.stdout)
    writer.writerow(["source_row", "status", "course_id", "course_slug", "error_code"])
    for o in report.outcomes:
        writer.writerow([o.row, o.status, o.course_id or "", o.course_slug or "", o.error_code or ""])
    sys.stdout.flush()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event):
    """Ctrl-C and SIGTERM finish the request in flight, then stop: both files still get written."""
    def handler(signum, frame):
        if not stop.is_set():
            print("\nStopping after the request in flight… (files will still be written)", file=sys.stderr)
        else:
            print("\nStill stopping: the results are being written so that no course id is lost…",
                  file=sys.stderr)
        stop.set()

    from ..core.system import stop_signals

    previous = {s: signal.signal(s, handler) for s in stop_signals()}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _print_summary(validation, report, written, log_path, elapsed: float, api: str) -> None:
    print()
    print(f"Spoken: {api}")
    if report.interrupted:
        print("Interrupted: rows not reached are marked not_attempted; run the same command to continue.")
    if report.stop_reason:
        print(f"Stopped: {shown(report.stop_reason, 1000)}")
    print(f"{'status':<15}{'rows':>6}")
    for status in STATUSES:
        if report.count(status) or status == "created":
            print(f"{status:<15}{report.count(status):>6}")
    print(f"{'total':<15}{len(report.outcomes):>6}   in {elapsed:.1f} s, {report.retries} retries")
    if report.missing:
        counts = {}
        for o in report.missing:
            counts[o.status] = counts.get(o.status, 0) + 1
        print("Missing from the file: " + ", ".join(f"{status} {n}" for status, n in counts.items())
              + " (the results' Missing sheet lists each)")
    unfinished = [o for o in report.outcomes if o.status == "created" and o.error_code == "NOT_COMPLETED"]
    if unfinished:
        print(f"Note: {len(unfinished)} courses were created as drafts but could not be published; run the same "
              "file again with --mode sync to publish them (they are not created again).")
    if report.lookup_supported is False:
        print("Note: the server has no course lookup, so lost replies could not be reconciled automatically.")
    title_index = validation.columns.index_of("title")
    first = [o for o in report.outcomes if o.course_id][:5]
    if first:
        print("First courses:")
        cells = {n: c for n, c in validation.sheet.rows}
        for o in first:
            title = cells[o.row][title_index] if title_index is not None else ""
            print(f"  row {o.row:<5} {o.status:<13} {shown(o.course_id, 40)}  {shown(title or '', 60)}")
    if written.displaced:
        print(f"Warning: the results could not be written where asked ({written.fallback_reason}); "
              "they were written to the files below instead.")
    elif written.fallback_reason:
        print(f"Note: {written.fallback_reason}.")
    print(f"Results:  {written.results}")
    if written.failures:
        print(f"Failures: {written.failures}  ({_failures_advice(report, written.failures)})")
    print(f"Log:      {log_path}")



