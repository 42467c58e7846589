"""What a published version offers readers: datapackage.json (checked against the Frictionless Data
Package / Table Schema specs: the `frictionless` package is not installable offline here), the DuckDB
database of views, and the same rows in pandas, DuckDB and polars for every dataset with a
null-year partition present (plain executor, no Prefect, no GX)."""
import json
import re
import shutil

import pyarrow.parquet as pq
import pyarrow as pa
import pytest

from flows import catalog
from flows import publish as pub
from flows.pipeline import RunConfig, run_plain
from transforms import metadata
from transforms import schema as registry

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
# https://specs.frictionlessdata.io/table-schema/#types-and-formats
TABLE_SCHEMA_TYPES = {"string", "number", "integer", "boolean", "object", "array", "date", "time", "datetime",
                      "year", "yearmonth", "duration", "geopoint", "geojson", "any"}
NAME = re.compile(r"^[a-z0-9._-]+$")          # Data Package and resource names


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The seeds plus one of them with every year removed (its rows go to the null-year partition)."""
    base = tmp_path_factory.mktemp("catalog")
    src = base / "src"
    src.mkdir()
    for p in SEEDS:
        shutil.copy(p, src / p.name)
    text = SEEDS[1].read_text("utf-8")
    (src / "no_year.txt").write_text(re.sub(r"(19|20)\d\d年?", "", text), encoding="utf-8")
    dest = base / "out"
    run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    return dest


def test_a_null_year_report_is_published_in_the_unknown_partition(published):
    for name in registry.STATUTORY_TABLES + ("reports",):
        assert (published / name / pub.UNKNOWN_YEAR).is_dir(), name


@pytest.mark.parametrize("name", list(registry.DATASETS))
def test_plain_pandas_duckdb_polars_and_the_duckdb_views_read_the_same_rows(published, name):
    import duckdb
    import pandas as pd
    import polars as pl
    df = pd.read_parquet(published / name)
    cols = ["report_id", "source_file", "report_year"] if pub.is_partitioned(name) else ["report_id", "source_file"]
    if "report_id" not in registry.column_names(name):    # codes, fetch_log: every scalar column
        cols = [f.name for f in registry.fields(name) if not pa.types.is_list(f.arrow)]
    if name in registry.STATUTORY_TABLES:
        cols += ["row_path", "column_path", "raw_value"]
    if pub.is_partitioned(name):
        assert str(df["report_year"].dtype) == "Int64"
        assert df["report_year"].isna().any() and df["report_year"].notna().any()

    def norm(rows):
        return sorted(tuple(None if v is None or v is pd.NA or v != v else v for v in r) for r in rows)

    want = norm(df[cols].astype(object).itertuples(index=False, name=None))
    glob = f"{published / name}/**/*.parquet"
    with_duckdb = norm(duckdb.sql(f"select {', '.join(chr(34) + c + chr(34) for c in cols)} from read_parquet('{glob}')").fetchall())
    with_polars = norm(pl.scan_parquet(glob).select(cols).collect().rows())
    con = duckdb.connect(str(published / catalog.DUCKDB_FILE), read_only=True)
    try:
        with_view = norm(con.sql(f"select {', '.join(chr(34) + c + chr(34) for c in cols)} from {name}").fetchall())
        if pub.is_partitioned(name):
            assert {r[0]: r[1] for r in con.sql(f"describe {name}").fetchall()}["report_year"] == "BIGINT"
    finally:
        con.close()
    assert want == with_duckdb == with_polars == with_view
    assert len(want) == len(df)


def test_the_duckdb_views_cover_the_registry_and_carry_the_descriptions(published):
    import duckdb
    version = pub.current_version(published)
    assert (published / catalog.DUCKDB_FILE).resolve() == version / catalog.DUCKDB_FILE
    assert not any(p.is_symlink() for p in (published / pub.VERSIONS).iterdir())    # the binding link is gone
    assert not (version / (catalog.DUCKDB_FILE + ".tmp")).exists()
    con = duckdb.connect(str(published / catalog.DUCKDB_FILE), read_only=True)
    try:
        views = dict(con.sql("select view_name, comment from duckdb_views() where not internal").fetchall())
        assert set(views) == set(registry.DATASETS)
        assert views["applications"] == registry.DESCRIPTIONS["applications"]
        comments = dict(con.sql("select column_name, comment from duckdb_columns() "
                                "where table_name = 'reports'").fetchall())
        assert comments == {f.name: f.description for f in registry.fields("reports")}
        sql = con.sql("select sql from duckdb_views() where view_name = 'reports'").fetchall()[0][0]
        assert str(version) in sql                    # the version's own files: a consistent snapshot
    finally:
        con.close()


def test_datapackage_follows_the_data_package_and_table_schema_specs(published):
    path = published / catalog.DATAPACKAGE
    pkg = json.loads(path.read_text("utf-8"))
    base = path.resolve().parent
    assert pkg["profile"] == "tabular-data-package" and NAME.match(pkg["name"])
    assert pkg["version"] == pub.current_version(published).name
    names = [r["name"] for r in pkg["resources"]]
    assert names == [n for n in registry.DATASETS]                 # every dataset, registry order
    for r in pkg["resources"]:
        assert NAME.match(r["name"]) and r["profile"] == "tabular-data-resource"
        assert r["format"] == "parquet" and r["mediatype"] == "application/vnd.apache.parquet"
        paths = r["path"] if isinstance(r["path"], list) else [r["path"]]
        assert paths and len(set(paths)) == len(paths)
        for p in paths:                                            # relative POSIX paths inside the package
            assert not p.startswith("/") and ".." not in p.split("/") and "\\" not in p
            assert (base / p).is_file()
        assert sorted(paths) == sorted(q.relative_to(base).as_posix() for q in (base / r["name"]).rglob("*.parquet"))
        fields = r["schema"]["fields"]
        assert [f["name"] for f in fields] == registry.column_names(r["name"])
        file_cols = pq.read_schema(base / paths[0]).names
        assert sorted(file_cols) == sorted(f["name"] for f in fields)
        for f, reg in zip(fields, registry.fields(r["name"])):
            assert f["type"] in TABLE_SCHEMA_TYPES and f["description"]
            assert set(f) <= {"name", "type", "description", "constraints", "format", "title"}
            assert f.get("constraints", {}).get("required", False) == (not reg.nullable)
            if "enum" in f.get("constraints", {}):
                assert f["constraints"]["enum"] == list(reg.allowed)
    years = next(f for f in pkg["resources"][0]["schema"]["fields"] if f["name"] == "report_year")
    assert years["type"] == "integer"


def test_file_metadata_is_deterministic_and_names_every_field():
    for name in registry.DATASETS:
        kv = metadata.file_metadata(name)
        assert kv == metadata.file_metadata(name)
        doc = json.loads(kv[metadata.METADATA_KEY])
        assert [f["name"] for f in doc["fields"]] == registry.column_names(name)
        assert b"version" not in kv[metadata.PANDAS_KEY]          # no library version: bytes stay stable
        ints = {c["name"] for c in json.loads(kv[metadata.PANDAS_KEY])["columns"]}
        assert ints == {f.name for f in registry.fields(name) if f.pandas_dtype in ("Int64", "boolean")}


# ------------------------------------------------------------------ the catalogue built while the run goes on
def _describe(con, glob: str) -> list[tuple]:
    return [r[:2] for r in con.sql(f"describe select * from read_parquet('{glob}', hive_partitioning = false)")
            .fetchall()]


def test_the_schema_stubs_give_the_published_files_column_types(published, tmp_path):
    """A run's views are bound to empty files of the registry's schemas (flows/catalog.py): DuckDB reads
    them exactly as it reads the published files, null-year partition included, or a view would refuse
    to run once the rows are there."""
    import duckdb
    stub = catalog.write_schema_stub(tmp_path / "stub")
    con = duckdb.connect()
    for name in registry.DATASETS:
        assert _describe(con, f"{stub / name}/**/*.parquet") == _describe(con, f"{published / name}/**/*.parquet"), name


def _transaction(tmp_path):
    from flows import store
    tx = store.Transaction(tmp_path / "out")
    tx.open(list(registry.DATASETS))
    tx.stage()
    return tx


def test_a_catalogue_started_for_a_change_that_publishes_nothing_leaves_nothing(tmp_path):
    tx = _transaction(tmp_path)
    tx.prepare_catalogue()
    pending = tx.catalogue
    tx.drop_staging()
    assert pending.process.returncode == 0                      # let finish, then removed
    assert not pending.work.exists() and not pending.final_dir.is_symlink()
    assert not any((tx.dest / pub.STAGING).iterdir()) and not any((tx.dest / pub.VERSIONS).iterdir())


def test_a_stopped_change_stops_its_catalogue_at_once(tmp_path):
    tx = _transaction(tmp_path)
    tx.prepare_catalogue()
    pending = tx.catalogue
    tx.remove_unpublished()
    assert pending.process.returncode is not None
    assert not pending.work.exists() and not pending.final_dir.is_symlink()


def test_a_failed_catalogue_build_fails_the_seal_with_its_reason(tmp_path):
    """The child's one-line error, raised where the version is sealed; its folder removed all the same."""
    work = tmp_path / "work"
    pending = catalog.Pending(tmp_path / "no_such_folder" / "v1", work).start()    # the link cannot be made
    version = tmp_path / "v1.partial"
    version.mkdir()
    with pytest.raises(RuntimeError, match=r"^building nianbao\.duckdb: FileNotFoundError: .*no_such_folder"):
        catalog.write_catalog(version, tmp_path / "no_such_folder" / "v1", "v1", pending)
    assert not work.exists() and not (version / catalog.DUCKDB_FILE).exists()


