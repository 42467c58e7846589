"""A column of a few values repeated (typed.taken) keeps its dictionary encoding for the views'
categoricals: as_category gives what astype("category") gives, with or without it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from expectations.views import as_category
from transforms.typed import dictionary_slots, taken, typed_array


def _same_as_astype(s: pd.Series) -> None:
    got, expected = as_category(s), s.astype("category")
    assert list(got.cat.categories) == list(expected.cat.categories)
    assert got.cat.codes.tolist() == expected.cat.codes.tolist()
    assert str(got.cat.categories.dtype) == str(expected.cat.categories.dtype)


@pytest.mark.parametrize("values, positions", [
    (["b", "a", None, "c", "a"], [0, 0, 1, 3, 2, 4, 1]),      # nulls, a value twice in the few
    (["z", "y", "x"], [2, 2, 0]),                              # "y" on no row: not a category
    ([None], [0, 0, 0]),                                       # all null
    (["only"], []),                                            # no row
])
def test_a_taken_column_is_encoded_as_astype_does(values, positions):
    positions = np.asarray(positions, dtype=np.intp)
    col = taken(values, "str", positions)
    assert pd.Series(col).tolist() == pd.Series(typed_array(values, "str").take(positions)).tolist()
    assert dictionary_slots(col) is not None          # the encoding is taken, not made again
    _same_as_astype(pd.Series(col))


def test_only_the_taken_data_has_an_encoding():
    col = taken(["a", "b"], "str", np.array([0, 1, 1, 0]))
    s = pd.Series(col)
    assert dictionary_slots(s.array) is not None      # a Series of it holds the same Arrow data
    kept = s[s != "a"].reset_index(drop=True)          # other rows: other data, encoded afresh
    assert dictionary_slots(kept.array) is None
    _same_as_astype(kept)
    assert dictionary_slots(typed_array(["a", "b"], "str")) is None
    assert dictionary_slots(np.array([1, 2])) is None


def test_non_string_columns_are_taken_as_before():
    got = taken([1, None, 3], "Int64", np.array([2, 1, 0, 2]))
    assert got.tolist() == [3, pd.NA, 1, 3] and dictionary_slots(got) is None
