"""End-to-end benchmark of `nianbao run` on generated reports.

    python bench/flow_bench.py [--n 20000] [--batch-size 750] [--workers 2] [--rounds 1] [--keep DIR]

Generates N reports with synthetic.generator.corpus (not timed), then runs the same pipeline
twice on fresh destinations, each a `nianbao run` in a fresh process: plain Python (`--no-prefect`)
and the Prefect flow (heartbeats off). Prints end-to-end reports/s (imports and exit included),
peak RSS of the run's process tree (the run's process + its parse workers, sampled every 0.2 s; a
Prefect server is a separate service and not counted) and Prefect's share
of wall time = 1 - t_plain / t_prefect (summed over --rounds alternated rounds), and the machine's
speed (engine reports/s on one core) before and after each run: this VM's speed drifts by 30 % and
more within an hour, which moves every figure with it.

--server real (default): the flow runs against a `prefect server start` launched before the timing,
as the nightly schedule does (README: scheduling). --server ephemeral: no PREFECT_API_URL, so the
timed run includes starting Prefect's temporary server (~10 s per process).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from flows import defaults, env  # noqa: E402


class PeakRSS:
    """Peak of the summed RSS of a process and its descendants, sampled every ``interval`` s, with
    each process's share at the peak ("main": the root, "worker-<pid>": the others)."""

    def __init__(self, pid: int | None = None, interval=0.2):
        import psutil
        self.p = psutil.Process(pid)
        self.peak = 0
        self.at_peak: dict[str, int] = {}
        self.interval = interval
        self._stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        import psutil
        total = 0
        parts = {}
        try:
            procs = [self.p] + self.p.children(recursive=True)
        except psutil.Error:              # the run has ended
            return
        for q in procs:
            try:
                rss = q.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            parts["main" if q.pid == self.p.pid else f"worker-{q.pid}"] = rss
        if total > self.peak:
            self.peak, self.at_peak = total, parts

    def breakdown(self) -> str:
        return ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(self.at_peak.items(), key=lambda kv: -kv[1]))

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self.t.join()
        self._sample()


def timed_run(mode: str, cfg: dict) -> tuple[float, dict, "PeakRSS"]:
    """One `nianbao run` (the CLI, in a fresh process: imports and exit included): (wall seconds, the
    run's summary, its PeakRSS). Runs inside the benchmark's own process would favour whichever mode
    comes second, which finds Prefect, GX and pandas imported already."""
    import json
    import subprocess
    cmd = [sys.executable, "-m", "flows", "run", "--source", cfg["source"], "--dest", cfg["dest"],
           "--batch-size", str(cfg["batch_size"]), "--workers", str(cfg["workers"]), "--no-progress", "--json",
           *(["--no-prefect"] if mode == "plain" else [])]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    with PeakRSS(proc.pid) as rss:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):            # 3: published, with structural failures reported
        raise RuntimeError(f"{mode} run failed ({proc.returncode}): {err[-2000:]}")
    return wall, json.loads(out[out.index("{"):]), rss


def generate(n: int, out: Path, seed: int) -> None:
    from synthetic.generator import corpus
    out.mkdir(parents=True, exist_ok=True)
    for i, (text, _truth) in enumerate(corpus(n, seed)):
        (out / f"{i:06d}.txt").write_text(text, encoding="utf-8")


_SPEED_PROBE = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from transforms.engine import parse_report
data = [p.read_bytes() for p in sorted(Path({corpus!r}).iterdir())[:{n}]]
parse_report(data[0], "warm.txt")
c0 = time.process_time()
for i, d in enumerate(data):
    parse_report(d, f"probe/{{i}}.txt")
