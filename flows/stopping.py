"""Stopping a run on SIGINT / SIGTERM / SIGHUP within seconds, leaving nothing half-done (no Prefect imports).

The signal becomes an exception (``Interrupted``) in the main thread, where the run waits on its
tasks: the run stops its worker processes, removes its staging folder and unpublished version, marks
its Prefect flow run, and the command exits 128 + the signal number with one line on stderr. Threads
busy in a long call (a GX validation, a dataset being published) cannot be interrupted: they are
abandoned with the process, and a deadline bounds the whole stop however the shutdown goes (an
unreachable Prefect API, a thread that holds on): the cleanups registered with ``on_stop`` run
again and the process exits.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from contextlib import contextmanager

from flows import env, runtime

# SIGHUP too: a closed terminal must not leave Prefect's temporary server (in a session of its own) behind
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DEADLINE_SECONDS = 4.0          # from the signal to the exit, whatever is still running


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by a signal (a KeyboardInterrupt, so that Prefect's engine and any
    library treat it as Ctrl-C: a crash of the run, not a failure of a step)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        return f"interrupted by {signal.Signals(self.signum).name}"


_lock = threading.Lock()
_previous: dict[int, object] = {}      # signal -> handler before install(); empty when not installed
_received: int | None = None
_deferring = 0
_pending = False
_cleanups: list = []
_said = False
_published: str | None = None          # a version committed before the signal was acted on


def install() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into ``Interrupted`` (main thread only: where Python runs
    handlers); a signal the process was started ignoring (nohup, a background job) stays ignored."""
    global _received, _pending, _said, _published
    if threading.current_thread() is not threading.main_thread():
        return
    _received, _pending, _said, _published = None, False, False, None
    for s in SIGNALS:
        if s not in _previous and signal.getsignal(s) is not signal.SIG_IGN:
            before = signal.signal(s, _handle)
            _previous[s] = signal.SIG_DFL if before is None else before     # None: set outside Python


def uninstall() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for s, h in list(_previous.items()):
        signal.signal(s, h)
        del _previous[s]


def rearm() -> None:
    """Put our handler back where Prefect's flow engine put its own for SIGTERM (it would raise its
    TerminationSignal only once the tasks still running are done, outside the deadline)."""
    if _previous and threading.current_thread() is threading.main_thread():
        for s in _previous:
            if signal.getsignal(s) is not _handle:
                signal.signal(s, _handle)


def received() -> int | None:
    """The signal that asked the process to stop, if any."""
    return _received


def _handle(signum, frame) -> None:
    global _received, _pending
    if _received is not None:           # stopping already; the deadline bounds it
        return
    _received = signum
    if not env.debug():
        quiet_console_logging()
    threading.Thread(target=_deadline, args=(signum,), name="nianbao-stop-deadline", daemon=True).start()
    if _deferring:
        _pending = True
        return
    raise Interrupted(signum)


@contextmanager
def deferred():
    """A signal that arrives inside the block is raised at its end: the commit of a version (rename,
    pointer swap) is never cut in half."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _pending and not _deferring:
        _pending = False
        raise Interrupted(_received)


@contextmanager
def on_stop(cleanup):
    """Register ``cleanup`` (idempotent, thread-safe) to run again just before a stopped process exits."""
    with _lock:
        _cleanups.append(cleanup)
    try:
        yield
    finally:
        if _received is None:           # stopped: run once more as the process exits (threads it
            with _lock:                  # abandoned may have written after the first time)
                if cleanup in _cleanups:
                    _cleanups.remove(cleanup)


def at_stop(cleanup) -> None:
    """Register ``cleanup`` for as long as the process lives (e.g. stopping a server it started)."""
    with _lock:
        _cleanups.append(cleanup)


def run_cleanups() -> None:
    with _lock:
        todo = list(_cleanups)
    for fn in todo:
        try:
            fn()
        except Exception:
            pass


def say(message: str) -> None:
    """The one line of a stopped run (printed once, by the command or by the deadline)."""
    global _said
    with _lock:
        if _said:
            return
        _said = True
    try:
        print(f"nianbao: error: {message}", file=sys.stderr, flush=True)
    except Exception:
        pass


def published(version: str) -> None:
    """Note that ``version`` was committed (a signal during the commit waits for it to finish)."""
    global _published
    _published = version


def stop_message(signum: int) -> str:
    name = signal.Signals(signum).name
    if _published:
        return f"interrupted by {name} once version {_published} was published"
    return f"interrupted by {name}: the run stopped and removed its staging; the published version is unchanged"


def exit_now(code: int) -> None:
    """Leave at once: the cleanups run again (a thread may have written after them), output is
    flushed, and no thread is waited for."""
    run_cleanups()
    runtime.leave_now(code)


def _deadline(signum: int) -> None:
    time.sleep(DEADLINE_SECONDS)
    say(stop_message(signum))
    exit_now(128 + signum)


def quiet_console_logging() -> None:
    """No log lines on the console once stopping: Prefect reports every abandoned task as crashed
    (the API keeps those records)."""
    logging.raiseExceptions = False     # no "--- Error logging to API ---" once Prefect's server is stopped
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for h in lg.handlers:
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                h.setLevel(logging.CRITICAL + 1)
