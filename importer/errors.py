"""Errors that stop a run. A bad row is never one of these: it is data (see `issues.Issue`).

    ImporterError                 base: the CLI prints its message as one line
    ├── FileUnusable              the input cannot be read as a course sheet at all      (exit 2)
    │   ├── MappingUnusable       the mapping file is wrong, or names a column not there (exit 2)
    │   └── MissingColumns        no Title or Course Type column: another system's export?  (exit 2)
    ├── OutputExists              a results or failures file is already there            (exit 2)
    ├── OutputUnusable            an output path cannot be written, or is the input      (exit 2)
    ├── JournalUnusable           the journal is damaged, read-only or cannot be made    (exit 2)
    │   └── JournalBusy           another run is using it
    ├── TargetError               the API cannot be used                                 (exit 2)
    │   ├── BadKey                401/403: every row would fail the same way
    │   ├── TargetUnreachable     connection refused, DNS, TLS, or the server kept failing
    │   ├── TargetBusy            the server asked to wait longer than --max-wait
    │   ├── NotTheAPI             a reply not in the contract's form (a login page, a portal)
    │   └── InsecureTarget        plain http:// to a host that is not loopback
    ├── Refused                   a missing terminal, or more changes than --max-changes
    │   └── Declined              the user answered no: said plainly, not as an error   (exit 1)
    └── RunFilesLost              no results file could be written anywhere (printed instead)
"""

from __future__ import annotations


class ImporterError(Exception):
    exit_code = 2


class FileUnusable(ImporterError):
    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MissingColumns(FileUnusable):
    """The sheet has no Title or Course Type column: the page offers its mapping screen."""


class MappingUnusable(FileUnusable):
    """The mapping file (`--map`) cannot be used as it is: the reason names the key or header."""


class OutputExists(ImporterError):
    pass


class OutputUnusable(ImporterError):
    pass


class JournalUnusable(ImporterError):
    def __init__(self, path, reason: str | None = None):
        super().__init__(f"the journal {path}: {reason}" if reason is not None else str(path))


class JournalBusy(JournalUnusable):
    def __init__(self, message: str):
        super().__init__(message)


class TargetError(ImporterError):
    pass


class BadKey(TargetError):
    pass


class TargetUnreachable(TargetError):
    pass


class TargetBusy(TargetError):
    pass


class NotTheAPI(TargetError):
    pass


class InsecureTarget(TargetError):
    pass


class Refused(ImporterError):
    pass


class Declined(Refused):
    exit_code = 1


class RunFilesLost(ImporterError):
    pass
