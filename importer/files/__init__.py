"""The files we write, every one safe to open in Excel: the template, the error report, the
results, failures and plan files. Nothing here talks to a server."""
