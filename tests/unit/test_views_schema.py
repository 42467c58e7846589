"""The views' Arrow schemas carry the pandas metadata an empty frame of their dtypes gives."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from pyarrow import feather

from expectations import views


@pytest.mark.parametrize("dataset", views.suite_datasets())
def test_view_schema_metadata_is_that_of_an_empty_frame(dataset):
    dtypes = views.view_dtypes(dataset)
    empty = pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()})
    expected = pa.Schema.from_pandas(empty, preserve_index=False).metadata
    assert views.view_schema(dataset).metadata == expected


def test_a_saved_view_loads_with_its_dtypes(tmp_path):
    dtypes = {"n": "Int64", "ok": "boolean", "flag": "bool", "c": "category", "x": "float64", "k": "int64",
              "items": "object"}
    frame = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "ok": pd.array([True, None], dtype="boolean"),
                          "flag": [True, False], "c": pd.Categorical(["a", None]), "x": [0.5, None],
                          "k": [3, 4], "items": [("a", "b"), ()]})
    sch = pa.schema([pa.field(c, views._ARROW_OF[d]) for c, d in dtypes.items()],
                    metadata=views._pandas_metadata(dtypes))
    arrays = [views._column_array(frame[f.name], f.type) for f in sch]
    feather.write_feather(pa.Table.from_arrays(arrays, schema=sch), str(tmp_path / "v.arrow"))
    back = views.load_views([tmp_path / "v.arrow"])
    assert {c: str(back[c].dtype) for c in back} == {**dtypes, "items": "object"}
    assert back["n"].tolist() == [1, pd.NA] and back["items"].tolist() == [("a", "b"), ()]
