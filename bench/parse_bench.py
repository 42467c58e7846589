"""Engine throughput on one core: reports/s over generated reports (target ≥ 500 reports/s).

Usage: python bench/parse_bench.py [N]   (default 2,000 reports, every layout and both formats)
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.engine import parse_report  # noqa: E402
from transforms.generator import corpus  # noqa: E402


def main(n: int = 2000) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    t0 = time.perf_counter()
    docs = [(text.encode("utf-8"), truth.layout) for text, truth in corpus(n, seed=20261122)]
    gen_s = time.perf_counter() - t0
    size = sum(len(d) for d, _ in docs)
    layouts = Counter(layout for _, layout in docs)
    # warm the label caches the way a nightly batch does (first reports pay for them)
    t0 = time.perf_counter()
    cells = 0
    per_layout: Counter = Counter()
    for i, (data, layout) in enumerate(docs):
        t = time.perf_counter()
        cells += len(parse_report(data, f"gen/{i}.txt").cells)
        per_layout[layout] += time.perf_counter() - t
    dt = time.perf_counter() - t0
    print(f"reports: {n}  mean size: {size / n / 1024:.1f} KB  (generated in {gen_s:.1f} s)")
    print(f"engine: {n / dt:,.0f} reports/s on one core  ({dt:.2f} s, {cells:,} cells, {size / dt / 1e6:.1f} MB/s)")
    for layout, secs in sorted(per_layout.items()):
        print(f"  {layout:<11} {layouts[layout] / secs:8,.0f} reports/s  ({layouts[layout]} reports)")
    print("target: ≥ 500 reports/s —", "met" if n / dt >= 500 else "NOT met")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
