"""What the commands print and the exit codes they share: the console side of the CLI.

Its own module so that every command's handler can use it without importing `cli`,
which imports the handlers.
"""

from __future__ import annotations

from pathlib import Path

from ..core.text import shown

EXIT_OK, EXIT_ROWS, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def write_validation_outputs(result, args, other_outputs: dict | None = None) -> Path | None:
    """The error report (when there is anything to report) and the payloads file, once every
    output path of the command (`other_outputs` too, by purpose) is known to be writable."""
    from ..check.validating import default_report_path
    from ..files.reporting import write_error_report, write_payloads
    from ..files.writing import check_outputs

    report = None
    if result.all_issues:
        report = Path(args.report) if args.report else default_report_path(args.file)
    elif not args.report:
        _remove_stale_report(default_report_path(args.file))
    check_outputs(args.file, {"error report": report, "payloads file": getattr(args, "payloads", None),
                              **(other_outputs or {})})
    if report:
        from ..errors import OutputUnusable
        from ..files.writing import FileInUse

        try:
            write_error_report(result, report)
        except FileInUse as exc:
            raise OutputUnusable(f"the error report cannot be written: {exc}") from None
    if getattr(args, "payloads", None):
        count = write_payloads(result, args.payloads)
        print(f"Payloads: {count} written to {args.payloads}")
    return report


def _remove_stale_report(path: Path) -> None:
    """A clean file leaves no earlier error report of ours beside it, still full of red cells.
    Ours is recognised by its Errors sheet; anything else at that path is left alone."""
    from ..errors import FileUnusable
    from ..read.xlsx_guard import list_sheets

    try:
        if not path.is_file() or "Errors" not in [s.name for s in list_sheets(path)]:
            return
        path.unlink()
    except (OSError, FileUnusable):
        return
    print(f"Removed the earlier error report {shown(path)}: every row is valid now.")


def print_validation_summary(result, report: Path | None) -> None:
    from ..read.code_pages import describe

    sheet = result.sheet
    where = f" (sheet {sheet.sheet_name})" if sheet.sheet_name else ""
    if sheet.sheet_name and getattr(sheet, "other_sheets", None):
        where = f" (sheet {sheet.sheet_name}; not read: {', '.join(sheet.other_sheets)}; another with --sheet NAME)"
    code_page = describe(sheet.encoding)
    if code_page:
        where += f" (text in {code_page})"
    print(f"Read {len(result.rows)} rows from {shown(sheet.path)}{shown(where, 200)}")
    print(f"  valid:    {len(result.valid_rows)}")
    print(f"  invalid:  {len(result.invalid_rows)}")
    print(f"  warnings: {result.warning_count}")
    if result.skipped_rows:
        print(f"  skipped:  {len(result.skipped_rows)} (the same course as an earlier row, sent once)")
    errors = [i for i in result.all_issues if i.is_error]
    warnings = [i for i in result.all_issues if not i.is_error and i.column is not None]
    where = result.columns.display
    for issue in errors[:5]:
        print(f"  row {issue.row}, {shown(where(issue.column), 60)}: {shown(issue.message)}")
    if len(errors) > 5:
        print(f"  … and {len(errors) - 5} more errors")
    for issue in warnings[:3]:
        print(f"  warning: row {issue.row}, {shown(where(issue.column), 60)}: {shown(issue.message)}")
    if len(warnings) > 3:
        print(f"  … and {len(warnings) - 3} more warnings")
    for issue in result.file_issues:
        if issue.column is None:  # about the file as a whole, e.g. the columns a map leaves out
            print(f"  {shown(issue.message, 1000)}")
    if report:
        print(f"Report: {report}")
