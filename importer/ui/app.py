"""`importer ui`: the whole migration in a local web page, a thin shell over the library.

One route a step, one template a page (`templates/`), rendered on the server; a few lines of
script (`static/page.js`) poll the import's progress. The steps: file -> columns (a map, for
another system's export) -> check (fix cells in place) -> target -> plan -> import -> results.
"""

from __future__ import annotations

import math
import re
import secrets
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..core import fields
from ..core.issues import column_letter
from ..errors import ImporterError, MissingColumns
from .guard import Guard
from .session import (
    CONFIRM_ABOVE,
    MAX_UPLOAD_BYTES,
    PAGE_ROWS,
    Session,
    duration_in_words,
    local_time,
)
from .words import action_words, status_words, value_text

HERE = Path(__file__).resolve().parent
MODES = ("create", "sync", "update")
API_CHOICES = ("auto", "guide", "content")


def create_app(session: Session, *, token: str | None = None, port_of=lambda: 8766, base: str | None = None) -> Guard:
    """The page's ASGI app behind its guard. `token`: a launch token, good for one opening (more come from
    `Guard.new_launch_token`); `base`: the page's secret path (made here when not given)."""
    base = base or f"/s/{secrets.token_urlsafe(24)}"
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    templates.globals.update(column_letter=column_letter, label=_label, fields=fields, modes=MODES, base=base)
    templates.filters.update(local=local_time, in_words=duration_in_words, status_words=status_words,
                             action_words=action_words, value_text=value_text)

    def page(name: str, status: int = 200, **values) -> HTMLResponse:
        values.setdefault("session", session)
        return HTMLResponse(templates.get_template(name).render(**values), status_code=status)

    def go(path: str) -> RedirectResponse:
        """To another step of the page, under its secret path."""
        return RedirectResponse(base + path, status_code=303)

    def problem(message: str, status: int = 400, back: str = "/") -> HTMLResponse:
        return page("problem.html", status=status, message=message, back=base + back)

    def gone() -> HTMLResponse:
        """An upload this page no longer holds (it was started again since): say so, in words."""
        return problem("That file is not here any more; give it again.", 404)

    def upload_of(request):
        try:
            return session.upload(request.path_params["upload"])
        except KeyError:
            return None

    # --- 1. file ---

    def file_page(error: str | None = None, status: int = 200) -> HTMLResponse:
        return page("file.html", status=status, runs=session.recent_runs(), maps=session.saved_maps(),
                    shipped=session.shipped_maps(), error=error)

    async def home(request):
        return file_page()

    async def template_file(request):
        from ..files.template import write_template

        path = session.state_dir / "courses-template.xlsx"
        if path.is_symlink():  # never serve what a link points at
            path.unlink()
        if not path.exists():
            await run_in_threadpool(write_template, path)
        return FileResponse(path, filename="courses-template.xlsx")

    async def received(request, missing: str):
        """The file a form sends (its `file` part), streamed into the state folder: (its `Upload`, the form's
        other fields). Nothing is kept of a refused or empty one (`missing` says what to give instead);
        raises `UploadRefused` or `ImporterError`."""
        from .receiving import receive_upload

        opened: list = []

        def destination(filename: str):
            given, handle = session.open_upload(filename)
            opened.append(given)
            return handle

        try:
            answer = await receive_upload(request, destination, MAX_UPLOAD_BYTES)
            if not opened or not answer.size:
                raise ImporterError(missing)
        except BaseException:
            for given in opened:
                session.drop_upload(given)
            raise
        return opened[0], answer.fields

    async def receive_upload(request):
        from .receiving import UploadRefused

        try:
            given, form = await received(request, "Choose a spreadsheet (.xlsx or .csv) first: that file is empty, "
                                                  "or none was sent.")
        except (UploadRefused, ImporterError) as exc:
            refused = file_page(str(exc), getattr(exc, "status", 400))
            refused.headers["Connection"] = "close"  # the rest of a refused body is not waited for
            return refused
        upload = session.keep_upload(given)
        saved = next((p for p in session.saved_maps() + session.shipped_maps() if p.name == form.get("map", "")),
                     None)
        try:
            await run_in_threadpool(session.check, upload, saved)
        except MissingColumns:  # another system's export: its columns are chosen next
            return go(f"/columns/{upload.id}")
        except ImporterError as exc:  # said on the file step, where the person gives another file
            return file_page(str(exc), 400)
        return go(f"/check/{upload.id}")

    async def export(request):
        """Start from what the platform holds: the target chosen here, its courses as the template."""
        form = await request.form()
        api = str(form.get("api", "auto"))
        try:
            await run_in_threadpool(lambda: session.connect(
                sandbox=form.get("where") != "platform", address=str(form.get("address", "")),
                api_key=str(form.get("api_key", "")), api=api if api in API_CHOICES else "auto"))
            path = await run_in_threadpool(session.export)
        except ImporterError as exc:
            return problem(str(exc))
        host = (session.target.base_url.split("://", 1)[-1].split("/", 1)[0].replace(":", "-")
                if not session.rehearsal else "sandbox")
        return FileResponse(path, filename=f"{host}-courses{path.suffix}")

    # --- 2. columns ---

    def columns_page(upload, sheet, form=None, preview=None, status: int = 200):
        from ..check.headers import suggest_columns

        form = dict(form if form is not None else (upload.map_form or {}))
        if form:  # what the person chose before (a preview, or back from the check): kept
            chosen = {}
            for spec in fields.FIELDS:
                try:
                    chosen[spec.name] = int(form.get(f"column-{spec.name}", ""))
                except ValueError:
                    continue
        else:
            chosen = suggest_columns(sheet.headers)
        samples = {i: _samples(sheet, i) for i in range(len(sheet.headers))}
        distinct = {i: _distinct(sheet, i) for i in range(len(sheet.headers))}
        ordered = sorted(fields.FIELDS, key=lambda f: not f.required)  # the required fields on top
        return page("columns.html", status=status, upload=upload, headers=sheet.headers, chosen=chosen,
                    samples=samples, distinct=distinct, field_list=ordered, enum_values=_enum_values(),
                    guesses=_guesses(sheet.headers, distinct), form=form, preview=preview,
                    shipped=session.shipped_maps())

    async def columns(request):
        from ..read.reading import read_sheet

        upload = upload_of(request)
        if upload is None:
            return gone()
        try:
            sheet = await run_in_threadpool(read_sheet, upload.path)
        except ImporterError as exc:
            return problem(str(exc).replace(str(upload.path), upload.name))
        return columns_page(upload, sheet)

    async def preview_columns(request):
        """The first rows' course fields as they will be sent, for the choices as they stand (nothing kept)."""
        from ..read.reading import read_sheet

        upload = upload_of(request)
        if upload is None:
            return gone()
        form = await request.form(max_fields=200_000, max_files=0)
        try:
            sheet = await run_in_threadpool(read_sheet, upload.path)
            preview = await run_in_threadpool(session.preview_map, upload, sheet, map_text(form, sheet.headers))
        except ImporterError as exc:
            preview = {"error": str(exc).replace(str(upload.path), upload.name), "rows": []}
        if "text/html-fragment" in request.headers.get("accept", ""):
            return HTMLResponse(templates.get_template("map_preview.html").render(preview=preview, base=base))
        return columns_page(upload, sheet, form=form, preview=preview)

    async def use_map(request):
        """A saved map, or one that comes with the importer, for this export: checked at once."""
        upload = upload_of(request)
        if upload is None:
            return gone()
        form = await request.form()
        chosen = next((p for p in session.saved_maps() + session.shipped_maps() if p.name == form.get("map")), None)
        if chosen is None:
            return problem("Choose one of the maps listed.", back=f"/columns/{upload.id}")
        try:
            await run_in_threadpool(session.check, upload, chosen)
        except ImporterError as exc:
            return problem(f"{exc} (the map {chosen.name} may be for another system's export: choose the columns "
                           "instead)", back=f"/columns/{upload.id}")
        return go(f"/check/{upload.id}")

    async def save_columns(request):
        from ..read.reading import read_sheet

        upload = upload_of(request)
        if upload is None:
            return gone()
        # One field per distinct value of every enumeration a column could hold: a wide export has
        # thousands, more than Starlette's default 1,000 (which answered a bare "Too many fields").
        form = await request.form(max_fields=200_000, max_files=0)
        upload.map_form = {k: v for k, v in form.items()}
        try:
            sheet = await run_in_threadpool(read_sheet, upload.path)
            text = map_text(form, sheet.headers)
            path = session.save_map(form.get("map_name") or upload.name, text)
            await run_in_threadpool(session.check, upload, path)
        except ImporterError as exc:
            return columns_page(upload, sheet, form=form, preview={"error": str(exc), "rows": []}, status=400)
        return go(f"/check/{upload.id}")

    # --- 3. check ---

    async def check(request):
        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        return page("check.html", **_grid(upload, request.query_params))

    def grid_row_html(upload, row, show: str, number: int) -> str:
        context = _grid(upload, {"show": show, "page": str(number)}, rows=[row])
        return templates.get_template("grid_row.html").render(r=row, session=session, **context)

    async def fix(request):
        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        form = await request.form()
        try:
            row, column = int(form["row"]), int(form["column"])
            touched = await run_in_threadpool(session.fix_cell, upload, row, column, str(form.get("value", "")))
        except (KeyError, ValueError):
            return problem("That cell is not in the file.", back=f"/check/{upload.id}")
        show, number = str(form.get("show", "problems")), _page_number(form.get("page"))
        if "application/json" in request.headers.get("accept", ""):
            # The page's script: the rows whose colours may have changed, and the counts, replaced in place.
            result = upload.validation
            by_row = {r.row: r for r in result.rows}
            return JSONResponse({
                "rows": {str(n): grid_row_html(upload, by_row[n], show, number) for n in sorted(touched)},
                "counts": {"valid": len(result.valid_rows), "invalid": len(result.invalid_rows),
                           "warnings": row_warnings(result), "fixes": upload.fixes}})
        return go(f"/check/{upload.id}?show={show}&page={number}#row-{row}")

    async def replace(request):
        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        form = await request.form()
        try:
            column = int(form["column"])
            if not 0 <= column < len(upload.validation.sheet.headers):
                raise ValueError(column)
        except (KeyError, ValueError):
            return problem("Choose a column of the file.", back=f"/check/{upload.id}")
        old, new = str(form.get("old", "")), str(form.get("new", ""))
        count = len(await run_in_threadpool(session.matching_cells, upload, column, old))
        if str(form.get("confirm", "")).strip() != str(count) or not count:
            # The count first: nothing changes until the person has seen how many cells will.
            preview = {"column": column, "old": old, "new": new, "count": count}
            return page("check.html", **_grid(upload, {"show": "all", "column": str(column)}, preview=preview))
        changed = await run_in_threadpool(session.replace_in_column, upload, column, old, new)
        header = upload.validation.sheet.headers[column] or f"column {column_letter(column)}"
        note = f"Replaced {changed} cell{'s' if changed != 1 else ''} of {header}: '{old}' is now '{new}'."
        return page("check.html", **_grid(upload, {"show": "problems"}, note=note))

    async def fixed_file(request):
        from ..files.writing import Table, write_table

        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        result = upload.validation
        suffix = ".csv" if result.sheet.format == "csv" else ".xlsx"
        path = upload.path.with_name(f"fixed{suffix}")
        table = Table(result.sheet.headers, [c for _, c in result.sheet.rows], sheet_name=result.sheet.sheet_name
                      or "Courses")
        await run_in_threadpool(lambda: write_table(path, table, delimiter=result.sheet.delimiter or ","))
        return FileResponse(path, filename=f"{Path(upload.name).stem}.fixed{suffix}")

    async def error_report(request):
        from ..files.reporting import write_error_report

        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        path = upload.path.with_name("errors.xlsx")
        await run_in_threadpool(write_error_report, upload.validation, path)
        return FileResponse(path, filename=f"{Path(upload.name).stem}.errors.xlsx")

    # --- 4. target ---

    async def target(request):
        upload = upload_of(request)
        if upload is None:
            return gone()
        return page("target.html", upload=upload, last=_last_target(session, upload), error=None)

    async def choose_target(request):
        upload = upload_of(request)
        if upload is None:
            return gone()
        form = await request.form()
        mode = form.get("mode", "create")
        try:
            api = str(form.get("api", "auto"))
            rate = _sandbox_rate(form.get("sandbox_rate"))
            await run_in_threadpool(lambda: session.connect(
                sandbox=form.get("where") != "platform", address=str(form.get("address", "")),
                api_key=str(form.get("api_key", "")), mode=mode if mode in MODES else "create",
                api=api if api in API_CHOICES else "auto", sandbox_rate=rate))
        except ImporterError as exc:  # said on the step where it happened, what was typed kept (never the key)
            return page("target.html", status=400, upload=upload, last=_last_target(session, upload), error=str(exc))
        return go(f"/plan/{upload.id}")

    # --- 5. plan ---

    async def plan(request):
        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        if session.target is None:
            return go(f"/target/{upload.id}")
        paging = "page" in request.query_params or "action" in request.query_params
        try:
            if paging and session.plan is not None and session.plan_upload == upload.id:
                planned = session.plan  # another page of the plan just made: the platform is not read again
            else:
                planned = await run_in_threadpool(session.make_plan, upload)
        except ImporterError as exc:
            return problem(str(exc), back=f"/target/{upload.id}")
        writes = planned.plan.writes
        minutes = writes / max(session.target.importer.pacer.rate_per_minute, 1)
        display = upload.validation.columns.display
        why = {r.row: "; ".join(f"{display(i.column)}: {i.message}" for i in r.issues if i.is_error)
               for r in upload.validation.invalid_rows}
        action = request.query_params.get("action", "")
        wanted = [a for a in planned.plan.actions if not action or a.kind == action]
        pages = max(1, math.ceil(len(wanted) / PLAN_ROWS))
        number = min(_page_number(request.query_params.get("page")), pages)
        return page("plan.html", upload=upload, planned=planned, writes=writes, minutes=minutes,
                    confirm_above=CONFIRM_ABOVE, why=why, titles=_titles(upload.validation),
                    actions=wanted[(number - 1) * PLAN_ROWS: number * PLAN_ROWS], action=action, page_number=number,
                    pages=pages, shown_count=len(wanted), kinds=_counted(a.kind for a in planned.plan.actions),
                    headline=_plan_headline(planned.plan), duration=duration_in_words(minutes * 60))

    async def start_import(request):
        upload = upload_of(request)
        if upload is None:
            return gone()
        form = await request.form()
        if session.plan is not None and not _confirmed(form, session.plan.plan.writes):
            return problem(f"Type {session.plan.plan.writes} to confirm a change this large.",
                           back=f"/plan/{upload.id}")
        try:
            job = session.start_import(upload)
        except ImporterError as exc:
            return problem(str(exc), back=f"/plan/{upload.id}")
        return go(f"/run/{job.run_id}")

    # --- 5b. onboarding: the checked file made once per client ---

    async def receive_clients(request):
        from .receiving import UploadRefused

        upload = upload_of(request)
        if upload is None or upload.validation is None:
            return gone()
        try:
            clients, _ = await received(request, "Choose the clients sheet (.xlsx or .csv) first: one row per client.")
        except (UploadRefused, ImporterError) as exc:
            return problem(str(exc), getattr(exc, "status", 400), back=f"/plan/{upload.id}")
        try:
            await run_in_threadpool(session.plan_onboarding, upload, clients.path, clients.name)
        except ImporterError as exc:
            return problem(str(exc), back=f"/plan/{upload.id}")
        finally:
            session.drop_upload(clients)  # read whole by the plan: nothing of it is kept
        return go(f"/onboard/{upload.id}")

    async def onboard_plan(request):
        upload = upload_of(request)
        if upload is None:
            return gone()
        if session.onboarding is None or session.onboarding_upload != upload.id:
            return go(f"/plan/{upload.id}")
        onboarding = session.onboarding
        return page("onboard.html", upload=upload, table=onboarding.table(), writes=onboarding.writes,
                    confirm_above=CONFIRM_ABOVE, clients_name=session.onboarding_clients)

    async def start_onboarding(request):
        upload = upload_of(request)
        if upload is None:
            return gone()
        form = await request.form()
        writes = session.onboarding.writes if session.onboarding is not None else 0
        if not _confirmed(form, writes):
            return problem(f"Type {writes} to confirm a change this large.", back=f"/onboard/{upload.id}")
        try:
            job = session.start_onboarding(upload)
        except ImporterError as exc:
            return problem(str(exc), back=f"/plan/{upload.id}")
        return go(f"/run/{job.run_id}")

    # --- 6. import, 7. results ---

    def job_of(request):
        return session.imports.get(request.path_params["run"])

    async def run_page(request):
        job = job_of(request)
        if job is None:
            return problem("No such run in this page's memory.", 404)
        outcomes = await run_in_threadpool(session.outcomes_of, job)
        totals: dict[str, int] = {}
        for outcome in outcomes if job.kind == "import" else ():
            totals[outcome.status] = totals.get(outcome.status, 0) + 1
        status = request.query_params.get("status", "")
        wanted = [o for o in outcomes if not status or getattr(o, "status", None) == status] \
            if job.kind == "import" else outcomes
        pages = max(1, math.ceil(len(wanted) / PLAN_ROWS))
        number = min(_page_number(request.query_params.get("page")), pages)
        titles = _titles(session.upload(job.upload_id).validation) if job.upload_id in session.uploads else {}
        return page("run.html", job=job, progress=job.progress.snapshot(), rows=wanted[(number - 1) * PLAN_ROWS:
                                                                                      number * PLAN_ROWS],
                    totals=totals or job.totals, outcomes=outcomes, chosen=status, page_number=number, pages=pages,
                    shown_count=len(wanted), titles=titles)

    async def continue_run(request):
        job = job_of(request)
        if job is None:
            return problem("No such run.", 404)
        try:
            upload = await run_in_threadpool(session.continue_run, job)
        except ImporterError as exc:
            return problem(str(exc), back=f"/run/{job.run_id}")
        upload.continues = job
        if session.target is not None and (session.target.base_url == job.target or
                                           (job.rehearsal and session.rehearsal)):
            return go(f"/plan/{upload.id}")
        return go(f"/target/{upload.id}")

    async def run_status(request):
        job = job_of(request)
        if job is None:
            return JSONResponse({"error": "no such run"}, status_code=404)
        return JSONResponse({**job.progress.snapshot(), "finished": job.finished, "error": job.error,
                             "stop_reason": job.stop_reason, "interrupted": job.interrupted,
                             "stopping": bool(session.target and session.target.importer.stop.is_set())})

    async def stop(request):
        job = job_of(request)
        if job is None:
            return problem("No such run.", 404)
        session.stop()
        return go(f"/run/{job.run_id}")

    async def run_file(request):
        job = job_of(request)
        path = job.files.get(request.path_params["kind"]) if job else None
        if path is None or not Path(path).exists():
            return problem("That file was not written.", 404)
        return FileResponse(path, filename=Path(path).name)

    async def fix_failures(request):
        job = job_of(request)
        if job is None or "failures" not in job.files:
            return problem("This run has no failures file.", 404)
        source = session.upload(job.upload_id)
        path = Path(job.files["failures"])
        try:
            upload = session.add_upload(f"{Path(source.name).stem}.failures{path.suffix}", path)
            await run_in_threadpool(session.check, upload, source.mapping_path)
        except ImporterError as exc:
            return problem(str(exc))
        return go(f"/check/{upload.id}")

    def connect_first(job, then: str):
        """A run of an earlier page (or of another target) is undone or published on its own target: the page
        asks to connect to it here, then goes on (`then`), instead of a dead end."""
        if session.target is not None and (session.target.base_url == job.target or
                                           (job.rehearsal and session.rehearsal)):
            return None
        last = {"where": "sandbox" if job.rehearsal else "platform", "address": "" if job.rehearsal else job.target,
                "api": "auto", "mode": session.mode, "sandbox_rate": session.last_target.get("sandbox_rate", 100)}
        return page("connect.html", job=job, last=last, then=then, error=None)

    async def connect_for_run(request):
        job = job_of(request)
        if job is None:
            return problem("No such run.", 404)
        form = await request.form()
        then = "publish" if form.get("then") == "publish" else "undo"
        try:
            api = str(form.get("api", "auto"))
            await run_in_threadpool(lambda: session.connect(
                sandbox=form.get("where") != "platform", address=str(form.get("address", "")),
                api_key=str(form.get("api_key", "")), mode=session.mode, api=api if api in API_CHOICES else "auto",
                sandbox_rate=_sandbox_rate(form.get("sandbox_rate"))))
        except ImporterError as exc:
            return page("connect.html", status=400, job=job, last=dict(session.last_target), then=then,
                        error=str(exc))
        return go(f"/run/{job.run_id}/{then}")

    async def undo_plan(request):
        from ..run import undoing

        job = job_of(request)
        if job is None or "results" not in job.files:
            return problem("This run has no results to undo.", 404)
        asked = connect_first(job, "undo")
        if asked is not None:
            return asked
        try:
            actions = await run_in_threadpool(session.undo_preview, job)
        except ImporterError as exc:
            return problem(str(exc), back=f"/run/{job.run_id}")
        return page("undo.html", job=job, actions=actions, summary=undoing.summary(actions))

    async def undo(request):
        job = job_of(request)
        if job is None:
            return problem("No such run.", 404)
        try:
            undo_job = await run_in_threadpool(session.start_undo, job)
        except ImporterError as exc:
            return problem(str(exc), back=f"/run/{job.run_id}")
        return go(f"/run/{undo_job.run_id}")

    async def publish_plan(request):
        from ..run import publishing

        job = job_of(request)
        if job is None or "results" not in job.files:
            return problem("This run has no results to publish from.", 404)
        asked = connect_first(job, "publish")
        if asked is not None:
            return asked
        try:
            _, actions = await run_in_threadpool(session.publish_preview, job)
        except ImporterError as exc:
            return problem(str(exc), back=f"/run/{job.run_id}")
        return page("publish.html", job=job, actions=actions, summary=publishing.summary(actions),
                    to_publish=sum(1 for a in actions if a.kind == publishing.PUBLISH))

    async def publish(request):
        job = job_of(request)
        if job is None:
            return problem("No such run.", 404)
        try:
            published = await run_in_threadpool(session.start_publish, job)
        except ImporterError as exc:
            return problem(str(exc), back=f"/run/{job.run_id}")
        return go(f"/run/{published.run_id}")

    routes = [
        Route("/", home), Route("/template", template_file), Route("/upload", receive_upload, methods=["POST"]),
        Route("/export", export, methods=["POST"]),
        Route("/columns/{upload}", columns), Route("/columns/{upload}", save_columns, methods=["POST"]),
        Route("/columns/{upload}/preview", preview_columns, methods=["POST"]),
        Route("/columns/{upload}/map", use_map, methods=["POST"]),
        Route("/check/{upload}", check), Route("/check/{upload}/cell", fix, methods=["POST"]),
        Route("/check/{upload}/replace", replace, methods=["POST"]),
        Route("/check/{upload}/fixed", fixed_file), Route("/check/{upload}/report", error_report),
        Route("/target/{upload}", target), Route("/target/{upload}", choose_target, methods=["POST"]),
        Route("/plan/{upload}", plan), Route("/import/{upload}", start_import, methods=["POST"]),
        Route("/onboard/{upload}", receive_clients, methods=["POST"]), Route("/onboard/{upload}", onboard_plan),
        Route("/onboard/{upload}/start", start_onboarding, methods=["POST"]),
        Route("/run/{run}", run_page), Route("/run/{run}/continue", continue_run, methods=["POST"]),
        Route("/run/{run}/status", run_status), Route("/run/{run}/connect", connect_for_run, methods=["POST"]),
        Route("/run/{run}/stop", stop, methods=["POST"]), Route("/run/{run}/file/{kind}", run_file),
        Route("/run/{run}/fix", fix_failures, methods=["POST"]), Route("/run/{run}/undo", undo_plan),
        Route("/run/{run}/undo", undo, methods=["POST"]), Route("/run/{run}/publish", publish_plan),
        Route("/run/{run}/publish", publish, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _in_words})
    app.state.session = session
    return Guard(app, port_of=port_of, base=base, launch_tokens=[token] if token else [])


