"""The run's worker processes (local runs; a Dask run has none): the spawn pool of parse workers and
the publish processes, keyed by run, and the count of reports the workers have parsed (progress)."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import threading

from flows import batch, runtime

POOLS: dict[str, cf.ProcessPoolExecutor] = {}

PARSED_COUNT = None      # reports parsed so far by this process's run (local pool or inline)


def parsed_count() -> int | None:
    """Reports parsed so far by the run in progress (None when not counted, e.g. on Dask workers)."""
    return None if PARSED_COUNT is None else int(PARSED_COUNT.value)


class _LocalCount:
    """The count while the run's reports are parsed in this process (no pool started): a
    multiprocessing Value's lock is a named semaphore, and the first one starts multiprocessing's
    resource tracker, a process of its own (~10 ms to start it here, ~40 ms of CPU there), which a
    one-file run has no other use for."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def get_lock(self) -> threading.Lock:
        return self._lock


def reset_parsed_count() -> None:
    global PARSED_COUNT
    PARSED_COUNT = _LocalCount()
    batch.count_parsed_into(PARSED_COUNT)        # batches parsed in this process


def _shared_count():
    """The count as a Value the spawned workers share, made when the run's first pool starts (with
    what this process counted before)."""
    global PARSED_COUNT
    if PARSED_COUNT is None or isinstance(PARSED_COUNT, _LocalCount):
        PARSED_COUNT = mp.get_context("spawn").Value("q", 0 if PARSED_COUNT is None else PARSED_COUNT.value)
        batch.count_parsed_into(PARSED_COUNT)
    return PARSED_COUNT


def start_pool(key: str, workers: int, warm: bool) -> None:
    """The spawn pool of parse workers; ``warm``: start the processes now (each imports the batch code
    for ~1.5 s), not at the first batch."""
    if key in POOLS:                    # a retried discovery
        return
    pool = POOLS[key] = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                                initializer=batch.worker_init, initargs=(_shared_count(),))
    if warm:
        for _ in range(workers):     # a spawn pool starts a process per submit while none is idle
            pool.submit(os.getpid)


def stop_pool(key: str, kill: bool = False) -> None:
    """``kill``: terminate the worker processes now, whatever batch they are parsing (a stopped or
    failed run), instead of letting them finish."""
    pool = POOLS.pop(key, None)
    if pool is None:
        return
    if not kill:
        pool.shutdown()
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.join(timeout=1.0)
        if p.is_alive():
            p.kill()


# --------------------------------------------------------------------------- publishing in processes
# A run of several batches publishes its datasets in PUBLISH_PROCESSES spawn processes (publish_dataset:
# pure pyarrow on paths), started once the last batch is parsed (its parse workers stopped first: peak
# RSS), one dataset per process at a time; the datasets no run-level pass restages publish while the
# cross-report pass runs. In the flow process, the publishing threads had shared the GIL with the
# cross-report pass, the Data Docs and the summary page (140-180 % CPU of 2 cores). On 10,000 generated
# reports (2 shared cores, load ~2.5) the tail after the last validation went from 10.8 / 12.6 s to
# 7.8 / 9.0 s; the spawn (~0.8 s of CPU a process) delayed the last validations by 1-4 s, so the whole
# run was about as long (39.4 / 40.3 s before, 37.7 / 40.5 s after).
PUBLISH_PROCESSES = 2
# fewer batches (one report file, a small folder): spawning the processes (~1 s of imports each) costs
# more than the overlap saves
PUBLISH_POOL_MIN_BATCHES = 2


def publish_key(run_id: str) -> str:
    return f"{run_id}-publish"


def publish_worker_init(parent: int) -> None:
    """Initializer of the publish processes. Ctrl-C is left to the run, which terminates them; a process
    whose run died (kill -9: no one terminates it) exits (runtime.exit_with_parent). The publishing code
    is imported now: the processes start while the run validates its last chunks, with a core to spare,
    and their first dataset then finds it loaded (~0.5 s of CPU each that went into the busy tail of the
    run, where the datasets publish beside the cross-report pass and the Data Docs)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime.exit_with_parent(parent)
    import flows.publish  # noqa: F401


def start_publish_pool(key: str, processes: int) -> None:
    """The run's publish processes, started now (each imports the publishing code)."""
    if key in POOLS:
        return
    pool = POOLS[key] = cf.ProcessPoolExecutor(max_workers=processes, mp_context=mp.get_context("spawn"),
                                                initializer=publish_worker_init, initargs=(os.getpid(),))
    for _ in range(processes):      # a spawn pool starts a process per submit while none is idle
        pool.submit(os.getpid)


def stop_run_pools(run_id: str, kill: bool = False) -> None:
    """The run's parse workers and publish processes (see stop_pool)."""
    for key in (run_id, publish_key(run_id)):
        stop_pool(key, kill=kill)
