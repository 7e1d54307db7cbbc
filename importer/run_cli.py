"""`importer run`: the command-line shell around `creating.Importer`.

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

from .cli import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, print_validation_summary, write_validation_outputs
from .errors import Refused, TargetError
from .outcomes import STATUSES
from .pacing import DEFAULT_RATE_PER_MINUTE, Backoff, Pacer

KEY_VARIABLE = "TI_API_KEY"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def add_run_parser(commands, add_input_options) -> None:
    run = commands.add_parser(
        "run", help="create every valid course on the platform, exactly once",
        description="Validate the sheet, then create each valid course through POST /incoming/v2/courses, "
                    f"paced under the rate limit. The API key comes from the {KEY_VARIABLE} environment "
                    "variable, or a prompt. Exit 0: every row created or already there; 1: some rows "
                    "invalid, failed or not attempted; 2: the run could not start; 130: interrupted.")
    add_input_options(run)
    target = run.add_mutually_exclusive_group()
    target.add_argument("--domain", metavar="NAME", help="the platform instance: NAME.thoughtindustries.com")
    target.add_argument("--base-url", metavar="URL", help="any other base URL (https://, or http:// on loopback)")
    target.add_argument("--sandbox", action="store_true",
                        help="start the local sandbox in this process and import into it (a rehearsal)")
    run.add_argument("--rate-limit", type=_positive_int, default=DEFAULT_RATE_PER_MINUTE, metavar="N",
                     help=f"requests per minute to stay under (default {DEFAULT_RATE_PER_MINUTE}); the "
                          "importer slows down further if the server says its limit is lower")
    run.add_argument("--max-retries", type=int, default=5, metavar="N",
                     help="retries of one request on 429, 5xx and network errors (default 5)")
    run.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                     help="how long to wait for one reply (default 30)")
    run.add_argument("--results", metavar="PATH", help="results sheet, .xlsx or .csv (default: beside the input)")
    run.add_argument("--failures", metavar="PATH",
                     help="failures file to fix and run again, .xlsx or .csv (default: beside the input)")
    run.add_argument("--state-dir", metavar="DIR", type=Path,
                     help="where the journal of what was sent is kept (default: .importer/ beside the input)")
    run.add_argument("--payloads", metavar="PATH", help="also write each valid row's JSON body (.jsonl)")
    run.add_argument("--dry-run", action="store_true",
                     help="validate, plan and check the key, but create nothing")
    run.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    run.set_defaults(handler=cmd_run)


def cmd_run(args) -> int:
    # Imported here, not at the top: building the parser for any command must stay cheap,
    # and these bring in httpx and SQLite.
    from .api import CoursesAPI, base_url_for
    from .creating import Importer, RunSettings
    from .journal import Journal, default_state_dir, identity_key
    from .outcomes import CREATED
    from .progress import RunLog, start_progress
    from .results import choose_output_paths, write_run_files
    from .validating import validate_file

    validation = validate_file(args.file, sheet=args.sheet, custom_fields=args.custom_fields)
    paths = None if args.dry_run else choose_output_paths(args.file, args.results, args.failures)
    run_outputs = {} if paths is None else {"results": paths.results, "failures file": paths.failures,
                                            "run log": paths.log}
    report_path = write_validation_outputs(validation, args, run_outputs)
    print_validation_summary(validation, report_path)
    if not (args.domain or args.base_url or args.sandbox):
        if not args.dry_run:
            raise TargetError("name the platform to import into: --domain NAME, --base-url URL, or --sandbox "
                              "to rehearse on a local sandbox")
        print("Dry run: no target given, so the key was not checked. Nothing was sent.")
        return EXIT_OK if not validation.invalid_rows else EXIT_ROWS

    with contextlib.ExitStack() as stack:
        if args.sandbox:
            from .sandbox import DEFAULT_API_KEY, Sandbox

            key = os.environ.get("SANDBOX_API_KEY") or DEFAULT_API_KEY
            sandbox = stack.enter_context(Sandbox(api_key=key, custom_fields=args.custom_fields))
            base_url = sandbox.base_url
        else:
            base_url = base_url_for(args.domain, args.base_url)
            key = _api_key(base_url)
        state_dir = args.state_dir or default_state_dir(args.file)
        journal = stack.enter_context(Journal(state_dir / "journal.sqlite3"))
        valid = validation.valid_rows
        known = journal.entries(base_url)
        already = sum(1 for r in valid if getattr(known.get(identity_key(r.identity)), "status", None) == CREATED)
        _print_plan(validation, base_url, len(valid) - already, already, args.rate_limit)
        if not valid:
            print("Nothing to send.")
        elif not args.dry_run:
            _confirm(args, len(valid) - already, base_url)

        stop = threading.Event()
        pacer = Pacer(args.rate_limit, 60.0, sleep=stop.wait)
        api = stack.enter_context(CoursesAPI(base_url, key, timeout=args.timeout))
        log = None if args.dry_run else RunLog(paths.log)
        if log:
            stack.callback(log.close)
            log.write(event="start", file=str(args.file), target=base_url, rows=len(validation.rows),
                      valid=len(valid), rate_limit_per_minute=args.rate_limit)
        importer = Importer(api, journal, base_url, pacer, Backoff(), stop=stop, log=log,
                            progress=start_progress(),
                            settings=RunSettings(max_retries=args.max_retries,
                                                 source_file=str(Path(args.file).resolve())))
        importer.check_key()
        if args.dry_run:
            print(f"Dry run: the key was accepted by {base_url}. Nothing was created.")
            return EXIT_OK if not validation.invalid_rows else EXIT_ROWS
        started = time.monotonic()
        _warm_up_workbook_writer()
        with _stop_on_signals(stop):
            report = importer.run(validation)
        elapsed = time.monotonic() - started
        written = write_run_files(validation, report, paths, fallback_dir=state_dir)
        if log:
            log.write(event="end", elapsed=round(elapsed, 3), interrupted=report.interrupted,
                      stop_reason=report.stop_reason,
                      **{s: report.count(s) for s in STATUSES})
        _print_summary(validation, report, written, paths.log, elapsed)
    if report.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if report.all_ok and not written.fallback_reason else EXIT_ROWS


def _warm_up_workbook_writer() -> None:
    """Importing openpyxl takes about 0.4 s; do it while the run waits on the rate limit,
    not after the last course, when the user is waiting for the results sheet."""
    threading.Thread(target=lambda: __import__("openpyxl"), name="warm-up", daemon=True).start()


def _api_key(base_url: str) -> str:
    key = os.environ.get(KEY_VARIABLE, "").strip()
    if key:
        return key
    if sys.stdin.isatty():
        key = getpass.getpass(f"API key for {base_url} (input hidden): ").strip()
        if key:
            return key
    raise TargetError(f"no API key: set the {KEY_VARIABLE} environment variable (it is never taken "
                      "from the command line, where other users and shell history could see it)")


def _print_plan(validation, base_url: str, to_send: int, already: int, rate: int) -> None:
    minutes = to_send / rate if rate else 0
    duration = f"{minutes * 60:.0f} s" if minutes < 2 else f"{minutes:.0f} min"
    print(f"Plan: create {to_send} courses on {base_url}")
    if already:
        print(f"  {already} rows were already created there by an earlier run: reported as 'exists', not sent")
    if validation.invalid_rows:
        print(f"  {len(validation.invalid_rows)} invalid rows will not be sent; they go to the failures file")
    print(f"  at up to {rate} requests/minute: about {duration}")


def _confirm(args, to_send: int, base_url: str) -> None:
    if args.yes or to_send == 0:
        return
    if not sys.stdin.isatty():
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to run without the question")
    answer = input(f"Create {to_send} courses on {base_url}? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise Refused("not confirmed; nothing was sent")


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event):
    """Ctrl-C and SIGTERM finish the request in flight, then stop: both files still get written."""
    def handler(signum, frame):
        if not stop.is_set():
            print("\nStopping after the request in flight… (files will still be written)", file=sys.stderr)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _print_summary(validation, report, written, log_path, elapsed: float) -> None:
    print()
    if report.interrupted:
        print("Interrupted: rows not reached are marked not_attempted; run the same command to continue.")
    if report.stop_reason:
        print(f"Stopped: {report.stop_reason}")
    print(f"{'status':<15}{'rows':>6}")
    for status in STATUSES:
        print(f"{status:<15}{report.count(status):>6}")
    print(f"{'total':<15}{len(report.outcomes):>6}   in {elapsed:.1f} s, {report.retries} retries")
    if report.lookup_supported is False:
        print("Note: the server has no course lookup, so lost replies could not be reconciled automatically.")
    title_index = validation.columns.index_of("title")
    shown = [o for o in report.outcomes if o.course_id][:5]
    if shown:
        print("First courses:")
        cells = {n: c for n, c in validation.sheet.rows}
        for o in shown:
            title = cells[o.row][title_index] if title_index is not None else ""
            print(f"  row {o.row:<5} {o.status:<8} {o.course_id}  {title}")
    if written.fallback_reason:
        print(f"Warning: the results could not be written where asked ({written.fallback_reason}); "
              "they were written to the files below instead.")
    print(f"Results:  {written.results}")
    if written.failures:
        print(f"Failures: {written.failures}  (fix the cells, then: importer run {written.failures} …)")
    print(f"Log:      {log_path}")



