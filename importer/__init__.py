"""importer: move a spreadsheet catalogue of courses into the platform, exactly once.

The pipeline, one module a stage:

    reading      XLSX / CSV  ->  Sheet (cells as typed, Excel row numbers)
    normalizing  headers -> API fields, cells -> API values
    validating   Sheet -> ValidationResult (payloads, issues)   <- validate_file()
    creating     valid rows -> POST, paced, retried, journaled  <- run_import()
    reporting    error report, results sheet, failures file

`api` owns the HTTP contract; `sandbox` is a local stand-in for the platform.
"""

from .validating import ValidationResult, validate_file

__all__ = ["ValidationResult", "validate_file"]
__version__ = "0.1.0"
