"""The published datasets as Parquet (pure; no Prefect): reading a dataset with the registry's
schema, staging a batch's rows, and publishing a dataset of a new version - the previous version's
rows less the replaced ones merged with the staged rows. The versions themselves (layout, pointer,
lock, pruning) are flows/versions.py; one change of them is a flows/store.py transaction.

Published partition folders are named by the year alone and every file holds its ``report_year``
column: with hive folders (``report_year=2020``) and the null year's ``__HIVE_DEFAULT_PARTITION__``,
a plain ``pd.read_parquet(<dataset>)`` failed (pyarrow's discovery types a hive key as a dictionary
and puts the null partition's null *in* its dictionary, which pandas cannot unify with the others:
``Cannot yet unify dictionaries with nulls``), and a hive key cannot also be a file column for
pyarrow (int64 vs dictionary). With the year in the files every reader - pandas, pyarrow, DuckDB,
polars - reads the same typed column with no partitioning argument, and the row groups' min/max
statistics on it let readers skip other years.
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# the version store's names, also read as pub.* by the callers of this module (flows/versions.py)
from flows.versions import (CURRENT, KEEP_VERSIONS, QUALITY_REPORT, STAGING, VERSIONS,  # noqa: F401
                            PublishError, begin_version, cleanup, commit_version, current_version, digest,
                            ensure_layout, new_id, run_lock, write_json)
from transforms import schema as registry
# the one reader of a staged or published dataset, also read as pub.* by this module's callers
from transforms.datasets import PARTITION_KEY, is_partitioned, load_frame, partitioning, read_table  # noqa: F401
from transforms.metadata import file_metadata

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"      # staging (hive) folder of the null year
UNKNOWN_YEAR = "unknown"                           # published folder of the null year


# --------------------------------------------------------------------------- schema helpers
def file_schema(name: str) -> pa.Schema:
    """Schema of the published Parquet files of a dataset (report_year included)."""
    return registry.arrow_schema(name)


def staged_file_schema(name: str) -> pa.Schema:
    """Schema of the staged Parquet files (hive: the partition column lives in the path)."""
    s = registry.arrow_schema(name)
    return s.remove(s.get_field_index(PARTITION_KEY)) if is_partitioned(name) else s


def empty_table(name: str) -> pa.Table:
    return registry.arrow_schema(name).empty_table()


# Staged files (pq.write_table's options), read back once by publish_dataset: uncompressed (compression
# would cost the parse workers CPU for nothing), dictionary-encoded (the cell tables' strings repeat:
# ~50x smaller than Arrow IPC, whose compression costs each worker ~65 MB more), no statistics
# (nothing reads them: publish checks the order itself; they cost ~15% of the write)
STAGING_WRITE = dict(compression="none", use_dictionary=True, write_statistics=False)


def partition_dirname(year) -> str:
    """Published folder of a year's rows: ``2021``, or ``unknown`` for reports with no year."""
    return UNKNOWN_YEAR if year is None else str(int(year))


def is_partition_dirname(dirname: str) -> bool:
    v = dirname.split("=", 1)[1] if dirname.startswith(PARTITION_KEY + "=") else dirname
    return v in (NULL_PARTITION, UNKNOWN_YEAR) or v.isdigit()


def year_of_dirname(dirname: str):
    """Year of a partition folder, published (``2021``, ``unknown``) or staged / published by an
    earlier release (``report_year=2021``, ``report_year=__HIVE_DEFAULT_PARTITION__``)."""
    v = dirname.split("=", 1)[1] if dirname.startswith(PARTITION_KEY + "=") else dirname
    return None if v in (NULL_PARTITION, UNKNOWN_YEAR) else int(v)


