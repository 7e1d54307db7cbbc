"""The words every stage shares: the template's fields, the issue codes a cell or row can get,
the outcomes a row can end with, and how a value from a file is shown on one terminal line.
Imports nothing of the importer but `errors`."""