def test_a_version_without_every_dataset_gets_views_over_its_own_files(published, tmp_path):
    """The prebuilt file has a view per registry dataset; a version holding fewer is catalogued the slow
    way, bound to its own files."""
    import duckdb
    version = tmp_path / "v1.partial"
    for name in ("reports", "applications"):
        shutil.copytree(published / name, version / name)
    pending = catalog.Pending(tmp_path / "v1", tmp_path / "work").start()
    catalog.write_catalog(version, tmp_path / "v1", "v1", pending)
    assert not (tmp_path / "work").exists() and not (tmp_path / "v1").is_symlink()
    con = duckdb.connect(str(version / catalog.DUCKDB_FILE), read_only=True)
    try:
        assert {r[0] for r in con.sql("select view_name from duckdb_views() where not internal").fetchall()} == {
            "reports", "applications"}
    finally:
        con.close()


def test_without_a_child_process_the_version_is_catalogued_when_sealed(published, tmp_path, monkeypatch):
    import subprocess

    def no_process(*a, **k):
        raise OSError("no interpreter")
    monkeypatch.setattr(subprocess, "Popen", no_process)
    version = tmp_path / "v1.partial"
    shutil.copytree(pub.current_version(published), version, ignore=shutil.ignore_patterns(catalog.DUCKDB_FILE))
    pending = catalog.Pending(tmp_path / "v1", tmp_path / "work").start()
    assert pending.process is None and not (tmp_path / "work").exists()
    catalog.write_catalog(version, tmp_path / "v1", "v1", pending)
    assert (version / catalog.DUCKDB_FILE).is_file() and not (tmp_path / "v1").is_symlink()
