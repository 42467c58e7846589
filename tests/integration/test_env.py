"""flows.env: the process settings every nianbao command starts with."""
from __future__ import annotations

import os
import subprocess
import sys

from paths import ROOT

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


DEFERRED = """
import sys
from flows import env
env.configure(None)
import great_expectations
from expectations.gate import get_context
get_context()                                   # the suites load and count as they must
loaded_by_gx = [n for n in ("scipy.stats._stats_py", "altair.vegalite") if n in sys.modules]
from scipy import stats
import altair
import importlib.util
print(loaded_by_gx, round(float(stats.entropy([1, 1], [1, 3])), 4), altair.Chart.__name__,
      importlib.util.find_spec("altair").name, "scipy.stats._stats_py" in sys.modules)
"""


def test_the_modules_gx_imports_for_an_expectation_we_do_not_use_load_only_when_used(tmp_path):
    """scipy.stats and altair (GX's KL-divergence expectation) are not loaded by importing GX; a module
    that reads them then gets the real ones."""
    r = subprocess.run([sys.executable, "-c", DEFERRED], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "GX_ANALYTICS_ENABLED": "false"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["[]", "0.1438", "Chart", "altair", "True"]
