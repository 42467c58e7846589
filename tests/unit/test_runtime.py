"""flows/runtime.py (the process tweaks) and the NIANBAO_* settings flows/env.py reads."""
from __future__ import annotations

import gc

import pytest

from flows import defaults, env, runtime


def test_gc_paused_restores_the_collector_as_it_was():
    assert gc.isenabled()
    with runtime.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with runtime.gc_paused():
            pass
        assert not gc.isenabled()          # it was off: left off
    finally:
        gc.enable()


class _Libc:
    """Stands in for ctypes.CDLL("libc.so.6"): counts the trims."""
    trims = 0

    def __init__(self, name):
        pass

    def malloc_trim(self, pad):
        type(self).trims += 1


@pytest.mark.parametrize("trim_above, rss, trims", [
    (None, 100 * 2**20, 1),                 # the flow process: always
    (640 * 2**20, 500 * 2**20, 0),          # a worker at its usual size keeps its free memory
    (640 * 2**20, 900 * 2**20, 1),          # a worker grown past the limit gives it back
    (640 * 2**20, -1, 1),                   # RSS unknown: trimmed, as before
])
def test_release_memory_trims_above_the_limit_only(monkeypatch, trim_above, rss, trims):
    import ctypes
    monkeypatch.setattr(ctypes, "CDLL", _Libc)
    monkeypatch.setattr(_Libc, "trims", 0)
    monkeypatch.setattr(runtime, "resident_bytes", lambda: rss)
    runtime.release_memory(collect=False, trim_above=trim_above)
    assert _Libc.trims == trims


def test_resident_bytes_is_this_process_rss():
    import psutil
    rss = psutil.Process().memory_info().rss
    assert abs(runtime.resident_bytes() - rss) < 0.1 * rss


def test_gc_paused_reenables_after_an_exception():
    with pytest.raises(ValueError):
        with runtime.gc_paused():
            raise ValueError("boom")
    assert gc.isenabled()


def test_collector_off_freezes_what_is_alive_and_undoes_both():
    assert gc.isenabled() and gc.get_freeze_count() == 0
    with pytest.raises(ValueError):
        with runtime.collector_off():
            assert not gc.isenabled() and gc.get_freeze_count() > 0
            assert gc.collect() >= 0 and gc.get_freeze_count() > 0     # an explicit collection leaves them
            raise ValueError("boom")
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.parametrize("raw, expected", [("", 30.0), ("5", 5.0), ("0.2", 1.0), ("soon", 30.0)])
def test_progress_seconds(monkeypatch, raw, expected):
    monkeypatch.setenv("NIANBAO_PROGRESS_SECONDS", raw)
    assert env.progress_seconds() == expected


@pytest.mark.parametrize("raw", ["", "-3", "0", "never"])
def test_url_deadline_falls_back_to_the_default(monkeypatch, raw):
    monkeypatch.setenv("NIANBAO_URL_DEADLINE", raw)
    assert env.url_deadline() == defaults.URL_DEADLINE


def test_url_limits_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("NIANBAO_URL_DEADLINE", "7.5")
    monkeypatch.setenv("NIANBAO_RETRY_AFTER_MAX", "2")
    assert (env.url_deadline(), env.retry_after_max()) == (7.5, 2.0)


def test_debug_and_forced_progress(monkeypatch):
    monkeypatch.delenv("NIANBAO_DEBUG", raising=False)
    monkeypatch.setenv("NIANBAO_PROGRESS", "0")
    assert not env.debug() and not env.progress_forced()
    monkeypatch.setenv("NIANBAO_DEBUG", "1")
    monkeypatch.setenv("NIANBAO_PROGRESS", "1")
    assert env.debug() and env.progress_forced()
