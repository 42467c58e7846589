"""Engine throughput on one core: reports/s over generated reports (target ≥ 500 reports/s).

Usage: python bench/parse_bench.py [N]   (default 2,000 reports, every layout and both formats)

Two passes over the same reports, CPU time of one core:
* as the flow's parse workers run the engine (flows.batch): imported objects frozen out of the
  garbage collector, cyclic GC paused inside each batch of the flow's size and run once at its end (the
  collection is timed) — the target applies to this;
* with Python's default GC settings, for comparison.
"""
from __future__ import annotations

import gc
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import defaults  # noqa: E402
from transforms.read.document import read_document  # noqa: E402
from transforms import engine  # noqa: E402
from transforms.engine import metadata, parse_report  # noqa: E402
from synthetic.generator import corpus  # noqa: E402


BATCH = defaults.BATCH_SIZE   # reports per parse batch in the flow


def _cpu_seconds(docs) -> float:
    c0 = time.process_time()
    for i, (data, _) in enumerate(docs):
        parse_report(data, f"gen/{i}.txt")
    return time.process_time() - c0


def main(n: int = 2000) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    t0 = time.perf_counter()
    docs = [(text.encode("utf-8"), truth.layout) for text, truth in corpus(n, seed=20261122)]
    gen_s = time.perf_counter() - t0
    size = sum(len(d) for d, _ in docs)
    layouts = Counter(layout for _, layout in docs)
    # cold start: imports done, but label caches, vocabularies and lxml are built by the first reports
    t0 = time.perf_counter()
    for i, (data, _) in enumerate(docs[:50]):
        parse_report(data, f"warm/{i}.txt")
    cold = time.perf_counter() - t0
    default_cpu = _cpu_seconds(docs)
    gc.freeze()                                   # flows.runtime.freeze_alive (flows.batch.worker_init)
    t0, c0 = time.perf_counter(), time.process_time()
    cells = 0
    per_layout: Counter = Counter()
    for start in range(0, len(docs), BATCH):
        gc.disable()                              # flows.runtime.gc_paused
        for i, (data, layout) in enumerate(docs[start:start + BATCH], start):
            t = time.perf_counter()
            cells += len(parse_report(data, f"gen/{i}.txt").cells)
            per_layout[layout] += time.perf_counter() - t
        gc.enable()
        gc.collect()                              # flows.runtime.release_memory
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"reports: {n}  mean size: {size / n / 1024:.1f} KB  (generated in {gen_s:.1f} s)")
    print(f"cold start: first 50 reports took {cold:.2f} s (caches and vocabularies warming up)")
    print(f"engine: {n / cpu:,.0f} reports/s per core of CPU time, as the flow's workers run it "
          f"({cpu:.2f} s CPU; wall {dt:.2f} s = {n / dt:,.0f} reports/s on a core shared with whatever else "
          f"runs), {cells:,} cells")
    print(f"        {n / default_cpu:,.0f} reports/s per core of CPU time with Python's default GC settings")
    for layout, secs in sorted(per_layout.items()):
        print(f"  {layout:<11} {layouts[layout] / secs:8,.0f} reports/s wall  ({layouts[layout]} reports)")
    print("target: ≥ 500 reports/s on one core —", "met" if n / cpu >= 500 else "NOT met")
    # report identity (organisation, year, division: transforms/identity), measured two ways:
    # alone on the documents' lines, and as the difference it makes to the parse (the engine's
    # metadata step replaced by an empty answer; interleaved with the engine, its data competes
    # for the CPU caches, so this one is the larger)
    read = [(read_document(data), i) for i, (data, _) in enumerate(docs)]
    gc.disable()
    c0 = time.process_time()
    for doc, i in read:
        metadata(doc.lines, f"gen/{i}.txt", doc.properties, None, None)
    meta_cpu = time.process_time() - c0
    real = engine.metadata
    engine.metadata = lambda *a, **k: {**dict.fromkeys(engine.IDENTITY_FIELDS), "_problems": []}
    try:
        c0 = time.process_time()
        for i, (data, _) in enumerate(docs):
            parse_report(data, f"gen/{i}.txt")
        without = time.process_time() - c0
    finally:
        engine.metadata = real
        gc.enable()
    print(f"metadata (identity): {meta_cpu / n * 1000:.3f} ms CPU per report alone = {meta_cpu / cpu:.1%} of parse "
          f"time; parse without it {n / without:,.0f} reports/s → the identity adds "
          f"{(cpu - without) / n * 1000:.3f} ms per report = {(cpu - without) / cpu:.1%} of parse time (target ≤ 10 %)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