async def _in_words(request, exc):
    """The last line of defence: a sentence, never a traceback."""
    return Response(f"Something went wrong: {type(exc).__name__}. The page is still running; go back and try "
                    "again.", status_code=500, media_type="text/plain")


# --- helpers of the templates --------------------------------------------------------------------


def _confirmed(form, writes: int) -> bool:
    """A change of more than CONFIRM_ABOVE courses goes ahead only with its number typed back."""
    return writes <= CONFIRM_ABOVE or str(form.get("confirm", "")).strip() == str(writes)


def _sandbox_rate(text) -> int:
    """The page's sandbox's rate limit, requests a minute: 100 (the platform's) unless a person sets it."""
    try:
        value = int(str(text or "100").strip())
    except ValueError:
        raise ImporterError("the sandbox's rate must be a whole number of requests a minute, e.g. 100") from None
    if not 1 <= value <= 100_000:
        raise ImporterError("the sandbox's rate must be between 1 and 100,000 requests a minute")
    return value


def _last_target(session, upload) -> dict:
    """What the target step shows chosen: what it was last given; for a run continued, that run's target."""
    last = dict(session.last_target)
    continued = getattr(upload, "continues", None)
    if continued is not None:
        last.update(mode=continued.mode, where="sandbox" if continued.rehearsal else "platform",
                    address="" if continued.rehearsal else continued.target)
    return last


