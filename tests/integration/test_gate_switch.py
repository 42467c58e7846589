"""The GX half of the gate is switched by tests from the outside (flows.batch.GX, set by the
``gate_off`` fixture or tests/launch.py), and the run hands its setting to every batch explicitly:
a spawned parse worker imports flows.batch afresh and would not see the parent's value."""
from __future__ import annotations

from flows import batch, pipeline

from paths import ROOT
SEED = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))[0]


def _items():
    return [{"local_path": str(SEED), "source_file": SEED.name, "size": SEED.stat().st_size}]


def test_a_batch_makes_gx_views_only_with_the_gx_half(tmp_path):
    off, on = tmp_path / "off", tmp_path / "on"
    off.mkdir()
    on.mkdir()
    s_off = batch.parse_batch(0, _items(), str(off), gx=False)
    s_on = batch.parse_batch(0, _items(), str(on), gx=True)
    assert not (off / batch.VIEWS).exists()
    assert batch.view_path(on, "applications", 0).is_file()
    assert s_off["rows"] == s_on["rows"]          # the same rows are staged either way


def test_the_run_passes_its_setting_to_each_batch(monkeypatch, gate_off):
    seen = []
    monkeypatch.setattr(batch, "parse_batch", lambda *a, **kw: seen.append(kw["gx"]) or {})
    pipeline.parse_step(0, [], "unused", pool_key=None)
    monkeypatch.setattr(batch, "GX", True)
    pipeline.parse_step(1, [], "unused", pool_key=None)
    assert seen == [False, True]


def test_crash_points_call_the_hook_only_when_one_is_set(monkeypatch):
    pipeline.crash_point("mid_publish")              # no hook: nothing happens
    called = []
    monkeypatch.setattr(pipeline, "CRASH_HOOK", called.append)
    pipeline.crash_point("after_parse")
    assert called == ["after_parse"]
