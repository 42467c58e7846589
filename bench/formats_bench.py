"""Reports/s per input format, and HTML side by side: nianbao vs pandas.read_html vs docling.

Usage: python bench/formats_bench.py [N]      (default 40 generated reports)

1. Every report is generated once and rendered as text (tab_cells), HTML, DOCX and PDF
   (synthetic.render_docs); `engine.parse_report` is timed per format (bytes → checked cells),
   one core, after a warm-up, CPU time and wall time.
2. Side by side on the same HTML files (the N pages plus tests/fixtures/realworld/raw/hangzhou_style_2025.html),
   each tool's time from file on disk to tables:
   * nianbao: read the file + `parse_report` (tables located, read, aligned to the statutory cells);
   * nianbao reader only: read + `read.document.read_document` (the tables' rows, no cell alignment);
   * pandas.read_html (lxml flavour): every <table> → a DataFrame (spans expanded);
   * docling (docling-slim[format-html]): `DocumentConverter().convert(path)` + tables exported to
     DataFrames; it is NOT a dependency of nianbao: run from /tmp/docling-venv (or $DOCLING_PYTHON)
     in a subprocess if that interpreter exists, else "docling not installed". Its import and
     converter set-up are reported apart from the per-file time.
"""
from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synthetic import render_docs as rd  # noqa: E402
from transforms.read.document import read_document  # noqa: E402
from transforms.engine import parse_report  # noqa: E402

HANGZHOU = ROOT / "tests" / "fixtures" / "realworld" / "raw" / "hangzhou_style_2025.html"
DOCLING_PYTHON = os.environ.get("DOCLING_PYTHON", "/tmp/docling-venv/bin/python")

DOCLING_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
from docling.datamodel.base_models import InputFormat
from docling.document_converter import DocumentConverter
conv = DocumentConverter(allowed_formats=[InputFormat.HTML])
t_init = time.perf_counter() - t0
paths = sys.argv[1:]
conv.convert(paths[0])  # warm-up
times, tables = [], 0
for p in paths:
    t = time.perf_counter()
    doc = conv.convert(p).document
    for tb in doc.tables:
        tb.export_to_dataframe(doc=doc)
        tables += 1
    times.append(time.perf_counter() - t)
print(json.dumps({"init": t_init, "times": times, "tables": tables}))
"""


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def per_format(forms: list[dict]) -> None:
    print("\n1. engine.parse_report per format (bytes → statutory cells), one core")
    print(f"   {'format':<7} {'reports/s (CPU)':>16} {'reports/s (wall)':>17} {'ms/report':>10} {'mean size':>10}  ok")
    for kind in ("text", "html", "docx", "pdf"):
        data = [f[kind].encode("utf-8") if isinstance(f[kind], str) else f[kind] for f in forms]
        for i, b in enumerate(data[:3]):
            parse_report(b, f"warm/{i}.{kind}")
        ok = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for i, b in enumerate(data):
            ok += parse_report(b, f"gen/{i}.{kind}").report["status"] == "parsed"
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(data)
        print(f"   {kind:<7} {n / cpu:16,.1f} {n / wall:17,.1f} {1000 * wall / n:10.1f} "
              f"{sum(map(len, data)) / n / 1024:8.1f} KB  {ok}/{n}")


def _time_files(paths: list[Path], fn) -> tuple[list[float], int]:
    fn(paths[0])  # warm-up
    times, tables = [], 0
    for p in paths:
        t = time.perf_counter()
        tables += fn(p)
        times.append(time.perf_counter() - t)
    return times, tables


def side_by_side(paths: list[Path]) -> None:
    import pandas as pd

    def nianbao(p: Path) -> int:
        r = parse_report(p.read_bytes(), str(p))
        return len(r.report["tables_found"])

    def reader(p: Path) -> int:
        lines = read_document(p.read_bytes()).lines
        return sum(1 for t, _ in lines if t == "")  # a blank line ends each table

    def pandas_html(p: Path) -> int:
        return len(pd.read_html(io.BytesIO(p.read_bytes()), flavor="lxml"))

    print(f"\n2. HTML side by side: {len(paths)} files (generated pages + hangzhou_style_2025.html), file → tables")
    print(f"   {'tool':<34} {'files/s':>9} {'median ms':>10} {'tables':>7}")
    rows = {}
    for name, fn in (("nianbao parse_report (cells)", nianbao), ("nianbao reader only (rows)", reader),
                     ("pandas.read_html (lxml)", pandas_html)):
        times, tables = _time_files(paths, fn)
        rows[name] = times
        print(f"   {name:<34} {len(times) / sum(times):9,.1f} {1000 * statistics.median(times):10.2f} {tables:7}")
    if not Path(DOCLING_PYTHON).exists():
        print("   docling not installed (python -m venv /tmp/docling-venv; pip install torch==2.13.0 "
              "'docling-slim[format-html]'; or set DOCLING_PYTHON)")
        return
    proc = subprocess.run([DOCLING_PYTHON, "-c", DOCLING_SCRIPT, *map(str, paths)], capture_output=True,
                          text=True, timeout=1800, env={**os.environ, "TQDM_DISABLE": "1"})
    if proc.returncode != 0:
        print(f"   docling failed: {proc.stderr.strip()[-400:]}")
        return
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    times = res["times"]
    print(f"   {'docling convert + export tables':<34} {len(times) / sum(times):9,.1f} "
          f"{1000 * statistics.median(times):10.2f} {res['tables']:7}   (import + set-up {res['init']:.1f} s, once)")
    nb = rows["nianbao parse_report (cells)"]
    print(f"\n   docling / nianbao: {sum(times) / sum(nb):.1f}× the time per file "
          f"(median {statistics.median(times) / statistics.median(nb):.1f}×); "
          f"pandas.read_html / nianbao: {sum(rows['pandas.read_html (lxml)']) / sum(nb):.1f}×")


def main(n: int = 40) -> None:
    _pin_one_core()
    t0 = time.perf_counter()
    forms = [rd.render_all(seed)[1] for seed in range(1000, 1000 + n)]
    print(f"{n} generated reports rendered as text/HTML/DOCX/PDF in {time.perf_counter() - t0:.1f} s")
    per_format(forms)
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        paths = []
        for i, f in enumerate(forms):
            p = Path(tmp) / f"gen_{i:03d}.html"
            p.write_text(f["html"], "utf-8")
            paths.append(p)
        if HANGZHOU.exists():
            paths.append(HANGZHOU)
        side_by_side(paths)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
