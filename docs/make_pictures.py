"""Make the README's pictures from real files: `python docs/make_pictures.py`.

Runs the importer on the samples (validate, and a rehearsal on the in-process sandbox),
renders the error report's first page and the results' Run sheet with LibreOffice, and turns
them into PNGs with pdftoppm (Debian: libreoffice-calc-nogui, poppler-utils). Run it again
whenever what the workbooks show changes, so that the pictures stay true.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def importer(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "importer", *args], cwd=cwd, capture_output=True, text=True,
                   env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def only_sheet(source: Path, name: str, target: Path) -> Path:
    import openpyxl

    workbook = openpyxl.load_workbook(source)
    for sheet in list(workbook.worksheets):
        if sheet.title != name:
            workbook.remove(sheet)
    workbook.save(target)
    return target


def to_png(workbook: Path, png: Path, work: Path, *, dpi: int = 80, height: float = 1.0) -> None:
    """The first page, at `dpi`, its top `height` (a share of the page) kept."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{work / 'profile'}", "--convert-to", "pdf",
                    "--outdir", str(work), str(workbook)], check=True, capture_output=True)
    pdf = work / (workbook.stem + ".pdf")
    crop = ["-x", "0", "-y", "0", "-W", str(int(11.7 * dpi)), "-H", str(int(8.3 * dpi * height))]
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), *crop, "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(png.with_suffix(""))], check=True)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sample = Path(shutil.copy(ROOT / "samples" / "courses-with-mistakes.xlsx", work / "courses.xlsx"))
        importer("validate", sample.name, cwd=work)
        importer("run", sample.name, "--sandbox", "--yes", "--rate-limit", "600", "--report", "run.errors.xlsx",
                 cwd=work)
        to_png(work / "courses.errors.xlsx", HERE / "error-report.png", work, dpi=170, height=0.3)
        to_png(only_sheet(work / "courses.results.xlsx", "Run", work / "run-sheet.xlsx"), HERE / "results-run.png",
               work, height=0.45)
    print(f"Written: {HERE / 'error-report.png'}, {HERE / 'results-run.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
