"""Process environment for nianbao commands: offline, quiet Prefect (set before importing prefect), the
memory budget's allocators (flows/runtime.py), imports deferred until used."""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import types
from pathlib import Path

from flows import runtime

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

# --------------------------------------------------------------------------- the NIANBAO_* settings of flows/
# Every variable flows/ reads is read here (the per-file limits are read by transforms' Limits).
def debug() -> bool:
    """NIANBAO_DEBUG: tracebacks and console logs are kept (a failure is otherwise one line)."""
    return bool(os.environ.get("NIANBAO_DEBUG"))


def progress_forced() -> bool:
    """NIANBAO_PROGRESS=1: progress bars even when stderr is not a terminal."""
    return os.environ.get("NIANBAO_PROGRESS") == "1"


def progress_seconds() -> float:
    """NIANBAO_PROGRESS_SECONDS: seconds between two plain progress lines (default 30, at least 1)."""
    try:
        return max(1.0, float(os.environ.get("NIANBAO_PROGRESS_SECONDS", "30")))
    except ValueError:
        return 30.0


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        v = float(raw) if raw else default
    except ValueError:
        return default
    return v if v > 0 else default


def url_deadline() -> float:
    """Seconds one URL may take in total (connection, redirects, retries, body): ``NIANBAO_URL_DEADLINE``."""
    from flows import defaults
    return _seconds("NIANBAO_URL_DEADLINE", defaults.URL_DEADLINE)


def retry_after_max() -> float:
    """Longest ``Retry-After`` waited for (``NIANBAO_RETRY_AFTER_MAX``); a longer one fails the URL."""
    from flows import defaults
    return _seconds("NIANBAO_RETRY_AFTER_MAX", defaults.RETRY_AFTER_MAX)


def prefect_api_url() -> str | None:
    """PREFECT_API_URL: the Prefect server a run reports to (None: a temporary local one)."""
    return os.environ.get("PREFECT_API_URL") or None


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
    runtime.bound_memory()
    defer_imports()
    if not prefect_api_url():
        # ephemeral mode: keep Prefect's state next to the data, hide shutdown tracebacks
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
        if dest is not None:
            home = Path(os.environ.setdefault("PREFECT_HOME", str(Path(dest).resolve() / ".prefect")))
            home.mkdir(parents=True, exist_ok=True)
    if quiet:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        if not debug():
            # a failed task is logged with its traceback, then the flow run's failure with another: the
            # command's error is one line (the API keeps Prefect's records)
            for handler in CONSOLE_LOG_HANDLERS:
                os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL", "CRITICAL")
        # "Still processing items: N items remaining..." while Prefect's events worker flushes its last
        # events at exit: progress, not a problem, printed after a fast run's own summary
        logging.getLogger("EventsWorker").setLevel(logging.ERROR)
