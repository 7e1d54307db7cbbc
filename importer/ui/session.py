"""What the page remembers while `importer ui` runs: uploaded files and their checks, the target
(its key in memory only), the plan, and the one import at a time, run in a worker thread that
reports through the same progress protocol as the CLI's bar.

Every rule lives in the library: this module only calls `pipeline`, `validating`, `mapping`,
`results` and `undoing`, as the CLI does, and keeps what they return.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..core import fields
from ..core.outcomes import RowOutcome
from ..errors import ImporterError, TargetError
from ..run.progress import NullProgress

MAX_UPLOAD_BYTES = 250 * 2**20  # as the CSV reader's own cap (reading.MAX_CSV_BYTES)
UPLOADS_KEPT_HOURS = 24  # an upload is removed from the state folder a day after it was given
PAGE_ROWS = 100
CONFIRM_ABOVE = 100  # writes above this are confirmed by typing their number


@dataclass
class Upload:
    """A file given to the page, kept in the state folder, and its latest check."""

    id: str
    path: Path
    name: str
    mapping_path: Path | None = None
    validation: object = None  # validating.ValidationResult
    fixes: int = 0
    unique_index: dict | None = None  # see validating.unique_values: made at the first fix
    continues: object = None  # the interrupted run (`Import`) this upload finishes, if any
    map_form: dict | None = None  # the mapping screen's last choices: shown again when the person comes back


class PageProgress(NullProgress):
    """The import's progress, read by the page (any tab, after a reload) while the worker runs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.total = self.done = self.retries = 0
        self.counts: dict[str, int] = {}
        self.started = time.monotonic()
        self.pace = None
        self.note_text = ""

    def start(self, total: int, pace: float | None = None) -> None:
        with self.lock:
            self.total, self.pace, self.started = total, pace, time.monotonic()

    def row_done(self, outcome: RowOutcome) -> None:
        with self.lock:
            self.done += 1
            self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1

    def retried(self, reply, wait: float) -> None:
        with self.lock:
            self.retries += 1

    def note(self, message: str) -> None:
        with self.lock:
            self.note_text = message

    def snapshot(self) -> dict:
        with self.lock:
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed * 60 if elapsed > 0 and self.done else 0.0
            left = max(self.total - self.done, 0) * (self.pace or (elapsed / self.done if self.done else 0))
            return {"done": self.done, "total": self.total, "counts": dict(self.counts), "retries": self.retries,
                    "rate_per_minute": round(rate, 1), "seconds_left": round(left), "left": duration_in_words(left),
                    "note": self.note_text}


def duration_in_words(seconds: float) -> str:
    """`about 48 minutes`, `under a minute`, `about 2 hours 10 minutes`: a time left as a person says it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return "under a minute" if seconds else "no time"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} hour{'s' if hours != 1 else ''}" + (f" {minutes} minutes" if minutes else "")


def local_time(iso: str | None) -> str:
    """A time the page recorded (UTC, ISO) as the person's clock shows it: `6 Dec 2026, 22:40`. The page
    runs on the person's own machine, so its time zone is theirs."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone()
    return f"{local.day} {local:%b %Y, %H:%M}"


@dataclass
class Import:
    """One import (or undo) in a worker thread."""

    run_id: str
    upload_id: str
    kind: str  # "import" or "undo"
    progress: PageProgress = field(default_factory=PageProgress)
    thread: threading.Thread | None = None
    finished: bool = False
    error: str | None = None
    stop_reason: str | None = None
    interrupted: bool = False
    outcomes: list = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # what it wrote, by what it is
    started_at: str = ""
    finished_at: str = ""
    file: str = ""  # the file's name, as the person gave it
    target: str = ""  # the base URL
    target_label: str = ""  # the target as a person names it
    rehearsal: bool = False
    mode: str = "create"
    gone: bool = False  # the page's process ended while it ran (closed, killed, the machine restarted)
    totals: dict = field(default_factory=dict)  # status -> rows, kept with the run

    @property
    def status(self) -> str:
        """In words: running, done, stopped (by the person, or by a cause), interrupted (the process ended)."""
        if not self.finished:
            return "running"
        if self.gone:
            return "interrupted"
        if self.error or self.stop_reason or self.interrupted:
            return "stopped"
        return "done"

    @property
    def can_continue(self) -> bool:
        """An import that did not reach its end can be finished from the file it sent (see `Session.continue_run`)."""
        return self.kind == "import" and self.finished and "sent" in self.files and \
            (self.status != "done" or bool(self.totals.get("not_attempted")))


