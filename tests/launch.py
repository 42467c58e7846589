"""`nianbao` in a process of its own, with the seams tests set in-process by monkeypatching:

    python tests/launch.py [--gate-off] [--crash-at POINT] ARGS...      # ARGS as for `nianbao`

--gate-off: the pure-pandas half of the gate only (flows.batch.GX = False; GX costs seconds a run).
--crash-at POINT: SIGKILL the process at the named flows.pipeline.crash_point (after_parse,
mid_publish, after_manifest, before_swap, after_swap …), to check what a crash leaves published.
A script run with `python -c` sets them with :func:`gate_off` and :func:`crash_at`.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gate_off() -> None:
    from flows import batch
    batch.GX = False


def crash_at(point: str) -> None:
    from flows import pipeline

    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)
    pipeline.CRASH_HOOK = hook


def main(argv: list[str]) -> None:
    while argv and argv[0] in ("--gate-off", "--crash-at"):
        if argv[0] == "--gate-off":
            gate_off()
            argv = argv[1:]
        else:
            crash_at(argv[1])
            argv = argv[2:]
    from flows.cli import app
    sys.argv = ["nianbao", *argv]
    app()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
