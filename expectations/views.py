"""The frames GX validates: each published dataset plus a few derived `_` helper columns (pure pandas).

GX has no pandas-native way to look inside list columns or to ask "what kind is this column in the
format", so the view adds those facts as columns; the suites name them, and the published dataset
never carries them. The reconciliation frame is validated as it is.
"""
from __future__ import annotations

import functools
import itertools
import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import feather
import pandas as pd

from transforms import schema
from transforms.checks.catalogue import FORMAT_NAMES, check_names, identity_catalog
from transforms.checks.cells import cell_view, is_plain_lists
from transforms.checks.reconcile import RECON_COLUMNS, RECON_FREE_TEXT
from transforms.typed import dictionary_slots

CELL_TABLES = schema.STATUTORY_TABLES
# Datasets with a suite: every dataset of the registry, plus the reconciliation frame.
RECONCILIATION = "reconciliation"
OTHER = "other"  # hybrid or undetected template: addresses of any format
# Helper columns instead of GX row conditions: a row condition re-filters (copies) the whole frame for
# every metric of every expectation, which costs seconds on a million rows; a masked helper does not.
ADDRESS_HELPERS = tuple(f"_{c}_{n}" for n in (*FORMAT_NAMES, OTHER) for c in ("row_path", "column_path"))
# quarantine: sha256 present and not the report_id (a pair expectation would compare the two columns'
# categoricals, whose categories differ once sha256 may be null)
SHA_MISMATCH = "_sha256_not_report_id"
CELL_HELPERS = ("_kind", *ADDRESS_HELPERS, "_count_value", "_count_fraction", "_printed_not_parsed")
# Row keys shown next to each failing value in Data Docs.
INDEX_COLUMNS = {
    "reports": ["report_id", "source_file"],
    **{t: ["report_id", "source_file", "row_path", "column_path"] for t in CELL_TABLES},
    "quality_checks": ["report_id", "source_file", "check"],
    "report_summary": ["report_id", "source_file"],
    "quarantine": ["report_id", "source_file"],
    "statements": ["report_id", "source_file", "quantity", "source_line"],
    RECONCILIATION: ["report_id", "source_file", "key"],
}


def suite_datasets() -> list[str]:
    """The suites each parse batch's views are validated against (every dataset the batches stage; not those generated from the format files)."""
    return [*(d for d in schema.DATASETS if d not in schema.CRAWL_DATASETS and d not in schema.GENERATED), RECONCILIATION]


def all_suite_datasets() -> list[str]:
    """Every suite: the batches' and the crawl's (the fetch log, validated once per run that stages it)."""
    return [*suite_datasets(), *schema.CRAWL_DATASETS]


def list_fields_with_allowed(dataset: str) -> list[schema.Field]:
    return [f for f in schema.fields(dataset) if f.pandas_dtype == "object" and f.allowed]


# One expectation per check reads one of these columns (the value where `check` is that check, null
# elsewhere) instead of a GX row condition, which re-filters the whole frame per expectation.
PER_CHECK = {"quality_checks": ("status", check_names), RECONCILIATION: ("failure", lambda: list(identity_catalog()["check"]))}


def per_check_column(dataset: str, check: str) -> str:
    return f"_{PER_CHECK[dataset][0]}_{check}"


def helper_columns(dataset: str) -> list[str]:
    out = list(CELL_HELPERS) if dataset in CELL_TABLES else []
    if dataset in PER_CHECK:
        out += [per_check_column(dataset, c) for c in PER_CHECK[dataset][1]()]
    if dataset == "quarantine":
        out.append(SHA_MISMATCH)
    if dataset == RECONCILIATION:
        return out
    return out + [f"_{f.name}_unknown" for f in list_fields_with_allowed(dataset)]


def free_text_columns(dataset: str) -> tuple[str, ...]:
    """Columns left out of the view (schema.Field.free_text)."""
    if dataset == RECONCILIATION:
        return RECON_FREE_TEXT
    return tuple(f.name for f in schema.fields(dataset) if f.free_text) if dataset in schema.DATASETS else ()


def view_columns(dataset: str) -> list[str]:
    own = list(RECON_COLUMNS) if dataset == RECONCILIATION else schema.column_names(dataset)
    free = free_text_columns(dataset)
    return [c for c in own if c not in free] + helper_columns(dataset)


def _with_items(values: np.ndarray) -> np.ndarray:
    """Positions of the list cells holding items (most cells of a list column hold none)."""
    if is_plain_lists(values):
        return _plain_with_items(values)
    return np.array([i for i, x in enumerate(values) if isinstance(x, (list, tuple, np.ndarray)) and len(x)],
                    dtype=np.intp)