# --------------------------------------------------------------------------- reading
# --------------------------------------------------------------------------- tables
def table_from_frame(df, name: str, encoded=None) -> pa.Table:
    """pandas frame (registry columns) -> Arrow table with exactly the registry schema, but for the
    string columns that ``encoded`` (a frame of the same rows: the batch's GX view) holds as
    categoricals: those are taken from it as dictionary<int32, string> of the same values, so that
    writing them stores their codes instead of hashing every string again."""
    sch = registry.arrow_schema(name)
    df = df.reindex(columns=sch.names)
    coded = {}
    if encoded is not None and len(encoded) == len(df):
        import pandas as pd
        for f in sch:
            if f.type == pa.string() and f.name in encoded and isinstance(encoded[f.name].dtype, pd.CategoricalDtype):
                try:
                    coded[f.name] = pa.array(encoded[f.name]).cast(pa.dictionary(pa.int32(), pa.string()))
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    pass
    if not coded:
        return pa.Table.from_pandas(df, schema=sch, preserve_index=False, safe=True).replace_schema_metadata(None)
    rest = pa.schema([f for f in sch if f.name not in coded])
    t = pa.Table.from_pandas(df[rest.names], schema=rest, preserve_index=False, safe=True)
    cols = [coded[f.name] if f.name in coded else t[f.name] for f in sch]
    fields = [pa.field(f.name, coded[f.name].type, f.nullable) if f.name in coded else f for f in sch]
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def in_report_id_order(t: pa.Table) -> bool:
    return t.num_rows < 2 or _ids_ascending(t["report_id"].combine_chunks())


def write_staged(t: pa.Table, name: str, staging_root: str | os.PathLike, tag: str) -> None:
    """Write a batch's rows into the run's staging area, hive-partitioned like the output, in
    report_id order (stable: the parser's cell order within a report), as publishing merges by it."""
    if t.num_rows == 0:
        return
    order = _staged_order(t["report_id"].combine_chunks())
    if order is not None:
        t = t.take(order)
    out = Path(staging_root) / name
    for folder, rows in _staged_partitions(t, name, out):
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, folder / f"{tag}-0.parquet", **STAGING_WRITE)


def _staged_partitions(t: pa.Table, name: str, out: Path) -> Iterator[tuple[Path, pa.Table]]:
    """(folder, rows) of each staged file of a batch's table: one per year in its hive folder
    (``report_year=2021``, the null year ``__HIVE_DEFAULT_PARTITION__``), the year only in the path, rows
    in table order; a dataset without partitions in one file. The same files ds.write_dataset wrote
    (names, schema and rows), without its per-call machinery: ~1.5 ms a file, ~50 files a batch."""
    if not is_partitioned(name):
        yield out, t
        return
    years = t[PARTITION_KEY]
    rows = t.drop_columns([PARTITION_KEY])
    for year in pc.unique(years).to_pylist():
        keep = pc.is_null(years) if year is None else pc.equal(years, year)
        yield out / f"{PARTITION_KEY}={NULL_PARTITION if year is None else year}", rows.filter(keep)


def _staged_order(ids: pa.Array) -> pa.Array | None:
    """The stable sort of a batch's rows by report_id, None when they are in order already (batches
    come in sha256 = report_id order: usually). The ids of a batch's view are a dictionary of sorted
    categories: their indices are then in the order of the ids, and are checked and sorted as
    integers (the strings cost ~0.03 ms a report to decode, compare and sort)."""
    if (pa.types.is_dictionary(ids.type) and ids.indices.null_count == 0 and ids.dictionary.null_count == 0
            and len(ids.dictionary) > 1
            and pc.all(pc.greater(ids.dictionary.slice(1), ids.dictionary.slice(0, len(ids.dictionary) - 1))).as_py()):
        i = ids.indices
        if len(i) < 2 or pc.all(pc.greater_equal(i.slice(1), i.slice(0, len(i) - 1))).as_py():
            return None
        return pc.sort_indices(i)                                   # stable, as on the strings
    return None if _ids_ascending(ids) else pc.sort_indices(_plain(ids))     # stable


# Parquet row group: a publish holds ~1.5 KB per row of it (the buffered rows, their combined copy and
# the writer's encoders): 2^16 rows ~ 0.2 GB for applications, 2^18 ~ 0.4 GB
ROWS_PER_GROUP = 1 << 16
ROWS_PER_FILE = 1 << 22
WIDE_ROW_GROUP_DIVISOR = 4        # datasets with free-text fields (~1 KB a row): smaller row groups
# Row-group min/max statistics only for the sort key and the year: they let readers (DuckDB, polars,
# pyarrow filters) skip row groups when looking up reports or years; on the other columns, unsorted, a
# row group spans most values and its statistics skip nothing, while computing them was ~half of the writing
STATISTICS_COLUMNS = ["report_id", PARTITION_KEY]     # report_year: constant per file, cheap, prunes


