"""Windows, macOS and Linux: every call that one of them lacks, or that means something else there,
stands in `importer/core/system.py` and nowhere else in the package. CI runs on Linux only; this test
is what keeps the rest of the code from quietly becoming POSIX-only (or Windows-only) again."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

GUARDED = ROOT / "importer" / "core" / "system.py"
# Modules one system lacks.
MODULES = {"fcntl", "termios", "pwd", "grp", "resource", "msvcrt", "winreg", "posix", "nt"}
# Calls and constants one system lacks or treats otherwise.
ATTRIBUTES = {
    "os": {"getuid", "geteuid", "getgid", "getegid", "chown", "fchown", "lchown", "fork", "setsid", "killpg",
           "getpgid", "umask", "O_NOFOLLOW", "mkfifo", "symlink", "chmod", "fchmod"},
    "signal": {"SIGTERM", "SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT", "SIGALRM", "SIGBREAK", "alarm",
               "pause", "setitimer", "SIGCHLD", "SIGPIPE"},
}
METHODS = {"chmod", "lchmod", "is_mount"}  # pathlib's, whose meaning differs on Windows (modes: read-only only)


def problems(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where} imports {a.name}" for a in node.names if a.name.split(".")[0] in MODULES]
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] in MODULES:
            found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "") in ATTRIBUTES:
            found += [f"{where} imports {node.module}.{a.name}" for a in node.names
                      if a.name in ATTRIBUTES[node.module]]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr in ATTRIBUTES.get(node.value.id, ()):
                found.append(f"{where} uses {node.value.id}.{node.attr}")
            elif node.attr in METHODS and node.value.id not in ("os", "signal"):
                found.append(f"{where} calls .{node.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in METHODS and not isinstance(node.value, ast.Name):
            found.append(f"{where} calls .{node.attr}()")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" and \
                len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and \
                any(node.args[1].value in names for names in ATTRIBUTES.values()):
            found.append(f"{where} reaches {node.args[1].value} through getattr")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                (node.value == "/tmp" or node.value.startswith("/tmp/")):
            found.append(f"{where} names /tmp (use tempfile)")
    return found


def test_nothing_one_system_lacks_is_called_outside_the_guarded_module():
    found = [p for path in sorted((ROOT / "importer").rglob("*.py")) if path != GUARDED for p in problems(path)]
    assert not found, "\n".join(found)


def test_the_check_sees_what_it_is_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import fcntl\nimport os, signal\nos.getuid()\nsignal.signal(signal.SIGTERM, None)\n"
                      "from pathlib import Path\nPath('x').chmod(0o600)\nopen('/tmp/x')\n"
                      "getattr(os, 'O_NOFOLLOW', 0)\nfrom os import umask\n", encoding="utf-8")
    sample_problems = problems(sample)
    assert len(sample_problems) == 7, sample_problems
    assert problems(GUARDED)  # the guarded module does use them: that is where they belong
