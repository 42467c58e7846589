"""Pure logic without a Prefect server: manifest diffing, partition layout, atomic publish,
incremental runs and kill -9 at every stage (plain executor; same code as the flow)."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flows import manifest as mf
from flows import publish as pub
from flows.pipeline import RunConfig, run_plain
from transforms import schema as registry

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))


def _run(src, dest, **kw):
    return run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False, **kw))


def _tables(dest):
    cur = pub.current_version(dest)
    return {n: pub.read_table(cur / n, n) for n in registry.DATASETS}


@pytest.fixture()
def seeds(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    for p in SEEDS:
        shutil.copy(p, d / p.name)
    return d


# --------------------------------------------------------------------------- manifest
def _item(src, sha):
    return mf.Item(src, sha, 1, src)


def test_plan_new_unchanged_changed_disappeared():
    prev = {"a": {"source_file": "x", "parser_version": "1", "report_year": 2020},
            "b": {"source_file": "y", "parser_version": "1", "report_year": 2021},
            "c": {"source_file": "z", "parser_version": "1", "report_year": 2021}}
    items = [_item("x", "a"), _item("y", "b2"), _item("w", "d")]          # y changed, z gone, w new
    p = mf.plan(items, prev, parser_version="1", run_id="r1")
    assert [i.source_file for i in p.parse] == ["y", "w"]
    assert p.unchanged == ["a"] and p.remove == {"b"}
    assert p.retained_missing == ["c"] and p.entries["c"]["missing_since"] == "r1"
    p2 = mf.plan(items, prev, parser_version="1", prune=True)
    assert p2.remove == {"b", "c"} and p2.retained_missing == []
    p3 = mf.plan(items, prev, parser_version="1", prune=True, unavailable=["z"])
    assert p3.remove == {"b"} and "missing_since" not in p3.entries["c"]       # unreachable != gone
    p4 = mf.plan(items, prev, parser_version="2")                              # parser upgrade: re-parse
    assert {i.sha256 for i in p4.parse} == {"a", "b2", "d"} and "a" in p4.remove


def test_plan_duplicates_published_once():
    p = mf.plan([_item("b.txt", "s"), _item("a.txt", "s")], {}, parser_version="1")
    assert [i.source_file for i in p.parse] == ["a.txt"] and p.duplicates == {"s": ["b.txt"]}
    assert mf.plan([_item("a.txt", "s")], {"s": {"source_file": "a.txt", "parser_version": "1"}},
                   parser_version="1").is_noop


# --------------------------------------------------------------------------- layout
def _reports_table(years):
    rows = []
    for i, y in enumerate(years):
        r = {f.name: ([] if f.arrow == pa.list_(pa.string()) else None) for f in registry.fields("reports")}
        r.update(report_id=f"{i:064x}", source_file=f"f{i}", report_year=y, sha256=f"{i:064x}", file_size=1,
                 parser_version="x", status="parsed", active_disclosure_status="complete",
                 applications_status="complete", review_litigation_status="complete", n_cells=0, n_flagged=0,
                 n_inferred=0, n_unresolved=0)
        rows.append(r)
    return pa.Table.from_pylist(rows, schema=registry.arrow_schema("reports"))


def _rows_of(name, years):
    """A small table of ``name`` with one report per year (None: no year), every required field filled."""
    fill = {pa.string(): "x", pa.list_(pa.string()): [], pa.int64(): 1, pa.float64(): 1.5, pa.bool_(): False}
    rows = []
    for i, y in enumerate(years):
        r = {f.name: (f.allowed[0] if f.allowed and f.arrow == pa.string() else fill[f.arrow])
             for f in registry.fields(name)}
        r.update(report_id=f"{i:064x}", report_year=y)
        rows.append(r)
    return pa.Table.from_pylist(rows, schema=registry.arrow_schema(name))


def test_null_year_partition_and_explicit_schema(tmp_path):
    import duckdb
    import polars as pl
    t = _reports_table([2020, None, 2021, None])
    pub.write_staged(t, "reports", tmp_path / "stage", "b00000")
    out = tmp_path / "out" / "reports"
    pub.publish_dataset("reports", None, tmp_path / "stage" / "reports", out, set())
    assert sorted(p.name for p in out.iterdir()) == ["2020", "2021", "unknown"]
    back = pub.read_table(out, "reports")
    assert back.schema == registry.arrow_schema("reports") and back.num_rows == 4
    assert back["report_year"].null_count == 2
    f = next(out.glob("2020/*.parquet"))
    assert pq.read_schema(f).remove_metadata() == pub.file_schema("reports")
    assert pq.read_table(f)["report_year"].to_pylist() == [2020]          # the year is in the file
    enc = pq.ParquetFile(f).metadata.row_group(0).column(0).encodings
    assert "RLE_DICTIONARY" in enc or "PLAIN_DICTIONARY" in enc                # dictionary-encoded strings
    n = duckdb.sql(f"select count(*) from read_parquet('{out}/**/*.parquet') where report_year is null").fetchall()[0][0]
    assert n == 2
    lf = pl.scan_parquet(f"{out}/**/*.parquet")
    assert lf.filter(pl.col("report_year").is_null()).select(pl.len()).collect().item() == 2


@pytest.mark.parametrize("name", [n for n in registry.DATASETS if "report_id" in registry.column_names(n)])
def test_every_dataset_reads_the_same_in_plain_pandas_duckdb_and_polars(name, tmp_path):
    """(codes and fetch_log have no report_id to stage by: tests/integration/test_catalog.py reads them as published)"""
    """With a null-year partition present, a plain pd.read_parquet(dir) works (pyarrow's hive discovery
    put the null in the partition dictionary, which pandas could not unify), report_year is Int64
    (nullable) in pandas as in DuckDB and polars, and the three read the same rows."""
    import duckdb
    import pandas as pd
    import polars as pl
    t = _rows_of(name, [2020, None, 2021, None, 2020])
    pub.write_staged(t, name, tmp_path / "stage", "b00000")
    out = tmp_path / "out" / name
    pub.publish_dataset(name, None, tmp_path / "stage" / name, out, set())
    df = pd.read_parquet(out)
    assert len(df) == 5 and sorted(df.columns) == sorted(registry.column_names(name))
    if pub.is_partitioned(name):
        assert str(df["report_year"].dtype) == "Int64"
    assert not any(isinstance(d, pd.CategoricalDtype) for d in df.dtypes)
    key = ["report_id", "report_year"] if pub.is_partitioned(name) else ["report_id"]
    want = sorted(df[key].astype(object).where(df[key].notna(), None).itertuples(index=False, name=None),
                  key=repr)
    got_duck = duckdb.sql(f"select {', '.join(key)} from read_parquet('{out}/**/*.parquet')").fetchall()
    got_pl = pl.read_parquet(f"{out}/").select(key).rows()
    assert sorted(got_duck, key=repr) == want == sorted(got_pl, key=repr)
    if pub.is_partitioned(name):
        types = {r[0]: r[1] for r in duckdb.sql(f"describe select * from read_parquet('{out}/**/*.parquet')").fetchall()}
        assert types["report_year"] == "BIGINT"
        assert pl.read_parquet(f"{out}/").schema["report_year"] == pl.Int64


def test_published_files_describe_their_fields_and_a_description_change_rewrites_linked_partitions(tmp_path,
                                                                                                 monkeypatch):
    """Field descriptions travel as key-value metadata (no ARROW:schema: strings stay strings); a
    partition published with other metadata (an earlier release) is rewritten, not hard-linked."""
    import json

    from transforms import metadata
    t = _reports_table([2020, 2021])
    pub.write_staged(t, "reports", tmp_path / "stage", "b00000")
    first = tmp_path / "v1" / "reports"
    pub.publish_dataset("reports", None, tmp_path / "stage" / "reports", first, set())
    f = next(first.glob("2020/*.parquet"))
    kv = pq.read_metadata(f).metadata
    assert b"ARROW:schema" not in kv
    desc = metadata.read_descriptions(kv)
    assert desc == {fl.name: fl.description for fl in registry.fields("reports")}
    assert json.loads(kv[b"nianbao"])["dataset"] == "reports"
    second = tmp_path / "v2" / "reports"
    stats = pub.publish_dataset("reports", first, None, second, set())
    assert stats["linked"] == 2 and os.path.samefile(f, second / "2020" / f.name)
    monkeypatch.setattr(pub, "file_metadata", lambda name: {b"nianbao": b"{}"})
    third = tmp_path / "v3" / "reports"
    stats = pub.publish_dataset("reports", second, None, third, set())
    assert stats["linked"] == 0 and stats["rewritten"] == 2
    assert pq.read_table(third)["report_id"].to_pylist() == t["report_id"].to_pylist()


def test_partitions_of_an_earlier_hive_layout_are_republished_in_the_year_layout(tmp_path):
    """A version published as report_year=YYYY/ folders without the column is read with the year from
    the folder and written in the current layout."""
    t = _reports_table([2020, None])
    old = tmp_path / "old" / "reports"
    for y, part in ((2020, "report_year=2020"), (None, "report_year=__HIVE_DEFAULT_PARTITION__")):
        d = old / part
        d.mkdir(parents=True)
        rows = t.filter(pa.compute.is_null(t["report_year"]) if y is None else
                        pa.compute.equal(t["report_year"], y)).drop_columns(["report_year"])
        pq.write_table(rows, d / "part-0.parquet", store_schema=False)
    new = tmp_path / "new" / "reports"
    pub.publish_dataset("reports", old, None, new, set())
    assert sorted(p.name for p in new.iterdir()) == ["2020", "unknown"]
    back = pub.read_table(new, "reports")
    assert sorted(back["report_year"].to_pylist(), key=repr) == [2020, None]


# --------------------------------------------------------------------------- runs
def _quarantine_rows(ids, tag):
    """A small quarantine table (unpartitioned dataset) with the given report ids, in that order."""
    sch = registry.arrow_schema("quarantine")
    fill = {pa.string(): "x", pa.list_(pa.string()): []}
    cols = {f.name: pa.array([fill.get(f.type)] * len(ids), f.type) for f in sch}
    cols["report_id"] = pa.array(ids, pa.string())
    cols["source_file"] = pa.array([f"{tag}-{i}" for i in range(len(ids))], pa.string())
    return pa.table(cols, schema=sch)


def test_publish_merges_by_report_id_in_bounded_row_groups(tmp_path, monkeypatch):
    """Previous rows minus the removed reports + staged batches (overlapping id ranges) come out
    as one stable sort by report_id, written in row groups of ROWS_PER_GROUP rows at most."""
    monkeypatch.setattr(pub, "ROWS_PER_GROUP", 4)
    prev, staged, out = tmp_path / "prev", tmp_path / "staged", tmp_path / "out"
    prev.mkdir()
    pq.write_table(_quarantine_rows(["a", "c", "c", "e", "g", "k"], "old"), prev / "part-0.parquet")
    pub.write_staged(_quarantine_rows(["f", "b", "d"], "s0"), "quarantine", staged, "b00000")
    pub.write_staged(_quarantine_rows(["j", "h", "b", "z"], "s1"), "quarantine", staged, "b00001")
    stats = pub.publish_dataset("quarantine", prev, staged / "quarantine", out, remove_ids={"e", "k"})
    t = pub.read_table(out, "quarantine")
    got = list(zip(t["report_id"].to_pylist(), t["source_file"].to_pylist()))
    old = [(r, f"old-{i}") for i, r in enumerate(["a", "c", "c", "e", "g", "k"]) if r not in {"e", "k"}]
    new = [("f", "s0-0"), ("b", "s0-1"), ("d", "s0-2"), ("j", "s1-0"), ("h", "s1-1"), ("b", "s1-2"), ("z", "s1-3")]
    new = sorted(new[:3], key=lambda x: x[0]) + sorted(new[3:], key=lambda x: x[0])   # write_staged sorts a batch
    assert got == sorted(old + new, key=lambda x: x[0])          # stable: old first, then batch order
    assert stats["rows_written"] == len(got)
    md = pq.ParquetFile(out / "part-0.parquet").metadata
    assert md.num_row_groups == 3 and max(md.row_group(i).num_rows for i in range(3)) == 4


def test_publish_refuses_rows_out_of_report_id_order(tmp_path):
    prev = tmp_path / "prev"
    prev.mkdir()
    pq.write_table(_quarantine_rows(["b", "a"], "old"), prev / "part-0.parquet")
    with pytest.raises(pub.PublishError, match="not in report_id order"):
        pub.publish_dataset("quarantine", prev, None, tmp_path / "out", remove_ids={"x"})


def test_seeds_published_and_rerun_changes_nothing(seeds, tmp_path):
    import duckdb
    import polars as pl
    dest = tmp_path / "out"
    s1 = _run(seeds, dest)
    assert not s1["noop"] and s1["discovered"] == 5
    for name in registry.DATASETS:
        assert (dest / name).is_dir(), name
    tabs = _tables(dest)
    assert tabs["reports"].num_rows + tabs["quarantine"].num_rows == 5
    assert tabs["applications"].num_rows > 0
    n = duckdb.sql(f"select count(*) from read_parquet('{dest}/applications/**/*.parquet')").fetchall()[0][0]
    assert n == tabs["applications"].num_rows
    assert pl.scan_parquet(f"{dest}/applications/**/*.parquet").select(pl.len()).collect().item() == n
    before = pub.digest(dest)
    mtimes = {p: p.stat().st_mtime_ns for p in pub.current_version(dest).rglob("*.parquet")}
    s2 = _run(seeds, dest)
    assert s2["noop"] and s2["version"] == s1["version"]
    assert pub.digest(dest) == before
    assert {p: p.stat().st_mtime_ns for p in pub.current_version(dest).rglob("*.parquet")} == mtimes


def test_incremental_equals_clean_run(seeds, tmp_path):
    dest = tmp_path / "inc"
    _run(seeds, dest)
    files = sorted(seeds.iterdir())
    files[0].write_bytes(files[0].read_bytes() + "\n（本报告数据以公开版本为准）\n".encode())   # changed
    files[1].unlink()                                                                      # disappeared
    shutil.copy(SEEDS[1], seeds / "zz_new_copy_of_1.txt")                                 # new (same bytes)
    (seeds / "zz_empty.txt").write_bytes(b"")                                             # unreadable
    (seeds / "zz_binary.txt").write_bytes(os.urandom(3000))                               # unreadable
    s = _run(seeds, dest, prune=True)
    assert s["to_parse"] == 4 and s["quarantined"] == 2
    clean = tmp_path / "clean"
    _run(seeds, clean)
    assert pub.digest(dest) == pub.digest(clean)
    q = _tables(dest)["quarantine"]
    assert sorted(Path(x).name for x in q["source_file"].to_pylist()) == ["zz_binary.txt", "zz_empty.txt"]
    # default policy: a disappeared file's rows are kept
    (seeds / "zz_new_copy_of_1.txt").unlink()
    s = _run(seeds, dest)
    assert s["noop"] and s["retained_missing"] == 1
    entries = mf.load(pub.current_version(dest))
    assert any(e["source_file"].endswith("zz_new_copy_of_1.txt") for e in entries.values())
    s = _run(seeds, dest, prune=True)
    assert s["to_remove"] == 1
    rep = _tables(dest)["reports"]["source_file"].to_pylist()
    assert not any(x.endswith("zz_new_copy_of_1.txt") for x in rep)


CRASH_POINTS = ["after_parse", "mid_publish", "after_manifest", "before_swap", "after_swap"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill9_at_every_stage_then_rerun_equals_clean(point, seeds, tmp_path):
    dest, clean = tmp_path / "out", tmp_path / "clean"
    part = tmp_path / "part"
    part.mkdir()
    for p in sorted(seeds.iterdir())[:3]:
        shutil.copy(p, part / p.name)
    _run(part, dest)
    before = pub.digest(dest)
    code = ("import sys; sys.path.insert(0, 'tests'); from launch import crash_at; "
            f"crash_at({point!r}); "
            "from flows.pipeline import RunConfig, run_plain; "
            f"run_plain(RunConfig(source={str(seeds)!r}, dest={str(dest)!r}, quality_report=False))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    after = pub.digest(dest)
    if point == "after_swap":
        assert after != before                    # committed: the new version is complete
    else:
        assert after == before                    # previous version still published, untouched
    for name in registry.DATASETS:                # and readable
        pub.read_table(dest / name, name)
    s = _run(seeds, dest)
    assert s["noop"] == (point == "after_swap")
    _run(seeds, clean)
    assert pub.digest(dest) == pub.digest(clean)
    leftovers = [p.name for p in (dest / pub.VERSIONS).iterdir() if p.name.endswith(".partial")]
    assert leftovers == [] and not any((dest / pub.STAGING).iterdir())


def test_data_dictionary_is_current():
    from transforms.dictionary import render
    doc = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert doc == render(), "run: python -m transforms.dictionary"
    for name, fields in registry.DATASETS.items():
        assert f"## {name}" in doc and all(f"`{f.name}`" in doc for f in fields)


def test_publish_refuses_staged_rows_out_of_report_id_order(tmp_path):
    staged = tmp_path / "staged"
    staged.mkdir()
    pq.write_table(_quarantine_rows(["b", "a"], "s0"), staged / "b00000-0.parquet")
    with pytest.raises(pub.PublishError, match="not in report_id order"):
        pub.publish_dataset("quarantine", None, staged, tmp_path / "out", remove_ids=set())


def test_files_with_following_id_ranges_are_read_in_sequence_not_merged(tmp_path):
    """Staged batches cover increasing report_id ranges (files are batched in sha256 order): they form
    one run, read file after file; a file overlapping its predecessor starts a new run to merge."""
    staged = tmp_path / "staged"
    for i, ids in enumerate([["a", "b"], ["c", "d"], [], ["e"], ["d", "f"], ["g"]]):
        pub.write_staged(_quarantine_rows(ids, f"s{i}"), "quarantine", staged, f"b{i:05d}")   # [] writes nothing
    files = pub._files(staged / "quarantine")
    keep = pa.array([], pa.string())
    runs = pub._runs([(f, keep) for f in files])
    assert [[f.name.split("-")[0] for f, _ in r] for r in runs] == [["b00000", "b00001", "b00003"], ["b00004", "b00005"]]
    out = tmp_path / "out"
    pub.publish_dataset("quarantine", None, staged / "quarantine", out, remove_ids=set())
    got = pub.read_table(out, "quarantine")
    assert list(zip(got["report_id"].to_pylist(), got["source_file"].to_pylist())) == [
        ("a", "s0-0"), ("b", "s0-1"), ("c", "s1-0"), ("d", "s1-1"), ("d", "s4-0"), ("e", "s3-0"), ("f", "s4-1"),
        ("g", "s5-0")]


def test_write_staged_sorts_only_a_batch_out_of_report_id_order(tmp_path):
    ordered, shuffled = _quarantine_rows(["a", "b", "b", "c"], "s0"), _quarantine_rows(["c", "a", "b"], "s1")
    assert pub.in_report_id_order(ordered) and not pub.in_report_id_order(shuffled)
    for i, t in enumerate((ordered, shuffled)):
        pub.write_staged(t, "quarantine", tmp_path / f"s{i}", "b00000")
        got = pq.read_table(tmp_path / f"s{i}" / "quarantine" / "b00000-0.parquet")
        assert got["report_id"].to_pylist() == sorted(t["report_id"].to_pylist())
    assert pq.read_table(tmp_path / "s0" / "quarantine" / "b00000-0.parquet")["source_file"].to_pylist() == \
        ["s0-0", "s0-1", "s0-2", "s0-3"]        # already ordered: rows kept as given


def test_published_files_hold_plain_strings_key_statistics_and_bytes_independent_of_batching(tmp_path,
                                                                                             monkeypatch):
    """Publishing carries strings as dictionaries from the files it reads to the files it writes; what
    it writes reads back as plain strings (no categoricals in pandas), keeps min/max statistics for
    report_id only, and is byte for byte the same however the rows were staged."""
    import pandas as pd
    monkeypatch.setattr(pub, "ROWS_PER_GROUP", 4)
    ids = [f"r{i:02d}" for i in range(11)]
    rows = _quarantine_rows(ids, "s")
    rows = rows.set_column(rows.schema.get_field_index("reason"), "reason",
                           pa.array([f"reason {i % 3}" for i in range(11)], pa.string()))
    outs = []
    for k, cuts in enumerate(([0, 11], [0, 3, 4, 9, 11], [0, 1, 2, 3, 5, 8, 10, 11])):
        staged = tmp_path / f"staged{k}"
        for b, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
            pub.write_staged(rows.slice(lo, hi - lo), "quarantine", staged, f"b{b:05d}")
        out = tmp_path / f"out{k}"
        pub.publish_dataset("quarantine", None, staged / "quarantine", out, remove_ids=set())
        outs.append(out / "part-0.parquet")
    assert outs[0].read_bytes() == outs[1].read_bytes() == outs[2].read_bytes()
    back = pq.read_table(outs[0])
    assert not any(pa.types.is_dictionary(f.type) for f in back.schema)
    assert back.schema.remove_metadata() == pub.file_schema("quarantine")
    assert back["reason"].to_pylist() == [f"reason {i % 3}" for i in range(11)]
    assert not any(isinstance(t, pd.CategoricalDtype) for t in pd.read_parquet(outs[0]).dtypes)
    md = pq.ParquetFile(outs[0]).metadata
    assert md.num_row_groups == 3
    for g in range(md.num_row_groups):
        cols = {md.row_group(g).column(i).path_in_schema: md.row_group(g).column(i)
                for i in range(md.num_columns)}
        assert cols["report_id"].is_stats_set and cols["report_id"].statistics.has_min_max
        assert not cols["reason"].is_stats_set
        assert "RLE_DICTIONARY" in cols["reason"].encodings


def test_rows_in_order_under_an_unsorted_dictionary_publish_and_removals_apply(tmp_path):
    """A file whose Parquet dictionary is not in id order (written by another tool) is still checked
    row by row, and removals match ids through the dictionary."""
    prev = tmp_path / "prev"
    prev.mkdir()
    t = _quarantine_rows(["a", "a", "b", "c"], "old")
    ids = pa.DictionaryArray.from_arrays(pa.array([1, 1, 2, 0], pa.int32()), pa.array(["c", "a", "b"]))
    t = t.set_column(0, pa.field("report_id", ids.type, False), ids)
    pq.write_table(t, prev / "part-0.parquet")
    assert pq.read_table(prev / "part-0.parquet", read_dictionary=["report_id"])["report_id"].chunk(0) \
        .dictionary.to_pylist() == ["c", "a", "b"]
    out = tmp_path / "out"
    pub.publish_dataset("quarantine", prev, None, out, remove_ids={"b"})
    got = pub.read_table(out, "quarantine")
    assert list(zip(got["report_id"].to_pylist(), got["source_file"].to_pylist())) == [
        ("a", "old-0"), ("a", "old-1"), ("c", "old-3")]
    bad = tmp_path / "bad"
    bad.mkdir()
    unsorted = pa.DictionaryArray.from_arrays(pa.array([0, 1, 1, 2], pa.int32()), pa.array(["a", "c", "b"]))
    pq.write_table(t.set_column(0, pa.field("report_id", ids.type, False), unsorted), bad / "part-0.parquet")
    with pytest.raises(pub.PublishError, match="not in report_id order"):
        pub.publish_dataset("quarantine", bad, None, tmp_path / "out2", remove_ids={"x"})


def test_summary_page_is_built_once_its_datasets_are_published_and_a_broken_report_fails_the_run_after_publishing(
        seeds, tmp_path, monkeypatch):
    import flows.pipeline as pl
    from quality_page.report import page_datasets
    done, seen = [], {}
    real_publish = pl.publish_step

    def publish_step(**kw):
        r = real_publish(**kw)
        done.append(kw["name"])
        return r

    def report_step(version_dir, context_root, docs_index=None):
        seen.update(published=set(done), docs_index=docs_index)
        return "index.html"

    monkeypatch.setattr(pl, "publish_step", publish_step)
    monkeypatch.setattr(pl, "docs_step", lambda version_dir, context_root: "docs/index.html")
    monkeypatch.setattr(pl, "report_step", report_step)
    s = run_plain(RunConfig(source=str(seeds), dest=str(tmp_path / "a")))
    assert set(page_datasets()) <= seen["published"] and seen["docs_index"] == "docs/index.html"
    assert "quality_report" in s and not s.get("errors")
    assert sorted(done) == sorted(registry.DATASETS)

    def broken_docs(version_dir, context_root):
        raise RuntimeError("the docs broke")

    seen.clear()
    monkeypatch.setattr(pl, "docs_step", broken_docs)
    with pytest.raises(pl.RunFailed, match="quality report failed: RuntimeError: the docs broke; the data was "
                                           "published") as failed:
        run_plain(RunConfig(source=str(seeds), dest=str(tmp_path / "b")))
    s = failed.value.summary
    assert "the docs broke" in s["errors"]["quality_report"] and not seen
    assert pub.current_version(tmp_path / "b").name == s["version"]      # the data is published all the same
    assert _tables(tmp_path / "b") == _tables(tmp_path / "a")
    assert not any((tmp_path / "b" / pub.STAGING).iterdir())


def test_table_from_frame_takes_strings_the_view_encoded_and_stages_them_in_order(tmp_path):
    """The batch's GX view holds the string columns as categoricals: the staged table takes them as
    dictionaries (same values, nulls kept), the rest from the frame; staging still sorts by report_id."""
    import pandas as pd
    from expectations.views import make_view
    t = _quarantine_rows(["c", "a", "b"], "s")
    df = t.to_pandas()
    df["encoding"] = pd.Series(["utf-8", None, "gb18030"], dtype="str")
    view = make_view(df, "quarantine")
    assert isinstance(view["source_file"].dtype, pd.CategoricalDtype)
    got = pub.table_from_frame(df, "quarantine", encoded=view)
    plain = pub.table_from_frame(df, "quarantine")
    assert pa.types.is_dictionary(got.schema.field("source_file").type)
    assert not pa.types.is_dictionary(got.schema.field("file_size").type)
    assert got.cast(plain.schema).equals(plain) and got["encoding"].null_count == 1
    assert pub.table_from_frame(df, "quarantine", encoded=view.iloc[:2]).equals(plain)    # not the same rows
    pub.write_staged(got, "quarantine", tmp_path / "s", "b00000")
    back = pq.read_table(tmp_path / "s" / "quarantine" / "b00000-0.parquet")
    assert back["report_id"].to_pylist() == ["a", "b", "c"] and back["source_file"].to_pylist() == ["s-1", "s-2", "s-0"]


def test_cleanup_removes_a_version_name_left_linked_to_its_partial_folder(tmp_path):
    """flows/catalog.py links a version's final name to its .partial folder while DuckDB binds the views;
    a run killed then leaves the link, which cleanup removes with the partial version."""
    dest = tmp_path / "out"
    vid, partial = pub.begin_version(dest)
    os.symlink(partial, dest / pub.VERSIONS / vid)
    pub.cleanup(dest)
    assert not (dest / pub.VERSIONS / vid).is_symlink() and not partial.exists()
