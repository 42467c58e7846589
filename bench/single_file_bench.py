"""Wall and CPU time of `nianbao run --source FILE` for one real report of each kind (text, HTML, DOCX,
text-layer PDF), each into a fresh destination, as a user runs it (a new process).

    python bench/single_file_bench.py [--repeat 3] [--tree /work/main ...]   # several trees: alternated
    python bench/single_file_bench.py --crossover [--sizes 1,2,5,10,25]     # GX vs the pandas evaluator

CPU is the process's user + system time with its children (the machine is shared: wall time drifts with
the load, CPU much less). ``--crossover`` times one validation of every suite on the views of n
synthetic reports with GX (context open, warm) and with expectations/evaluator.py: the measurement
behind expectations.gate.EVALUATOR_MAX_REPORTS.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = {
    "text": ROOT / "tests" / "fixtures" / "realworld" / "raw" / "lg_dept_2024.txt",
    "html": ROOT / "tests" / "fixtures" / "realworld" / "raw" / "hangzhou_style_2025.html",
    "docx": ROOT / "tests" / "fixtures" / "site" / "mirror_gz_fgj_2020.docx",
    "pdf": ROOT / "tests" / "fixtures" / "site" / "hangzhou_style_2025.pdf",
}
ENV = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
       "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL"}


def one_run(tree: Path, path: Path) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and its children, the line it printed)."""
    with tempfile.TemporaryDirectory() as dest:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "flows", "run", "--source", str(path), "--dest", dest],
                           cwd=tree, env={**os.environ, **ENV, "PYTHONPATH": str(tree)}, capture_output=True,
                           text=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = (p.stdout or p.stderr).strip().splitlines()[-1] if (p.stdout or p.stderr).strip() else f"exit {p.returncode}"
    return wall, cpu, line


def runs(trees: list[Path], repeat: int) -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {repeat} runs each, trees alternated")
    seen: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for kind, path in FILES.items():
            for tree in trees:
                wall, cpu, line = one_run(tree, path)
                seen.setdefault((kind, str(tree)), []).append((wall, cpu))
                if len(seen[(kind, str(tree))]) == 1:
                    print(f"  {kind} {tree}: {line[:160]}")
    print(f"{'file':6} {'tree':32} {'wall median (min)':>20} {'CPU median (min)':>20}")
    for (kind, tree), xs in seen.items():
        walls, cpus = [w for w, _ in xs], [c for _, c in xs]
        print(f"{kind:6} {tree[-32:]:32} {statistics.median(walls):13.2f} s ({min(walls):.2f}) "
              f"{statistics.median(cpus):12.2f} s ({min(cpus):.2f})")
    print(f"load average {os.getloadavg()[0]:.1f}")


def crossover(sizes: list[int]) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.update(ENV)
    from expectations import gate
    from synthetic.frames import make_frames
    root = Path(tempfile.mkdtemp()) / "gx"
    gate.get_context(root)
    print(f"load average {os.getloadavg()[0]:.1f}; one validation of every suite (CPU s, best of 2)")
    print(f"{'reports':>8} {'view rows':>10} {'GX':>8} {'pandas':>8}")
    for n in sizes:
        views = gate.prepare_batch(make_frames(n, seed=n)).views
        rows = sum(len(v) for v in views.values())
        best = {}
        for engine in (gate.GX, gate.PANDAS):
            times = []
            for _ in range(2):
                t0 = time.process_time()
                gate.validate_views(views, run_name=f"bench-{n}", context_root=root, engine=engine)
                times.append(time.process_time() - t0)
            best[engine] = min(times)
        print(f"{n:8d} {rows:10d} {best[gate.GX]:8.2f} {best[gate.PANDAS]:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tree", action="append", type=Path, help="source tree to run (default: this one)")
    ap.add_argument("--crossover", action="store_true")
    ap.add_argument("--sizes", default="1,2,5,10,25,100")
    a = ap.parse_args()
    if a.crossover:
        crossover([int(x) for x in a.sizes.split(",")])
    else:
        runs([t.resolve() for t in (a.tree or [ROOT])], a.repeat)


if __name__ == "__main__":
    main()
