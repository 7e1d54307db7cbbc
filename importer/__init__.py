"""importer: move a spreadsheet catalogue of courses into the platform, exactly once.

The pipeline, one module a stage:

    reading      XLSX / CSV  ->  Sheet (cells as typed, Excel row numbers; xlsx_guard first)
    normalizing  headers -> API fields, cells -> API values (rules: one rule per field)
    validating   Sheet -> ValidationResult (payloads, issues)   <- validate_file()
    catalogue    what the platform holds for those rows
    planning     each row against it -> create / update / unchanged / conflict / invalid
    applying     the plan -> POST / PUT, paced, retried, journaled  (applying.Importer)
    reporting    the error report and payloads of a validation
    results      the results sheet (with its Run and Changes sheets) and failures file of a run
    undoing      a run taken back, from its results file

`writing` writes every file (nothing becomes a formula); `api` owns the HTTP contract;
`sandbox` is a local stand-in for the platform.

As a library (see `pipeline`; the CLI is a shell over the same stages):

    import importer
    checked = importer.validate(importer.from_dataframe(df))
    with importer.connect(domain="acme") as target:
        result = importer.apply(importer.plan(checked, target, mode="sync"))
    result.to_dataframe()

Errors that stop a call are `ImporterError`s (the tree is drawn in `importer.errors`).
"""

from .errors import BadKey, FileUnusable, ImporterError, TargetError
from .pipeline import (
    PlannedRun,
    RunResult,
    Target,
    apply,
    connect,
    from_dataframe,
    from_records,
    plan,
    read,
    validate,
)
from .validating import ValidationResult, validate_file

__all__ = ["BadKey", "FileUnusable", "ImporterError", "PlannedRun", "RunResult", "Sandbox", "Target",
           "TargetError", "ValidationResult", "apply", "connect", "from_dataframe", "from_records", "plan", "read",
           "validate", "validate_file"]


def __getattr__(name: str):
    # importer.Sandbox, the local stand-in for the platform, loads its HTTP server only when
    # asked for: `importer --help` and `validate` never need it.
    if name == "Sandbox":
        from .sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module 'importer' has no attribute {name!r}")
__version__ = "0.1.0"
