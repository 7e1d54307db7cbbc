"""Client onboarding: a template set of courses, made once per client (the guide's pattern: "Create a
template set of courses for each new client. Use tags to group them and customFields for
client-specific metadata").

The clients sheet has one row per client:

    Client             the client's name (required)
    Client key         a short code, lowercase letters, digits and hyphens (required): it makes the
                       client's titles, slugs and External IDs unique on an instance
    Tags               added to every course of the client (default: the client key)
    customFields.<k>   set on every course of the client (over the template's value)
    Title suffix       default ` ({client})`   \\
    Slug suffix        default `-{key}`          } how each course's identity is made the client's own;
    External ID prefix default `{key}-`        /  {client} and {key} stand for the client's values
    Domain / Base URL  the client's own instance (default: the one the command names)
    Key variable       the *name* of the environment variable holding that instance's key — never the
                       key itself: a column that looks like it holds keys refuses the sheet

Each client's set is an ordinary sheet (the template's rows, its identity made the client's and its
tags and custom fields added), and takes the road any sheet takes: validated, planned, applied,
journaled, written to its own results file (undone with `importer undo`, client by client).

Instances are driven at the same time, each by one thread, one request at a time under its own
pacer (the rate limit is per instance): 20 clients on 20 instances take about as long as one. The
clients of one instance go one after another through that instance's pacer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..check.normalizing import map_columns
from ..check.validating import ValidationResult, validate_sheet
from ..core import fields
from ..core.fields import header_key
from ..core.issues import column_letter
from ..core.outcomes import STATUSES, RunReport
from ..errors import FileUnusable, TargetError
from ..read.reading import Sheet, read_sheet

TITLE_SUFFIX, SLUG_SUFFIX, EXTERNAL_ID_PREFIX = " ({client})", "-{key}", "{key}-"
CLIENT_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The clients sheet's columns: header (folded) -> what it holds.
COLUMNS = {
    "client": "name", "clientname": "name", "name": "name",
    "clientkey": "key", "key": "key", "code": "key", "clientcode": "key",
    "tags": "tags", "tag": "tags",
    "titlesuffix": "title_suffix", "slugsuffix": "slug_suffix", "externalidprefix": "external_id_prefix",
    "domain": "domain", "baseurl": "base_url",
    "keyvariable": "key_variable", "apikeyvariable": "key_variable", "keyenvironmentvariable": "key_variable",
}
# Headers that say the sheet holds API keys themselves: it is refused, whatever the cells hold.
SECRET_HEADERS = {"apikey", "apitoken", "token", "secret", "password", "keyvalue"}


@dataclass
class Client:
    row: int  # in the clients sheet
    name: str
    key: str
    tags: list[str] = field(default_factory=list)
    custom: dict[str, object] = field(default_factory=dict)  # customFields.<key> -> the cell
    title_suffix: str = TITLE_SUFFIX
    slug_suffix: str = SLUG_SUFFIX
    external_id_prefix: str = EXTERNAL_ID_PREFIX
    domain: str | None = None
    base_url: str | None = None
    key_variable: str | None = None

    @property
    def own_target(self) -> bool:
        return bool(self.domain or self.base_url)

    def fill(self, template: str) -> str:
        return template.replace("{client}", self.name).replace("{key}", self.key)


def read_clients(path) -> list[Client]:
    """The clients sheet, every problem named by its row and column; raises `FileUnusable` listing them."""
    sheet = read_sheet(path)
    name = sheet.path.name
    roles: dict[int, str] = {}
    custom: dict[int, str] = {}
    for index, header in enumerate(sheet.headers):
        folded = header_key(header or "")
        if folded in SECRET_HEADERS:
            raise FileUnusable(sheet.path, f"column {column_letter(index)} ('{header}') looks like it holds API keys. "
                                           "A clients sheet never holds a key: give the name of the environment "
                                           "variable that holds it, in a 'Key variable' column, and delete that "
                                           "column")
        if str(header or "").startswith(fields.CUSTOM_FIELD_PREFIX):
            custom[index] = str(header)[len(fields.CUSTOM_FIELD_PREFIX):]
        elif folded in COLUMNS:
            roles[index] = COLUMNS[folded]
        elif folded:
            raise FileUnusable(sheet.path, f"column {column_letter(index)} ('{header}') is not a column of a clients "
                                           "sheet; the columns are: Client, Client key, Tags, customFields.<key>, "
                                           "Title suffix, Slug suffix, External ID prefix, Domain, Base URL, Key "
                                           "variable")
    missing = [label for role, label in (("name", "Client"), ("key", "Client key")) if role not in roles.values()]
    if missing:
        raise FileUnusable(sheet.path, f"has no {' and no '.join(missing)} column (the headers are: "
                                       f"{', '.join(map(str, sheet.headers))})")
    letter = {role: column_letter(i) for i, role in roles.items()}
    clients, problems, seen = [], [], {}
    for number, cells in sheet.rows:
        values = {role: _text(cells[i]) for i, role in roles.items() if i < len(cells)}
        if not any(values.values()) and not any(_text(cells[i]) for i in custom if i < len(cells)):
            continue  # a blank row
        # A key typed Acme is acme: it goes into slugs, which are lowercase; anything else is named below.
        client = Client(number, values.get("name") or "", (values.get("key") or "").strip().lower())
        where = f"{name} row {number}"
        if not client.name:
            problems.append(f"{where}, column {letter['name']}: the client's name is empty")
        if not CLIENT_KEY.match(client.key):
            problems.append(f"{where}, column {letter['key']}: the client key '{values.get('key') or ''}' must be "
                            "letters, digits and single hyphens (it goes into slugs), e.g. acme or acme-eu")
        elif client.key in seen:
            problems.append(f"{where}, column {letter['key']}: the client key '{client.key}' is also row "
                            f"{seen[client.key]}'s; each client needs its own")
        seen.setdefault(client.key, number)
        client.tags = fields_split_tags(values.get("tags")) or ([client.key] if client.key else [])
        client.custom = {key: cells[i] for i, key in custom.items() if i < len(cells) and _text(cells[i])}
        for role in ("title_suffix", "slug_suffix", "external_id_prefix"):
            if values.get(role):
                setattr(client, role, _raw(cells, roles, role))
        client.domain, client.base_url = values.get("domain") or None, values.get("base_url") or None
        client.key_variable = values.get("key_variable") or None
        if client.domain and client.base_url:
            problems.append(f"{where}: give a Domain or a Base URL, not both")
        if client.key_variable and not VARIABLE_NAME.match(client.key_variable):
            problems.append(f"{where}, column {letter['key_variable']}: '{client.key_variable[:4]}…' is not the "
                            "name of an environment variable (letters, digits and _). Give the variable's name, "
                            "never the key itself")
        if client.own_target and not client.key_variable:
            problems.append(f"{where}: this client has its own instance; name the environment variable holding "
                            "its key in a Key variable column")
        clients.append(client)
    if problems:
        raise FileUnusable(sheet.path, "cannot be used: " + "; ".join(problems[:20]) +
                           (f"; and {len(problems) - 20} more" if len(problems) > 20 else ""))
    if not clients:
        raise FileUnusable(sheet.path, "has no clients: one row per client under the headers")
    return clients


def choose_clients(clients: list[Client], only: list[str] | None) -> list[Client]:
    """The clients `only` names (by Client key or name); all of them without it."""
    if not only:
        return clients
    unknown = [w for w in only if not any(w in (c.key, c.name) for c in clients)]
    if unknown:
        raise TargetError(f"--only: no client {', '.join(map(repr, unknown))} in the clients sheet (its keys: "
                          f"{', '.join(c.key for c in clients)})")
    return [c for c in clients if c.key in only or c.name in only]


def _text(cell) -> str:
    return "" if cell is None else str(cell).strip()


def _raw(cells, roles: dict[int, str], role: str) -> str:
    """A suffix or prefix as typed (a leading space in ' (Acme)' counts)."""
    index = next(i for i, r in roles.items() if r == role)
    return str(cells[index])


def fields_split_tags(text: str | None) -> list[str]:
    from ..check.normalizing import split_tags

    return split_tags(text) if text else []


# --- each client's sheet ------------------------------------------------------------------------


def client_sheet(template: Sheet, client: Client) -> Sheet:
    """The template's rows as this client's: Title + suffix, Slug + suffix (when the row has one),
    prefix + External ID (when it has one), the client's tags added and custom fields set. A column
    the template lacks (Tags, a custom field) is added. Row numbers stay the template's."""
    headers = list(template.headers)
    columns = map_columns(template.path, headers)
    index = {name: i for i, name in enumerate(columns.fields) if name}
    added = []
    if "tags" not in index:
        added.append(("tags", "Tags"))
    for key in client.custom:
        if fields.CUSTOM_FIELD_PREFIX + key not in index:
            added.append((fields.CUSTOM_FIELD_PREFIX + key, fields.CUSTOM_FIELD_PREFIX + key))
    for name, header in added:
        index[name] = len(headers)
        headers.append(header)
    rows = []
    for number, cells in template.rows:
        cells = list(cells) + [None] * (len(headers) - len(cells))
        if _text(cells[index["title"]]):
            cells[index["title"]] = _text(cells[index["title"]]) + client.fill(client.title_suffix)
        if "slug" in index and _text(cells[index["slug"]]):
            cells[index["slug"]] = _text(cells[index["slug"]]) + client.fill(client.slug_suffix)
        if "externalId" in index and _id_text(cells[index["externalId"]]):
            cells[index["externalId"]] = client.fill(client.external_id_prefix) + _id_text(cells[index["externalId"]])
        tags = _text(cells[index["tags"]])
        cells[index["tags"]] = ", ".join(filter(None, [tags, *client.tags]))
        for key, value in client.custom.items():
            cells[index[fields.CUSTOM_FIELD_PREFIX + key]] = value
        rows.append((number, cells))
    path = template.path.with_name(f"{template.path.stem}.{client.key}{template.path.suffix}")
    return Sheet(path, headers, rows, template.format, template.encoding, template.delimiter, template.sheet_name,
                 problems=list(template.problems))


