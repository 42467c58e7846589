"""Time the quality gate on 1,000,000 tidy rows (synthetic, consistent reports of both formats).

    python bench/validate_bench.py [--rows 1000000]

Prints the time of validate_batch (reconciliation, quality_checks, verdicts and one GX validation per
dataset on whole frames) after the GX context is opened; target ≤ 15 s on the project machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    from synthetic.frames import make_frames
    from transforms import schema
    from transforms.formats import FORMATS

    per_report = sum(len(FORMATS[f].cell_addresses(t)) for f in ("2019", "2021")
                     for t in schema.STATUTORY_TABLES) / 2
    n_reports = max(1, round(args.rows / per_report))
    t = time.perf_counter()
    frames = make_frames(n_reports, fast_raw=True)
    n_rows = sum(len(frames[t]) for t in schema.STATUTORY_TABLES)
    print(f"generated {n_reports} reports, {n_rows:,} tidy rows in {time.perf_counter() - t:.1f} s")
    from expectations import gate
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        gate.get_context(Path(tmp) / "gx")
        print(f"GX import + context: {time.perf_counter() - t:.1f} s (once per process)")
        t = time.perf_counter()
        r = gate.validate_batch(frames, run_name="bench", context_root=Path(tmp) / "gx")
        dt = time.perf_counter() - t
    print("stages (s):", ", ".join(f"{k}={v}" for k, v in r.timings.items()))
    print(f"validate_batch: {n_rows:,} tidy rows in {dt:.1f} s (target <= 15 s); structural_ok={r.structural_ok}")
    return 0 if r.structural_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
