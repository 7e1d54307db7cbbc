"""importer: move a spreadsheet catalogue of courses into the platform, exactly once.

The pipeline, a folder a stage (each imports only from those above it here):

    core/      the words every stage shares: fields, issues, outcomes
    read/      XLSX / CSV  ->  Sheet (cells as typed, Excel row numbers; the workbook guard first)
    check/     headers -> fields (mapping files too), cells -> API values, every row validated
    files/     every file we write (template, error report, results, failures, plan)
    platform/  the HTTP contract, what the platform holds, the journal, the pacer
    run/       planning, applying (POST / PUT, paced, retried, journaled), undoing, progress
    pipeline   the stages as library calls; cli/ and ui/ are shells over them

`sandbox` is a local stand-in for the platform.

As a library (see `pipeline`; the CLI is a shell over the same stages):

    import importer
    checked = importer.validate(importer.from_dataframe(df))
    with importer.connect(domain="acme") as target:
        result = importer.apply(importer.plan(checked, target, mode="sync"))
    result.to_dataframe()

Errors that stop a call are `ImporterError`s (the tree is drawn in `importer.errors`).
"""

from .check.validating import ValidationResult, validate_file
from .errors import BadKey, FileUnusable, ImporterError, TargetError
from .pipeline import (
    Onboarding,
    PlannedRun,
    RunResult,
    Target,
    apply,
    check_missing,
    connect,
    export,
    from_dataframe,
    from_records,
    onboard,
    plan,
    publish,
    read,
    validate,
)

__all__ = ["BadKey", "FileUnusable", "ImporterError", "Onboarding", "PlannedRun", "RunResult", "Sandbox", "Target",
           "TargetError", "ValidationResult", "apply", "check_missing", "connect", "export", "from_dataframe",
           "from_records", "onboard", "plan", "publish", "read", "validate", "validate_file"]


def __getattr__(name: str):
    # importer.Sandbox, the local stand-in for the platform, loads its HTTP server only when
    # asked for: `importer --help` and `validate` never need it.
    if name == "Sandbox":
        from .sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module 'importer' has no attribute {name!r}")
__version__ = "0.1.0"