def _column_index(text, headers: list[str], label: str) -> int:
    """A column chosen on the mapping screen, as an index of the file's columns: anything else (a
    form not sent by the page) is a sentence, never the last column by a negative index."""
    text = str(text)
    if not text.isdigit() or int(text) >= len(headers):
        raise ImporterError(f"The column chosen for {label} is not one of this file's columns; choose it again.")
    return int(text)


def _page_number(text) -> int:
    """`?page=` as a number of 1 or more; anything else is the first page."""
    try:
        return max(1, int(text or 1))
    except ValueError:
        return 1


def _label(name: str | None) -> str:
    return fields.FIELDS_BY_NAME[name].label if name in fields.FIELDS_BY_NAME else (name or "")


PLAN_ROWS = 200  # rows of a plan or of results on one page; the others a click away


def _titles(validation) -> dict[int, str]:
    """Each row's title, as the person typed it, to show beside an id."""
    if validation is None:
        return {}
    index = validation.columns.index_of("title")
    if validation.mapping is not None:
        return {r.row: str(r.payload.get("title") or "") for r in validation.rows}
    if index is None:
        return {}
    return {number: "" if cells[index] is None else str(cells[index]) for number, cells in validation.sheet.rows
            if index < len(cells)}


def _counted(items) -> dict[str, int]:
    counted: dict[str, int] = {}
    for item in items:
        counted[item] = counted.get(item, 0) + 1
    return counted


