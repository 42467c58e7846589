"""A published version read back as canonical rows, for byte-identity comparisons of two runs.

Used by bench/golden_compare.py (two source trees on the same inputs) and tests/golden/test_golden_published.py
(this tree against the snapshot committed in tests/golden/data/published/). A row's canonical form is its
JSON text (ints stay ints, -0.0 and NaN keep their spelling), so two rows are equal only when every
value and its type are. Rows are sorted by the dataset's key, then by their text.

    python tests/published.py snapshot     # rewrite tests/golden/data/published/ from this tree
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "tests" / "golden" / "data" / "published"

# The rows' identity in each dataset (ties broken by the whole row). A dataset not listed is keyed by
# all its columns.
KEYS = {
    "applications": ("report_id", "table", "row_path", "column_path"),
    "active_disclosure": ("report_id", "table", "row_path", "column_path"),
    "review_litigation": ("report_id", "table", "row_path", "column_path"),
    "reports": ("report_id",),
    "report_summary": ("report_id",),
    "quality_checks": ("report_id", "check", "table", "format", "identity_number"),
    "quarantine": ("sha256", "source_file"),
    "statements": ("report_id", "quantity", "source_line"),
    "codes": ("format", "table", "axis", "path"),
    "fetch_log": ("url", "kind"),
}

# Fields that legitimately change from one run to the next: left out of every comparison. Nothing
# else is.
RUN_DEPENDENT_FIELDS = {
    "fetch_log": ("crawl_id", "time", "seconds"),          # when and how long a fetch took
}
# Top-level files of a version and the keys in them that are run-dependent (None: the whole file).
RUN_DEPENDENT_FILES = {
    "_run.json": None,                                     # run id, version id, timings of the run
    "nianbao.duckdb": None,                                # DuckDB's file layout; its views name the same files
    "datapackage.json": ("version",),                      # the version id
    "_manifest.json": ("run_id", "mtime_ns"),              # per entry: the run that parsed it, the file's mtime
}
# Files compared whole (JSON, less the keys above); the quality report's page and figures are
# renderings of summary.json and the datasets.
COMPARED_FILES = ("datapackage.json", "_manifest.json", "quality_report/summary.json")


def dataset_files(version: Path) -> dict[str, list[Path]]:
    """Each dataset folder of a version and its Parquet files (relative paths, sorted)."""
    out: dict[str, list[Path]] = {}
    for d in sorted(p for p in version.iterdir() if p.is_dir()):
        files = sorted(f.relative_to(version) for f in d.rglob("*.parquet"))
        if files:
            out[d.name] = files
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _canon(v, strip: str | None):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, str) and strip:
        return v.replace(strip, "")
    if isinstance(v, list):
        return [_canon(x, strip) for x in v]
    if isinstance(v, dict):
        return {k: _canon(x, strip) for k, x in v.items()}
    return v


def schema_text(path: Path) -> dict:
    """A Parquet file's Arrow schema (names, types, nullability, key-value metadata) and the pandas
    dtypes it reads back as."""
    t = pq.read_table(path)
    meta = {k.decode(): v.decode() for k, v in (t.schema.metadata or {}).items()}
    return {"fields": [[f.name, str(f.type), f.nullable] for f in t.schema],
            "metadata": meta,
            "pandas_dtypes": {c: str(d) for c, d in t.slice(0, 0).to_pandas().dtypes.items()}}


def rows(version: Path, dataset: str, files: list[Path], strip: str | None = None) -> tuple[list[str], list[dict]]:
    """The dataset's columns (less the run-dependent ones) and its rows as dicts of canonical values,
    each with the partition file it came from under "_file"; `strip` (a path prefix) is removed from
    every string, so that runs on copies of the inputs in different folders compare."""
    drop = set(RUN_DEPENDENT_FIELDS.get(dataset, ()))
    out: list[dict] = []
    columns: list[str] = []
    for f in files:
        t = pq.read_table(version / f)
        columns = [c for c in t.column_names if c not in drop]
        for r in t.select(columns).to_pylist():
            r = {k: _canon(v, strip) for k, v in r.items()}
            r["_file"] = str(f)
            out.append(r)
    key = KEYS.get(dataset, tuple(columns))
    out.sort(key=lambda r: (json.dumps([r.get(k) for k in key], ensure_ascii=False, sort_keys=True),
                            json.dumps(r, ensure_ascii=False, sort_keys=True)))
    return columns, out


def row_text(r: dict) -> str:
    return json.dumps(r, ensure_ascii=False, sort_keys=True)


def json_file(path: Path, strip: str | None = None) -> object:
    """A version's JSON file less its run-dependent keys (at any depth)."""
    ignore = RUN_DEPENDENT_FILES.get(path.name) or ()

    def drop(v):
        if isinstance(v, dict):
            return {k: drop(x) for k, x in v.items() if k not in ignore}
        if isinstance(v, list):
            return [drop(x) for x in v]
        return v
    return _canon(drop(json.loads(path.read_text(encoding="utf-8"))), strip)


