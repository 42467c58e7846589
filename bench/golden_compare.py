"""Byte-identity of two source trees: the same inputs through `nianbao run` of each, every published
dataset compared row for row and value for value.

    python bench/golden_compare.py TREE_A TREE_B [--n 2000] [--seed 0] [--no-slow] [--quality-report]
                                   [--keep DIR] [--limit 10]

TREE_A and TREE_B are source trees (git worktrees, e.g. `git worktree add /tmp/before main`); each
runs with its own modules (PYTHONPATH=TREE, cwd=TREE) and this interpreter. The inputs, written once
to one folder both runs read: tests/fixtures/seeds, the real copies in the repository
(tests/fixtures/realworld, which holds the sample data/raw, narrative, identity, the site's PDF/DOCX/HTML, and unless
--no-slow the legacy Office files and the scans), and N reports of synthetic.generator.corpus(N,
seed) (the issue's full check is --n 20000).

A Parquet file with the same bytes on both sides is identical; otherwise its rows (sorted by the
dataset's key, tests/published.KEYS), Arrow schema, key-value metadata and pandas dtypes are
compared and every difference printed per dataset. Ignored, and only these, as run-dependent:
tests/published.RUN_DEPENDENT_FIELDS and RUN_DEPENDENT_FILES (run id, version id, timings, file
mtimes, the DuckDB file's layout). Exits 0 when everything is identical, 1 otherwise.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import published  # noqa: E402


def generated(n: int, seed: int, out: Path) -> None:
    from synthetic.generator import corpus
    out.mkdir(parents=True, exist_ok=True)
    for i, (text, _truth) in enumerate(corpus(n, seed)):
        (out / f"{i:06d}.txt").write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tree_a", type=Path)
    ap.add_argument("tree_b", type=Path)
    ap.add_argument("--n", type=int, default=2000, help="generated reports (default 2000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated corpus")
    ap.add_argument("--no-slow", action="store_true", help="leave out the legacy Office files and the scans")
    ap.add_argument("--quality-report", action="store_true", help="also write and compare summary.json")
    ap.add_argument("--keep", type=Path, help="work here and keep the corpus and both outputs")
    ap.add_argument("--limit", type=int, default=10, help="differences printed per dataset")
    args = ap.parse_args(argv)
    trees = [args.tree_a.resolve(), args.tree_b.resolve()]
    for t in trees:
        if not (t / "flows" / "cli.py").is_file():
            ap.error(f"{t} is not a nianbao source tree")

    tmp = None
    if args.keep:
        work = args.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="golden-compare-")
        work = Path(tmp.name)
    try:
        corpus = work / "corpus"
        groups = published.real_copies()
        if not args.no_slow:
            groups.update(published.slow_real_copies())
        published.write_corpus(corpus, groups)
        if args.n:
            generated(args.n, args.seed, corpus / "generated")
        n_files = sum(1 for p in corpus.rglob("*") if p.is_file())
        print(f"corpus: {n_files} files in {corpus}")
        versions = []
        for label, tree in zip("AB", trees):
            dest = work / f"out_{label}"
            t0 = time.perf_counter()
            code, log = published.run_tree(tree, corpus, dest, quality_report=args.quality_report)
            print(f"{label}: {tree}: exit {code} in {time.perf_counter() - t0:.0f}s")
            if code not in (0, 3):
                print(log[-3000:])
                return 1
            versions.append((dest / "current").resolve())
        result = published.compare_versions(*versions, limit=args.limit)
        differing = 0
        for name, lines in result.items():
            print(f"{name}: {'identical' if not lines else 'DIFFERENT'}")
            for line in lines:
                print(f"  {line}")
            differing += bool(lines)
        print(f"{len(result) - differing} identical, {differing} different "
              f"(ignored as run-dependent: fields {published.RUN_DEPENDENT_FIELDS}, "
              f"files {published.RUN_DEPENDENT_FILES})")
        return 1 if differing else 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
