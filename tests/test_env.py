"""flows.env: the process settings every nianbao command starts with."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import concurrent.futures as cf, multiprocessing as mp, os
from flows import env

def pool_of_worker():
    import pyarrow as pa
    return pa.default_memory_pool().backend_name, os.environ.get("MALLOC_ARENA_MAX")

if __name__ == "__main__":
    env.configure(None)
    import pyarrow as pa
    with cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        worker = ex.submit(pool_of_worker).result()
    print(pa.default_memory_pool().backend_name, os.environ["MALLOC_ARENA_MAX"], *worker)
"""


def _probe(tmp_path, **env):
    script = tmp_path / "probe_env.py"
    script.write_text(PROBE)
    clean = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "MALLOC_ARENA_MAX")}
    out = subprocess.run([sys.executable, str(script)], env={**clean, "PYTHONPATH": str(ROOT), **env},
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.split()


def test_configure_bounds_the_allocators_of_the_process_and_its_spawned_workers(tmp_path):
    assert _probe(tmp_path) == ["system", "2", "system", "2"]


def test_an_explicit_arrow_pool_is_respected(tmp_path):
    assert _probe(tmp_path, ARROW_DEFAULT_MEMORY_POOL="jemalloc")[::2] == ["jemalloc", "jemalloc"]
