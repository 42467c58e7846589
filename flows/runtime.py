"""The process tweaks of a run, with what each was measured to save: the allocators (peak RSS), the
cyclic garbage collector (CPU per report) and leaving the process without the interpreter's
finalization (seconds per command). Domain code calls these by name; nothing else in the project
touches ``gc``, ``mallopt``/``malloc_trim`` or ``os._exit`` (but transforms/cache.py, which pauses the
collector while it unpickles: transforms/ cannot import flows/).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

# --------------------------------------------------------------------------- allocators (peak RSS)
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8            # glibc mallopt parameter


def limit_malloc_arenas(n: int = MALLOC_ARENAS) -> None:
    """At most ``n`` glibc malloc arenas, in this process (arenas made from now on) and in the worker
    processes it spawns (environment). glibc gives each thread that allocates its own arena, up to 8
    per core; GX, publish and Prefect's task threads each fragment one, which cost the flow process
    ~0.35 GB of RSS on 20k reports (a Prefect run's peak: 2.03 -> 1.66 GB)."""
    os.environ.setdefault("MALLOC_ARENA_MAX", str(n))
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, int(os.environ["MALLOC_ARENA_MAX"]))
    except (OSError, AttributeError, ValueError):     # not glibc
        pass


def use_system_arrow_pool() -> None:
    """Arrow allocates with glibc malloc (not its bundled mimalloc), in this process and in the workers
    it spawns (environment): mimalloc keeps freed segments, so a parse worker peaked ~0.14 GB higher
    per 500-report batch and never gave back ~0.1 GB; with malloc, release_memory's malloc_trim does."""
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    if os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system":
        import pyarrow as pa
        pa.set_memory_pool(pa.system_memory_pool())


def bound_memory() -> None:
    """The allocator settings of the memory budget (peak RSS ≤ 2 GB for a run of any size): before
    the worker pool is spawned, which inherits them through the environment."""
    limit_malloc_arenas()
    use_system_arrow_pool()


# A parse worker hands glibc's free memory back only above this RSS. Trimming after every batch cost
# ~0.14 ms of system CPU a report (the pages given back are faulted in again by the next batch) and did
# not lower the run's peak, which is the workers' own peak inside a batch: on 20k generated reports a
# worker stays at ~0.5 GB either way (peak RSS of the run 1.46-1.49 GB trimming, 1.45-1.62 GB not;
# flow_bench 492/456/504 -> 510/484/492 reports/s). Above it (a batch of scans, a huge file) the worker
# trims as before, so one batch's excess is not kept for the rest of the run.
WORKER_TRIM_ABOVE = 640 * 2**20


def release_memory(collect: bool = True, trim_above: int | None = None) -> None:
    """Hand freed memory back to the OS between batches: Arrow's pool and glibc keep it otherwise
    (a worker stays ~200 MB larger after a 500-report batch), and peak RSS of the run is budgeted.
    ``collect=False`` skips the full garbage collection (a second or more on the flow process's heap);
    ``trim_above``: glibc's free memory is kept while the process's RSS is at most this many bytes."""
    import gc

    import pyarrow as pa
    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    if trim_above is not None and 0 <= resident_bytes() <= trim_above:
        return
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):     # not glibc
        pass


def resident_bytes() -> int:
    """This process's RSS (Linux: /proc/self/statm, ~10 µs); -1 where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return -1


# --------------------------------------------------------------------------- garbage collector (CPU)
def freeze_alive() -> None:
    """Move every object alive now out of the collector's reach, in a parse worker: once after its
    imports (full collections otherwise rescan ~10^6 module objects; with gc_paused, ~15-20 % less CPU
    per report), and again after each batch's collection (release_memory), for what survived it: the
    modules the batch imported lazily and the parser's bounded caches. Without the second, tracked
    objects went 79k → 94k over four 750-report batches and each batch's collection took 24 → 43 ms
    (c4ef48a: ~7 ms). Worker processes only: the flow process's survivors include frames whose cycles
    must stay collectable."""
    import gc
    gc.freeze()


@contextmanager
def gc_paused():
    """No cyclic GC inside a batch: the batch allocates ~10^6 short-lived objects that refcounting
    frees, and gen-2 collections triggered by them cost ~20% of the batch. The collection runs once,
    at the end of the batch (release_memory)."""
    import gc
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def collector_off():
    """No cyclic GC during a run of one report in this process (flows/single.py), and what is alive
    when it starts (the imported modules) frozen, so that the steps' explicit collections
    (release_memory) scan only what the run made. Its garbage is a report's worth. Both undone after.
    Measured on a one-file run: ~0.15 s of its ~1 s was the collector's (258 collections)."""
    import gc
    gc.freeze()
    try:
        with gc_paused():
            yield
    finally:
        gc.unfreeze()


# --------------------------------------------------------------------------- leaving the process
def leave_now(code: int) -> None:
    """Exit at once: output flushed, no thread waited for, no atexit handler, no finalization."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def exit_skipping_finalization(code: int, stopped: bool = False, cleanups=None) -> None:
    """Exit as Python would (threads joined, atexit handlers run: Prefect's events flush, logging),
    without the interpreter's finalization after that: tearing down the flow process's heap of
    modules and objects took ~1.7 s of every run, a no-op run included. Falls back to sys.exit where
    CPython's shutdown hooks are missing. A run ``stopped`` by a signal joins no thread: those still
    busy are abandoned, and ``cleanups`` run once more just before the exit (flows/stopping.py)."""
    import atexit
    shutdown_threads = getattr(threading, "_shutdown", None)
    run_atexit = getattr(atexit, "_run_exitfuncs", None)
    if shutdown_threads is None or run_atexit is None or threading.current_thread() is not threading.main_thread():
        sys.exit(code)
    try:
        if not stopped:
            shutdown_threads()               # concurrent.futures' exit hooks, non-daemon threads joined
        else:                                # Prefect's log handler sends to its server: before an
            import logging                   # exit hook stops that (its last hook would be too late)
            logging.shutdown()
        run_atexit()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:                    # anything odd: the ordinary exit
        if not stopped:
            sys.exit(code)
    if stopped and cleanups is not None:
        cleanups()
    leave_now(code)


PARENT_POLL_SECONDS = 0.2        # a child process whose run was killed (kill -9) exits within this


def exit_with_parent(parent: int) -> None:
    """Watch, on a daemon thread, that ``parent`` is still this process's parent; exit (code 1) as
    soon as it is not: a child whose run died (kill -9: no one terminates it) must not write on into
    the unpublished version the next run removes, or wait forever for work."""
    threading.Thread(target=_exit_with_parent, args=(parent,), name="nianbao-parent", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)