class Session:
    """All the page's state. One per `importer ui` process."""

    def __init__(self, state_dir: Path):
        self.state_dir = private_folder(Path(state_dir))
        self.uploads_dir = self.state_dir / "uploads"
        self.maps_dir = self.state_dir / "maps"
        self.runs_dir = self.state_dir / "runs"
        for folder in (self.uploads_dir, self.maps_dir, self.runs_dir):
            private_folder(folder)
        remove_old_uploads(self.uploads_dir)
        self.uploads: dict[str, Upload] = {}
        self.lock = threading.RLock()
        self.sandbox = None  # started on first use, lives as long as the page
        self.target = None  # pipeline.Target
        self.target_label = ""
        self.rehearsal = False
        self.mode = "create"
        self.plan = None  # pipeline.PlannedRun
        self.plan_upload: str | None = None
        self.current: Import | None = None
        self.imports: dict[str, Import] = {}
        self.last_target: dict = {"where": "sandbox", "address": "", "api": "auto", "mode": "create",
                                  "sandbox_rate": 100}  # what the target step was last given (never the key)
        self.onboarding = None  # pipeline.Onboarding: a template set planned once per client
        self.onboarding_upload: str | None = None
        self.onboarding_clients = ""  # the clients sheet's name, as the person gave it
        self._busy = threading.Lock()  # see one_at_a_time
        self._load_runs()

    # --- files ---

    def open_upload(self, name: str):
        """(an `Upload`, its file open to write): the file goes into the state folder under a name of
        ours (the person's name is kept for display only: nothing outside the folder can be reached
        through it). It counts once `keep_upload` is called; `drop_upload` removes it."""
        from ..read.reading import CSV_SUFFIXES, EXCEL_SUFFIXES, JSON_SUFFIXES
        from .receiving import safe_name

        shown = safe_name(name)
        suffix = Path(shown).suffix.lower()
        if suffix not in CSV_SUFFIXES | EXCEL_SUFFIXES | JSON_SUFFIXES:
            raise ImporterError(f"{shown}: not a file this importer reads; give an .xlsx, a .csv or a .json export")
        remove_old_uploads(self.uploads_dir)
        upload_id = secrets.token_hex(8)
        folder = self.uploads_dir / upload_id
        folder.mkdir(mode=0o700, parents=True)
        path = folder / f"upload{suffix}"
        return Upload(upload_id, path, shown), path.open("xb")

    def keep_upload(self, upload: Upload) -> Upload:
        with self.lock:
            self.uploads[upload.id] = upload
        return upload

    def drop_upload(self, upload: Upload) -> None:
        with self.lock:
            self.uploads.pop(upload.id, None)
        shutil.rmtree(upload.path.parent, ignore_errors=True)

    def add_upload(self, name: str, source: Path) -> Upload:
        """A file of ours (a run's failures file) given to the page as an upload."""
        upload, handle = self.open_upload(name)
        with handle, Path(source).open("rb") as original:
            shutil.copyfileobj(original, handle)
        return self.keep_upload(upload)

    def upload(self, upload_id: str) -> Upload:
        found = self.uploads.get(upload_id)
        if found is None:
            raise KeyError(upload_id)
        return found

    def check(self, upload: Upload, mapping=None) -> object:
        """Read and validate (through a map when given): the same call as `importer validate`."""
        from ..check.validating import validate_file

        if mapping is not None:
            upload.mapping_path = mapping
        try:
            upload.validation = validate_file(upload.path, mapping=upload.mapping_path)
        except ImporterError as exc:  # named as the person named the file, never by our storage path
            exc.args = (str(exc).replace(str(upload.path), upload.name),)
            raise
        upload.unique_index = None
        return upload.validation

    def fix_cell(self, upload: Upload, row: int, column: int, value: str) -> set[int]:
        """Change one cell of the file as read, and check its row again at once, its title, slug
        and External ID against every other row's (`validating.recheck_row`)."""
        from ..check.validating import recheck_row, unique_values

        result = upload.validation
        cells = next((cells for number, cells in result.sheet.rows if number == row), None)
        if cells is None:
            raise ValueError(row)
        if not 0 <= column < len(cells):
            raise ValueError(column)
        cells[column] = value.strip() or None
        if upload.unique_index is None:
            upload.unique_index = unique_values(result)
        touched = recheck_row(result, row, cells, upload.unique_index)
        upload.fixes += 1
        return touched

    def matching_cells(self, upload: Upload, column: int, old: str) -> list[int]:
        """The rows whose cell in `column` holds `old` (trimmed, any case; "" for an empty cell)."""
        wanted = old.strip().casefold()
        found = []
        for number, cells in upload.validation.sheet.rows:
            cell = cells[column] if column < len(cells) else None
            text = "" if cell is None else str(cell).strip().casefold()
            if text == wanted:
                found.append(number)
        return found

    def replace_in_column(self, upload: Upload, column: int, old: str, new: str) -> int:
        """Every cell of `column` holding `old` becomes `new` (an empty `new` empties them), and the whole
        file is checked again (a value in many rows changes what the file as a whole says). Returns how
        many cells changed."""
        from ..check.validating import validate_sheet

        result = upload.validation
        if not 0 <= column < len(result.sheet.headers):
            raise ValueError(column)
        rows = set(self.matching_cells(upload, column, old))
        value = new.strip() or None
        for number, cells in result.sheet.rows:
            if number in rows:
                while len(cells) <= column:
                    cells.append(None)
                cells[column] = value
        upload.validation = validate_sheet(result.sheet, mapping=result.mapping)
        upload.unique_index = None
        upload.fixes += len(rows)
        return len(rows)

    def save_map(self, name: str, text: str) -> Path:
        from ..check.mapping import MAP_SUFFIX, load_mapping

        safe = "".join(c for c in Path(name).stem if c.isalnum() or c in "-_.") or "export"
        path = self.maps_dir / f"{safe}{MAP_SUFFIX}"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        load_mapping(tmp)  # never keep a map that cannot be read back
        tmp.replace(path)
        return path

    def preview_map(self, upload: Upload, sheet, text: str, rows: int = 8) -> dict:
        """The first rows of an export through a map's text: each row's course fields as they will be sent,
        and what stops a row. Nothing is kept."""
        from ..check.mapping import load_mapping
        from ..check.validating import validate_sheet
        from ..read.sheet import Sheet

        path = upload.path.with_name("preview.map.toml")
        path.write_text(text, encoding="utf-8")
        try:
            mapping = load_mapping(path)
        finally:
            path.unlink(missing_ok=True)
        first = Sheet(sheet.path, sheet.headers, sheet.rows[:rows], sheet.format, sheet.encoding, sheet.delimiter,
                      sheet.sheet_name)
        result = validate_sheet(first, mapping=mapping)
        shown = []
        for r in result.rows:
            payload = dict(r.payload)
            custom = payload.pop("customFields", {})
            payload.update({fields.CUSTOM_FIELD_PREFIX + k: v for k, v in custom.items()})
            shown.append({"row": r.row, "fields": payload,
                          "problems": [i.message for i in r.issues if i.is_error],
                          "warnings": [i.message for i in r.issues if not i.is_error]})
        names = [f.name for f in fields.FIELDS if any(f.name in row["fields"] for row in shown)]
        names += sorted({n for row in shown for n in row["fields"] if n.startswith(fields.CUSTOM_FIELD_PREFIX)})
        return {"rows": shown, "names": names, "labels": {f.name: f.label for f in fields.FIELDS}}

    def shipped_maps(self) -> list[Path]:
        """The maps that come with the importer (samples/maps: Udemy, edX, Coursera, Moodle, MIT OCW), when
        it runs from its folder."""
        folder = Path(__file__).resolve().parents[2] / "samples" / "maps"
        return sorted(folder.glob("*.map.toml")) if folder.is_dir() else []

    def saved_maps(self) -> list[Path]:
        return sorted(self.maps_dir.glob("*.map.toml"))

    # --- the target ---

    def connect(self, *, sandbox: bool, address: str = "", api_key: str = "", mode: str = "create",
                api: str = "auto", sandbox_rate: int = 100) -> None:
        """Open the target, checking the key with one request (the CLI's messages) and finding out
        which API it speaks (`api`: auto, guide or content; for the sandbox, the API it speaks). The
        key is held by the connection only: never written, logged or shown."""
        self.last_target = {"where": "sandbox" if sandbox else "platform", "address": address, "api": api,
                            "mode": mode, "sandbox_rate": sandbox_rate}
        with self.one_at_a_time("key check"):
            self._connect(sandbox=sandbox, address=address, api_key=api_key, mode=mode, api=api,
                          sandbox_rate=sandbox_rate)

    def _connect(self, *, sandbox: bool, address: str, api_key: str, mode: str, api: str,
                 sandbox_rate: int = 100) -> None:
        from ..pipeline import connect
        from ..platform.api import base_url_for

        self.disconnect()
        if sandbox:
            spoken = "content" if api == "content" else "guide"
            if self.sandbox is not None and (self.sandbox.config.api, self.sandbox.config.rate_limit) != \
                    (spoken, sandbox_rate):
                self.sandbox.stop()
                self.sandbox = None
            if self.sandbox is None:
                self.sandbox = self._start_sandbox(spoken, sandbox_rate)
            target = connect(sandbox=self.sandbox, state_dir=self.state_dir, stop=threading.Event(),
                             rate_limit=sandbox_rate, progress=NullProgress(), api=api)
            label = "the sandbox (a rehearsal)"
        else:
            address = address.strip()
            if not address:
                raise ImporterError("give the platform's domain (acme) or its address (https://…)")
            try:
                url = base_url_for(base_url=_as_address(address)) if "://" in address or "." in address or \
                    ":" in address else base_url_for(domain=address)
            except TargetError as exc:
                if "plain http://" in str(exc):
                    raise
                raise TargetError(f"'{address}' is not a domain or an address: type the part before "
                                  ".thoughtindustries.com (acme), or the whole address (https://learn.acme.com)") \
                    from None
            if not api_key.strip():
                raise ImporterError("give the API key")
            target = connect(base_url=url, api_key=api_key.strip(), state_dir=self.state_dir,
                             stop=threading.Event(), progress=NullProgress(), key_source="the key you typed", api=api)
            label = urlsplit(url).netloc + urlsplit(url).path  # acme.thoughtindustries.com, as a person says it
        self.target, self.target_label, self.rehearsal, self.mode = target, label, sandbox, mode

    def _start_sandbox(self, api: str, rate: int):
        """The page's sandbox keeps its courses in the state folder (one file per API), so a rehearsal
        survives the page's restart; it takes the port it had when it can, so the runs recorded against it
        (their undo, their journal) still name it."""
        from ..sandbox import Sandbox

        folder = private_folder(self.state_dir / "sandbox")
        port_file = folder / f"{api}.port"
        try:
            port = int(port_file.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            port = 0
        options = dict(api=api, rate_limit=rate, rate_window=60.0, data=folder / f"{api}.jsonl")
        try:
            sandbox = Sandbox(port=port, **options).start()
        except OSError:  # that port is taken now: another one
            sandbox = Sandbox(port=0, **options).start()
        port_file.write_text(str(sandbox.server.server_address[1]), encoding="ascii")
        return sandbox

    def export(self) -> Path:
        """What the connected target holds, written as the template in the state folder (`importer export`)."""
        from ..run.exporting import export_courses

        if self.target is None:
            raise ImporterError("choose the target first")
        folder = private_folder(self.state_dir / "exports")
        path = folder / f"{secrets.token_hex(4)}-courses.xlsx"
        with self.one_at_a_time("export"):
            return export_courses(self.target.importer, path).path

    def disconnect(self) -> None:
        if self.current and not self.current.finished:
            raise ImporterError("an import is running on this target; stop it first")
        self.drop_onboarding()
        if self.target is not None:
            self.target.close()
        self.target, self.plan = None, None

    def make_plan(self, upload: Upload) -> object:
        from ..pipeline import plan

        if self.target is None:
            raise ImporterError("choose the target first")
        with self.one_at_a_time("plan"):
            self.plan = plan(upload.validation, self.target, mode=self.mode)
            self.plan_upload = upload.id
        return self.plan

    @contextlib.contextmanager
    def one_at_a_time(self, what: str):
        """One plan, key check or undo preview at a time on the target, and none while an import runs:
        each reads the platform through the same pacer, and a second tab must not plan mid-import."""
        if self.current and not self.current.finished:
            raise ImporterError(f"an import is running on this target: wait for it to finish (or stop it) before "
                                f"the {what}")
        if not self._busy.acquire(blocking=False):
            raise ImporterError(f"the target is busy with another request of this page (a plan, a key check or an "
                                f"undo preview); the {what} was not started: try again when it is done")
        try:
            yield
        finally:
            self._busy.release()

    # --- the import ---

    def start_import(self, upload: Upload) -> Import:
        if self.current and not self.current.finished:
            raise ImporterError("an import is already running: one at a time")
        if self.plan is None or self.plan_upload != upload.id:
            raise ImporterError("plan first: nothing is sent before the plan is seen")
        from ..run.progress import RunLog

        importer = self.target.importer
        importer.settings.run_id = secrets.token_hex(6)  # each import of the page is a run of its own
        job = self._job(importer.settings.run_id, upload, "import")
        folder = self.runs_dir / job.run_id
        folder.mkdir(parents=True, exist_ok=True)
        self._keep_sent_file(job, upload, folder)
        importer.log = RunLog(folder / f"{Path(upload.name).stem}.log.jsonl")
        job.files["log"] = importer.log.path
        importer.progress = job.progress
        importer.stop.clear()
        planned, validation = self.plan, upload.validation
        return self._in_worker(job, lambda: self._apply(job, planned, validation),
                               after=lambda: self._after_import(job, importer))

    def _in_worker(self, job: Import, work, *, after=None) -> Import:
        """`work()` in a worker thread as `job`, the page's current run: a failure said in words (the CLI's rule:
        never a traceback), `after()` then, and the run recorded when it starts and when it ends."""
        def guarded():
            try:
                work()
            except Exception as exc:
                job.error = str(exc) if isinstance(exc, ImporterError) else f"unexpected failure: {type(exc).__name__}"
            finally:
                if after is not None:
                    after()
                job.finished_at = _now()
                job.finished = True
                self._save_record(job)

        job.thread = threading.Thread(target=guarded, name=job.kind, daemon=True)
        self.current = self.imports[job.run_id] = job
        self._save_record(job)
        job.thread.start()
        return job

    def _job(self, run_id: str, upload: Upload, kind: str) -> Import:
        return Import(run_id, upload.id, kind, started_at=_now(), file=upload.name, target=self.target.base_url,
                      target_label=self.target_label, rehearsal=self.rehearsal, mode=self.mode)

    def _keep_sent_file(self, job: Import, upload: Upload, folder: Path) -> None:
        """The file as it is sent (the person's fixes in it) and its map, kept with the run: Continue starts
        from them after any restart, when the upload itself may be gone."""
        from ..files.writing import Table, write_table

        sheet = upload.validation.sheet
        suffix = ".csv" if sheet.format == "csv" else ".xlsx"
        sent = folder / f"sent{suffix}"
        write_table(sent, Table(sheet.headers, [c for _, c in sheet.rows], sheet_name=sheet.sheet_name or "Courses"),
                    delimiter=sheet.delimiter or ",")
        job.files["sent"] = sent
        if upload.mapping_path is not None and Path(upload.mapping_path).is_file():
            job.files["map"] = Path(shutil.copyfile(upload.mapping_path, folder / Path(upload.mapping_path).name))

    # --- runs kept in the state folder: listed, continued, undone after any restart ---

    def _save_record(self, job: Import) -> None:
        """What the run is, in `runs/<id>/run.json`: written when it starts and when it ends, so that a page
        started again on this folder lists it (and, had it not ended, knows it was interrupted)."""
        import json

        from ..files.writing import atomic_write

        record = {"run_id": job.run_id, "kind": job.kind, "file": job.file, "upload_id": job.upload_id,
                  "target": job.target, "target_label": job.target_label, "rehearsal": job.rehearsal,
                  "mode": job.mode, "started": job.started_at, "finished": job.finished_at,
                  "running": not job.finished, "gone": job.gone, "error": job.error, "stop_reason": job.stop_reason,
                  "interrupted": job.interrupted, "totals": job.totals,
                  "files": {kind: str(path) for kind, path in job.files.items()}}
        folder = private_folder(self.runs_dir / job.run_id)
        try:
            atomic_write(folder / "run.json", lambda handle: json.dump(record, handle, indent=1), encoding="utf-8")
        except OSError:
            pass  # the run goes on; only its listing after a restart is lost

    def _load_runs(self) -> None:
        """The runs of earlier pages on this folder. One still marked running ended with its process."""
        import json

        for path in sorted(self.runs_dir.glob("*/run.json"), key=lambda p: p.stat().st_mtime):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                job = Import(str(record["run_id"]), str(record.get("upload_id") or ""), str(record["kind"]),
                             finished=True, error=record.get("error"), stop_reason=record.get("stop_reason"),
                             interrupted=bool(record.get("interrupted")), started_at=record.get("started") or "",
                             finished_at=record.get("finished") or "", file=record.get("file") or "",
                             target=record.get("target") or "", target_label=record.get("target_label") or "",
                             rehearsal=bool(record.get("rehearsal")), mode=record.get("mode") or "create",
                             gone=bool(record.get("gone") or record.get("running")), totals=record.get("totals") or {},
                             files={k: Path(v) for k, v in (record.get("files") or {}).items() if Path(v).exists()})
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if record.get("running"):
                job.stop_reason = ("the page's program stopped while this ran (it was closed, or the machine "
                                   "restarted): every course it created is on the platform and in its journal; "
                                   "Continue finishes the file without creating any twice")
                job.finished_at = _now()
                self._save_record(job)
            self.imports[job.run_id] = job

    def outcomes_of(self, job: Import) -> list:
        """A run's rows: in memory while the page that ran it lives, else read back from its results file."""
        if job.outcomes or "results" not in job.files or job.kind != "import":
            return job.outcomes
        from ..read.reading import read_sheet

        try:
            sheet = read_sheet(job.files["results"], "Results")
        except ImporterError:
            return []
        at = {h: i for i, h in enumerate(sheet.headers)}
        outcomes = []
        for _, cells in sheet.rows:
            values = {name: cells[i] for name, i in at.items() if i < len(cells)}
            outcomes.append(RowOutcome(int(values.get("source_row") or 0), str(values.get("status") or ""),
                                       values.get("course_id"), values.get("course_slug"), values.get("error_code"),
                                       values.get("error_message")))
        job.outcomes = outcomes
        return outcomes

    def continue_run(self, job: Import) -> Upload:
        """A new upload of the file an interrupted import sent (fixes and map included), checked: planned
        again against the platform, the courses created before are found there (and in the journal), so
        finishing it sends none of them twice."""
        if not job.can_continue:
            raise ImporterError("This run cannot be continued: it finished every row, or its file was not kept.")
        upload = self.add_upload(job.file or job.files["sent"].name, job.files["sent"])
        self.check(upload, job.files.get("map"))
        return upload

    def _apply(self, job: Import, planned, validation) -> None:
        from ..files.results import OutputPaths, write_run_files

        importer = self.target.importer
        report = importer.apply(validation, planned.plan)
        job.outcomes, job.stop_reason, job.interrupted = report.outcomes, report.stop_reason, report.interrupted
        folder = self.runs_dir / job.run_id
        stem = Path(self.upload(job.upload_id).name).stem
        suffix = ".csv" if validation.sheet.format == "csv" else ".xlsx"
        paths = OutputPaths(folder / f"{stem}.results.xlsx", folder / f"{stem}.failures{suffix}")
        facts = self._facts(job, report, validation)
        written = write_run_files(validation, report, paths, fallback_dir=folder, facts=facts)
        job.files["results"] = written.results
        if written.failures:
            job.files["failures"] = written.failures

    def _after_import(self, job: Import, importer) -> None:
        if importer.log is not None:
            importer.log.close()
            importer.log = None
        job.totals = {}
        for outcome in job.outcomes:
            job.totals[outcome.status] = job.totals.get(outcome.status, 0) + 1
        self.plan = None  # a plan is used once: the platform has changed since

    def _facts(self, job: Import, report, validation) -> dict:
        from .. import __version__

        facts = {"kind": "importer run results", "run_id": job.run_id, "target": self.target.base_url,
                 "api": self.target.api_label,
                 "rehearsal": "yes: the page's sandbox" if self.rehearsal else "no", "mode": self.mode,
                 "file": self.upload(job.upload_id).name, "started": job.started_at, "finished": _now(),
                 "outcome": ", ".join(f"{k} {v}" for k, v in report.counts().items() if v),
                 "importer_version": __version__, "from": "importer ui"}
        if validation.mapping is not None:
            facts.update(validation.mapping.facts())
        return facts

    def stop(self) -> None:
        if self.current and not self.current.finished and self.target is not None:
            self.target.importer.stop.set()

    def _record_of(self, job: Import, what: str):
        """The run a job's results file records, on the connected target (`undoing.read_run_record`,
        `check_target`); `what`: what the person wanted of it (undo, publish from)."""
        from ..run import undoing

        if self.target is None:
            raise ImporterError("connect to the target the run changed first")
        if "results" not in job.files:
            raise ImporterError(f"This run has no results to {what}.")
        record = undoing.read_run_record(job.files["results"])
        undoing.check_target(record, self.target.base_url)
        return record

    def undo_preview(self, job: Import) -> list:
        """What undoing a run would do (`undoing.plan_undo`), from the courses as they are now: the page's
        preview and the undo itself plan alike."""
        from ..run import undoing

        record = self._record_of(job, "undo")
        importer = self.target.importer
        with self.one_at_a_time("undo preview"):
            current = importer.read_courses(list(record.rows))
        journaled = {e.course_id for e in importer.journal.entries(self.target.base_url).values()
                     if e.status == "created"}
        return undoing.plan_undo(record, current, journaled=journaled, can_archive=importer.api.limits.can_archive)

    def start_undo(self, job: Import) -> Import:
        if self.current and not self.current.finished:
            raise ImporterError("an import is running: wait for it, or stop it")
        actions = self.undo_preview(job)
        importer = self.target.importer
        undo = Import(f"undo-{job.run_id}", job.upload_id, "undo", started_at=_now(), file=job.file,
                      target=self.target.base_url, target_label=self.target_label, rehearsal=self.rehearsal)
        importer.progress = undo.progress
        importer.stop.clear()

        def work():
            done, undo.interrupted = importer.undo(actions)
            undo.outcomes = [(a.row, a.course_id, a.kind, *done.get(a.course_id, (a.kind, a.message)))
                             for a in actions]

        return self._in_worker(undo, work)

    # --- onboarding: the checked file as a template, made once per client ---

    def plan_onboarding(self, upload: Upload, clients: Path, clients_name: str) -> object:
        """Plan the checked file once per client of the clients sheet (`importer onboard`), on the chosen
        target and on the instances the sheet names (their keys from the environment variables it names)."""
        from ..pipeline import onboard

        if self.target is None:
            raise ImporterError("choose the target first")
        if upload.validation.mapping is not None:
            raise ImporterError("Onboarding makes a set of courses in the template's columns once per client; this "
                                "file was read through a map. Import it first, or give a sheet in the template's "
                                "columns")
        with self.one_at_a_time("onboarding plan"):
            self.drop_onboarding()
            try:
                self.onboarding = onboard(upload.validation.sheet, clients, target=self.target, mode=self.mode)
            except ImporterError as exc:  # named as the person named the file, never by our storage path
                exc.args = (str(exc).replace(str(clients), clients_name).replace(clients.name, clients_name),)
                raise
            self.onboarding_upload, self.onboarding_clients = upload.id, clients_name
        return self.onboarding

    def drop_onboarding(self) -> None:
        if self.onboarding is not None:
            self.onboarding.close()  # the instances of their own it opened; the chosen target stays
        self.onboarding, self.onboarding_upload = None, None

    def start_onboarding(self, upload: Upload) -> Import:
        """Apply the onboarding's plan in a worker thread: each client's results in the run's folder, each
        client on the chosen target also a run of its own on the page (its results, failures and undo),
        and the roll-up workbook."""
        from .. import __version__
        from ..run import onboarding as clients_of

        if self.current and not self.current.finished:
            raise ImporterError("an import is already running: one at a time")
        if self.onboarding is None or self.onboarding_upload != upload.id:
            raise ImporterError("plan the onboarding first: nothing is sent before the plan is seen")
        plan, importer = self.onboarding, self.target.importer
        job = self._job(f"onboard-{secrets.token_hex(6)}", upload, "onboard")
        folder = private_folder(self.runs_dir / job.run_id)
        template = Path(upload.name)
        importer.progress = job.progress
        importer.stop.clear()
        rehearsal, shared = self.rehearsal, self.target.base_url

        def done(run) -> None:
            facts = clients_of.client_facts(
                run, mode=self.mode, rehearsal="yes: the page's sandbox" if rehearsal and not run.client.own_target
                else "no", template=upload.name, clients=self.onboarding_clients, version=__version__)
            files = clients_of.write_client_files(run, folder, template, facts)
            written[run.client.key] = files
            if run.target == shared:  # a run of its own on the page: results, failures, undo
                client_job = Import(f"{job.run_id}-{run.client.key}", upload.id, "import", finished=True,
                                    outcomes=run.report.outcomes, started_at=run.started, finished_at=run.finished,
                                    stop_reason=run.report.stop_reason, interrupted=run.report.interrupted,
                                    file=f"{upload.name} for {run.client.name}", target=shared,
                                    target_label=self.target_label, rehearsal=rehearsal, mode=self.mode,
                                    totals={k: v for k, v in run.result_counts().items() if v})
                client_job.files["results"] = files.results
                if files.failures:
                    client_job.files["failures"] = files.failures
                self.imports[client_job.run_id] = client_job
                self._save_record(client_job)
            job.files[f"results-{run.client.key}"] = files.results

        written: dict = {}

        def work():
            plan.apply(on_client_done=done, run_id=job.run_id)
            rollup = clients_of.rollup_path(folder, template)
            clients_of.write_rollup(rollup, plan.runs, written, {
                "kind": clients_of.ROLLUP_KIND, "run_id": job.run_id, "template": upload.name,
                "clients": self.onboarding_clients, "mode": self.mode})
            job.files["rollup"] = rollup
            job.outcomes = [_client_line(run, shared, job.run_id) for run in plan.runs]
            job.interrupted = importer.stop.is_set()

        return self._in_worker(job, work, after=self.drop_onboarding)

    def publish_preview(self, job: Import) -> tuple[object, list]:
        """What publishing the drafts of a run would do: (its record, the `publishing` actions)."""
        from ..run import publishing

        record = self._record_of(job, "publish from")
        chosen, unknown = publishing.chosen_courses(record, None)
        with self.one_at_a_time("publish preview"):
            current = self.target.importer.read_courses(list(chosen)) if chosen else {}
        return record, publishing.plan_publish(chosen, current, unknown)

    def start_publish(self, job: Import) -> Import:
        """Publish the drafts a run created, in a worker thread; what it did is written as a results file
        the page's undo takes back to draft (`importer publish`)."""
        from .. import __version__
        from ..run import publishing

        if self.current and not self.current.finished:
            raise ImporterError("an import is running: wait for it, or stop it")
        record, actions = self.publish_preview(job)
        if not any(a.kind == publishing.PUBLISH for a in actions):
            raise ImporterError("Nothing to publish: every course this run created is published already, archived "
                                "or gone.")
        importer = self.target.importer
        importer.settings.run_id = f"publish-{secrets.token_hex(6)}"
        published = Import(importer.settings.run_id, job.upload_id, "publish", started_at=_now(), file=job.file,
                           target=self.target.base_url, target_label=self.target_label, rehearsal=self.rehearsal)
        importer.progress = published.progress
        importer.stop.clear()
        folder = private_folder(self.runs_dir / published.run_id)

        def work():
            done, published.interrupted = publishing.publish(importer, actions)
            published.outcomes = [(a.row, a.course_id, a.kind, *_published(a, done)) for a in actions]
            path = folder / f"{Path(job.file or 'courses').stem}.publish.xlsx"
            publishing.write_publish_results(path, record, actions, done, publishing.publish_facts(
                record, self.target.base_url, published.run_id, published.started_at, self.target.api_label,
                __version__))
            published.files["results"] = path

        return self._in_worker(published, work)

    def recent_runs(self, limit: int = 20) -> list[Import]:
        """The runs of this state folder (this page's and earlier pages'), newest first."""
        return sorted(self.imports.values(), key=lambda j: j.started_at, reverse=True)[:limit]

    def close(self) -> None:
        self.stop()
        if self.current and self.current.thread:
            self.current.thread.join(timeout=60)  # the request in flight, then the files
        if self.target is not None:
            self.target.close()
        if self.sandbox is not None:
            self.sandbox.stop()


def _client_line(run, shared: str, run_id: str) -> dict:
    """One client of an onboarding as its results page lists it."""
    counts = run.result_counts()
    return {"client": run.client.name, "key": run.client.key, "target": run.target,
            "counts": ", ".join(f"{k} {v}" for k, v in counts.items() if v) or (run.error or "not applied"),
            "ok": bool(run.report and run.report.all_ok and not run.error),
            "page": f"{run_id}-{run.client.key}" if run.target == shared and run.report else None}


def _published(action, done: dict) -> tuple[str, str]:
    """(status, message) of one course of a publish, as the page's results table shows it."""
    outcome = done.get(action.course_id)
    if outcome is None:
        return action.kind, action.message
    if outcome.status == "updated":
        return "published", "published"
    return outcome.status, outcome.error_message or ""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def private_folder(folder: Path) -> Path:
    """A folder of the state that is this user's alone: made with mode 0700 (on POSIX; on Windows a
    folder under the user's own profile is private already). A symbolic link, or a folder another
    user owns, is refused: its files could be read, or swapped, by someone else."""
    from ..core.system import foreign_owner, make_private

    if folder.is_symlink():
        raise ImporterError(f"{folder} is a symbolic link; the page keeps its files only in a real folder of "
                            "yours: choose another --state-dir")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if foreign_owner(folder):
        raise ImporterError(f"{folder} belongs to another user; the page keeps its files only in a folder of "
                            "yours: choose another --state-dir")
    make_private(folder)
    return folder


def remove_old_uploads(folder: Path, hours: float = UPLOADS_KEPT_HOURS) -> None:
    """Uploads given more than `hours` ago: removed (their runs keep their own files)."""
    cutoff = time.time() - hours * 3600
    for upload in folder.iterdir() if folder.is_dir() else ():
        try:
            if upload.is_dir() and not upload.is_symlink() and upload.stat().st_mtime < cutoff:
                shutil.rmtree(upload, ignore_errors=True)
        except OSError:
            continue


def _as_address(typed: str) -> str:
    """An address typed without its scheme (`127.0.0.1:18765`, `learn.acme.com`): http:// for this
    machine (the sandbox), https:// for anything else, as `--base-url` would need it written."""
    if "://" in typed:
        return typed
    from ..platform.api import is_loopback

    host = typed.split("/", 1)[0].rsplit(":", 1)[0] if not typed.startswith("[") else typed.split("]")[0] + "]"
    return ("http://" if is_loopback(host) else "https://") + typed
