"""The command line: a thin shell that parses options and calls the library.

Library errors become one line on stderr (`Error: …`) and an exit code; a traceback
only with --debug. Exit codes: 0 all good, 1 some rows are invalid or failed, 2 the
file or the target cannot be used at all, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path

from ..core.fields import key_list
from ..errors import Declined, ImporterError
from .console import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_ROWS,
    EXIT_UNUSABLE,
    print_validation_summary,
    shown,
    write_validation_outputs,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="importer",
        description="Import a spreadsheet of courses into the platform through its REST API.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for failures")
    from .. import __version__
    parser.add_argument("--version", action="version", version=f"importer {__version__}")
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

    suggest = commands.add_parser(
        "map", help="write a suggested mapping file for another system's export",
        description="Look at an export's headers and values and write a mapping file (TOML) that says which "
                    "column becomes which course field, with sample values, the distinct values of enumerations "
                    "to map, and a TODO for every required field no column fills. Fill it in, then use it with "
                    "--map on validate, plan and run.")
    suggest.add_argument("file", help="the export: .xlsx or .csv")
    suggest.add_argument("--sheet", metavar="NAME", help="the sheet to read (default: 'Courses', else the first)")
    suggest.add_argument("--out", metavar="PATH", help="where to write it (default: <file>.map.toml beside it)")
    suggest.add_argument("--force", action="store_true", help="replace an existing mapping file")
    suggest.set_defaults(handler=cmd_map)

    from .sandbox import add_sandbox_parser
    add_sandbox_parser(commands)
    from .run import add_run_parsers
    add_run_parsers(commands, _add_input_options)
    from .undo import add_undo_parser
    add_undo_parser(commands)
    from .onboard import add_onboard_parser
    add_onboard_parser(commands)
    from .publish import add_publish_parser
    add_publish_parser(commands)
    from .exporting import add_export_parser
    add_export_parser(commands)
    from .page import add_ui_parser
    add_ui_parser(commands)

    return parser


def _add_input_options(command) -> None:
    command.add_argument("file", help="the course sheet: .xlsx or .csv")
    command.add_argument("--sheet", metavar="NAME",
                         help="the sheet to read (default: 'Courses', else the first)")
    command.add_argument("--report", metavar="PATH",
                         help="error report, .xlsx or .csv (default: <file>.errors.xlsx beside it)")
    command.add_argument("--custom-fields", metavar="KEY,KEY", type=key_list,
                         help="the custom field keys configured on the platform; others are warned")
    command.add_argument("--map", metavar="FILE", dest="mapping",
                         help="read another system's export through this mapping file (see `importer map`)")


def main(argv: list[str] | None = None) -> int:
    """The console script (`argv` None: the process's own arguments), or a call with arguments."""
    if argv is not None:
        return _main(argv)
    try:
        return _main(sys.argv[1:])
    finally:
        _deaf_to_stops()


def _deaf_to_stops() -> None:
    """The command has ended, its files written: a Ctrl-C or SIGTERM arriving now, while Python shuts down
    (waiting for threads), would only print a traceback of the interpreter's own. This process is ending
    anyway, so from here on such a signal is ignored."""
    from ..core.system import stop_signals

    with contextlib.suppress(ValueError, OSError):  # not the main thread: nothing to do
        for each in stop_signals():
            signal.signal(each, signal.SIG_IGN)


def _main(argv: list[str]) -> int:
    parser = build_parser()
    if not argv:  # a bare `importer`: what it does and its commands, not a usage error
        parser.print_help()
        return EXIT_OK
    mistyped = _mistyped_command(parser, argv)
    if mistyped:
        print(f"Error: {mistyped}", file=sys.stderr)
        return EXIT_UNUSABLE
    # `--debug` is the whole program's: taken wherever it stands (`importer run x.csv --debug` too).
    debug = "--debug" in argv
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    _terminate_like_interrupt()
    try:
        return args.handler(args)
    except BrokenPipeError:  # `importer validate x.csv | head -1`: the reader has all it wanted
        _quiet_stdout()
        return EXIT_OK
    except Declined as exc:  # the user said no: not an error
        print(shown(exc, 1000))
        return exc.exit_code
    except ImporterError as exc:
        if args.debug:
            raise
        print(f"Error: {shown(exc, 1000)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if args.debug:
            raise
        print(f"Error: unexpected failure: {type(exc).__name__}: {shown(exc)} "
              "(run again with --debug for details)", file=sys.stderr)
        return EXIT_UNUSABLE


def _quiet_stdout() -> None:
    """Standard output's reader has gone: what is still buffered goes nowhere, and no error is printed
    about it at exit (Python's own advice for a pipe closed early)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _mistyped_command(parser, argv: list[str]) -> str | None:
    """`importer valdate x.csv`: name the nearest command instead of argparse's usage dump."""
    import difflib

    first = next((a for a in argv if not a.startswith("-")), None)
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if first is None or first in commands:
        return None
    near = difflib.get_close_matches(first, list(commands), n=1, cutoff=0.6)
    hint = f"did you mean `importer {near[0]}`?" if near else f"the commands are: {', '.join(commands)}"
    return f"`{first}` is not a command of importer; {hint}"


def _terminate_like_interrupt() -> None:
    """SIGTERM (a closed terminal, a job scheduler) ends a command as Ctrl-C does, cleanly.
    `importer run` handles both itself while it sends."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    from ..core.system import termination_signals

    with contextlib.suppress(ValueError):  # not the main thread (a test calling main): leave it
        for each in termination_signals():
            signal.signal(each, handler)


def cmd_validate(args) -> int:
    from ..check.validating import validate_file_for_cli as validate_file

    result = validate_file(args.file, sheet=args.sheet, custom_fields=args.custom_fields, mapping=args.mapping)
    report = write_validation_outputs(result, args)
    print_validation_summary(result, report)
    return EXIT_OK if not result.invalid_rows else EXIT_ROWS


def cmd_template(args) -> int:
    from ..files.template import write_template

    path = Path(args.path)
    if path.exists() and not args.force:
        raise ImporterError(f"{path} already exists; choose another path or add --force to replace it")
    write_template(path)
    print(f"Template written to {path}")
    return EXIT_OK


def cmd_map(args) -> int:
    from ..check.mapping import MAP_SUFFIX
    from ..check.suggesting import suggest_map
    from ..files.writing import atomic_write
    from ..read.reading import read_sheet

    out = Path(args.out) if args.out else Path(args.file).with_name(Path(args.file).name + MAP_SUFFIX)
    if out.exists() and not args.force:
        raise ImporterError(f"{out} already exists (a map you may have filled in); choose another path with --out, "
                            "or add --force to replace it")
    sheet = read_sheet(args.file, args.sheet)
    text = suggest_map(sheet)
    atomic_write(out, lambda handle: handle.write(text), encoding="utf-8")
    todo = text.count("# TODO")
    print(f"Mapping suggested for {len(sheet.headers)} columns of {shown(sheet.path.name)}: {out}")
    if todo:
        print(f"  {todo} line{'s' if todo != 1 else ''} marked TODO need you (a required field no column fills, or "
              "values to match).")
    print(f"Check it, then: importer validate {shown(args.file)} --map {shown(out)}")
    return EXIT_OK
