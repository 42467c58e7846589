"""What a published version offers besides its Parquet folders: ``datapackage.json`` (Frictionless
Data Package: every dataset's files, field types and descriptions, from the schema registry) and
``nianbao.duckdb`` (a DuckDB database of views over the datasets, for SQL users). Written into the
version folder before its pointer is swapped, so they are published atomically with the data; no row
is read.

The DuckDB file takes ~0.1 s (its import, and ~0.25 ms inside DuckDB for each of ~220 statements),
a tenth of a one-file run. It depends on the registry and the version's final path only, not on the
rows: a run builds it in a child process (``Pending``, flows/duckdb_build.py) from the moment its
version has a name, its views bound to empty files of the registry's schemas, and the version takes it
when sealed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from flows import publish as pub
from transforms import metadata
from transforms import schema as registry

DATAPACKAGE = "datapackage.json"
DUCKDB_FILE = "nianbao.duckdb"
CATALOG_FILES = (DATAPACKAGE, DUCKDB_FILE)


def published_datasets(version_dir: Path) -> list[str]:
    """The registry's datasets present in a version folder, in registry order (a dataset added to the
    registry, such as the codes, gets its resource and view without changes here)."""
    return [n for n in registry.DATASETS if (version_dir / n).is_dir()]


def dataset_files(version_dir: Path) -> dict[str, list[str]]:
    return {n: sorted(p.relative_to(version_dir).as_posix() for p in (version_dir / n).rglob("*.parquet"))
            for n in published_datasets(version_dir)}


def write_datapackage(version_dir: Path, version: str | None = None) -> Path:
    out = version_dir / DATAPACKAGE
    pub.write_json(out, metadata.datapackage(dataset_files(version_dir), version=version))
    return out


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(name: str, data_root: Path) -> str:
    """A view over one dataset's files under ``data_root`` (absolute: DuckDB resolves a relative path
    against the reader's working directory). hive_partitioning off: a ``key=value`` folder above the
    data must not add a column."""
    glob = (data_root / name).as_posix() + "/**/*.parquet"
    return f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_string(glob)}, hive_partitioning = false)"


def catalogue_sql(datasets: list[str], data_root: Path) -> str:
    """Every statement of the catalogue as one script in one transaction: one ``execute`` instead of
    ~220 (each a round trip through the Python binding: ~10 ms of a one-file run; what is left, ~0.25 ms
    a statement, is DuckDB's own)."""
    statements = ["BEGIN TRANSACTION"]
    for name in datasets:
        statements.append(view_sql(name, data_root))
        statements.append(f"COMMENT ON VIEW {name} IS {_sql_string(registry.DESCRIPTIONS.get(name, ''))}")
        statements.extend(f"COMMENT ON COLUMN {name}.{f.name} IS {_sql_string(f.description)}"
                          for f in registry.fields(name))
    statements.append("COMMIT")
    return ";\n".join(statements) + ";"


def write_duckdb(version_dir: Path, final_dir: Path) -> Path:
    """``nianbao.duckdb`` with one view per dataset of the version, over the files as they will be once
    the version is committed (``final_dir``), bound to the version's own files."""
    from flows import duckdb_build
    out = version_dir / DUCKDB_FILE
    duckdb_build.build(str(out), catalogue_sql(published_datasets(version_dir), final_dir.absolute()),
                       str(final_dir.absolute()), str(version_dir.absolute()))
    return out


STUB_FILE = "schema.parquet"


def write_schema_stub(root: Path) -> Path:
    """Under ``root``, one Parquet file of no rows per registry dataset, with the schema every published
    file of that dataset has (flows/publish.py writes them from the same registry): what a view is
    bound to when the rows are not written yet. DuckDB re-binds a view at each query and refuses one
    whose column types changed, so a stub that drifted from the data would show at once (tested)."""
    import pyarrow.parquet as pq
    for name in registry.DATASETS:
        (root / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(pub.empty_table(name), root / name / STUB_FILE)
    return root


class Pending:
    """``nianbao.duckdb`` for a version that will be at ``final_dir``, built in ``work`` (a folder of its
    own, removed by ``take`` and ``discard``) by a child process (flows/duckdb_build.py) while the run
    parses and publishes."""

    def __init__(self, final_dir: Path, work: Path):
        self.final_dir, self.work = final_dir.absolute(), work
        self.process: subprocess.Popen | None = None

    def start(self) -> Pending:
        """The schema stubs and the statements written, the child started. Its owner holds this object
        before anything is written, so a stop signal meanwhile still finds what to remove."""
        import sys

        from flows import duckdb_build
        self.work.mkdir(parents=True)
        stub = write_schema_stub(self.work / "stub")
        script = self.work / "catalogue.sql"
        script.write_text(catalogue_sql(list(registry.DATASETS), self.final_dir), encoding="utf-8")
        try:
            self.process = subprocess.Popen(
                [sys.executable, duckdb_build.__file__, str(self.work / DUCKDB_FILE), str(script),
                 str(self.final_dir), str(stub.absolute())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError:                  # no interpreter to start (frozen, embedded): built when sealed
            shutil.rmtree(self.work, ignore_errors=True)
        return self

    def take(self, version_dir: Path) -> Path | None:
        """The file moved into ``version_dir`` once built; None (nothing moved) when there is none or the
        version does not hold every registry dataset, whose views it has. A failed build raises its error
        here."""
        if self.process is None:         # not started, or could not be
            self.discard()
            return None
        try:
            _, err = self.process.communicate()
            if self.process.returncode != 0:
                raise RuntimeError(f"building {DUCKDB_FILE}: "
                                   f"{err.decode('utf-8', 'replace').strip() or f'exit {self.process.returncode}'}")
            if published_datasets(version_dir) != list(registry.DATASETS):
                return None
            out = version_dir / DUCKDB_FILE
            os.replace(self.work / DUCKDB_FILE, out)
            return out
        finally:
            self.discard(wait=False)

    def discard(self, wait: bool = True) -> None:
        """Its process ended (``wait``: let it finish; else stopped at once), its folder and binding link
        removed (idempotent, any thread)."""
        if self.process is not None and self.process.poll() is None:
            if not wait:
                self.process.kill()
            self.process.wait()
        if self.final_dir.is_symlink():
            self.final_dir.unlink(missing_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)


def write_catalog(version_dir: Path, final_dir: Path, version: str | None = None,
                  pending: Pending | None = None) -> list[Path]:
    """Both catalog files of a version being built: the DuckDB file ``pending`` built meanwhile, or
    built now."""
    duck = pending.take(version_dir) if pending is not None else None
    return [write_datapackage(version_dir, version), duck or write_duckdb(version_dir, final_dir)]