def _plan_headline(plan) -> str:
    """The plan in one sentence: what will be sent, and what needs the person first."""
    def n(count: int, one: str, many: str) -> str:
        return f"{count:,} {one if count == 1 else many}"

    parts = []
    if plan.count("create"):
        parts.append(f"{n(plan.count('create'), 'course', 'courses')} will be created")
    if plan.count("update"):
        parts.append(f"{n(plan.count('update'), 'course', 'courses')} will be updated")
    if not parts:
        parts.append("nothing will be sent")
    waiting = plan.count("invalid") + plan.count("conflict")
    sentence = "; ".join(parts)
    if waiting:
        sentence += (f"; {n(waiting, 'row needs', 'rows need')} you (errors or conflicts) and will not be sent — "
                     "fix them first?")
    else:
        sentence += "."
    return sentence[0].upper() + sentence[1:]


def _grid(upload, query, *, rows=None, preview=None, note=None) -> dict:
    """What the check page (or one row of it) needs: the rows asked for (`show`, an issue `code`, a
    `column`), a page of them, each row's marks, the dropdowns' choices and the filters' choices."""
    from .words import code_words, suggestions

    result = upload.validation
    show = str(query.get("show") or "problems")
    code = str(query.get("code") or "")
    try:
        column = int(query.get("column")) if str(query.get("column") or "").strip() else None
    except ValueError:
        column = None
    number = _page_number(query.get("page"))
    headers = result.sheet.headers
    code_counts: dict[str, int] = {}
    problem_columns: set[int] = set()
    for issue in result.all_issues:
        if issue.row is None:
            continue
        code_counts[issue.code] = code_counts.get(issue.code, 0) + 1
        index = result.columns.index_of(issue.column)
        if index is not None:
            problem_columns.add(index)
    if column is not None:
        problem_columns.add(column)
    if rows is None:
        wanted = [r for r in result.rows if _shown(r, show) and _matches(r, code, column, result.columns)]
        pages = max(1, math.ceil(len(wanted) / PAGE_ROWS))
        number = min(number, pages)
        rows, shown_count = wanted[(number - 1) * PAGE_ROWS: number * PAGE_ROWS], len(wanted)
    else:
        pages, shown_count = 1, len(rows)
    query_text = "&".join(f"{k}={v}" for k, v in (("show", show), ("code", code),
                                                   ("column", "" if column is None else column)) if v != "")
    return {"upload": upload, "result": result, "rows": rows, "marks": {r.row: _cell_marks(r, result.columns)
                                                                      for r in rows},
            "show": show, "code": code, "column": column, "page": number, "pages": pages, "query": query_text,
            "shown_count": shown_count, "headers": headers, "codes": sorted(code_counts), "code_counts": code_counts,
            "problem_columns": sorted(problem_columns), "code_words": code_words, "suggestions": suggestions,
            "choices_of": {} if result.mapping is not None else _choices(result.columns),
            "title_index": result.columns.index_of("title") if result.mapping is None else None,
            "file_issues": list(result.file_issues), "preview": preview, "note": note,
            "row_warnings": row_warnings(result)}


