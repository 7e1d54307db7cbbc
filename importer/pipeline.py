"""The importer as a library: the pipeline from a script or a notebook.

    import importer
    rows = importer.from_dataframe(df)            # or importer.read("courses.xlsx"), from_records([...])
    checked = importer.validate(rows)             # issues as data: .valid_rows, .all_issues, .to_dataframe()
    with importer.connect(domain="acme") as target:   # the key from TI_API_KEY, as the CLI; or api_key=
        plan = importer.plan(checked, target, mode="sync")   # .summary(), .to_dataframe()
        result = importer.apply(plan)                        # paced, retried, journaled: exactly once
    result.to_dataframe(); result.write("courses.results.xlsx")

Library calls never print, never read stdin, never install signal handlers and leave the
garbage collector as they found it; progress goes to `progress=` (a callable given each
row's outcome, or True for a tqdm bar). Every error that stops a call is an
`importer.ImporterError` (the tree is in `importer.errors`); a bad row is never an
exception. pandas is needed only by `from_dataframe` and `to_dataframe`
(`pip install "importer[pandas]"`).

Rows that come from records or a DataFrame are numbered as if they were a sheet under a
header row, as the messages say them: the first record is row 2 (`df.iloc[row - 2]`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .check.validating import ValidationResult, validate_sheet
from .core.frames import pandas_module
from .core.outcomes import RowOutcome, RunReport
from .errors import ImporterError, TargetError
from .read.reading import Sheet, read_sheet

KEY_VARIABLE = "TI_API_KEY"


# --- rows in ------------------------------------------------------------------------------


def read(path, *, sheet: str | None = None) -> Sheet:
    """A course sheet from an .xlsx or .csv file, cells as typed."""
    return read_sheet(path, sheet)


def from_records(records: Iterable[Mapping], *, name: str = "<records>") -> Sheet:
    """Rows from dicts keyed by the sheet's headers (API names or labels, `customFields.<key>`;
    a `customFields` dict is spread into such columns). A list is already split: its items
    are the tags or authors, each whole (a comma inside one stays); NaN and None are empty cells."""
    from .read.records import sheet_from_records

    return sheet_from_records(records, Path(name), "records")


def from_dataframe(frame, *, name: str = "<DataFrame>") -> Sheet:
    """Rows from a pandas DataFrame, its columns as headers. A float column holding 42.0 for
    an External ID gets the same warning as an Excel number would; NaN, None, pd.NA and NaT
    are empty cells."""
    pandas_module()
    return from_records(frame.to_dict("records"), name=name)


def validate(source, *, custom_fields: list[str] | None = None, sheet: str | None = None,
             mapping=None) -> ValidationResult:
    """Every row checked, nothing sent. `source`: a path, or rows from `read`, `from_records`
    or `from_dataframe`. `mapping`: another system's export read through a mapping file (its
    path, or the same structure as a dict: `{"title": "course_title", ...}`)."""
    if mapping is not None:
        from .check.mapping import load_mapping

        mapping = load_mapping(mapping)
    rows = source if isinstance(source, Sheet) else read_sheet(source, sheet)
    return validate_sheet(rows, custom_fields=custom_fields, mapping=mapping)


# --- the platform ---------------------------------------------------------------------------


class Target:
    """A platform opened for a script: the key checked, the journal and the pacer ready."""

    def __init__(self, base_url: str, importer, closers: list[Callable[[], object]]):
        self.base_url = base_url
        self.importer = importer
        self._closers = closers

    @property
    def api(self) -> str:
        """The API spoken: `guide` or `content`."""
        return self.importer.api.name

    @property
    def api_label(self) -> str:
        from .platform.dialects import LABELS

        return LABELS[self.importer.api.name]

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(*, domain: str | None = None, base_url: str | None = None, sandbox=None, api_key: str | None = None,
            rate_limit: int = 100, timeout: float = 30.0, max_wait: float = 300.0, max_retries: int = 5,
            state_dir=None, stop=None, log=None, progress=None, source_file: str | None = None,
            key_source: str | None = None, api: str = "auto", journal=None) -> Target:
    """Open the platform (`domain=`, `base_url=`, or a running `importer.Sandbox()`), check the
    key with one request and return a `Target` to plan and apply against. The key is
    `api_key`, else the TI_API_KEY environment variable. The journal of what was sent lives
    in `state_dir` (default: `.importer/` in the current folder).

    For a program that owns its process (the CLI): `stop`, a threading.Event that ends the
    sending after the request in flight; `log`, a `progress.RunLog`; `progress`, a
    `progress.Progress`; `source_file`, recorded in the journal.

    `api`: which API the instance speaks, `guide` (POST /incoming/v2/courses), `content` (the
    platform's content API) or `auto` (default): found out with read-only requests after the key
    check, before anything is written (`Target.api` says which).

    `journal`: an open `platform.journal.Journal` to share between targets driven at once (an
    onboarding); the caller closes it."""
    import threading

    from .platform.api import base_url_for
    from .platform.dialects import CHOICES
    from .platform.guide import GuideAPI
    from .platform.journal import Journal
    from .platform.pacing import Backoff, Pacer
    from .run.applying import Importer, RunSettings

    if sandbox is not None:
        url, key = sandbox.base_url, api_key or sandbox.config.api_key
    else:
        url = base_url_for(domain, base_url)
        key = api_key or os.environ.get(KEY_VARIABLE, "").strip()
        if not key:
            raise TargetError(f"no API key: pass api_key= or set the {KEY_VARIABLE} environment variable")
    if api not in CHOICES:
        raise TargetError(f"api must be one of {', '.join(CHOICES)}, not {api!r}")
    shared = journal is not None
    journal = journal or Journal(Path(state_dir or ".importer") / "journal.sqlite3")
    client = GuideAPI(url, key, timeout=timeout)  # the key check is the same on both APIs
    stop = stop or threading.Event()
    importer = Importer(client, journal, url, Pacer(rate_limit, 60.0, sleep=stop.wait), Backoff(), stop=stop, log=log,
                        settings=RunSettings(max_retries=max_retries, max_wait=max_wait, source_file=source_file,
                                             key_source=key_source or _key_source(api_key, sandbox)))
    if progress is not None:
        importer.progress = progress
    target = Target(url, importer, [client.close] if shared else [journal.close, client.close])
    try:
        importer.check_key()
        importer.choose_api(api)
    except BaseException:
        target.close()
        raise
    return target


# --- plan and apply ---------------------------------------------------------------------------


@dataclass
class PlannedRun:
    """What a run would do on a target: one action per row (see `planning.Action`)."""

    plan: object  # planning.Plan
    validation: ValidationResult
    target: Target
    reads: int = 0  # requests it took to read what the platform holds

    @property
    def actions(self):
        return self.plan.actions

    def summary(self) -> str:
        return self.plan.summary()

    def to_dataframe(self):
        pandas = pandas_module()
        return pandas.DataFrame([{"row": a.row, "action": a.kind, "course_id": a.course_id, "code": a.code,
                                  "message": a.message, "changes": [c.field for c in a.changes]}
                                 for a in self.plan.actions])


def plan(checked: ValidationResult, target: Target, *, mode: str = "create",
         custom_fields: list[str] | None = None, missing: str | None = None, scope_source: str | None = None,
         scope_tag: str | None = None, missing_share: float | None = None) -> PlannedRun:
    """Read what the platform holds for these rows and classify each: create, update (with its
    changes), unchanged, exists, conflict, not_found or invalid. Nothing is written.

    `missing`: `"report"` or `"archive"` — also list the platform's courses of one scope
    (`scope_source=`: a Source value, or `scope_tag=`) that no row names (`.plan.missing`); with
    `"archive"` the apply archives them after the rows (see `run.missing` for the guards:
    `check_missing(planned, confirmed=N)` before applying)."""
    made, reads = target.importer.plan(checked, mode=mode, custom_fields=custom_fields, missing=missing,
                                       scope_source=scope_source, scope_tag=scope_tag, missing_share=missing_share)
    return PlannedRun(made, checked, target, reads)


def check_missing(planned: PlannedRun, *, confirmed: int | None = None) -> None:
    """Before `apply` of a plan made with `missing="archive"`: raises `Refused` when the file has no
    valid row, or when it would archive more than the share allowed and `confirmed` is not that number."""
    from .run.missing import check_archiving

    check_archiving(planned.plan.missing, confirmed)


@dataclass
class RunResult:
    """What became of each row."""

    report: RunReport
    validation: ValidationResult
    target_url: str
    run_id: str
    outcomes: list[RowOutcome] = field(init=False)

    def __post_init__(self):
        self.outcomes = self.report.outcomes

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in self.report.counts().items() if v}

    def to_dataframe(self):
        pandas = pandas_module()
        return pandas.DataFrame([{"row": o.row, "status": o.status, "course_id": o.course_id,
                                  "course_slug": o.course_slug, "error_code": o.error_code,
                                  "error_message": o.error_message, "changes": [c.field for c in o.changes]}
                                 for o in self.report.outcomes])

    def write(self, path, failures=None) -> None:
        """The results sheet (.xlsx or .csv) as the CLI writes it, and, if a path is given and
        any row needs fixing, the failures file in the input's layout."""
        from .files.results import write_failures, write_results

        facts = {"kind": "importer run results", "run_id": self.run_id, "target": self.target_url,
                 "rehearsal": "unknown: written by a script", "file": str(self.validation.sheet.path)}
        write_results(self.validation, self.report, path, facts)
        if failures is not None and not self.report.all_ok:
            write_failures(self.validation, self.report, failures)


def apply(planned: PlannedRun, *, progress: bool | Callable[[RowOutcome], object] = False,
          confirm_missing: int | None = None) -> RunResult:
    """Do what the plan says, with the CLI's guarantees: paced under the rate limit, retried,
    each create journaled so that it is never sent twice. A plan that archives the courses missing
    from the file more than the share allowed needs `confirm_missing=` that number (`Refused` else)."""
    check_missing(planned, confirmed=confirm_missing)
    importer = planned.target.importer
    importer.progress = _progress(progress)
    report = importer.apply(planned.validation, planned.plan)
    return RunResult(report, planned.validation, planned.target.base_url, importer.settings.run_id)


def export(target: Target, path=None, *, source: str | None = None, tag: str | None = None,
           include_archived: bool = False):
    """What the platform holds, as the template's rows: a DataFrame (needs pandas), one row per course,
    the cells as the importer reads them back; written to `path` (.xlsx or .csv) too when given. An
    existing `path` is replaced (the CLI asks for --force)."""
    import tempfile

    from .run.exporting import export_courses

    pandas = pandas_module()
    with tempfile.TemporaryDirectory(prefix="importer-export-") as scratch:
        written = export_courses(target.importer, path or Path(scratch) / "export.csv", source=source, tag=tag,
                                 include_archived=include_archived).path
        sheet = read_sheet(written)
        return pandas.DataFrame([cells for _, cells in sheet.rows], columns=sheet.headers)


# --- the guide's other patterns: onboarding and publishing -------------------------------------------


class Onboarding:
    """A template set of courses planned once per client (`run.onboarding`): `.runs` (one
    `ClientRun` a client: its sheet's validation, its plan, then its report), `.table()` (the plan,
    a line a client), `.apply()`. Close it (or use `with`) to close the instances it opened."""

    def __init__(self, runs, importers: dict, closers: list[Callable[[], object]]):
        self.runs, self.importers, self._closers = runs, importers, closers

    def table(self) -> list[list]:
        from .run.onboarding import plan_table

        return plan_table(self.runs)

    @property
    def writes(self) -> int:
        return sum(run.plan.writes for run in self.runs if run.plan is not None)

    def apply(self, *, on_client_done: Callable[[object], object] | None = None, run_id: str | None = None) -> None:
        """Every client's plan applied, the instances at the same time, each under its own pacer."""
        from .run.applying import RunSettings
        from .run.onboarding import apply_all

        apply_all(self.runs, self.importers, run_id=run_id or RunSettings().run_id, on_client_done=on_client_done)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> Onboarding:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def onboard(template, clients, *, target: Target | None = None, mode: str = "create", only: list[str] | None = None,
            custom_fields: list[str] | None = None, rate_limit: int = 100, timeout: float = 30.0,
            max_wait: float = 300.0, max_retries: int = 5, state_dir=None, stop=None, progress=None,
            api: str = "auto", sheet: str | None = None) -> Onboarding:
    """Plan a template set of courses once per client. `template`: a path or rows from `read`; `clients`:
    the clients sheet's path (see `run.onboarding`). The clients with no instance of their own go to
    `target` (an open `Target`); each other instance is opened with the key in the environment variable its
    row names, all at the same time, sharing one journal. Nothing is written until `.apply()`.
    `progress`: a callable returning a fresh `progress.Progress` for each instance."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from .platform.api import base_url_for
    from .platform.journal import Journal
    from .run.onboarding import choose_clients, client_runs, plan_all, read_clients

    rows = template if isinstance(template, Sheet) else read_sheet(template, sheet)
    chosen = choose_clients(read_clients(clients), only)
    shared = [c for c in chosen if not c.own_target]
    if shared and target is None:
        raise TargetError(f"{len(shared)} client(s) have no Domain or Base URL of their own (row "
                          f"{', '.join(str(c.row) for c in shared[:5])} of the clients sheet): name their instance "
                          "(--domain NAME or --base-url URL), or rehearse on the sandbox")

    def url_of(client) -> str:
        if not client.own_target:
            return target.base_url
        try:
            return base_url_for(client.domain, client.base_url)
        except TargetError as exc:
            raise TargetError(f"the clients sheet, row {client.row}: {exc}") from None

    keys, unset = {}, []
    for client in chosen:
        if client.own_target and url_of(client) not in keys:
            value = os.environ.get(client.key_variable, "").strip()
            if not value:
                unset.append(f"{client.key_variable} (row {client.row}, {client.name})")
            keys[url_of(client)] = (value, f"the {client.key_variable} environment variable")
    if unset:
        raise TargetError(f"these environment variables named by the clients sheet are not set: {', '.join(unset)}; "
                          "set each to its instance's API key. Nothing was sent")
    closers: list[Callable[[], object]] = []
    if target is not None:
        journal = target.importer.journal
    else:
        journal = Journal(Path(state_dir or ".importer") / "journal.sqlite3")
        closers.append(journal.close)
    stop = stop or (target.importer.stop if target is not None else threading.Event())

    def open_one(item):
        url, (key, source) = item
        return url, connect(base_url=url, api_key=key, rate_limit=rate_limit, timeout=timeout, max_wait=max_wait,
                            max_retries=max_retries, journal=journal, stop=stop, key_source=source, api=api,
                            progress=progress() if progress else None, source_file=str(rows.path))

    importers = {target.base_url: target.importer} if target is not None else {}
    failed = []
    onboarding = Onboarding([], importers, closers)
    if keys:
        with ThreadPoolExecutor(max_workers=min(len(keys), 32), thread_name_prefix="connect") as pool:
            for future in [pool.submit(open_one, item) for item in keys.items() if item[0] not in importers]:
                try:
                    url, opened = future.result()
                except ImporterError as exc:
                    failed.append(str(exc))
                    continue
                closers.append(opened.close)
                importers[url] = opened.importer
    if failed:
        onboarding.close()
        raise TargetError("; ".join(failed[:5]) + (" (and more)" if len(failed) > 5 else ""))
    try:
        onboarding.runs = client_runs(rows, chosen, url_of, custom_fields=custom_fields)
        plan_all(onboarding.runs, importers, mode=mode, custom_fields=custom_fields)
    except BaseException:
        onboarding.close()
        raise
    return onboarding


def publish(target: Target, results, *, rows: str | None = None, out=None):
    """Publish the drafts a run created (or the rows named, `"2,5-9"`), from its results file, after
    reading each; writes what it did to `out` (default `<results>.publish.xlsx`), which `importer undo`
    takes back to draft. Returns the `publishing.PublishAction`s and {course id: RowOutcome}."""
    from .run import publishing, undoing

    record = undoing.read_run_record(results)
    undoing.check_target(record, target.base_url)
    chosen, unknown = publishing.chosen_courses(record, publishing.parse_rows(rows))
    importer = target.importer
    started = publishing.now_iso()
    actions = publishing.plan_publish(chosen, importer.read_courses(list(chosen)) if chosen else {}, unknown)
    done, _ = publishing.publish(importer, actions)
    out = Path(out) if out else Path(results).with_name(f"{Path(results).stem}.publish.xlsx")
    publishing.write_publish_results(out, record, actions, done,
                                     publishing.publish_facts(record, target.base_url, importer.settings.run_id,
                                                              started, target.api_label, _version()))
    return actions, done


def _version() -> str:
    """The installed importer's version (the package above this module is not imported from here)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("importer")
    except PackageNotFoundError:
        return "unknown"


def _key_source(api_key, sandbox) -> str:
    if sandbox is not None:
        return "the sandbox's api_key"
    return "the api_key given" if api_key else f"the {KEY_VARIABLE} environment variable"


def _progress(progress):
    from .run.progress import BarProgress, NullProgress

    if progress is True:
        return BarProgress()
    if callable(progress):
        class Callback(NullProgress):
            def row_done(self, outcome):
                progress(outcome)
        return Callback()
    return NullProgress()
