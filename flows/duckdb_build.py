"""Build one ``nianbao.duckdb`` in a process of its own (flows/catalog.py ``Pending``): imports nothing but
DuckDB, so it starts in ~0.05 s and runs on the core a one-file run leaves idle, instead of contending
with the run for its interpreter (on a thread it slowed the run's parse by as much as it saved).

    python duckdb_build.py OUT SCRIPT FINAL_DIR BOUND_TO

OUT is written from the statements in the file SCRIPT, with FINAL_DIR linked to BOUND_TO while DuckDB
binds the views (and unlinked again); exit 0, or 1 and one line on stderr.
"""
from __future__ import annotations

import os
import sys


def build(out: str, sql: str, final_dir: str, bound_to: str) -> None:
    """``out`` written from the statements ``sql``, with ``final_dir`` linked to ``bound_to`` meanwhile."""
    import duckdb
    link = None
    if os.path.realpath(final_dir) != os.path.realpath(bound_to) and not os.path.lexists(final_dir):
        os.symlink(bound_to, final_dir)
        link = final_dir
    tmp = out + ".tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    try:
        con = duckdb.connect(tmp, config={"threads": 1})     # beside a run: one core
        try:
            con.execute(sql)
            con.execute("CHECKPOINT")
        finally:
            con.close()
    finally:
        if link is not None and os.path.islink(link):
            os.unlink(link)
    os.replace(tmp, out)


if __name__ == "__main__":
    try:
        out, script, final_dir, bound_to = sys.argv[1:5]
        with open(script, encoding="utf-8") as f:
            build(out, f.read(), final_dir, bound_to)
    except Exception as e:
        print(f"{type(e).__name__}: {' '.join(str(e).split())}", file=sys.stderr)
        sys.exit(1)
