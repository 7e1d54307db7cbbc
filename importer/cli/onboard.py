"""`importer onboard TEMPLATE --clients CLIENTS`: the command-line shell around `onboarding`."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import Declined, ImporterError, Refused, TargetError
from .console import EXIT_INTERRUPTED, EXIT_OK, EXIT_ROWS, shown

ROLLUP_KIND = "importer onboarding"


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
    from ..platform.journal import Journal, default_state_dir
    from ..read.reading import read_sheet
    from ..run import onboarding

    template = read_sheet(args.template, args.sheet)
    clients = _chosen(onboarding.read_clients(args.clients), args.only)
    default_url = _default_target(args, clients)
    if not args.dry_run and not args.yes and not sys.stdin.isatty():
        raise Refused("not confirmed: there is no terminal to ask on; add --yes to run without the question")
    custom_fields = key_list(args.custom_fields) if args.custom_fields else None
    out_dir = Path(args.out_dir) if args.out_dir else Path(args.template).resolve().parent
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            from ..sandbox import DEFAULT_API_KEY, Sandbox

            sandbox = stack.enter_context(Sandbox(api_key=os.environ.get("SANDBOX_API_KEY") or DEFAULT_API_KEY,
                                                  custom_fields=custom_fields,
                                                  api="content" if args.api == "content" else "guide"))
            default_url = sandbox.base_url
        keys = _keys(clients, default_url, sandbox_key=sandbox.config.api_key if args.sandbox else None)
        runs = onboarding.client_runs(template, clients, lambda c: _target_of(c, default_url),
                                      custom_fields=custom_fields)
        invalid = {len(r.validation.invalid_rows) for r in runs}
        print(f"Template: {len(template.rows)} rows from {shown(Path(args.template).name)}; "
              f"{len(clients)} clients on {len(onboarding.by_target(runs))} instance(s)"
              + (f"; {max(invalid)} invalid rows in a client's set" if max(invalid, default=0) else ""))
        state = args.state_dir or default_state_dir(args.template)
        journal = Journal(Path(state) / "journal.sqlite3")
        stack.callback(journal.close)
        stop = threading.Event()
        importers = _connect_all(args, keys, journal, stop, stack)
        onboarding.plan_all(runs, importers, mode=args.mode, custom_fields=custom_fields)
        _print_plan(runs)
        if args.dry_run:
            print("Dry run: nothing was sent.")
            return EXIT_OK if all(not r.error and not r.plan.count("invalid") for r in runs) else EXIT_ROWS
        writes = sum(r.plan.writes for r in runs if r.plan is not None)
        if writes and not args.yes:
            answer = input(f"Create or update {writes} courses for {len(runs)} clients? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                raise Declined("Not confirmed: nothing was sent.")
        return _apply(args, runs, importers, stop, out_dir, Path(args.template))


def _chosen(clients, only: str | None):
    if not only:
        return clients
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [c for c in clients if c.key in wanted or c.name in wanted]
    unknown = [w for w in wanted if not any(w in (c.key, c.name) for c in clients)]
    if unknown:
        raise ImporterError(f"--only: no client {', '.join(map(repr, unknown))} in the clients sheet (its keys: "
                            f"{', '.join(c.key for c in clients)})")
    return chosen


def _default_target(args, clients) -> str | None:
    from ..platform.api import base_url_for

    shared = [c for c in clients if not c.own_target]
    if args.domain or args.base_url:
        return base_url_for(args.domain, args.base_url)
    if shared and not args.sandbox:
        raise TargetError(f"{len(shared)} client(s) have no Domain or Base URL of their own (row "
                          f"{', '.join(str(c.row) for c in shared[:5])} of the clients sheet): name their instance "
                          "with --domain NAME or --base-url URL, or rehearse with --sandbox")
    return None


def _target_of(client, default_url: str | None) -> str:
    from ..platform.api import base_url_for

    if client.own_target:
        try:
            return base_url_for(client.domain, client.base_url)
        except TargetError as exc:
            raise TargetError(f"the clients sheet, row {client.row}: {exc}") from None
    return default_url


def _keys(clients, default_url: str | None, sandbox_key: str | None) -> dict[str, tuple[str, str]]:
    """{base URL: (key, where it came from)}, every one found before anything is sent. A client's own
    instance takes its key from the environment variable the clients sheet names."""
    from .run import KEY_VARIABLE, _api_key, _usable_key

    keys: dict[str, tuple[str, str]] = {}
    unset = []
    for client in clients:
        url = _target_of(client, default_url)
        if client.own_target:
            value = os.environ.get(client.key_variable, "").strip()
            if not value:
                unset.append(f"{client.key_variable} (row {client.row}, {client.name})")
                continue
            source = f"the {client.key_variable} environment variable"
            keys[url] = (_usable_key(value, source), source)
    if unset:
        raise TargetError(f"these environment variables named by the clients sheet are not set: {', '.join(unset)}; "
                          "set each to its instance's API key. Nothing was sent")
    if default_url and any(not c.own_target for c in clients) and default_url not in keys:
        keys[default_url] = (sandbox_key, "the sandbox's key") if sandbox_key else \
            (_api_key(default_url), f"the {KEY_VARIABLE} environment variable")
    return keys


def _connect_all(args, keys: dict, journal, stop, stack) -> dict:
    """Every instance opened at the same time (its key checked, its API found), each its own pacer."""
    from ..pipeline import connect
    from ..run.progress import PlainProgress

    def open_one(item):
        url, (key, source) = item
        return url, connect(base_url=url, api_key=key, rate_limit=args.rate_limit, timeout=args.timeout,
                            max_wait=args.max_wait, max_retries=args.max_retries, journal=journal, stop=stop,
                            progress=PlainProgress(sys.stdout), key_source=source, api=args.api,
                            source_file=str(Path(args.template).resolve()))

    print(f"Connecting to {len(keys)} instance(s) …", flush=True)
    opened, failed = {}, []
    with ThreadPoolExecutor(max_workers=min(len(keys), 32), thread_name_prefix="connect") as pool:
        futures = [pool.submit(open_one, item) for item in keys.items()]
        for future in futures:
            try:
                url, target = future.result()
            except ImporterError as exc:
                failed.append(str(exc))
                continue
            stack.callback(target.close)
            opened[url] = target
    if failed:
        raise TargetError("; ".join(failed[:5]) + (" (and more)" if len(failed) > 5 else ""))
    return {url: target.importer for url, target in opened.items()}


def _print_plan(runs) -> None:
    from ..run.onboarding import plan_table

    rows = plan_table(runs)
    width = max(len(str(r[0])) for r in rows)
    print("Plan:")
    print(f"  {'client':<{width}}  {'create':>6} {'update':>6} {'unchanged':>9} {'conflict':>8} {'invalid':>7}")
    for row in rows:
        note = f"  ! {shown(row[8])}" if row[8] else ""
        print(f"  {shown(row[0]):<{width}}  {row[3]:>6} {row[4]:>6} {row[5]:>9} {row[6]:>8} {row[7]:>7}{note}")
    totals = [sum(r[i] for r in rows) for i in range(3, 8)]
    print(f"  {'total':<{width}}  {totals[0]:>6} {totals[1]:>6} {totals[2]:>9} {totals[3]:>8} {totals[4]:>7}"
          f"   ({len(rows)} clients)")


def _apply(args, runs, importers, stop, out_dir: Path, template: Path) -> int:
    from ..files.results import choose_output_paths, write_run_files
    from ..run import onboarding
    from ..run.applying import RunSettings
    from .run import _stop_on_signals

    run_id = RunSettings().run_id
    written: dict[str, object] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def done(run) -> None:
        paths = choose_output_paths(onboarding.results_path(out_dir, template, run.client), None, None)
        try:
            files = write_run_files(run.validation, run.report, paths, fallback_dir=out_dir,
                                    facts=_facts(args, run))
        finally:
            paths.release()
        with lock:
            written[run.client.key] = files
            counts = ", ".join(f"{k} {v}" for k, v in run.result_counts().items() if v)
            print(f"  {shown(run.client.name)}: {counts}  -> {files.results}", flush=True)

    print("Applying (each instance under its own rate limit):", flush=True)
    with _stop_on_signals(stop):
        onboarding.apply_all(runs, importers, run_id=run_id, on_client_done=done)
    rollup = _rollup_path(out_dir, template)
    onboarding.write_rollup(rollup, runs, written, {"kind": ROLLUP_KIND, "run_id": run_id,
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


def _facts(args, run) -> dict:
    from .. import __version__
    from .run import RESULTS_KIND

    return {"kind": RESULTS_KIND, "run_id": run.run_id, "target": run.target, "client": run.client.name,
            "client key": run.client.key, "rehearsal": "yes: the sandbox started by --sandbox" if args.sandbox and
            not run.client.own_target else "no", "mode": args.mode, "file": str(Path(args.template).resolve()),
            "clients file": str(Path(args.clients).resolve()), "started": run.started, "finished": run.finished,
            "outcome": ", ".join(f"{k} {v}" for k, v in run.result_counts().items() if v),
            "importer_version": __version__}


def _rollup_path(out_dir: Path, template: Path) -> Path:
    n = 1
    while (path := Path(out_dir) / f"{template.stem}.onboarding{'' if n == 1 else f'-{n}'}.xlsx").exists():
        n += 1
    return path
