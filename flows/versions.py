"""The version store on disk: versions built next to the current one and published by one atomic
pointer swap, the run lock, pruning (pure; no Prefect, no Parquet).

Layout under the destination directory ``dest``::

    dest/<dataset>        -> current/<dataset>            (relative symlinks, created once)
    dest/quality_report   -> current/quality_report
    dest/current          -> .versions/<version_id>       (THE pointer; swapped atomically)
    dest/.versions/<version_id>/<dataset>/2020/part-0.parquet      (report_year in the file too)
    dest/.versions/<version_id>/<dataset>/unknown/part-0.parquet   (reports with no year)
    dest/.versions/<version_id>/_manifest.json  (+ _run.json, quality_report/, datapackage.json, nianbao.duckdb)
    dest/.staging/<run_id>/<dataset>/report_year=2020/...  (scratch of a run, hive-partitioned; removed
                                                            at the end / next run)

A run builds a complete new version next to the current one (unchanged partitions are hard
links, so this costs only the rewritten partitions), renames ``<id>.partial`` to ``<id>``
and then swaps the ``current`` symlink with ``os.replace`` - a single atomic rename. Readers
that glob ``dest/applications/**/*.parquet`` always see one complete version; a run killed at
any point leaves the previous version published and the next run redoes the work.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

VERSIONS = ".versions"
STAGING = ".staging"
CURRENT = "current"
QUALITY_REPORT = "quality_report"
KEEP_VERSIONS = 2


class PublishError(RuntimeError):
    pass


# --------------------------------------------------------------------------- versions + pointer
def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def new_id(prefix: str = "v") -> str:
    return f"{prefix}{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"


def current_version(dest: str | os.PathLike) -> Path | None:
    link = Path(dest) / CURRENT
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def _symlink_atomic(target: str, link: Path) -> None:
    tmp = link.parent / f".{link.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    os.symlink(target, tmp)
    os.replace(tmp, link)


def ensure_layout(dest: str | os.PathLike, names: Iterable[str]) -> None:
    """Create dest/<name> -> current/<name> symlinks (idempotent)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / VERSIONS).mkdir(exist_ok=True)
    for name in list(names) + [QUALITY_REPORT]:
        link = dest / name
        if link.is_symlink():
            if os.readlink(link) == f"{CURRENT}/{name}":
                continue
        elif link.exists():
            raise PublishError(f"{link} exists and is not a nianbao dataset link; move it away")
        _symlink_atomic(f"{CURRENT}/{name}", link)


def begin_version(dest: str | os.PathLike, vid: str | None = None) -> tuple[str, Path]:
    """``vid`` (a new id when None) and its folder ``dest/.versions/<vid>.partial``, created."""
    vid = vid or new_id()
    d = Path(dest) / VERSIONS / f"{vid}.partial"
    d.mkdir(parents=True)
    return vid, d


def commit_version(dest: str | os.PathLike, vid: str, partial: Path) -> Path:
    """Seal ``<vid>.partial`` and swap the ``current`` pointer to it (the commit point)."""
    dest = Path(dest)
    final = dest / VERSIONS / vid
    _fsync_dir(partial)
    os.replace(partial, final)
    _fsync_dir(final.parent)
    _symlink_atomic(f"{VERSIONS}/{vid}", dest / CURRENT)
    _fsync_dir(dest)
    return final


def cleanup(dest: str | os.PathLike, keep: int = KEEP_VERSIONS, keep_staging: Iterable[str] = ()) -> list[str]:
    """Remove partial/stale versions (keeping the current one and ``keep-1`` newer-first others)
    and stale staging dirs. Safe to call at any time under the run lock."""
    dest = Path(dest)
    removed = []
    cur = current_version(dest)
    vdir = dest / VERSIONS
    if vdir.exists():
        for p in vdir.iterdir():          # a version's final name linked to its folder while its DuckDB
            if p.is_symlink():            # views were bound (flows/catalog.py), left by a killed run
                p.unlink(missing_ok=True)
        versions = sorted((p for p in vdir.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
        kept = 0
        for p in versions:
            if cur is not None and p.resolve() == cur:
                continue
            if p.name.endswith(".partial") or kept >= keep - 1:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
            else:
                kept += 1
    sdir = dest / STAGING
    if sdir.exists():
        for p in sdir.iterdir():
            if p.name not in set(keep_staging):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(f"{STAGING}/{p.name}")
    for p in dest.glob(".*.tmp-*"):
        p.unlink(missing_ok=True)
    return removed


@contextmanager
def run_lock(dest: str | os.PathLike):
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    fd = os.open(dest / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PublishError(f"another nianbao run holds {dest}/.lock") from None
        yield
    finally:
        os.close(fd)


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)


def digest(dest: str | os.PathLike) -> dict[str, str]:
    """{<dataset>/<partition>/<file>: sha256} of the published Parquet files (byte-level identity)."""
    import hashlib
    cur = current_version(dest)
    out = {}
    if cur is None:
        return out
    from transforms import schema as registry
    for name in registry.DATASETS:
        root = cur / name
        for p in sorted(root.rglob("*.parquet")) if root.exists() else []:
            out[str(p.relative_to(cur))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