print(len(data) / (time.process_time() - c0))
"""


def machine_speed(corpus_dir: Path, n: int = 400) -> float:
    """Engine reports/s on one core right now, in a separate process (not counted in the RSS): this
    VM's speed drifts by 30 % and more within an hour, so each figure is printed with it."""
    import subprocess
    code = _SPEED_PROBE.format(root=str(Path(__file__).resolve().parents[1]), corpus=str(corpus_dir), n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=defaults.BATCH_SIZE)
    ap.add_argument("--workers", type=int, default=defaults.WORKERS)
    ap.add_argument("--keep", help="keep the corpus/outputs in this directory")
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--rounds", type=int, default=1, help="plain + Prefect runs alternated this many times")
    ap.add_argument("--server", choices=("real", "ephemeral"), default="real")
    a = ap.parse_args(argv)
    work = Path(a.keep or tempfile.mkdtemp(prefix="nianbao-bench-"))
    os.environ.setdefault("PREFECT_HOME", str(work / ".prefect"))     # outside the outputs we delete
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    env.configure(None)
    warnings.simplefilter("ignore")
    corpus_dir = work / "corpus"
    if not (corpus_dir.exists() and len(list(corpus_dir.iterdir())) == a.n):
        shutil.rmtree(corpus_dir, ignore_errors=True)
        t = time.perf_counter()
        generate(a.n, corpus_dir, a.seed)
        print(f"generated {a.n} reports in {time.perf_counter() - t:.1f}s ({corpus_dir})")
    with contextlib.ExitStack() as stack:
        if a.server == "real":
            from flows.server import prefect_server
            t = time.perf_counter()
            api, _server = stack.enter_context(prefect_server(work / "server"))
            os.environ["PREFECT_API_URL"] = api
            print(f"prefect server start: healthy after {time.perf_counter() - t:.1f}s at {api} (not timed)")
        code = _run(a, work, corpus_dir)
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return code


def _run(a, work: Path, corpus_dir: Path) -> int:
    from flows import publish as pub
    res: dict[str, list] = {"plain": [], "prefect": []}
    speeds = [machine_speed(corpus_dir)]
    modes = ["prefect"] if a.skip_plain else ["plain", "prefect"]
    for _round in range(a.rounds):             # alternated: the VM's speed drifts between runs
        for mode in modes:
            dest = work / f"out-{mode}"
            shutil.rmtree(dest, ignore_errors=True)
            cfg = dict(source=str(corpus_dir), dest=str(dest), batch_size=a.batch_size, workers=a.workers)
            wall, s, rss = timed_run(mode, cfg)
            res[mode].append((wall, s["seconds"], rss.peak))
            print(f"{mode:8s} wall {wall:7.1f}s  (inside the run {s['seconds']:6.1f}s)  "
                  f"{a.n / wall:6.0f} reports/s end to end  peak RSS {rss.peak / 2**20:6.0f} MiB  "
                  f"parsed {s.get('parsed')} quarantined {s.get('quarantined')} verdicts {s.get('verdicts')}")
            print(f"{'':8s} at the peak (MiB): {rss.breakdown()}")
            speeds.append(machine_speed(corpus_dir))
            print(f"{'':8s} machine speed before / after (engine reports/s on one core, 400 of these reports): "
                  f"{speeds[-2]:.0f} / {speeds[-1]:.0f}")
    prefect = res["prefect"]
    if res["plain"]:
        wp, sp = sum(r[0] for r in res["plain"]), sum(r[0] for r in prefect)
        ip = sum(r[1] for r in prefect)
        startup = "the ephemeral server's start-up included" if a.server == "ephemeral" else "against a running server"
        print(f"Prefect share of wall time: {1 - wp / sp:.1%} ({startup}); "
              f"{1 - sum(r[1] for r in res['plain']) / ip:.1%} inside the flow body "
              f"({(sp - ip) / len(prefect):.1f}s outside it per run)")
        same = pub.digest(work / "out-plain") == pub.digest(work / "out-prefect")
        print(f"plain and Prefect outputs byte-identical: {same}")
    walls = sorted(r[0] for r in prefect)           # an even count: the slower of the middle two
    print(f"end to end (Prefect flow, median of {len(walls)}, the slower middle run if even): "
          f"{a.n / walls[len(walls) // 2]:.0f} reports/s; "
          f"peak RSS {max(r[2] for r in prefect) / 2**20:.0f} MiB (largest); machine speed "
          f"{min(speeds):.0f}–{max(speeds):.0f} engine reports/s on one core during the benchmark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