def row_warnings(result) -> int:
    """The warnings on rows: what the Warnings filter shows (the file's own, about a column, are said above)."""
    return sum(1 for r in result.rows if r.issues for i in r.issues if not i.is_error)


def _matches(row, code: str, column: int | None, columns) -> bool:
    if not code and column is None:
        return True
    return any((not code or issue.code == code) and (column is None or columns.index_of(issue.column) == column)
               for issue in row.issues)


def _choices(columns) -> dict[int, list[str]]:
    """The dropdown of each enumeration's column: its accepted values (an optional one may be empty)."""
    choices = {}
    for index, name in enumerate(columns.fields):
        if name in fields.ENUM_VALUES:
            spec = fields.FIELDS_BY_NAME[name]
            choices[index] = ([] if spec.required else [""]) + list(fields.ENUM_VALUES[name])
        elif name == "isFree":
            choices[index] = ["", "Yes", "No"]
    return choices


def _shown(row, show: str) -> bool:
    if show == "all":
        return True
    if show == "errors":
        return not row.valid
    if show == "warnings":  # every row with a warning, whether or not it has an error too: as the count counts
        return any(not issue.is_error for issue in row.issues)
    return bool(row.issues)  # problems: errors and warnings


def _cell_marks(row, columns) -> dict[int, tuple[str, str]]:
    """{column index: ("error" | "warning", the messages)} for one row's cells."""
    marks: dict[int, tuple[str, str]] = {}
    for issue in row.issues:
        index = columns.index_of(issue.column)
        if index is None:
            index = 0
        kind = "error" if issue.is_error else "warning"
        before = marks.get(index)
        if before:
            kind = "error" if "error" in (kind, before[0]) else "warning"
            marks[index] = (kind, before[1] + " " + issue.message)
        else:
            marks[index] = (kind, issue.message)
    return marks


