"""The package's folders are the pipeline's stages: each imports only from the stages below it, and
no module imports, directly or through others, a module that imports it back.

Every import counts, those inside functions too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "importer"

# What each folder (or top-level module) may import, besides itself. Reading the table top to
# bottom is reading the pipeline from the bottom up.
ALLOWED = {
    "errors": set(),
    "core": {"errors"},
    "read": {"errors", "core"},
    "check": {"errors", "core", "read"},
    "files": {"errors", "core", "read", "check"},
    "platform": {"errors", "core"},
    "sandbox": {"errors", "core"},
    "run": {"errors", "core", "read", "check", "files", "platform"},
    "pipeline": {"errors", "core", "read", "check", "files", "platform", "run", "sandbox"},
    "ui": {"errors", "core", "read", "check", "files", "platform", "run", "sandbox", "pipeline", "__init__"},
    "cli": {"errors", "core", "read", "check", "files", "platform", "run", "sandbox", "pipeline", "ui", "__init__"},
    "__init__": {"errors", "core", "read", "check", "files", "platform", "run", "sandbox", "pipeline"},
    "__main__": {"cli"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """The importer's modules this file imports (absolute names), wherever the import statement stands."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("importer"):
                continue
            for alias in node.names:  # `from . import fields` imports the module importer.core.fields
                sub = f"{target}.{alias.name}"
                found.add(sub if _exists(sub) else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("importer"))
    return found


def _exists(module: str) -> bool:
    relative = Path(*module.split("."))
    return (ROOT / relative.with_suffix(".py")).exists() or (ROOT / relative / "__init__.py").exists()


def stage_of(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def graph() -> dict[str, set[str]]:
    return {module_name(p): imported_modules(p) for p in PACKAGE.rglob("*.py")}


def test_every_folder_imports_only_from_the_stages_below_it():
    upward = sorted(f"{module} imports {target}" for module, targets in graph().items() for target in targets
                    if stage_of(target) != stage_of(module) and stage_of(target) not in ALLOWED[stage_of(module)])
    assert not upward, "\n".join(upward)


def test_every_folder_is_a_known_stage():
    assert {stage_of(m) for m in graph()} <= set(ALLOWED)


def test_no_module_imports_itself_through_others():
    edges = graph()
    # A package's __init__ importing its own modules is how a package presents them, not a circle.
    edges = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}
    circles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


def test_the_layout_sees_lazy_and_relative_imports():
    # The checks above are only as good as this reading of a file's imports.
    seen = imported_modules(PACKAGE / "check" / "validating.py")
    assert "importer.core.fields" in seen and "importer.core.frames" in seen  # `from ..core import fields`, lazy
