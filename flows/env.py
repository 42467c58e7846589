"""Process environment for nianbao commands: offline, quiet Prefect (set before importing prefect), the
memory budget's allocators, imports deferred until used."""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import types
from pathlib import Path

OFFLINE_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DASK_LOGGING__DISTRIBUTED": "warning",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


# Prefect's logging handlers that write to the terminal (prefect/logging/logging.yml)
CONSOLE_LOG_HANDLERS = ("CONSOLE", "DEBUG")

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8            # glibc mallopt parameter


def limit_malloc_arenas(n: int = MALLOC_ARENAS) -> None:
    """At most ``n`` glibc malloc arenas, in this process (arenas made from now on) and in the worker
    processes it spawns (environment). glibc gives each thread that allocates its own arena, up to 8
    per core; GX, publish and Prefect's task threads each fragment one, which cost the flow process
    ~0.35 GB of RSS on 20k reports."""
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
    """The allocator settings of the memory budget (peak RSS): before the worker pool is spawned."""
    limit_malloc_arenas()
    use_system_arrow_pool()


# Modules Great Expectations imports only for its KL-divergence expectation (computed with scipy.stats,
# charted with altair), which no suite of ours holds: ~1 s of the ~3 s that importing GX costs
DEFERRED_IMPORTS = ("scipy.stats", "altair")


class DeferredModule(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is read, then imports the
    real one (and takes its attributes): ``import m`` / ``from pkg import m`` cost nothing until used."""
    _lock = threading.Lock()

    def __getattr__(self, attr: str):
        with DeferredModule._lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__.update(real.__dict__)
        return getattr(real, attr)


def defer_imports(names=DEFERRED_IMPORTS) -> None:
    """Defer the import of modules not imported yet (see DeferredModule); their spec is found now, so
    ``importlib.util.find_spec`` still answers for them."""
    for name in names:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        module = DeferredModule(name)
        module.__spec__ = spec
        sys.modules[name] = module


def configure(dest: str | None = None, quiet: bool = True) -> None:
    for k, v in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(k, v)
    bound_memory()
    defer_imports()
    if not os.environ.get("PREFECT_API_URL"):
        # ephemeral mode: keep Prefect's state next to the data, hide shutdown tracebacks
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
        if dest is not None:
            home = Path(os.environ.setdefault("PREFECT_HOME", str(Path(dest).resolve() / ".prefect")))
            home.mkdir(parents=True, exist_ok=True)
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        if not os.environ.get("NIANBAO_DEBUG"):
            # a failed task is logged with its traceback, then the flow run's failure with another: the
            # command's error is one line (the API keeps Prefect's records)
            for handler in CONSOLE_LOG_HANDLERS:
                os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL", "CRITICAL")
        # "Still processing items: N items remaining..." while Prefect's events worker flushes its last
        # events at exit: progress, not a problem, printed after a fast run's own summary
        logging.getLogger("EventsWorker").setLevel(logging.ERROR)
