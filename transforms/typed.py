"""Frames typed exactly as the schema registry says: the one `conform(data, dataset)`.

Every frame of a registered dataset goes through `conform`, whether it is built from column lists (the
tidy frames, the codes) or coerced from another frame (the gate's rows, a published dataset read back,
the maintainers' page). The columns are the dataset's, in its order; each has its field's pandas dtype:

* strings `str` (Arrow-backed), built by Arrow directly (pandas' own conversion re-checks every element
  in Python first, ~7x slower); a categorical column (strings read dictionary-encoded) is kept as it is:
  the same values, held once;
* list fields a sequence per row (a list, or the array a row read back from Parquet holds); a null is
  `[]` when the field is required, null when it may be;
* numbers and booleans by `astype`, through one float64 conversion from lists (`_int64_array`).
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import ArrowStringArray

from transforms import schema
from transforms.names import escape_surrogates

STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # the dtype "str" resolves to
_SEQUENCES = (list, tuple, np.ndarray)
_KEPT = {list, np.ndarray}


def conform(data: pd.DataFrame | pa.Table | Mapping[str, list] | None, dataset: str,
            columns: list[str] | None = None) -> pd.DataFrame:
    """``data`` (a frame, an Arrow table, or column name → list of values; None: no rows) with exactly
    the registry's columns of ``dataset`` (or ``columns``, a subset in its own order), typed, with a
    fresh index."""
    fields = schema.fields(dataset)
    sequences: set[str] = set()
    if isinstance(data, pa.Table):
        # a list column with no null holds an array per row after to_pandas: nothing to check row by row
        sequences = {c for c, t in zip(data.column_names, data.schema.types)
                     if pa.types.is_list(t) and data.column(c).null_count == 0}
        data = data.to_pandas()
    if columns is not None:
        by_name = {f.name: f for f in fields}
        fields = tuple(by_name[c] for c in columns)
    if data is None:
        data = {}
    if isinstance(data, Mapping):
        n = len(next(iter(data.values()))) if data else 0       # a column no row has: null
        return pd.DataFrame({f.name: typed_array(data[f.name] if f.name in data else [None] * n, f.pandas_dtype,
                                                 f.nullable) for f in fields}, copy=False)
    names = [f.name for f in fields]
    out = data if data.columns.tolist() == names else data.reindex(columns=names)
    typed = {}
    for f in fields:
        s = out[f.name]
        t = s if f.name in sequences else _typed_column(s, f)
        if t is not s:
            typed[f.name] = t
    if typed or out is data:      # never the caller's frame itself (copy on write: no data copied)
        out = out.copy(deep=False)
        for name, t in typed.items():
            out[name] = t
    index = out.index
    return out if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1 else \
        out.reset_index(drop=True)


def empty(dataset: str) -> pd.DataFrame:
    """A frame of no rows with the dataset's columns and dtypes."""
    return conform(None, dataset)


def _typed_column(s: pd.Series, f: schema.Field) -> pd.Series:
    dtype = f.pandas_dtype
    if dtype == "object":
        return pd.Series(_lists(s.to_numpy(dtype=object), f.nullable), index=s.index, name=s.name, copy=False)
    if dtype == "str":
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == STR_DTYPE:
            return s
        if s.dtype == object:
            return pd.Series(str_array(s.to_numpy(dtype=object)), index=s.index, name=s.name, copy=False)
        if s.isna().all():       # a column no row has comes as NaN float64: nulls, no float boxed per row
            return pd.Series(ArrowStringArray(pa.nulls(len(s), pa.large_string()), dtype=STR_DTYPE),
                             index=s.index, name=s.name, copy=False)
        return s.astype(dtype)
    return s if s.dtype == dtype else s.astype(dtype)


def _lists(values, nullable: bool) -> np.ndarray:
    """An object array of one sequence per row: a list, or the array Arrow gives for a row read back
    from Parquet (kept: the same items, written back the same; converting each would triple the cost
    of reading a cell table); a tuple becomes a list; a null stays null only where the field may be
    null. Filled by fromiter: assigning a list of equally long lists would make it two-dimensional."""
    kinds = set(map(type, values))
    if kinds <= _KEPT:
        return values if isinstance(values, np.ndarray) else np.fromiter(values, dtype=object, count=len(values))
    return np.fromiter((x if type(x) in _KEPT else list(x) if isinstance(x, _SEQUENCES) else None if nullable else []
                        for x in values), dtype=object, count=len(values))


