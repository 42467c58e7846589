"""One change of the published data, as a transaction of the version store (flows/versions.py): what
``nianbao run`` and ``nianbao validate`` both do to publish a new version.

    with Transaction(dest) as tx:     # under versions.run_lock(dest)
        prev = tx.open(datasets)      # the layout made, leftovers of killed runs removed
        tx.stage()                    # dest/.staging/<id>: the rows and views of this change
        tx.prepare_catalogue()        # optional: the DuckDB catalogue built meanwhile, in a child process
        tx.begin()                    # dest/.versions/<vid>.partial, next to the current version
        ... publish.publish_dataset(name, prev / name, tx.staging / name, tx.partial / name, ...)
        tx.seal(entries)              # its manifest and catalogue
        tx.commit(summary)            # _run.json, the atomic pointer swap, old versions pruned

Until ``commit`` nothing a reader sees has changed; on a failure (an exception leaving the block, or
``remove_unpublished``) the staging folder and the partial version are removed (a killed process
leaves them to the next ``open``).
"""
from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from flows import catalog
from flows import manifest as mf
from flows import stopping
from flows import versions


@dataclass
class Transaction:
    """One change of ``dest``, where it is and what it writes: to remove its unpublished work and to
    name the place in an error."""
    dest: Path
    id: str = field(default_factory=lambda: versions.new_id("r"))
    step: str = "starting"
    writing: Path | None = None
    staging: Path | None = None
    vid: str | None = None
    partial: Path | None = None         # the version being built (None once committed)
    committed: str | None = None        # its id once the pointer is swapped
    catalogue: catalog.Pending | None = None

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """Leaving the block with an exception: nothing of this change is left behind."""
        if exc is not None:
            self.remove_unpublished()

    def at(self, step: str, writing: Path | None) -> None:
        self.step, self.writing = step, writing

    def open(self, names: Iterable[str]) -> Path | None:
        """The links ``dest/<name>`` made (idempotent) and what killed runs left removed; returns the
        published version (None when there is none yet)."""
        versions.ensure_layout(self.dest, names)
        versions.cleanup(self.dest)
        return versions.current_version(self.dest)

    def stage(self) -> Path:
        """This change's scratch folder ``dest/.staging/<id>`` (created)."""
        self.staging = self.dest / versions.STAGING / self.id
        self.staging.mkdir(parents=True)
        return self.staging

    def prepare_catalogue(self) -> None:
        """Name the new version now and start building its DuckDB catalogue in a child process, in
        ``dest/.staging/<id>.catalogue``: it needs the version's name, not its rows (flows/catalog.py),
        and is ready when the version is sealed (~0.1 s of a one-file run's ~1 s)."""
        self.vid = self.vid or versions.new_id()
        self.catalogue = catalog.Pending(self.dest / versions.VERSIONS / self.vid,
                                         self.dest / versions.STAGING / f"{self.id}.catalogue")
        self.catalogue.start()

    def begin(self) -> Path:
        """The new version's folder ``dest/.versions/<vid>.partial``, its datasets written there."""
        self.vid, self.partial = versions.begin_version(self.dest, self.vid)
        return self.partial

    def seal(self, entries: dict, parser_version: str) -> None:
        """Once its datasets are written: the new version's manifest (the files it was read from) and
        catalogue (datapackage.json, nianbao.duckdb)."""
        assert self.partial is not None and self.vid is not None
        mf.save(self.partial, entries, parser_version)
        self.at("writing the catalog", self.partial)
        pending, self.catalogue = self.catalogue, None
        catalog.write_catalog(self.partial, self.dest / versions.VERSIONS / self.vid, self.vid, pending)

    def commit(self, summary: dict) -> None:
        """Publish the new version: its ``_run.json`` (``summary``), then the atomic pointer swap (a stop
        signal waits for it), then the staging folder and the versions beyond ``KEEP_VERSIONS`` go."""
        assert self.partial is not None and self.vid is not None
        self.at("committing", self.dest)
        versions.write_json(self.partial / "_run.json", summary)
        with stopping.deferred():         # a stop signal waits for the pointer swap (and is raised after it)
            versions.commit_version(self.dest, self.vid, self.partial)
            self.partial, self.committed = None, self.vid
            stopping.published(self.vid)
            if self.staging is not None:
                shutil.rmtree(self.staging, ignore_errors=True)
            versions.cleanup(self.dest)

    def drop_staging(self) -> None:
        """Nothing to publish after all: the staging folder and the catalogue built for nothing removed."""
        if self.catalogue is not None:
            self.catalogue.discard()
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)

    def remove_unpublished(self) -> None:
        """Remove the staging folder and the uncommitted version (idempotent, any thread)."""
        if self.catalogue is not None:
            self.catalogue.discard(wait=False)
        for d in (self.staging, self.partial):
            if d is not None:
                shutil.rmtree(d, ignore_errors=True)

    def failure(self, e: BaseException) -> str:
        """One line: the step, the reason, the path, what became of the change's files."""
        if isinstance(e, OSError):
            reason = str(e) if getattr(e, "filename", None) else f"{e} (writing under {self.writing or self.dest})"
        else:
            reason = f"{type(e).__name__}: {e}"
        left = [str(d) for d in (self.staging, self.partial) if d is not None and d.exists()]
        outcome = (f"could not remove {', '.join(left)}" if left else
                   "its staging was removed" if self.staging is not None else "nothing was written")
        published = (f"version {self.committed} was published" if self.committed
                     else "the published version is unchanged")
        return f"{self.step} failed: {' '.join(reason.split())}; {outcome}; {published}"