def _samples(sheet, index: int) -> list[str]:
    seen = []
    for _, cells in sheet.rows:
        value = cells[index] if index < len(cells) else None
        if value not in (None, "") and str(value) not in seen:
            seen.append(str(value)[:60])
        if len(seen) == 3:
            break
    return seen


def _distinct(sheet, index: int, limit: int = 20) -> list[str]:
    seen: dict[str, None] = {}
    for _, cells in sheet.rows:
        value = cells[index] if index < len(cells) else None
        if value not in (None, ""):
            seen.setdefault(str(value).strip(), None)
        if len(seen) > limit:
            break
    return list(seen)[:limit]


def _guesses(headers: list[str], distinct: dict[int, list[str]]) -> dict[tuple, str]:
    """{(field, column, value): the value `importer map` would suggest}: the same guesses as the map file,
    a paid course (`is_paid` True) not free among them."""
    from ..check.headers import folded_header
    from ..check.suggesting import INVERTED, guess_value

    found = {}
    for spec in fields.FIELDS:
        if spec.kind not in ("enum", "bool"):
            continue
        for index, values in distinct.items():
            inverted = folded_header(headers[index]) in INVERTED
            for value in values:
                guess = guess_value(spec, value, inverted)
                if guess != "":
                    found[(spec.name, index, value)] = str(guess).lower() if isinstance(guess, bool) else guess
    return found


