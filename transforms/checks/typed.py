"""Check frames typed as the registry (transforms.schema) declares their dataset."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.arrays import ArrowStringArray

from transforms.checks.cells import STR_DTYPE


def empty_frame(fields) -> pd.DataFrame:
    return pd.DataFrame({f.name: pd.Series(dtype=f.pandas_dtype) for f in fields})


def typed(df: pd.DataFrame, fields) -> pd.DataFrame:
    out = df.reindex(columns=[f.name for f in fields])
    for f in fields:
        if f.pandas_dtype == "object":
            out[f.name] = [x if type(x) is list else list(x) if isinstance(x, (tuple, np.ndarray)) else []
                           for x in out[f.name]]
            out[f.name] = out[f.name].astype(object)
        elif f.pandas_dtype == "str" and out[f.name].dtype == object:
            out[f.name] = _str_values(out[f.name])
        elif f.pandas_dtype == "str" and out[f.name].dtype == np.float64 and out[f.name].isna().all():
            # a field no row has (the review columns): astype("str") formats every NaN in Python first
            out[f.name] = pd.Series(ArrowStringArray(pa.nulls(len(out), pa.large_string()), dtype=STR_DTYPE),
                                    index=out.index, name=f.name, copy=False)
        else:
            out[f.name] = out[f.name].astype(f.pandas_dtype)
    return out.reset_index(drop=True)


def _str_values(s: pd.Series) -> pd.Series:
    """An object column of str / None / NaN as `str`, built by Arrow directly: the same array as
    astype("str"), which first copies and re-checks every element in Python (measured ~7x slower on
    quality_checks' 20 text columns). Anything else (numbers, surrogates) goes through astype."""
    try:
        arr = pa.array(s.to_numpy(), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, UnicodeEncodeError):
        return s.astype("str")
    return pd.Series(ArrowStringArray(arr, dtype=STR_DTYPE), index=s.index, name=s.name, copy=False)

