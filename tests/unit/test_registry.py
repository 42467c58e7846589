"""The field registry (transforms/schema.py) and the one coercion to it (transforms/typed.py).

Each field is defined once and datasets list fields by name; the keys the registry declares hold on
real frames; `conform` gives every dataset's frames the registry's columns and dtypes, from a frame, a
dict of lists or nothing, without changing a value.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows import publish as pub
from synthetic.generator import corpus
from transforms import schema
from transforms.checks import reconcile
from transforms.checks.prepared import prepare
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts
from transforms.codes import codes_frame
from transforms.engine import parse_report
from transforms.formats import FORMATS
from transforms.summary import summary_frame
from transforms.tidy import to_frames
from transforms.typed import conform, empty

# Fields a dataset declares itself because another field already has the name with another meaning
# (and type): fetch_log's HTTP status and fetch outcome; the reconciliation frame's own columns.
OWN_FIELDS = {("fetch_log", "status"), ("fetch_log", "outcome"), ("reconciliation", "status"),
              ("reconciliation", "cells"), ("reconciliation", "n_cells")}


@pytest.fixture(scope="module")
def frames():
    parsed = [parse_report(text.encode("utf-8"), f"r{i}.txt") for i, (text, _) in enumerate(corpus(40, 7))]
    out = to_frames(parsed)
    prepared = prepare(out)
    out["reconciliation"] = reconcile.reconcile(out, prepared)
    out["quality_checks"] = quality_checks(out, out["reconciliation"], prepared)
    out["reports"] = verdicts(out["reports"], out["quality_checks"])
    out["report_summary"] = summary_frame(out["reports"], out)
    out["codes"] = codes_frame()
    return out


def test_a_field_is_defined_once_and_datasets_only_narrow_it():
    for name, ds in schema.REGISTRY.items():
        for f in ds.fields:
            if (name, f.name) in OWN_FIELDS or f.name not in schema.FIELDS:
                assert (name, f.name) in OWN_FIELDS or name == "reconciliation", (name, f.name)
                continue
            base = schema.FIELDS[f.name]
            assert f.arrow == base.arrow and f.free_text == base.free_text, (name, f.name)


def test_the_published_datasets_are_the_registry_less_the_reconciliation_frame():
    assert list(schema.DATASETS) == [n for n in schema.REGISTRY if n != "reconciliation"]
    assert not schema.dataset("reconciliation").published
    assert schema.pandas_dtypes("reconciliation") == reconcile.RECON_COLUMNS
    assert reconcile.RECON_FREE_TEXT == ("values",)


def test_the_cell_tables_dimensions_are_those_of_the_format_files():
    for table in schema.STATUTORY_TABLES:
        declared = [d for d in next(iter(FORMATS.values())).tables[table].dimensions]
        names = schema.column_names(table)
        assert [c for c in names if c in declared] == declared
        for d in declared:
            assert f"{d}_code" in names and schema.FIELDS[d].description


def test_a_dataset_is_partitioned_by_its_declared_key_only():
    for name in schema.DATASETS:
        key = schema.partition_key(name)
        assert key in (None, "report_year")
        assert pub.is_partitioned(name) == (key is not None)
    assert schema.partition_key("quarantine") is None and schema.partition_key("reports") == "report_year"


def test_the_declared_primary_keys_hold_on_a_batch(frames):
    for name in ("reports", *schema.STATUTORY_TABLES, "quality_checks", "statements", "report_summary", "codes",
                 "reconciliation"):
        df, key = frames[name], list(schema.primary_key(name))
        assert len(df) and key, name
        assert not df.duplicated(key).any(), name


def test_identity_columns_are_what_rows_repeat_from_their_report():
    assert schema.identity_columns("applications") == schema.REPORT_IDENTITY
    assert schema.identity_columns("statements") == schema.REPORT_IDENTITY[:5]
    assert schema.identity_columns("quality_checks") == ("report_id", "source_file", "organization", "report_year",
                                                         "template")
    assert schema.identity_columns("fetch_log") == ()


def test_every_frame_of_a_batch_is_conformed_and_conform_leaves_it_unchanged(frames):
    for name, df in frames.items():
        assert list(df.columns) == schema.column_names(name), name
        assert {c: str(t) for c, t in df.dtypes.items()} == \
            {f.name: str(pd.Series(dtype=f.pandas_dtype).dtype) for f in schema.fields(name)}, name
        again = conform(df, name)
        pd.testing.assert_frame_equal(again, df.reset_index(drop=True), check_categorical=True)


def test_conform_from_lists_and_from_a_frame_agree():
    rows = {"report_id": ["a" * 64, "b" * 64], "source_file": ["x.txt", None], "report_year": [2021, None],
            "quantity": ["applications_new", "period_year"], "value": [3.0, 2021.0], "raw_text": ["3", "2021"],
            "sentence": ["s", "t"], "source_line": [1, 2]}
    from_lists = conform(rows, "statements")
    from_frame = conform(pd.DataFrame(rows), "statements")
    pd.testing.assert_frame_equal(from_lists, from_frame)
    assert list(from_lists.columns) == schema.column_names("statements")
    assert str(from_lists["report_year"].dtype) == "Int64" and from_lists["report_year"].isna().tolist() == [False, True]
    assert from_lists["organization"].isna().all()       # a column no row has: null, typed str


def test_conform_lists_a_required_field_empty_and_keeps_a_nullable_one_null():
    df = conform(pd.DataFrame({"report_id": ["a", "b"], "problems": [None, ("p",)],
                               "tables_found": [np.array(["applications"]), ["review_litigation"]],
                               "failed_checks": [None, []]}), "reports")
    assert df["problems"].tolist() == [[], ["p"]] and df.at[0, "failed_checks"] is None
    assert df.at[1, "failed_checks"] == []
    # a row read back from Parquet keeps its array (the same items, written back the same)
    assert list(df.at[0, "tables_found"]) == ["applications"] and df.at[1, "tables_found"] == ["review_litigation"]


def test_conform_keeps_dictionary_encoded_strings_and_the_values():
    df = pd.DataFrame({"report_id": pd.Categorical(["a", "a", "b"]), "check": ["c1", None, "c2"]})
    out = conform(df, "quality_checks", ["report_id", "check"])
    assert isinstance(out["report_id"].dtype, pd.CategoricalDtype)
    assert str(out["check"].dtype) == "str" and out["check"].tolist()[0] == "c1" and out["check"].isna().tolist()[1]


def test_conform_escapes_a_lone_surrogate_and_keeps_large_integers_exact():
    out = conform({"report_id": ["a"], "source_file": ["bad\udcffname.txt"], "file_size": [2 ** 60]}, "quarantine")
    assert out.at[0, "source_file"] == "bad\\xffname.txt"
    assert int(out.at[0, "file_size"]) == 2 ** 60


def test_an_empty_frame_has_every_column_typed():
    for name in schema.REGISTRY:
        df = empty(name)
        assert len(df) == 0 and list(df.columns) == schema.column_names(name)
        assert [str(t) for t in df.dtypes] == [str(pd.Series(dtype=d).dtype) for d in schema.pandas_dtypes(name).values()]
