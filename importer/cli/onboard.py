"""`importer onboard TEMPLATE --clients CLIENTS`: the command-line shell around `onboarding`."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

from ..errors import Declined, Refused
from .console import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, shown


def add_onboard_parser(commands) -> None:
    from .run import MODES, add_connection_options

    onboard = commands.add_parser(
        "onboard", help="make a template set of courses once per client, on one instance or one each",
        description="Read a template sheet of courses and a clients sheet (one row per client: Client, Client "
                    "key, and optionally Tags, customFields.<key>, Title suffix, Slug suffix, External ID prefix, "
                    "Domain or Base URL with a Key variable naming the environment variable that holds that "
                    "instance's key). Each client gets the template's courses with its own titles, slugs and "
                    "External IDs (by default ' (Client)', '-key', 'key-'), its tags and custom fields, planned and "
                    "applied like any sheet. Instances are driven at the same time, each under its own rate limit. "
                    "Writes each client's results and failures, and one roll-up workbook. Exit 0: every row of "
                    "every client done; 1: some need you; 2: it could not start; 130: interrupted.")
    onboard.add_argument("template", help="the template set of courses: .xlsx, .csv or .json")
    onboard.add_argument("--clients", required=True, metavar="FILE", help="the clients sheet: .xlsx or .csv")
    onboard.add_argument("--sheet", metavar="NAME", help="the template's sheet (default: 'Courses', else the first)")
    target = onboard.add_mutually_exclusive_group()
    target.add_argument("--domain", metavar="NAME", help="the instance of the clients with no Domain of their own")
    target.add_argument("--base-url", metavar="URL", help="the same, any other base URL")
    target.add_argument("--sandbox", action="store_true",
                        help="rehearse: the clients with no instance of their own go to a local sandbox")
    onboard.add_argument("--only", metavar="KEY,KEY", help="only these clients (their Client key or name)")
    onboard.add_argument("--mode", choices=MODES, default="create",
                         help="create (default): new courses only; sync: also update changed ones")
    onboard.add_argument("--custom-fields", metavar="KEY,KEY", help="the custom field keys the instances know")
    onboard.add_argument("--out-dir", metavar="DIR", type=Path,
                         help="where the results go (default: beside the template)")
    onboard.add_argument("--state-dir", metavar="DIR", type=Path,
                         help="the journal's folder (default: .importer/ beside the template)")
    onboard.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    onboard.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_connection_options(onboard)
    onboard.set_defaults(handler=cmd_onboard)


def cmd_onboard(args) -> int:
    from ..core.fields import key_list
    from ..pipeline import connect, onboard
    from ..platform.api import base_url_for
    from ..platform.journal import default_state_dir
    from ..read.reading import read_sheet
    from ..run import onboarding
    from ..run.progress import PlainProgress
    from .run import _api_key

    template = read_sheet(args.template, args.sheet)
    only = [w.strip() for w in args.only.split(",") if w.strip()] if args.only else None
    clients = onboarding.choose_clients(onboarding.read_clients(args.clients), only)
    if not args.dry_run and not args.yes and not sys.stdin.isatty():
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to run without the question")
    custom_fields = key_list(args.custom_fields) if args.custom_fields else None
    out_dir = Path(args.out_dir) if args.out_dir else Path(args.template).resolve().parent
    state = args.state_dir or default_state_dir(args.template)
    stop = threading.Event()
    options = dict(rate_limit=args.rate_limit, timeout=args.timeout, max_wait=args.max_wait,
                   max_retries=args.max_retries, api=args.api)
    with contextlib.ExitStack() as stack:
        target = None
        if any(not c.own_target for c in clients) and (args.sandbox or args.domain or args.base_url):
            if args.sandbox:
                from ..sandbox import DEFAULT_API_KEY, Sandbox

                sandbox = stack.enter_context(Sandbox(api_key=os.environ.get("SANDBOX_API_KEY") or DEFAULT_API_KEY,
                                                      custom_fields=custom_fields,
                                                      api="content" if args.api == "content" else "guide"))
                url, key, source = sandbox.base_url, sandbox.config.api_key, "the sandbox's key"
            else:
                url = base_url_for(args.domain, args.base_url)
                sources: list[str] = []
                key = _api_key(url, sources)
                source = sources[0]
            print(f"Connecting to {url} …", flush=True)
            target = connect(base_url=url, api_key=key, state_dir=state, stop=stop, progress=PlainProgress(sys.stdout),
                             key_source=source, source_file=str(template.path), **options)
            stack.callback(target.close)
        own = {c.domain or c.base_url for c in clients if c.own_target}
        if own:
            print(f"Connecting to {len(own)} instance(s) of their own …", flush=True)
        plan = stack.enter_context(onboard(template, args.clients, target=target, mode=args.mode, only=only,
                                           custom_fields=custom_fields, state_dir=state, stop=stop,
                                           progress=lambda: PlainProgress(sys.stdout), **options))
        invalid = max((len(r.validation.invalid_rows) for r in plan.runs), default=0)
        print(f"Template: {len(template.rows)} rows from {shown(Path(args.template).name)}; {len(plan.runs)} clients "
              f"on {len(plan.importers)} instance(s)"
              + (f"; {invalid} invalid rows in a client's set" if invalid else ""))
        _print_plan(plan.runs)
        if args.dry_run:
            print("Dry run: nothing was sent.")
            return EXIT_OK if all(not r.error and not r.plan.count("invalid") for r in plan.runs) else EXIT_ROWS
        if plan.writes and not args.yes:
            answer = input(f"Create or update {plan.writes} courses for {len(plan.runs)} clients? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise Declined("Not confirmed: nothing was sent.")
        return _apply(args, plan, stop, out_dir, Path(args.template))


def _print_plan(runs) -> None:
    from ..run.onboarding import plan_table

    rows = plan_table(runs)
    width = max(len(str(r[0])) for r in rows)
    print("Plan:")
    print(f"  {'client':<{width}}  {'create':>6} {'update':>6} {'unchanged':>9} {'conflict':>8} {'invalid':>7}")
    for row in rows:
        note = f"  ! {shown(row[8])}" if row[8] else ""
        print(f"  {shown(row[0]):<{width}}  {row[3]:>6} {row[4]:>6} {row[5]:>9} {row[6]:>8} {row[7]:>7}{note}")
    said: set[tuple[str, str]] = set()
    for run in runs:  # what an instance's API cannot take: said once per instance, before the first write
        for note in (run.plan.notes if run.plan is not None else ()):
            if (run.target, note) not in said:
                said.add((run.target, note))
                print(f"  Not sent on {run.target}: {shown(note, 500)}")
    totals = [sum(r[i] for r in rows) for i in range(3, 8)]
    print(f"  {'total':<{width}}  {totals[0]:>6} {totals[1]:>6} {totals[2]:>9} {totals[3]:>8} {totals[4]:>7}"
          f"   ({len(rows)} clients)")


def _apply(args, plan, stop, out_dir: Path, template: Path) -> int:
    from .. import __version__
    from ..run import onboarding
    from ..run.applying import RunSettings
    from .run import _stop_on_signals

    runs = plan.runs
    run_id = RunSettings().run_id
    written: dict[str, object] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def done(run) -> None:
        rehearsal = "yes: the sandbox started by --sandbox" if args.sandbox and not run.client.own_target else "no"
        facts = onboarding.client_facts(run, mode=args.mode, rehearsal=rehearsal, template=template.resolve(),
                                        clients=Path(args.clients).resolve(), version=__version__)
        files = onboarding.write_client_files(run, out_dir, template, facts)
        with lock:
            written[run.client.key] = files
            counts = ", ".join(f"{k} {v}" for k, v in run.result_counts().items() if v)
            print(f"  {shown(run.client.name)}: {counts}  -> {files.results}", flush=True)

    print("Applying (each instance under its own rate limit):", flush=True)
    with _stop_on_signals(stop):
        plan.apply(on_client_done=done, run_id=run_id)
    rollup = onboarding.rollup_path(out_dir, template)
    onboarding.write_rollup(rollup, runs, written, {"kind": onboarding.ROLLUP_KIND, "run_id": run_id,
                                                    "template": str(template.resolve()),
                                                    "clients": str(Path(args.clients).resolve()), "mode": args.mode})
    elapsed = time.monotonic() - started
    totals = {}
    for run in runs:
        for status, n in run.result_counts().items():
            totals[status] = totals.get(status, 0) + n
    print()
    print("All clients: " + ", ".join(f"{k} {v}" for k, v in totals.items() if v) + f"   in {elapsed:.1f} s")
    for run in runs:
        if run.error or (run.report and run.report.stop_reason):
            print(f"  ! {shown(run.client.name)}: {shown(run.error or run.report.stop_reason, 500)}")
    print(f"Roll-up:  {rollup}  (every client's results and failures files; undo one client with importer undo "
          "on its results file, or all of them with importer undo on this file)")
    if stop.is_set():
        print("Interrupted: run the same command again to continue; nothing is created twice.")
        return EXIT_INTERRUPTED
    ok = all(run.report is not None and run.report.all_ok and not run.error for run in runs)
    return EXIT_OK if ok else EXIT_ROWS
