"""DataFrames, for the library's callers who want them: pandas is an optional extra, loaded only here
and only when asked for (importing it alone takes 0.65 s, which the CLI never pays)."""

from __future__ import annotations

from ..errors import ImporterError


def pandas_module():
    try:
        import pandas
    except ImportError as exc:
        raise ImporterError("pandas is not installed: pip install \"importer[pandas]\"") from exc
    return pandas


def validation_to_dataframe(checked):
    """One row per input row of a `ValidationResult`: valid or not, its error codes and messages, its payload."""
    pandas = pandas_module()
    return pandas.DataFrame([{"row": r.row, "valid": r.valid,
                              "error_codes": [i.code for i in r.issues if i.is_error],
                              "messages": [f"{i.column}: {i.message}" for i in r.issues],
                              "payload": r.payload if r.valid else None}
                             for r in checked.rows])
