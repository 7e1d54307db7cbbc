"""The command line: a thin shell that parses options, calls the library and turns its errors into
one line and an exit code. `main` is the console script."""

from .main import main

__all__ = ["main"]
