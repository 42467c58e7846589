"""The one reader of a dataset written as Parquet: a run's staging (hive folders ``report_year=2020``) or a
published version (folders named by the year, the year in every file), typed by the schema registry.

Below every package that reads datasets back (the gate's views, the maintainers' page, the run and
``nianbao validate``), so that they all read the same columns, types and partitions the same way.
"""
from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from transforms import schema as registry
from transforms.typed import conform

PARTITION_KEY = "report_year"


def is_partitioned(name: str) -> bool:
    return registry.partition_key(name) == PARTITION_KEY


def partitioning(flavor: str = "hive") -> ds.Partitioning:
    """The staging area's partitioning (report_year int64, null <-> __HIVE_DEFAULT_PARTITION__); on
    published folders (no ``key=value`` names) it finds no key and report_year is read from the files."""
    return ds.partitioning(pa.schema([(PARTITION_KEY, pa.int64())]), flavor=flavor)


def read_table(root: str | os.PathLike, name: str, *, columns=None, filter=None,
               dictionary_strings: bool = False, low_memory: bool = False) -> pa.Table:
    """A dataset folder (or one Parquet file) with the registry schema, columns in registry order (or
    ``columns``, in their order); no rows when ``root`` does not exist. ``filter`` (a pyarrow.dataset
    expression) and ``columns`` are applied while scanning.

    ``dictionary_strings``: string columns read as dictionaries straight from the Parquet dictionary
    pages (no Python str per row, and a filter compares codes), free text plain (its values are all
    distinct and long, and a dictionary keeps every row's value after the filter). ``low_memory``: one
    file and batch at a time (a filtered scan of the cell tables otherwise holds several row groups of
    every file in flight, which Arrow's pool then keeps), the pool's unused memory given back after."""
    root = Path(root)
    full = registry.arrow_schema(name)
    if not root.exists():
        t = full.empty_table()
        return t.select(columns) if columns else t
    fmt: str | ds.ParquetFileFormat = "parquet"
    if dictionary_strings:
        strings = [f.name for f in registry.fields(name) if f.arrow == pa.string() and not f.free_text
                   and (columns is None or f.name in columns)]
        full = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in strings else f
                          for f in full])
        fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=strings))
    d = ds.dataset(root, format=fmt, schema=full, partitioning=partitioning() if is_partitioned(name) else None)
    if low_memory:
        t = d.to_table(columns=columns, filter=filter, batch_readahead=1, fragment_readahead=1)
        pa.default_memory_pool().release_unused()
    else:
        t = d.to_table(columns=columns, filter=filter)
    return t if columns else t.select(full.names)


def load_frame(root: str | os.PathLike, name: str, **kw):
    """A dataset as pandas with the registry dtypes (keywords as for :func:`read_table`)."""
    t = read_table(root, name, **kw)
    return conform(t, name, t.column_names)
