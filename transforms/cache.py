"""Objects built from shipped data files, kept between processes: the gazetteer's lookup tables take
~0.3 s to build from its 46,000 names and ~0.04 s to unpickle, and every process that parses (a
one-file run, each parse worker) needs them.

An entry's file name holds a hash of everything the object is built from: the data files, the source
files of the code that builds it, the Python version and the versions the caller names (OpenCC's).
A change to any of them builds a new entry, so an entry is never stale. A missing, unreadable,
truncated or corrupt entry, or one another user owns, is ignored and replaced; a folder that cannot be
written costs only the build. Entries are pickles: the folder is the user's own, created 0700.

Folder: ``NIANBAO_CACHE`` (a path; ``off`` builds every time), else ``$XDG_CACHE_HOME/nianbao``, else
``~/.cache/nianbao``.
"""
from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")

ENV = "NIANBAO_CACHE"
LAYOUT = 1          # of an entry: (key, object); a new layout gives new keys
KEEP = 4            # entries kept per name (other checkouts or versions sharing the folder)


def folder() -> Path | None:
    """Where entries live; None when caching is off (or there is no home folder to put them in)."""
    value = os.environ.get(ENV)
    try:
        if value is not None:
            return None if value.strip().lower() in ("", "off", "0", "false", "no") else Path(value).expanduser()
        base = os.environ.get("XDG_CACHE_HOME", "")
        return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "nianbao"
    except RuntimeError:             # "~" cannot be resolved (no HOME, no passwd entry)
        return None


def key(name: str, inputs: Iterable[str | os.PathLike], versions: Iterable[str] = ()) -> str:
    """The hash naming an entry: its name, the layout, Python's version, ``versions`` and the bytes of
    every input file (OSError when one cannot be read)."""
    h = hashlib.sha256()
    for part in (name, str(LAYOUT), sys.version, *versions):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for path in inputs:
        data = Path(path).read_bytes()
        h.update(f"{len(data)}\0".encode() + data)
    return h.hexdigest()[:32]


def cached(name: str, inputs: Iterable[str | os.PathLike], build: Callable[[], T],
           versions: Iterable[str] = ()) -> T:
    """``build()``, or the object a previous process built from the same inputs."""
    where = folder()
    if where is None:
        return build()
    try:
        k = key(name, inputs, versions)
    except OSError:                     # an input that cannot be read: the build says why, if it matters
        return build()
    path = where / f"{name}-{k}.pickle"
    found = _load(path, k)
    if found is not _MISSING:
        return found
    obj = build()
    _store(where, path, name, k, obj)
    return obj


_MISSING = object()


def _load(path: Path, k: str):
    try:
        with open(path, "rb") as fh:
            getuid = getattr(os, "getuid", None)         # POSIX
            if getuid is not None and os.fstat(fh.fileno()).st_uid != getuid():
                return _MISSING
            data = fh.read()
    except OSError:
        return _MISSING
    # the collector would rescan the ~10^5 containers being unpickled again and again (~2x the load)
    enabled = gc.isenabled()
    gc.disable()
    try:
        entry = pickle.loads(data)
    except Exception:                   # truncated, corrupt, or naming code that changed
        return _MISSING
    finally:
        if enabled:
            gc.enable()
    if type(entry) is not tuple or len(entry) != 2 or entry[0] != k:
        return _MISSING
    return entry[1]


def _store(where: Path, path: Path, name: str, k: str, obj) -> None:
    """Write the entry atomically (a reader sees the whole file or none); drop the oldest entries of
    ``name`` beyond KEEP. Any failure (a read-only folder, a full disk, an object that does not pickle)
    only leaves the entry unwritten."""
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((k, obj), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        others = sorted((p for p in where.glob(f"{name}-*.pickle") if p != path),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[KEEP - 1:]:
            old.unlink(missing_ok=True)
    except Exception:
        pass
