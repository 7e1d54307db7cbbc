"""`importer ui` started as a person starts it, for the tests that need the real process."""

import contextlib
import subprocess
import sys
import threading

from ..conftest import wait_until


@contextlib.contextmanager
def page_process(tmp_path, *extra):
    """`importer ui` as a person starts it (no browser here); yields (process, the printed address)."""
    process = subprocess.Popen([sys.executable, "-m", "importer", "ui", "--port", "0", "--no-browser",
                                "--state-dir", str(tmp_path / "state"), *extra], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    try:
        wait_until(lambda: any(line.startswith("Open ") for line in lines) or process.poll() is not None,
                   timeout=30, what="the page's address")
        address = next((line.split(" ", 1)[1].strip() for line in lines if line.startswith("Open ")), None)
        assert address, process.stderr.read()
        yield process, address
    finally:
        process.terminate()
        process.wait(timeout=60)