def typed_array(values, pandas_dtype: str, nullable: bool = True):
    """An array of ``pandas_dtype`` from a list of Python values (None: null)."""
    if pandas_dtype == "object":
        return _lists(values, nullable)
    if pandas_dtype == "str":
        return str_array(values)
    if pandas_dtype == "float64":    # None → NaN; pd.array takes a slow path for lists holding None (~4x)
        if values.count(None) == len(values):     # e.g. confidence, unset but by OCR: numpy converts each None
            return np.full(len(values), np.nan)
        try:
            return np.array(values, dtype="float64")
        except (TypeError, ValueError):
            return pd.array(values, dtype="float64")
    if pandas_dtype == "Int64":
        return _int64_array(values)
    return pd.array(values, dtype=pandas_dtype)


def taken(values, pandas_dtype: str, positions: np.ndarray):
    """``typed_array(values, pandas_dtype).take(positions)``: a column of a few values repeated (each
    report's identity on its cells, each address's dimensions). A `str` one remembers its dictionary
    encoding while it lives (dictionary_slots): the GX views' categoricals take it instead of hashing
    every row again (~2.5 ms a column on the applications' ~10^5 cells, ~40 ms a batch)."""
    arr = typed_array(values, pandas_dtype)
    out = arr.take(positions)
    if isinstance(out, ArrowStringArray) and isinstance(arr, ArrowStringArray):
        few = arr._pa_array
        encoded = (few.chunk(0) if few.num_chunks == 1 else few.combine_chunks()).dictionary_encode()
        slot = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy()
        _remember(out._pa_array, slot, positions, encoded.dictionary)
    return out


# id of a `str` column's Arrow data → (a weak reference to it, the slot of each of the few values, the
# positions taken, the dictionary); an entry leaves with its column
_ENCODINGS: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray, pa.Array]] = {}


def _remember(data: pa.ChunkedArray, slot: np.ndarray, positions: np.ndarray, dictionary: pa.Array) -> None:
    key = id(data)
    _ENCODINGS[key] = (weakref.ref(data), slot, positions, dictionary)
    weakref.finalize(data, _ENCODINGS.pop, key, None)


def dictionary_slots(arr) -> tuple[np.ndarray, pa.Array] | None:
    """(each row's position in the dictionary, len(dictionary) for a null; the dictionary) of a `str`
    array made by `taken`, as long as it holds the same Arrow data: the dictionary's values are
    unique, but some may be on no row. None for any other array."""
    data = getattr(arr, "_pa_array", None)
    hit = _ENCODINGS.get(id(data)) if data is not None else None
    if hit is None or hit[0]() is not data:
        return None
    _, slot, positions, dictionary = hit
    return slot[positions], dictionary


def str_array(values) -> pd.api.extensions.ExtensionArray:
    """A `str` array from str / None / NaN, built by Arrow directly; anything else (numbers, pd.NA, ...)
    goes through pandas, which converts it as astype("str") does."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except UnicodeEncodeError:       # a lone surrogate (an undecodable byte of a file name): escaped
        return str_array([_without_surrogates(v) for v in values])
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pd.array(values, dtype="str")
    return ArrowStringArray(arr, dtype=STR_DTYPE)


def _without_surrogates(value):
    """Lone surrogates escaped as transforms.names does (no UTF-8 writer takes them)."""
    return escape_surrogates(value) if isinstance(value, str) else value


_EXACT = 2.0 ** 53


def _int64_array(values) -> pd.api.extensions.ExtensionArray:
    """A nullable Int64 array of ints and Nones through one float64 conversion (~3x faster than
    pd.array on the cell tables' source_line); anything a float64 would not hold exactly (an integer
    over 2^53, a fraction) or that numpy refuses (pd.NA) goes through pd.array, which decides."""
    try:
        arr = np.array(values, dtype="float64")
    except (TypeError, ValueError):
        return pd.array(values, dtype="Int64")
    missing = np.isnan(arr)
    present = arr[~missing]
    if len(present) and ((np.abs(present) > _EXACT).any() or (present != np.floor(present)).any()):
        return pd.array(values, dtype="Int64")
    return pd.arrays.IntegerArray(np.where(missing, 0.0, arr).astype("int64"), missing)