def _plain_with_items(values: np.ndarray) -> np.ndarray:
    """_with_items of a column known to hold plain lists only (is_plain_lists: a scan of every cell's
    type, ~3 ms on the applications' flags, not made twice): lengths mapped in C."""
    return np.flatnonzero(np.fromiter(map(len, values), dtype=np.int64, count=len(values)))


def _unknown_items(s: pd.Series, allowed, with_items: np.ndarray | None = None) -> np.ndarray:
    """Per row, how many items of a list cell are not in `allowed`; ``with_items``: _with_items of the
    column when known."""
    allowed = set(allowed)
    values = s.to_numpy(dtype=object)
    out = np.zeros(len(values), dtype=np.int64)
    for i in _with_items(values) if with_items is None else with_items:
        out[i] = sum(1 for item in values[i] if item not in allowed)
    return out


def _as_tuples(s: pd.Series, with_items: np.ndarray | None = None) -> pd.Series:
    """List cells as tuples (hashable), anything else as is. A column of plain lists is converted where
    it holds items only (``with_items``: its _with_items, given for a column of plain lists only); the
    empty ones share one ()."""
    values = s.to_numpy(dtype=object)
    if with_items is not None or is_plain_lists(values):  # tuple(t) is t for a tuple
        empty = np.empty(1, dtype=object)
        empty[0] = ()
        out = empty[np.zeros(len(values), dtype=np.intp)]
        full = _plain_with_items(values) if with_items is None else with_items
        if len(full):
            out[full] = np.fromiter(map(tuple, values[full]), dtype=object, count=len(full))
        return pd.Series(out, index=s.index, dtype=object, copy=False)
    return pd.Series([tuple(x) if isinstance(x, (list, np.ndarray)) else x for x in values], index=s.index,
                     dtype=object)


def as_category(s: pd.Series) -> pd.Series:
    """``s.astype("category")``, for an Arrow-backed string column encoded by Arrow: the same codes and
    sorted categories (UTF-8 byte order is code-point order), without pandas' round trip through
    Python objects and its uniqueness check of the categories (a hash table of Python strings: ~2/3 of
    the cost on quality_checks' long `observed` texts). The views' ~100 string columns a batch cost
    ~0.2 ms a report through astype, ~3x less so. A column of a few values repeated (transforms.typed.taken:
    the cell tables' report identity and dimensions) brings its encoding: nothing hashed per row. Any
    other column goes through astype."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        return s.astype("category")
    known = dictionary_slots(s.array)       # a column of a few values repeated (typed.taken)
    if known is None:
        arr = s.array._pa_array
        encoded = (arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()).dictionary_encode()
        indices, uniques = encoded.indices, encoded.dictionary
        slots = (indices.fill_null(len(uniques)) if indices.null_count else indices).to_numpy()  # null: last slot
    else:
        slots, uniques = known
        # only the values some row has (a report without cells in the table has none)
        used = np.flatnonzero(np.bincount(slots, minlength=len(uniques) + 1)[:-1])
        if len(used) < len(uniques):
            renumber = np.full(len(uniques) + 1, len(used), dtype=np.int64)
            renumber[used] = np.arange(len(used))
            slots, uniques = renumber[slots], uniques.take(pa.array(used))
    order = pc.array_sort_indices(uniques)
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[order.to_numpy()] = np.arange(len(uniques))
    rank[-1] = -1                                   # a null (filled with the last slot) → code -1
    codes = rank[slots]
    # the categories are unique by construction: the dtype skips pandas' check of them
    dtype = pd.CategoricalDtype._from_fastpath(pd.Index(pd.array(uniques.take(order), dtype=s.dtype)), False)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), index=s.index, name=s.name, copy=False)


def _masked_category(cat: pd.Series, keep: np.ndarray) -> pd.Series:
    """A categorical where `keep`, null elsewhere, with only the categories still used: the same as
    `strings.where(keep).astype("category")`, without factorizing the strings again per helper. The
    used categories are counted (remove_unused_categories sorted the codes: ~3 ms per helper on the
    applications' ~10^5 rows, six helpers a cell table)."""
    codes = np.where(keep, cat.cat.codes.to_numpy(), -1)
    n = len(cat.cat.categories)
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=n))
    renumber = np.full(n + 1, -1, dtype=np.int64)        # the last slot takes code -1 (null)
    renumber[used] = np.arange(len(used))
    # a subset of unique categories, in their order: the dtype skips pandas' check of them
    dtype = pd.CategoricalDtype._from_fastpath(cat.cat.categories.take(used), cat.dtype.ordered)
    return pd.Series(pd.Categorical.from_codes(renumber[codes], dtype=dtype), index=cat.index, copy=False)