def diff_rows(dataset: str, a: list[dict], b: list[dict], limit: int = 10) -> list[str]:
    """Human-readable differences between two datasets' canonical rows: rows only on one side, and for
    rows with the same key, the fields that differ."""
    ca, cb = Counter(map(row_text, a)), Counter(map(row_text, b))
    only_a, only_b = ca - cb, cb - ca
    if not only_a and not only_b:
        return []
    key = KEYS.get(dataset)
    lines = [f"{sum(only_a.values())} row(s) only in A, {sum(only_b.values())} only in B"]
    ra = [json.loads(t) for t in only_a.elements()]
    rb = [json.loads(t) for t in only_b.elements()]
    if key:
        by_key = {}
        for r in rb:
            by_key.setdefault(tuple(json.dumps(r.get(k)) for k in key), []).append(r)
        shown = 0
        unmatched_a = []
        for r in ra:
            k = tuple(json.dumps(r.get(c)) for c in key)
            if by_key.get(k):
                other = by_key[k].pop(0)
                if shown < limit:
                    fields = [f"{c}: {r.get(c)!r} → {other.get(c)!r}" for c in sorted(set(r) | set(other))
                              if json.dumps(r.get(c)) != json.dumps(other.get(c))]
                    lines.append(f"  key {dict(zip(key, (r.get(c) for c in key)))}: " + "; ".join(fields))
                    shown += 1
            else:
                unmatched_a.append(r)
        ra = unmatched_a
        rb = [r for rs in by_key.values() for r in rs]
    for side, rs in (("A", ra), ("B", rb)):
        for r in rs[:limit]:
            lines.append(f"  only in {side}: {row_text(r)[:400]}")
        if len(rs) > limit:
            lines.append(f"  … and {len(rs) - limit} more only in {side}")
    return lines


def compare_versions(va: Path, vb: Path, strip_a: str | None = None, strip_b: str | None = None,
                     limit: int = 10) -> dict[str, list[str]]:
    """Differences per dataset (and per compared file) between two published versions; an empty list
    for each one that is identical. A Parquet file with the same bytes on both sides is identical;
    otherwise its rows, schema and metadata are compared and every difference is listed (bytes that
    differ with equal rows and schema are reported too: the published bytes depend only on the rows)."""
    out: dict[str, list[str]] = {}
    fa, fb = dataset_files(va), dataset_files(vb)
    for name in sorted(set(fa) | set(fb)):
        problems: list[str] = []
        out[name] = problems
        if name not in fa or name not in fb:
            problems.append(f"published only in {'A' if name in fa else 'B'}")
            continue
        if fa[name] != fb[name]:
            problems.append(f"partition files differ: A {list(map(str, fa[name]))} B {list(map(str, fb[name]))}")
        same_bytes = fa[name] == fb[name] and all(sha256(va / f) == sha256(vb / f) for f in fa[name])
        if same_bytes and strip_a == strip_b:
            continue
        for f in sorted(set(fa[name]) & set(fb[name])):
            sa, sb = schema_text(va / f), schema_text(vb / f)
            for part in ("fields", "pandas_dtypes"):
                if sa[part] != sb[part]:
                    problems.append(f"{f}: {part} differ: A {sa[part]} B {sb[part]}")
            if _canon(sa["metadata"], strip_a) != _canon(sb["metadata"], strip_b):
                problems.append(f"{f}: key-value metadata differs")
        (_, ra), (_, rb) = rows(va, name, fa[name], strip_a), rows(vb, name, fb[name], strip_b)
        problems += diff_rows(name, ra, rb, limit)
        if not problems and strip_a == strip_b and name not in RUN_DEPENDENT_FIELDS:
            problems.append("bytes differ though rows, schema and metadata are equal")
    for rel in COMPARED_FILES:
        a, b = va / rel, vb / rel
        if a.exists() != b.exists():
            out[rel] = [f"written only in {'A' if a.exists() else 'B'}"]
        elif a.exists():
            ja, jb = json_file(a, strip_a), json_file(b, strip_b)
            out[rel] = [] if ja == jb else [f"differs (less {RUN_DEPENDENT_FILES.get(a.name) or 'nothing'})"]
    return out