def rows_per_group(name: str) -> int:
    """Rows per Parquet row group of a dataset: a row group is buffered (twice) while written, and
    quality_checks' free text would make a default one ~0.5 GB."""
    wide = any(f.free_text for f in registry.fields(name))
    return max(1, ROWS_PER_GROUP // WIDE_ROW_GROUP_DIVISOR) if wide else ROWS_PER_GROUP


def dictionary_columns(name: str) -> list[str]:
    """String columns that publishing carries as Arrow dictionaries from the files it reads to the
    files it writes: read as the Parquet dictionary pages they are stored as, written from them,
    so the writer does not decode and re-hash millions of repeated strings (about half the CPU of
    a publish). Free text is unique per row: plain strings are cheaper there."""
    return [f.name for f in registry.fields(name)
            if f.arrow == pa.string() and not f.free_text and f.name != PARTITION_KEY]


def stream_schema(name: str) -> pa.Schema:
    """file_schema with the dictionary_columns as dictionary<int32, string>: the rows between
    reading and writing."""
    d = set(dictionary_columns(name))
    return pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), f.type), f.nullable) if f.name in d else f
                      for f in file_schema(name)])


def _plain(col):
    """A dictionary column decoded to its values (compute kernels that compare or sort need them)."""
    return col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col


def _ids_ascending(ids: pa.Array) -> bool:
    if pa.types.is_dictionary(ids.type):
        # strictly increasing dictionary + non-decreasing indices: the ids are sorted, without decoding
        # them (a Parquet dictionary of sorted rows lists the ids in their order of appearance)
        d, i = ids.dictionary, ids.indices
        if (i.null_count == 0 and (len(d) < 2 or pc.all(pc.greater(d.slice(1), d.slice(0, len(d) - 1))).as_py())
                and (len(i) < 2 or pc.all(pc.greater_equal(i.slice(1), i.slice(0, len(i) - 1))).as_py())):
            return True
        ids = _plain(ids)
    return len(ids) < 2 or pc.all(pc.greater_equal(ids.slice(1), ids.slice(0, len(ids) - 1))).as_py()


def _id_in(ids: pa.Array, value_set: pa.Array) -> pa.Array:
    if pa.types.is_dictionary(ids.type):      # test the (few) distinct ids, not every row
        return pc.is_in(ids.dictionary, value_set=value_set).take(ids.indices)
    return pc.is_in(ids, value_set=value_set)


def _canonical(col: pa.DictionaryArray) -> pa.DictionaryArray:
    """The same values with a dictionary of exactly the values used, sorted: what the files hold then
    depends only on the rows, not on the dictionaries of the files they came from."""
    n = len(col.dictionary)
    idx = col.indices
    used = np.flatnonzero(np.bincount((idx.drop_null() if idx.null_count else idx).to_numpy(), minlength=n))
    values = col.dictionary.take(pa.array(used))
    order = pc.array_sort_indices(values).to_numpy()
    recode = np.zeros(n, dtype=np.int32)
    recode[used[order]] = np.arange(len(used), dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(recode).take(idx), values.take(pa.array(order)))


def _canonical_table(t: pa.Table) -> pa.Table:
    cols = [_canonical(c.combine_chunks()) if pa.types.is_dictionary(c.type) else c for c in t.columns]
    return pa.Table.from_arrays(cols, schema=t.schema)