def make_view(df: pd.DataFrame, dataset: str, helpers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The frame to validate: the dataset's own columns (as given: a missing or mistyped column must
    fail the suite, not be repaired here) plus the helper columns. `helpers`: cell_view(df) if known.

    * `_row_path_<format>` / `_column_path_<format>`: the address where the row's template is that format
      (row paths of flagged extra rows left out), null elsewhere; `<format>` = other for hybrid/undetected.
    * `_count_value` / `_count_fraction`: value and its fractional part where the format says count.
    * `_printed_not_parsed`: raw text printed, value null, cell not flagged.
    * `_status_<check>` (quality_checks), `_failure_<check>` (reconciliation): see PER_CHECK.
    List columns are handed to GX as tuples (hashable: GX fingerprints the batch, and a list column
    makes it pickle the whole frame); string columns as categoricals (see Field.validation_dtype);
    free text left out (see Field.free_text).

    The columns are gathered in a dict and made a frame once: assigning them one by one to a frame
    (~100 a batch) cost ~0.2 ms each, its column index rebuilt every time (~25 ms a batch)."""
    free = [c for c in free_text_columns(dataset) if c in df.columns]
    own = df.drop(columns=free) if free else df
    n = len(own)
    index = pd.RangeIndex(n)
    if not own.index.equals(index):
        own = own.reset_index(drop=True)
    # column name → its values (a Series on `index`, or an array); the own columns first, in order
    out: dict[str, object] = dict(own.items())

    def column(name: str) -> pd.Series:
        v = out[name]
        return v if isinstance(v, pd.Series) else pd.Series(v, index=index, name=name, copy=False)

    if dataset in PER_CHECK and "check" in out:
        name, checks = PER_CHECK[dataset]
        check = as_category(column("check"))
        values = as_category(column(name)) if name in out else pd.Series(pd.NA, index=index)
        if isinstance(values.dtype, pd.CategoricalDtype):
            # masked from the codes: a comparison and a where per check cost ~1 ms each on 27k rows
            check_codes, value_codes = check.cat.codes.to_numpy(), values.cat.codes.to_numpy()
            names = checks()
            for c, k in zip(names, check.cat.categories.get_indexer(names)):
                kept = np.where(check_codes == k, value_codes, -1) if k >= 0 else np.full(n, -1)
                out[per_check_column(dataset, c)] = pd.Categorical.from_codes(kept, dtype=values.dtype)
        else:
            for c in checks():
                out[per_check_column(dataset, c)] = values.where(check == c)
    if dataset in CELL_TABLES and all(c in out for c in ("row_path", "column_path", "value", "template")):
        h = (helpers.reset_index(drop=True) if helpers is not None and len(helpers.columns)
             else cell_view(own, dataset))
        tmpl = column("template").astype("str")
        extra = h["_extra_row"].to_numpy(dtype=bool)
        known = np.zeros(n, dtype=bool)
        # string addresses are dictionary-encoded once, the per-format helpers mask the codes
        rows, cols = (as_category(column(c)) if isinstance(column(c).dtype, pd.StringDtype) else None
                      for c in ("row_path", "column_path"))

        def address_helper(name: str, encoded: pd.Series | None, keep: np.ndarray) -> pd.Series:
            return column(name).where(keep) if encoded is None else _masked_category(encoded, keep)

        for f in FORMAT_NAMES:
            m = (tmpl == f).to_numpy(dtype=bool)
            known |= m
            out[f"_row_path_{f}"] = address_helper("row_path", rows, m & ~extra)
            out[f"_column_path_{f}"] = address_helper("column_path", cols, m)
        out[f"_row_path_{OTHER}"] = address_helper("row_path", rows, ~known & ~extra)
        out[f"_column_path_{OTHER}"] = address_helper("column_path", cols, ~known)
        for name, encoded in (("row_path", rows), ("column_path", cols)):
            if encoded is not None:  # what the loop at the end would make of it
                out[name] = encoded
        kind = h["_kind"]
        kind = as_category(pd.Series(kind.array if isinstance(kind.dtype, pd.StringDtype) else kind.to_numpy(),
                                     index=index))
        out["_kind"] = kind
        count = kind.cat.categories.get_indexer(["count"])[0]     # -1 when no cell is a count
        is_count = (kind.cat.codes.to_numpy() == count) if count >= 0 else np.zeros(n, dtype=bool)
        value = pd.to_numeric(column("value"), errors="coerce").astype("float64")
        out["_count_value"] = value.where(is_count)
        out["_count_fraction"] = pd.Series(h["_fraction"].to_numpy(), index=index).where(is_count)
        out["_printed_not_parsed"] = (h["_raw_has_value"].to_numpy(dtype=bool) & value.isna().to_numpy()
                                      & ~h["_flagged"].to_numpy(dtype=bool))
    if dataset == "quarantine" and "sha256" in out and "report_id" in out:
        sha = column("sha256").astype(object)
        out[SHA_MISMATCH] = (sha.notna() & (sha != column("report_id").astype(object))).to_numpy(dtype=bool)
    fields = schema.fields(dataset) if dataset in schema.DATASETS else []
    with_items = {}      # list column → its cells holding items, found once for both helpers below
    for f in list_fields_with_allowed(dataset) if fields else []:
        if f.name in out:
            values = column(f.name).to_numpy(dtype=object)
            with_items[f.name] = _plain_with_items(values) if is_plain_lists(values) else None
            out[f"_{f.name}_unknown"] = _unknown_items(column(f.name), f.allowed, with_items[f.name])
    for f in fields:
        if f.pandas_dtype == "object" and f.name in out:
            out[f.name] = _as_tuples(column(f.name), with_items.get(f.name))
    for c, v in out.items():            # strings dictionary-encoded (schema.Field.validation_dtype)
        if isinstance(v.dtype, pd.StringDtype):
            out[c] = as_category(column(c))
    return pd.DataFrame({c: _array(v) for c, v in out.items()}, index=index, copy=False)


def _array(v):
    """A view column's values for the frame's constructor: a Series' array (no index to align)."""
    return v.array if isinstance(v, pd.Series) else v


