"""The command line: a thin shell that parses options and calls the library.

Library errors become one line on stderr (`Error: …`) and an exit code; a traceback
only with --debug. Exit codes: 0 all good, 1 some rows are invalid or failed, 2 the
file or the target cannot be used at all, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import ImporterError
from .fields import key_list

EXIT_OK, EXIT_ROWS, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="importer",
        description="Import a spreadsheet of courses into the platform through its REST API.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for failures")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="check every row of a course sheet; send nothing",
        description="Read, normalize and validate every row. Writes an error report when there "
                    "is anything to report. Exit 0: all rows valid; 1: some rows invalid; "
                    "2: the file cannot be used.")
    _add_input_options(validate)
    validate.add_argument("--payloads", metavar="PATH",
                          help="write the JSON body of each valid row, one per line (.jsonl)")
    validate.set_defaults(handler=cmd_validate)

    template = commands.add_parser("template", help="write the template workbook to fill in",
                                   description="Write the template workbook ops staff fill in.")
    template.add_argument("path", nargs="?", default="courses-template.xlsx",
                          help="where to write it (default: courses-template.xlsx)")
    template.add_argument("--force", action="store_true", help="replace an existing file")
    template.set_defaults(handler=cmd_template)

    from .sandbox.cli import add_sandbox_parser
    add_sandbox_parser(commands)
    from .run_cli import add_run_parser
    add_run_parser(commands, _add_input_options)

    return parser


def _add_input_options(command) -> None:
    command.add_argument("file", help="the course sheet: .xlsx or .csv")
    command.add_argument("--sheet", metavar="NAME",
                         help="the sheet to read (default: 'Courses', else the first)")
    command.add_argument("--report", metavar="PATH",
                         help="error report, .xlsx or .csv (default: <file>.errors.xlsx beside it)")
    command.add_argument("--custom-fields", metavar="KEY,KEY", type=key_list,
                         help="the custom field keys configured on the platform; others are warned")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ImporterError as exc:
        if args.debug:
            raise
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if args.debug:
            raise
        print(f"Error: unexpected failure: {type(exc).__name__}: {exc} "
              "(run again with --debug for details)", file=sys.stderr)
        return EXIT_UNUSABLE


def cmd_validate(args) -> int:
    from .validating import validate_file

    result = validate_file(args.file, sheet=args.sheet, custom_fields=args.custom_fields)
    report = write_validation_outputs(result, args)
    print_validation_summary(result, report)
    return EXIT_OK if not result.invalid_rows else EXIT_ROWS


def write_validation_outputs(result, args, other_outputs: dict | None = None) -> Path | None:
    """The error report (when there is anything to report) and the payloads file, once every
    output path of the command (`other_outputs` too, by purpose) is known to be writable."""
    from .reporting import write_error_report, write_payloads
    from .validating import default_report_path
    from .writing import check_outputs

    report = None
    if result.all_issues:
        report = Path(args.report) if args.report else default_report_path(args.file)
    check_outputs(args.file, {"error report": report, "payloads file": getattr(args, "payloads", None),
                              **(other_outputs or {})})
    if report:
        write_error_report(result, report)
    if getattr(args, "payloads", None):
        count = write_payloads(result, args.payloads)
        print(f"Payloads: {count} written to {args.payloads}")
    return report


def print_validation_summary(result, report: Path | None) -> None:
    sheet = result.sheet
    where = f" (sheet {sheet.sheet_name})" if sheet.sheet_name else ""
    print(f"Read {len(result.rows)} rows from {sheet.path}{where}")
    print(f"  valid:    {len(result.valid_rows)}")
    print(f"  invalid:  {len(result.invalid_rows)}")
    print(f"  warnings: {result.warning_count}")
    for issue in [i for i in result.all_issues if i.is_error][:5]:
        print(f"  row {issue.row}, {issue.column}: {issue.message}")
    errors = sum(1 for i in result.all_issues if i.is_error)
    if errors > 5:
        print(f"  … and {errors - 5} more errors")
    if report:
        print(f"Report: {report}")


def cmd_template(args) -> int:
    from .template import write_template

    path = Path(args.path)
    if path.exists() and not args.force:
        raise ImporterError(f"{path} already exists; choose another path or add --force to replace it")
    write_template(path)
    print(f"Template written to {path}")
    return EXIT_OK
