import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None, env=None, input=None, timeout=120):
    """Run `python -m importer ...` as a subprocess, the way a user runs it."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TI_API_KEY", None) if env is not None and "TI_API_KEY" not in env else None
    return subprocess.run([sys.executable, "-m", "importer", *map(str, args)], cwd=cwd,
                          env=full_env, input=input, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def write_csv_bytes(path: Path, text: str, encoding: str = "utf-8", bom: bool = False) -> Path:
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path
