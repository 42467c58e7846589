"""RunConfig is the one place a run's limits and deadlines come from: the NIANBAO_* variables are read
once, when it is built, and its values reach discovery, the fetcher and the spawned parse workers
(whatever environment those inherit)."""
from __future__ import annotations

import shutil
from dataclasses import asdict

import pyarrow.parquet as pq

from flows import pools, steps
from flows import publish as pub
from flows import sources as src
from flows.pipeline import RunConfig, run_plain
from transforms.read.limits import MAX_BYTES, Limits

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))


def test_the_environment_is_read_once_when_the_config_is_built(monkeypatch):
    from flows import defaults
    for k in ("NIANBAO_MAX_BYTES", "NIANBAO_MAX_SECONDS", "NIANBAO_URL_DEADLINE", "NIANBAO_RETRY_AFTER_MAX"):
        monkeypatch.delenv(k, raising=False)
    plain = RunConfig()
    assert plain.limits == Limits() and plain.limits.max_bytes == MAX_BYTES
    assert (plain.url_deadline, plain.retry_after_max) == (defaults.URL_DEADLINE, defaults.RETRY_AFTER_MAX)
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "1234")
    monkeypatch.setenv("NIANBAO_MAX_SECONDS", "2.5")
    monkeypatch.setenv("NIANBAO_URL_DEADLINE", "7")
    monkeypatch.setenv("NIANBAO_RETRY_AFTER_MAX", "3")
    cfg = RunConfig()
    assert (cfg.limits.max_bytes, cfg.limits.max_seconds, cfg.url_deadline, cfg.retry_after_max) == (1234, 2.5, 7, 3)
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "99")
    assert cfg.limits.max_bytes == 1234 and plain.limits.max_bytes == MAX_BYTES     # fixed once built


def test_a_limit_of_the_config_reaches_the_spawned_workers(tmp_path, monkeypatch):
    """The workers inherit a generous NIANBAO_MAX_BYTES; the config's small one is what they apply."""
    monkeypatch.setenv("NIANBAO_MAX_BYTES", str(10 * MAX_BYTES))
    source = tmp_path / "src"
    source.mkdir()
    for p in SEEDS:
        shutil.copy(p, source / p.name)
    limit = 7000
    started = []
    real = pools.start_pool
    monkeypatch.setattr(pools, "start_pool", lambda key, workers, warm: (started.append(workers),
                                                                         real(key, workers, warm)))
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(source), dest=str(dest), batch_size=2, workers=2, quality_report=False,
                            limits=Limits(max_bytes=limit)))
    assert started == [2] and not pools.POOLS                   # parsed in spawned worker processes
    over = sorted(p.name for p in SEEDS if p.stat().st_size > limit)
    assert over and len(over) < len(SEEDS)
    assert s["quarantined"] == len(over) and s["parsed"] == len(SEEDS) - len(over)
    q = pq.read_table(pub.current_version(dest) / "quarantine").to_pylist()
    assert sorted((r["source_file"].rsplit("/", 1)[-1], r["reason_code"]) for r in q) == [
        (n, "too_large") for n in over]
    assert all(f"{limit} bytes, limit NIANBAO_MAX_BYTES" in r["reason"] for r in q)


def test_the_deadlines_of_the_config_reach_the_fetcher(tmp_path, monkeypatch):
    """discover_step hands the run's byte limit, URL deadline and Retry-After cap to every fetch."""
    seen = []

    def fetch_one(client, url, cache, **kw):
        seen.append({k: kw[k] for k in ("deadline", "limit", "retry_after_cap")})
        return src.FetchResult(url, "failed", error="offline")
    monkeypatch.setattr(src, "fetch_one", fetch_one)
    urls = tmp_path / "urls.txt"
    urls.write_text("http://127.0.0.1:9/a.txt\nhttp://127.0.0.1:9/b.txt\n", encoding="utf-8")
    cfg = RunConfig(source=str(urls), dest=str(tmp_path / "out"), limits=Limits(max_bytes=4321), url_deadline=3.5,
                    retry_after_max=1.5)
    d = steps.discover_step(asdict(cfg), known={})
    assert d["unavailable"] == ["http://127.0.0.1:9/a.txt", "http://127.0.0.1:9/b.txt"]
    assert seen == [{"deadline": 3.5, "limit": 4321, "retry_after_cap": 1.5}] * 2
