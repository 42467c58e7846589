"""A batch's staged files (publish.write_staged) are the files pyarrow's dataset writer made of the
same table: the same names in the same hive folders, schemas and rows; and a view saved with the
staged table's columns (save_view(made=)) has the bytes of one converted on its own."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from expectations import views
from flows import publish
from transforms import schema
from transforms.datasets import partitioning
from transforms.typed import conform


def _reports(n: int = 9) -> pd.DataFrame:
    ids = [f"{(7 * i) % n:064x}" for i in range(n)]        # not in report_id order
    years = [2021, None, 2020, 2021, 2019, None, 2020, 2021, 2022][:n]
    data = {f.name: [None] * n for f in schema.fields("reports")}
    data.update(report_id=ids, sha256=ids, source_file=[f"r{i}.txt" for i in range(n)], report_year=years,
                status=["parsed"] * n, problems=[[f"p{i}"] if i % 3 else [] for i in range(n)],
                tables_found=[["applications"]] * n, tables_complete=[[]] * n, failed_checks=[[]] * n,
                file_size=list(range(n)), n_cells=[0] * n, n_flagged=[0] * n, n_inferred=[0] * n,
                n_unresolved=[0] * n, parser_version=[schema.PARSER_VERSION] * n,
                **{f"{t}_status": ["complete"] * n for t in schema.STATUTORY_TABLES})
    return conform(data, "reports")


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*.parquet"))


def test_staged_files_are_those_of_the_dataset_writer(tmp_path):
    frame = _reports()
    view = views.make_view(frame, "reports")
    t = publish.table_from_frame(frame, "reports", encoded=view)
    publish.write_staged(t, "reports", tmp_path / "new", "b00003")
    # the reference: ds.write_dataset as staging wrote before, on the rows in report_id order
    ordered = t.take(pa.array(np.argsort(np.asarray(t["report_id"].cast(pa.string()).to_pylist()), kind="stable")))
    ds.write_dataset(ordered, tmp_path / "ref" / "reports", format="parquet", partitioning=partitioning(),
                     basename_template="b00003-{i}.parquet", existing_data_behavior="overwrite_or_ignore",
                     file_options=ds.ParquetFileFormat().make_write_options(**publish.STAGING_WRITE),
                     preserve_order=True, use_threads=False)
    new, ref = tmp_path / "new", tmp_path / "ref"
    assert _files(new) == _files(ref)
    assert any("__HIVE_DEFAULT_PARTITION__" in str(p) for p in _files(new))      # the null year's folder
    for p in _files(new):
        a, b = pq.ParquetFile(new / p), pq.ParquetFile(ref / p)
        assert a.schema_arrow == b.schema_arrow and a.metadata.metadata == b.metadata.metadata
        assert a.read().equals(b.read())
    assert publish.read_table(new / "reports", "reports").equals(publish.read_table(ref / "reports", "reports"))


def test_a_view_saved_with_the_staged_columns_has_the_same_bytes(tmp_path):
    frame = _reports()
    view = views.make_view(frame, "reports")
    t = publish.table_from_frame(frame, "reports", encoded=view)
    assert any(pa.types.is_list(f.type) for f in t.schema) and any(pa.types.is_dictionary(f.type) for f in t.schema)
    views.save_view(view, tmp_path / "alone.arrow", "reports")
    views.save_view(view, tmp_path / "made.arrow", "reports", made=t)
    assert (tmp_path / "alone.arrow").read_bytes() == (tmp_path / "made.arrow").read_bytes()
    # another table's rows are never taken (a different row count)
    views.save_view(view, tmp_path / "other.arrow", "reports", made=t.slice(1))
    assert (tmp_path / "other.arrow").read_bytes() == (tmp_path / "alone.arrow").read_bytes()