def _id_text(cell) -> str:
    """An External ID as text: an integer typed into Excel is its digits (the validator warns on others)."""
    if isinstance(cell, int) and not isinstance(cell, bool):
        return str(cell)
    return cell.strip() if isinstance(cell, str) else ""


# --- the runs --------------------------------------------------------------------------------------


@dataclass
class ClientRun:
    """One client's part of an onboarding: its sheet checked, planned, applied."""

    client: Client
    validation: ValidationResult
    target: str  # the base URL
    plan: object = None  # planning.Plan
    reads: int = 0
    report: RunReport | None = None
    run_id: str = ""
    started: str = ""
    finished: str = ""
    error: str | None = None  # why this client's part stopped before its plan or its end

    def plan_counts(self) -> dict[str, int]:
        if self.plan is None:
            return {}
        return {kind: self.plan.count(kind) for kind in ("create", "update", "unchanged", "exists", "conflict",
                                                         "not_found", "skip", "invalid")}

    def result_counts(self) -> dict[str, int]:
        return {status: self.report.count(status) for status in STATUSES} if self.report else {}


def client_runs(template: Sheet, clients: list[Client], target_of: Callable[[Client], str],
                custom_fields: list[str] | None = None) -> list[ClientRun]:
    return [ClientRun(c, validate_sheet(client_sheet(template, c), custom_fields=custom_fields), target_of(c))
            for c in clients]


