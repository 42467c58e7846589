"""Robustness benchmark: one `nianbao run` over ≥ 1,000 hostile and mutated files.

    python bench/robustness.py [--size 1000] [--seed 0] [--prefect] [--timeout 3600] [--oversize-gb 3]

Writes the corpus of tests/hostile/corpus.py (mutations of the sample reports, odd names, symlinks,
a fifo, a sparse 3 GB file, deep HTML, DOCX bombs, broken PDFs …) to bench/out/robustness/corpus, runs
ONE `nianbao run --no-prefect` (or with Prefect: --prefect) on it in a subprocess, and prints the exit
code, tracebacks, hangs, files unaccounted for by category, published values not printed in their
file, `pass` verdicts on reports with a failed check and the peak RSS of the process tree, then a
PROBLEMS section. Like every benchmark it exits 0 whatever it finds.
"""
from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from hostile import check, corpus  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1000, help="files in the corpus (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prefect", action="store_true", help="run as a Prefect flow (default: --no-prefect)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before the run counts as hung")
    ap.add_argument("--oversize-gb", type=float, default=3.0, help="size of the sparse oversize file")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "robustness"))
    ap.add_argument("--examples", type=int, default=8, help="details printed per problem")
    ap.add_argument("--skip-category", action="append", default=[], metavar="CATEGORY",
                    help="leave this corpus category out (to see past one known failure); repeatable")
    ap.add_argument("--run-args", default="", help="extra arguments for nianbao run, e.g. '--batch-size 50'")
    a = ap.parse_args(argv)

    out = Path(a.out)
    src, dest = out / "corpus", out / "processed"
    t0 = time.perf_counter()
    entries = corpus.generate(src, seed=a.seed, size=a.size, oversize_bytes=int(a.oversize_gb * corpus.GiB))
    if a.skip_category:
        entries = corpus.remove(src, entries, set(a.skip_category))
    print(f"corpus: {len(entries)} files (seed {a.seed}) in {src}, written in {time.perf_counter() - t0:.1f} s"
          + (f"; left out: {', '.join(a.skip_category)}" if a.skip_category else ""))
    shutil.rmtree(dest, ignore_errors=True)
    run = check.run_nianbao(src.resolve(), dest, prefect=a.prefect, timeout=a.timeout, extra=tuple(shlex.split(a.run_args)))
    print(f"nianbao run {'(Prefect)' if a.prefect else '--no-prefect'} {a.run_args} on {len(entries)} files")
    try:
        findings = check.analyse(src.resolve(), dest, entries, run)
        print(check.report(findings, examples=a.examples))
    except Exception as e:  # noqa: BLE001 — a benchmark prints what it can
        print(f"exit code: {run.exit_code}; peak RSS {run.peak_rss / 2**30:.2f} GB; wall {run.seconds:.1f} s")
        print(f"PROBLEMS\n  analysis failed: {type(e).__name__}: {e}")
    tail = (run.stderr.strip().splitlines() or [""])[-5:]
    print("last lines of stderr:\n  " + "\n  ".join(tail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