def _enum_values() -> dict[str, list[str]]:
    return {"courseType": list(fields.COURSE_TYPES), "publishedStatus": list(fields.PUBLISHED_STATUSES),
            "isFree": ["true", "false"]}


def map_text(form, headers: list[str]) -> str:
    """The mapping screen's choices as the map file `--map` reads (TOML): everything a map can say of a
    field — a column, the first non-empty of several, a template joining columns, one value for every row,
    part of the text by a pattern, a text replaced, lowercase, a slug, a split, kept as text, values
    mapped one by one."""
    from ..check.suggesting import _toml, _toml_key

    lines = ["# Written by the importer's page: the same file `importer run --map` reads.", "", "[fields]"]
    for spec in fields.FIELDS:
        name = spec.name
        column = form.get(f"column-{name}", "")
        fixed = str(form.get(f"value-{name}", "")).strip()
        template = str(form.get(f"template-{name}", "")).strip()
        options: list[str] = []
        fallback = form.get(f"fallback-{name}", "")
        if template:
            options.append(f"template = {_toml(template)}")
        elif column not in ("", None) and fallback not in ("", None):
            column = _column_index(column, headers, spec.label)
            other = _column_index(fallback, headers, spec.label)
            options.append(f"columns = [{_toml(headers[column])}, {_toml(headers[other])}]")
        elif column not in ("", None):
            column = _column_index(column, headers, spec.label)
            options.append(f"column = {_toml(headers[column])}")
        elif fixed:
            value = fixed.lower() in ("true", "yes", "1") if spec.kind == "bool" else fixed
            lines.append(f"{_toml_key(name)} = {{ value = {_toml(value)} }}")
            continue
        elif spec.required:
            raise ImporterError(f"{spec.label} is required: choose its column, join columns with a template, or "
                                "give one value for every row")
        else:
            continue
        pattern = str(form.get(f"pattern-{name}", "")).strip()
        if pattern:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ImporterError(f"{spec.label}: the pattern '{pattern}' is not one ({exc}); e.g. /course/([^/]+) "
                                    "takes what follows /course/") from None
            options.append(f"pattern = {_toml(pattern)}")
        old, new = str(form.get(f"replace-from-{name}", "")), str(form.get(f"replace-to-{name}", ""))
        if old:
            options.append(f"replace = {{ {_toml(old)} = {_toml(new)} }}")
        for flag in ("lowercase", "slugify", "text"):
            if form.get(f"{flag}-{name}"):
                options.append(f"{flag} = true")
        split = str(form.get(f"split-{name}", ""))
        split_pattern = str(form.get(f"split-pattern-{name}", "")).strip()
        if split_pattern and spec.kind == "list":
            try:
                re.compile(split_pattern)
            except re.error as exc:
                raise ImporterError(f"{spec.label}: the pattern to split on '{split_pattern}' is not one ({exc}); "
                                    r"e.g. \s+-\s+ splits on a hyphen with spaces around it") from None
            options.append(f"split_pattern = {_toml(split_pattern)}")
        elif split.strip() and spec.kind == "list":
            options.append(f"split = {_toml(split)}")
        if spec.kind in ("enum", "bool") and isinstance(column, int):
            pairs = []
            for n in range(10_000):
                source = form.get(f"source-{name}-{column}-{n}")
                target = form.get(f"target-{name}-{column}-{n}")
                if source is None:
                    break
                if target:
                    value = target == "true" if spec.kind == "bool" else target
                    pairs.append(f"{_toml(source)} = {_toml(value)}")
            if pairs:
                options.append(f"values = {{ {', '.join(pairs)} }}")
        if isinstance(column, int) and options == [f"column = {_toml(headers[column])}"]:
            lines.append(f"{_toml_key(name)} = {_toml(headers[column])}")
        else:
            lines.append(f"{_toml_key(name)} = {{ {', '.join(options)} }}")
    for index, header in enumerate(headers):
        if form.get(f"custom-{index}") and header:
            key = str(form.get(f"custom-key-{index}") or header).strip()
            kind = "number" if form.get(f"custom-number-{index}") else "text" if form.get(f"custom-text-{index}") \
                else None
            value = f"{{ column = {_toml(header)}, {kind} = true }}" if kind else _toml(header)
            lines.append(f"{_toml(fields.CUSTOM_FIELD_PREFIX + key)} = {value}")
    return "\n".join(lines) + "\n"
