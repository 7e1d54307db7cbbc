import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None, env=None, input=None, timeout=120):
    """Run `python -m importer ...` as a subprocess, the way a user runs it."""
    full_env = {k: v for k, v in os.environ.items() if k != "TI_API_KEY"}  # only the key a test gives
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "importer", *map(str, args)], cwd=cwd,
                          env=full_env, input=input, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def wait_until(condition, *, timeout=60.0, what="the condition"):
    """Poll `condition` until it is true; fail the test (never hang it) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)
