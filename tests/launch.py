"""Failure injection at a run's phase boundaries, from the test side (production code has no hook):

    python tests/launch.py [--crash-at POINT] ARGS...      # ARGS as for `nianbao`

--crash-at POINT: SIGKILL the process at POINT, to check what a crash leaves published. In-process tests
call :func:`at_points` with ``monkeypatch.setattr``; a script run with `python -c` calls :func:`crash_at`.

The points, and what is wrapped to reach them:

    after_parse     after ``pipeline._Run.gate`` (every batch staged and judged, nothing published)
    mid_publish     after ``pipeline._Publishing.collect`` (each dataset published into the partial version)
    after_manifest  after ``pipeline._Run.publish`` (the partial version sealed: manifest and catalogue)
    before_swap     before ``versions._symlink_atomic`` swaps the ``current`` pointer (the version renamed)
    after_swap      after ``versions.commit_version`` (the pointer swapped: the version is published)
"""
from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POINTS = ("after_parse", "mid_publish", "after_manifest", "before_swap", "after_swap")


def at_points(hook: Callable[[str], None], setattr: Callable = setattr) -> None:
    """Call ``hook(point)`` at each point of every run of this process. ``setattr``: monkeypatch.setattr in
    a test (undone after it), the builtin in a process of its own."""
    from flows import pipeline, versions

    def after(owner, name: str, point: str) -> None:
        real = getattr(owner, name)

        @functools.wraps(real)
        def wrapped(*args, **kw):
            out = real(*args, **kw)
            hook(point)
            return out
        setattr(owner, name, wrapped)

    after(pipeline._Run, "gate", "after_parse")
    after(pipeline._Publishing, "collect", "mid_publish")
    after(pipeline._Run, "publish", "after_manifest")
    after(versions, "commit_version", "after_swap")
    real_swap = versions._symlink_atomic

    def swap(target: str, link: Path) -> None:
        if link.name == versions.CURRENT:
            hook("before_swap")
        real_swap(target, link)
    setattr(versions, "_symlink_atomic", swap)


def crash_at(point: str) -> None:
    """SIGKILL this process when a run reaches ``point``."""
    if point not in POINTS:
        raise ValueError(f"unknown point {point!r}: one of {', '.join(POINTS)}")

    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)
    at_points(hook)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--crash-at"]:
        crash_at(argv[1])
        argv = argv[2:]
    from flows.cli import app
    sys.argv = ["nianbao", *argv]
    app()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