def _file_batches(path: Path, name: str, remove: pa.Array, drop: dict | None = None,
                  year=None) -> Iterator[pa.RecordBatch]:
    """One file's rows in bounded record batches, minus the reports in ``remove`` and the rows whose
    ``drop`` column (name -> values) holds one of the values; checks the file is in report_id order
    (staged batches are written so, published files are merged so). A file without its report_year
    column (staged: the year is its hive folder's) gets ``year``."""
    sch = stream_schema(name)
    last = None
    # a file published before a field was added to the registry lacks its column: null (fields are added
    # nullable), so a version written by an older nianbao merges with new rows; a staged file lacks its
    # report_year (its hive folder's): ``year``
    present = set(pq.read_schema(path).names)
    add_year = is_partitioned(name) and PARTITION_KEY not in present
    missing = [f for f in sch if f.name not in present and not (add_year and f.name == PARTITION_KEY)]
    pf = pq.ParquetFile(path, read_dictionary=[c for c in dictionary_columns(name) if c in present])
    for rb in pf.iter_batches(batch_size=1 << 16, use_threads=False):   # the datasets publish in parallel
        t = pa.Table.from_batches([rb])
        if add_year:
            t = t.append_column(PARTITION_KEY, pa.repeat(pa.scalar(year, pa.int64()), t.num_rows))
        for f in missing:
            t = t.append_column(f, pa.nulls(t.num_rows, f.type))
        t = t.select(sch.names).cast(sch).combine_chunks()
        ids = t["report_id"].chunk(0) if t.num_rows else None
        if t.num_rows and ((last is not None and ids[0].as_py() < last) or not _ids_ascending(ids)):
            raise PublishError(f"{path}: rows are not in report_id order; cannot merge")
        if t.num_rows:
            last = ids[t.num_rows - 1].as_py()
        if len(remove) and t.num_rows:
            t = t.filter(pc.invert(_id_in(ids, remove)))
        for col, values in (drop or {}).items():
            if t.num_rows:
                t = t.filter(pc.invert(pc.fill_null(pc.is_in(_plain(t[col]), value_set=pa.array(values)), False)))
        for b in t.to_batches():
            if b.num_rows:
                yield b