# ---------------------------------------------------------------------------------------------
# Inputs and runs

def real_copies(root: Path = ROOT) -> dict[str, list[Path]]:
    """The real reports shipped with the repository, by folder name in the corpus (the sample in
    data/raw is a subset of tests/fixtures/realworld/raw). Scans (OCR) and
    legacy Office files (LibreOffice) are read by engines whose output may differ between machines,
    so they are listed apart (`slow_real_copies`) and kept out of the committed snapshot."""
    fx = root / "tests" / "fixtures"
    site = fx / "site"
    return {
        "seeds": sorted((fx / "seeds").glob("*.txt")),
        "realworld": sorted((fx / "realworld" / "raw").iterdir()),
        "narrative": sorted((fx / "narrative").glob("*.txt")),
        "identity": sorted((fx / "identity" / "raw").glob("*.txt")),
        "site": [site / "hangzhou_style_2025.pdf", site / "mirror_gz_fgj_2020.docx",
                 site / "lg_dept_2024.html", site / "mirror_gz_fgj_2020.html"],
    }


def slow_real_copies(root: Path = ROOT) -> dict[str, list[Path]]:
    fx = root / "tests" / "fixtures"
    return {"legacy": sorted(p for p in (fx / "legacy").iterdir() if p.suffix != ".md"),
            "scans": sorted((fx / "scans").iterdir())}


def write_corpus(dest: Path, groups: dict[str, list[Path]]) -> Path:
    for group, files in groups.items():
        (dest / group).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, dest / group / f.name)
    return dest


def run_tree(tree: Path, source: Path, dest: Path, *, quality_report: bool = False,
             python: str = sys.executable, extra_env: dict | None = None) -> tuple[int, str]:
    """`nianbao run --no-prefect` of the source tree `tree` (its own modules, whatever the venv's
    editable install points at) on `source`; returns (exit code, output)."""
    import os
    env = {**os.environ, "PYTHONPATH": str(tree), **(extra_env or {})}
    for k, v in {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
                 "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL"}.items():
        env.setdefault(k, v)
    cmd = [python, "-m", "flows", "run", "--no-prefect", "--source", str(source), "--dest", str(dest),
           "--glob", "**/*", "--no-progress", "--json",
           "--quality-report" if quality_report else "--no-quality-report"]
    p = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def snapshot(version: Path, strip: str) -> dict[str, bytes]:
    """The committed form of a version: per dataset one JSON line per row (sorted, gzip: the text is
    ~3 MB), and per dataset its files and their schemas (each distinct schema once)."""
    out: dict[str, bytes] = {}
    schemas = {}
    for name, files in dataset_files(version).items():
        _, rs = rows(version, name, files, strip)
        text = "".join(row_text(r) + "\n" for r in rs).encode("utf-8")
        out[f"{name}.jsonl.gz"] = gzip.compress(text, compresslevel=9, mtime=0)
        distinct: list[dict] = []
        for f in files:
            s = _canon(schema_text(version / f), strip)
            if s not in distinct:
                distinct.append(s)
        schemas[name] = {"files": list(map(str, files)), "schemas": distinct}
    out["schemas.json"] = (json.dumps(schemas, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")
    return out


def read_snapshot(folder: Path = SNAPSHOT) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def snapshot_rows(blob: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(blob).decode("utf-8").splitlines()]


def snapshot_of_this_tree() -> dict[str, bytes]:
    """Runs this tree on the seeds and the fast real copies and returns its snapshot."""
    with tempfile.TemporaryDirectory(prefix="nianbao-golden-") as tmp:
        corpus = write_corpus(Path(tmp) / "in", real_copies())
        code, log = run_tree(ROOT, corpus, Path(tmp) / "out")
        if code not in (0, 3):
            raise RuntimeError(f"nianbao run exited {code}:\n{log[-3000:]}")
        return snapshot((Path(tmp) / "out" / "current").resolve(), str(corpus) + "/")


if __name__ == "__main__":
    if sys.argv[1:] != ["snapshot"]:
        sys.exit(__doc__)
    SNAPSHOT.mkdir(parents=True, exist_ok=True)
    for old in SNAPSHOT.iterdir():
        old.unlink()
    for name, text in snapshot_of_this_tree().items():
        (SNAPSHOT / name).write_bytes(text)
    print(f"wrote {SNAPSHOT}")