def by_target(runs: list[ClientRun]) -> dict[str, list[ClientRun]]:
    groups: dict[str, list[ClientRun]] = {}
    for run in runs:
        groups.setdefault(run.target, []).append(run)
    return groups


def plan_all(runs: list[ClientRun], importers: dict[str, object], *, mode: str = "create",
             custom_fields: list[str] | None = None) -> None:
    """Each client's plan, the instances read at the same time (one thread each, its clients in turn)."""
    def plan_group(group: list[ClientRun]) -> None:
        for run in group:
            importer = importers[run.target]
            try:
                run.plan, run.reads = importer.plan(run.validation, mode=mode, custom_fields=custom_fields)
            except TargetError as exc:
                run.error = str(exc)

    _each_target(runs, plan_group)


def apply_all(runs: list[ClientRun], importers: dict[str, object], *, run_id: str,
              on_client_done: Callable[[ClientRun], object] | None = None, now=None) -> None:
    """Each client's plan applied, the instances at the same time, each under its own pacer; every client's
    report kept (a client whose instance stopped answering says why, the others go on)."""
    import datetime as dt

    now = now or (lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def apply_group(group: list[ClientRun]) -> None:
        importer = importers[group[0].target]
        for run in group:
            if run.plan is None:
                continue
            run.run_id = f"{run_id}-{run.client.key}"
            importer.settings.run_id = run.run_id
            if hasattr(importer.progress, "label"):  # lines from several clients share the terminal
                importer.progress.label = f"  {run.client.name} "
            run.started = now()
            run.report = importer.apply(run.validation, run.plan)
            run.finished = now()
            if on_client_done:
                on_client_done(run)

    _each_target(runs, apply_group)


def _each_target(runs: list[ClientRun], work: Callable[[list[ClientRun]], None]) -> None:
    groups = list(by_target(runs).values())
    if len(groups) == 1:
        work(groups[0])
        return
    errors: list[BaseException] = []
    lock = threading.Lock()

    def guarded(group):
        try:
            work(group)
        except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
            with lock:
                errors.append(exc)

    with ThreadPoolExecutor(max_workers=min(len(groups), 32), thread_name_prefix="onboard") as pool:
        list(pool.map(guarded, groups))
    if errors:
        raise errors[0]


def plan_table(runs: list[ClientRun]) -> list[list]:
    """The plan as a person reads it: one line a client, one column an action."""
    rows = []
    for run in runs:
        counts = run.plan_counts()
        rows.append([run.client.name, run.client.key, run.target, counts.get("create", 0), counts.get("update", 0),
                     counts.get("unchanged", 0) + counts.get("exists", 0) + counts.get("skip", 0),
                     counts.get("conflict", 0) + counts.get("not_found", 0), counts.get("invalid", 0),
                     run.error or ""])
    return rows


PLAN_HEADERS = ("client", "key", "target", "create", "update", "unchanged", "conflict", "invalid", "note")


def results_path(out_dir: Path, template: Path, client: Client) -> Path:
    return Path(out_dir) / f"{template.stem}.{client.key}{template.suffix}"


ROLLUP_KIND = "importer onboarding"
RESULTS_KIND = "importer run results"  # a client's results are a run's: `importer undo` takes them


def client_facts(run: ClientRun, *, mode: str, rehearsal: str, template, clients, version: str) -> dict:
    """The Run sheet of one client's results: what `importer undo` checks before anything."""
    return {"kind": RESULTS_KIND, "run_id": run.run_id, "target": run.target, "client": run.client.name,
            "client key": run.client.key, "rehearsal": rehearsal, "mode": mode, "file": str(template),
            "clients file": str(clients), "started": run.started, "finished": run.finished,
            "outcome": ", ".join(f"{k} {v}" for k, v in run.result_counts().items() if v),
            "importer_version": version}


def write_client_files(run: ClientRun, out_dir: Path, template: Path, facts: dict):
    """One client's results and (when a row needs fixing) failures, beside each other in `out_dir`,
    numbered past an earlier onboarding's (`files.results.write_run_files`: never a course id lost)."""
    from ..files.results import choose_output_paths, write_run_files

    paths = choose_output_paths(results_path(out_dir, template, run.client), None, None)
    try:
        return write_run_files(run.validation, run.report, paths, fallback_dir=out_dir, facts=facts)
    finally:
        paths.release()


def rollup_path(out_dir: Path, template: Path) -> Path:
    n = 1
    while (path := Path(out_dir) / f"{Path(template).stem}.onboarding{'' if n == 1 else f'-{n}'}.xlsx").exists():
        n += 1
    return path


ROLLUP_CLIENT_COLUMNS = ("client", "client_key", "target", "key_variable", "run_id", "created", "updated",
                         "unchanged", "exists", "skipped", "conflict", "not_found", "invalid", "failed",
                         "not_attempted", "results", "failures", "note")
ROLLUP_COURSE_COLUMNS = ("client", "client_key", "source_row", "title", "status", "course_id", "error_code",
                         "error_message")


def write_rollup(path: Path, runs: list[ClientRun], written: dict, facts: dict) -> None:
    """One workbook for the whole onboarding: a line a client (its counts and files), every course of every
    client, and what the onboarding was. `importer undo` of it undoes every client's run."""
    from ..files.results import RUN_SHEET
    from ..files.writing import Table, write_workbook

    clients, courses = [], []
    for run in runs:
        files = written.get(run.client.key)
        counts = run.result_counts()
        note = run.error or (run.report.stop_reason if run.report else None) or \
            ("interrupted" if run.report and run.report.interrupted else "")
        clients.append([run.client.name, run.client.key, run.target, run.client.key_variable or "", run.run_id,
                        *(counts.get(s, 0) for s in ("created", "updated", "unchanged", "exists", "skipped",
                                                     "conflict", "not_found", "invalid", "failed", "not_attempted")),
                        str(files.results) if files else "", str(files.failures) if files and files.failures else "",
                        note])
        if run.report is None:
            continue
        titles = run.validation.columns.index_of("title")
        cells = dict(run.validation.sheet.rows)
        for outcome in run.report.outcomes:
            title = cells[outcome.row][titles] if titles is not None else ""
            courses.append([run.client.name, run.client.key, outcome.row, title, outcome.status, outcome.course_id,
                            outcome.error_code, outcome.error_message])
    write_workbook(path, [
        Table(ROLLUP_CLIENT_COLUMNS, clients, sheet_name="Clients", text_columns={1},
              widths={0: 24, 1: 12, 2: 36, 3: 16, 4: 28, 15: 50, 16: 50, 17: 50}),
        Table(ROLLUP_COURSE_COLUMNS, courses, sheet_name="Courses", text_columns={1, 5},
              widths={0: 24, 1: 12, 2: 10, 3: 40, 4: 14, 5: 18, 6: 18, 7: 60}),
        Table(("fact", "value"), [[k, v] for k, v in facts.items()], sheet_name=RUN_SHEET, widths={0: 20, 1: 60}),
    ])


def read_rollup(path) -> list[dict] | None:
    """The clients of an onboarding's roll-up workbook ({client, client_key, target, key_variable, results}),
    or None when the file is not one."""
    from ..files.results import RUN_SHEET

    path = Path(path)
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return None
    try:
        facts = {str(r[0]): r[1] for _, r in read_sheet(path, RUN_SHEET).rows if r}
        if facts.get("kind") != "importer onboarding":
            return None
        sheet = read_sheet(path, "Clients")
    except FileUnusable:
        return None
    return [{h: ("" if c is None else str(c)) for h, c in zip(sheet.headers, cells, strict=False)}
            for _, cells in sheet.rows]