# --------------------------------------------------------------------------------------------------
# Views on disk: the parse workers write them, the run validates many batches' views at once.

_DICT = pa.dictionary(pa.int32(), pa.string())


def _list_array(values: np.ndarray) -> pa.Array | None:
    """list<string> array of a column of plain tuples/lists of str (None otherwise): lengths and items
    are gathered in C, where Arrow's conversion visits every (mostly empty) tuple in Python."""
    if not is_plain_lists(values):
        return None
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    try:
        items = pa.array(list(itertools.chain.from_iterable(values)), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return pa.ListArray.from_arrays(pa.array(offsets), items)


def view_dtypes(dataset: str) -> dict[str, str]:
    """column → pandas dtype of the dataset's view, from the registry (never from a batch's content)."""
    if dataset == RECONCILIATION:
        own = {c: schema.validation_dtype(d) for c, d in RECON_COLUMNS.items()}
    else:
        own = {f.name: f.validation_dtype for f in schema.fields(dataset)}
    out = {c: own[c] for c in view_columns(dataset) if c in own}
    for c in helper_columns(dataset):
        if c in ("_count_value", "_count_fraction"):
            out[c] = "float64"
        elif c in ("_printed_not_parsed", SHA_MISMATCH):
            out[c] = "bool"
        elif c.endswith("_unknown"):
            out[c] = "int64"
        else:                            # addresses, _kind, per-check statuses and failures
            out[c] = "category"
    return out


_ARROW_OF = {"category": _DICT, "str": _DICT, "float64": pa.float64(), "Int64": pa.int64(), "int64": pa.int64(),
             "boolean": pa.bool_(), "bool": pa.bool_(), "object": pa.list_(pa.string())}


@functools.cache
def view_schema(dataset: str) -> pa.Schema:
    """The Arrow schema every saved view of the dataset has, whatever its batch held (an empty or
    all-null column included): the views of a chunk's batches concatenate without type merging. The
    pandas metadata restores the view's dtypes (Int64, boolean) on loading. Cached: it depends only on
    the registry and the format files, and is paid for every view saved or loaded."""
    dtypes = view_dtypes(dataset)
    return pa.schema([pa.field(c, _ARROW_OF[d]) for c, d in dtypes.items()], metadata=_pandas_metadata(dtypes))


def _pandas_metadata(dtypes: dict[str, str]) -> dict[bytes, bytes]:
    """What ``pa.Schema.from_pandas`` gives an empty frame of these column dtypes, assembled from one
    such frame holding each dtype once: building each dataset's empty frame cost ~20 ms a dataset
    (~0.2 s a process; tests/unit/test_views_schema.py checks both give the same bytes)."""
    frame, column_of = _pandas_metadata_parts()
    columns = [{**column_of[d], "name": c, "field_name": c} for c, d in dtypes.items()]
    return {b"pandas": json.dumps({k: columns if k == "columns" else v for k, v in frame.items()}).encode("utf8")}


@functools.cache
def _pandas_metadata_parts() -> tuple[dict, dict[str, dict]]:
    """(the frame-level entries of pandas' metadata, dtype → the entry of a column of that dtype)."""
    empty = pd.DataFrame({d: pd.Series(dtype=d) for d in _ARROW_OF})
    frame = json.loads(pa.Schema.from_pandas(empty, preserve_index=False).metadata[b"pandas"])
    return frame, {c["name"]: c for c in frame["columns"]}


def _column_array(s: pd.Series, type_: pa.DataType) -> pa.Array:
    """One view column as the fixed Arrow type (ValueError naming the column when it cannot be)."""
    try:
        if pa.types.is_dictionary(type_):
            if isinstance(s.dtype, pd.CategoricalDtype):
                return pa.array(s).cast(type_)
            return pa.array(s.astype(object).where(s.notna(), None).to_numpy(), type=pa.string()).dictionary_encode() \
                .cast(type_)
        if pa.types.is_list(type_):
            values = s.to_numpy(dtype=object)
            arr = _list_array(values)
            if arr is not None:
                return arr
            return pa.array([None if x is None else list(x) for x in values], type=type_)
        return pa.array(s, type=type_, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError) as e:
        raise ValueError(f"view column {s.name!r} ({s.dtype}) cannot be stored as {type_}: {e}") from e


def save_view(view: pd.DataFrame, path, dataset: str, made: pa.Table | None = None) -> None:
    """Arrow IPC file of a view, in the dataset's fixed view_schema (categoricals as dictionaries with
    int32 indices, lists as list<string>), so that any batches' files concatenate.

    ``made``: the same rows' dataset columns already in Arrow (the batch's staged table, whose string
    columns publish.table_from_frame took from this view's categoricals): those of the view's type are
    taken from it, not converted again (the list columns' Python tuples cost ~0.15 µs a cell, ~20 ms
    a batch for the applications' flags)."""
    sch = view_schema(dataset)
    missing = [n for n in sch.names if n not in view.columns]
    extra = [c for c in view.columns if c not in sch.names]
    if missing or extra:
        raise ValueError(f"{dataset} view: columns missing {missing}, unexpected {extra}")
    reuse = made is not None and made.num_rows == len(view)
    arrays = [made[f.name] if reuse and f.name in made.column_names and _reusable(made.schema.field(f.name).type, f.type)
              else _column_array(view[f.name], f.type) for f in sch]
    feather.write_feather(pa.Table.from_arrays(arrays, schema=sch), str(path), compression="uncompressed")


def _reusable(made: pa.DataType, wanted: pa.DataType) -> bool:
    """A made column of this type holds what _column_array would make of the view's column: the
    dictionaries and lists, converted from the same values the same way."""
    return made == wanted and (pa.types.is_dictionary(wanted) or pa.types.is_list(wanted))


def load_views(paths, dataset: str | None = None) -> pd.DataFrame | None:
    """One frame from several saved views of a dataset (dictionaries unified, list cells as tuples)."""
    tables = [feather.read_table(str(p)) for p in paths]
    if not tables:
        return None
    sch = view_schema(dataset) if dataset else tables[0].schema
    bad = [str(p) for p, t in zip(paths, tables) if not t.schema.equals(sch, check_metadata=False)]
    if bad:
        raise ValueError(f"views not in the {dataset or 'first view'}'s schema: {bad}")
    t = pa.concat_tables(tables)
    lists = [f.name for f in t.schema if pa.types.is_list(f.type)]
    df = t.drop_columns(lists).to_pandas()
    for name in lists:
        df.insert(t.schema.get_field_index(name), name, _tuples(t.column(name)))
    return df


def _tuples(col: pa.ChunkedArray) -> pd.Series:
    """list<string> column -> object Series of tuples; the (mostly) empty lists share one ()."""
    lengths = pc.fill_null(pc.list_value_length(col), -1).to_numpy()
    shared = np.empty(1, dtype=object)
    shared[0] = ()
    out = shared[np.zeros(len(col), dtype=np.intp)]
    out[lengths < 0] = None
    full = np.flatnonzero(lengths > 0)
    if len(full):
        values = np.empty(len(full), dtype=object)
        for i, x in enumerate(col.take(pa.array(full)).to_pylist()):
            values[i] = tuple(x)
        out[full] = values
    return pd.Series(out, dtype=object)