def _merge2(a: Iterable[pa.RecordBatch], b: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Merge two report_id-ordered streams (bounded memory); equal ids keep a's rows first."""
    its = [iter(a), iter(b)]
    bufs: list[pa.Table | None] = [None, None]
    while True:
        for i in (0, 1):
            while its[i] is not None and (bufs[i] is None or bufs[i].num_rows == 0):
                nxt = next(its[i], None)
                if nxt is None:
                    its[i] = None
                else:
                    bufs[i] = pa.Table.from_batches([nxt])
        live = [i for i in (0, 1) if bufs[i] is not None and bufs[i].num_rows]
        if not live:
            return
        if len(live) == 2:
            first, second = bufs
            if first["report_id"][-1].as_py() <= second["report_id"][0].as_py():
                live = [0]                               # fast path: no overlap
            elif second["report_id"][-1].as_py() < first["report_id"][0].as_py():
                live = [1]
        if len(live) == 1:
            i = live[0]
            yield from bufs[i].to_batches()
            bufs[i] = None
            continue
        bound = min(bufs[i]["report_id"][-1].as_py() for i in live)
        pieces = []
        for i in live:
            n = pc.sum(pc.less_equal(_plain(bufs[i]["report_id"]), bound)).as_py() or 0
            pieces.append(bufs[i].slice(0, n))
            bufs[i] = bufs[i].slice(n)
        t = pa.concat_tables(pieces)
        yield from t.take(pc.sort_indices(_plain(t["report_id"]))).to_batches()     # stable


def _files(d: Path | None) -> list[Path]:
    return sorted(d.glob("*.parquet")) if d is not None else []


def _id_range(path: Path) -> tuple[str, str] | None:
    """First and last report_id of a Parquet file (None when it has no rows), reading only that
    column of its first and last non-empty row group."""
    pf = pq.ParquetFile(path)
    groups = [i for i in range(pf.num_row_groups) if pf.metadata.row_group(i).num_rows]
    if not groups:
        return None
    first = pf.read_row_group(groups[0], columns=["report_id"], use_threads=False).column(0)
    last = first if groups[-1] == groups[0] else pf.read_row_group(groups[-1], columns=["report_id"],
                                                                    use_threads=False).column(0)
    return first[0].as_py(), last[-1].as_py()


def _chained(sources: list[tuple], name: str, year=None) -> Iterator[pa.RecordBatch]:
    for path, remove, drop in sources:
        yield from _file_batches(path, name, remove, drop, year)


def _runs(sources: list[tuple]) -> list[list[tuple]]:
    """Consecutive files whose report_id ranges follow each other strictly: each run is already in
    order when read file after file (staged batches cover increasing ranges, published parts too),
    so only runs need merging and only one file per run is open at a time."""
    runs: list[list[tuple]] = []
    last = None
    for source in sources:
        r = _id_range(source[0])
        if r is None:
            continue
        if runs and r[0] > last:
            runs[-1].append(source)
        else:
            runs.append([source])
        last = r[1]
    return runs


def _merged_rows(previous: list[Path], staged: list[Path], name: str, remove: pa.Array,
                 drop: dict | None = None, year=None) -> Iterator[pa.RecordBatch]:
    """The previous rows minus ``remove`` and the staged rows, in report_id order (stable: earlier
    files first on equal ids): runs of consecutive non-overlapping files are read in sequence and
    the runs merged by a balanced tree of two-way merges; the same rows as sorting everything, in
    memory bounded by the number of runs (usually two: the previous version and this run's batches)."""
    keep_all = pa.array([], type=pa.string())
    sources = [(p, remove, drop) for p in previous] + [(p, keep_all, None) for p in staged]
    streams = [_chained(run, name, year) for run in _runs(sources)]
    if not streams:
        return iter(())
    while len(streams) > 1:
        streams = [_merge2(streams[i], streams[i + 1]) if i + 1 < len(streams) else streams[i]
                   for i in range(0, len(streams), 2)]
    return streams[0]


def _write_stream(batches: Iterable[pa.RecordBatch], name: str, out: Path) -> int:
    """Write record batches as part-<i>.parquet files of fixed-size row groups (bounded memory; the
    bytes depend only on the rows and their order, not on how the input was batched)."""
    sch = stream_schema(name)
    group = rows_per_group(name)
    out.mkdir(parents=True, exist_ok=True)
    writer, file_no, in_file, total = None, 0, 0, 0
    buf: list[pa.RecordBatch] = []
    buffered = 0

    def emit(t: pa.Table) -> None:
        nonlocal writer, file_no, in_file
        if writer is not None and in_file + t.num_rows > ROWS_PER_FILE:
            writer.close()
            writer, file_no, in_file = None, file_no + 1, 0
        if writer is None:
            # no ARROW:schema: it would make readers decode the dictionary columns as dictionaries
            # (pandas categoricals); the Parquet schema alone reads back as file_schema, and the
            # descriptions travel as key-value metadata (transforms/metadata.py)
            writer = pq.ParquetWriter(out / f"part-{file_no}.parquet", sch, compression="zstd",
                                      use_dictionary=True, store_schema=False,
                                      write_statistics=[c for c in STATISTICS_COLUMNS if c in sch.names])
            writer.add_key_value_metadata(file_metadata(name))
        writer.write_table(_canonical_table(t), row_group_size=group)
        in_file += t.num_rows

    for b in batches:
        buf.append(b)
        buffered += b.num_rows
        total += b.num_rows
        while buffered >= group:
            t = pa.Table.from_batches(buf, schema=sch)
            emit(t.slice(0, group).combine_chunks())
            rest = t.slice(group)
            buf, buffered = rest.to_batches(), rest.num_rows
    if buffered or writer is None:
        emit(pa.Table.from_batches(buf, schema=sch).combine_chunks())
    writer.close()
    return total


def generated_table(name: str) -> pa.Table:
    """A dataset that is a projection of the format files (the ``codes``), as an Arrow table."""
    from transforms.codes import codes_frame
    frames = {"codes": codes_frame}
    return table_from_frame(frames[name](), name)


def write_generated(name: str, out_root: Path) -> int:
    """Write a generated dataset into a version: one file, the same bytes for the same format files."""
    t = generated_table(name)
    out_root.mkdir(parents=True, exist_ok=True)
    pq.write_table(t, out_root / "part-0.parquet", compression="zstd", use_dictionary=True, store_schema=False,
                   write_statistics=False)
    return t.num_rows


def tree_bytes(root: Path) -> int:
    """Bytes of the files under ``root`` (0 if missing): what publishing a dataset reads."""
    return sum(p.stat().st_size for p in root.rglob("*.parquet")) if root.exists() else 0


def in_current_format(root: Path, name: str) -> bool:
    """Whether the published files under ``root`` are as this release writes them (same key-value
    metadata: descriptions, report_year in the file): only such files are hard-linked into a new
    version, the others are rewritten once, so a version never mixes two file formats."""
    want = file_metadata(name)
    return all(pq.read_metadata(p).metadata == want for p in sorted(root.rglob("*.parquet")))


def _link_tree(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if p.is_dir():
            _link_tree(p, dst / p.name)
        else:
            os.link(p, dst / p.name)


def _parts(root: Path | None) -> dict:
    """Partition folders of a staged or published dataset by year (None: no year)."""
    if root is None:
        return {}
    return {year_of_dirname(p.name): p for p in sorted(root.iterdir()) if p.is_dir() and is_partition_dirname(p.name)}


def publish_dataset(name: str, prev_root: Path | None, staged_root: Path | None, out_root: Path,
                    remove_ids: set[str], removed_years: Iterable = (), replace: bool = False,
                    drop_where: dict[str, list[str]] | None = None) -> dict:
    """Build ``out_root`` = previous rows - ``remove_ids`` - rows matching ``drop_where`` (column ->
    values) + staged rows, partition by partition.

    Partitions untouched by the change are hard-linked from the previous version; the others are
    streamed, merging the previous rows and the staged batches by report_id, so memory stays bounded
    whatever the partition size and the rows are in report_id order however the data arrived. With
    ``replace`` the previous rows are ignored entirely.
    """
    stats = {"rewritten": 0, "linked": 0, "rows_written": 0}
    if name in registry.GENERATED:             # written from the format files, whatever was staged
        stats["rows_written"] = write_generated(name, out_root)
        stats["rewritten"] = 1
        return stats
    staged_root = staged_root if staged_root is not None and staged_root.exists() else None
    prev_root = None if replace or prev_root is None or not prev_root.exists() else prev_root
    rm = pa.array(sorted(remove_ids), type=pa.string())

    if "report_id" not in registry.column_names(name):     # a log (fetch_log): published whole
        if staged_root is None and prev_root is not None:
            _link_tree(prev_root, out_root)
            stats["linked"] += 1
            return stats
        batches = (b for p in _files(staged_root) for b in pq.ParquetFile(p).iter_batches(
            batch_size=1 << 16, use_threads=False))
        sch = stream_schema(name)
        stats["rows_written"] += _write_stream((pa.Table.from_batches([b]).select(sch.names).cast(sch)
                                                .combine_chunks().to_batches()[0] for b in batches if b.num_rows),
                                               name, out_root)
        stats["rewritten"] += 1
        return stats

    if not is_partitioned(name):
        if prev_root and staged_root is None and not len(rm) and not drop_where and in_current_format(prev_root, name):
            _link_tree(prev_root, out_root)
            stats["linked"] += 1
            return stats
        rows = _merged_rows(_files(prev_root), _files(staged_root), name, rm, drop_where)
        stats["rows_written"] += _write_stream(rows, name, out_root)
        stats["rewritten"] += 1
        return stats

    prev_parts = _parts(prev_root)
    new_parts = _parts(staged_root)
    touched = set(new_parts) | set(removed_years) | (set(prev_parts) if drop_where else set())
    out_root.mkdir(parents=True, exist_ok=True)
    wrote_any = False
    for year in sorted(set(prev_parts) | set(new_parts), key=lambda y: (y is None, y or 0)):
        part = partition_dirname(year)
        if (year in prev_parts and year not in touched and prev_parts[year].name == part
                and in_current_format(prev_parts[year], name)):
            _link_tree(prev_parts[year], out_root / part)
            stats["linked"] += 1
            wrote_any = True
            continue
        rows = _merged_rows(_files(prev_parts.get(year)), _files(new_parts.get(year)), name, rm, drop_where, year)
        first = next(rows, None)
        if first is None:
            continue
        stats["rows_written"] += _write_stream(itertools.chain([first], rows), name, out_root / part)
        pa.default_memory_pool().release_unused()      # Arrow's pool keeps a partition's buffers otherwise
        stats["rewritten"] += 1
        wrote_any = True
    if not wrote_any:
        _write_stream([], name, out_root)
    return stats
