"""OCR cost per page: CPU seconds on one core and peak memory of a worker reading scans.

    python bench/ocr_bench.py [--rounds N]

Reads the image-only PDFs of two real reports (tests/fixtures/scans/hz_scan.pdf, 5 pages, and
lg_scan.pdf, 3 pages, both at 200 dpi), each in a fresh process with one ONNX thread (as a parse
worker does), and prints CPU seconds per page (model loading apart) and the process's peak RSS.
Targets (issue: scans): ≤ 3 s a page on one core, ≤ 1 GB per worker.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANS = ("hz_scan.pdf", "lg_scan.pdf")
CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import pypdfium2
from transforms.read import ocr
from transforms.engine import parse_report
t = time.process_time(); ocr.engine(); load = time.process_time() - t
data = open(sys.argv[2], "rb").read()
pages = len(pypdfium2.PdfDocument(data))
rounds = int(sys.argv[3])
t = time.process_time(); w = time.perf_counter()
for _ in range(rounds):
    p = parse_report(data, "scan.pdf")
cpu = time.process_time() - t; wall = time.perf_counter() - w
print(json.dumps({"load": load, "cpu": cpu, "wall": wall, "rounds": rounds, "pages": pages, "cells": len(p.cells),
                  "rss_mb": next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1, help="times each scan is read")
    a = ap.parse_args()
    total_cpu = total_pages = 0.0
    for name in SCANS:
        scan = ROOT / "tests" / "fixtures" / "scans" / name
        out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(scan), str(a.rounds)],
                             capture_output=True, text=True, check=True, env={"OMP_NUM_THREADS": "1",
                                                                                "PATH": "/usr/bin:/bin"})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        pages = r["pages"] * r["rounds"]
        total_cpu += r["cpu"]
        total_pages += pages
        print(f"OCR of a real report's image-only PDF {name} (200 dpi, {pages} pages, {r['cells']} cells):")
        print(f"  {r['cpu'] / pages:.2f} s CPU per page on one core (wall {r['wall'] / pages:.2f} s; "
              f"model load {r['load']:.2f} s once per worker)")
        print(f"  peak RSS {r['rss_mb']:.0f} MB")
    print(f"both scans: {total_cpu / total_pages:.2f} s CPU per page")
    print("  targets: <= 3 s per page, <= 1 GB per worker")


if __name__ == "__main__":
    main()
