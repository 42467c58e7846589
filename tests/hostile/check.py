"""Run `nianbao run` on a hostile corpus and check what a run promises, file by file.

    run = run_nianbao(source, dest, prefect=False, timeout=1800)    # subprocess, peak RSS of its tree
    f = analyse(source, dest, entries, run)                          # Findings
    print(report(f)); f.problems                                     # {invariant: [details]}

The invariants (each a key of Findings.problems):

* exit_code        — the run exits 0 (no content of one file may make it fail);
* traceback        — no traceback, and no exception named, in its output (a step that failed);
* hang             — it ends within the timeout;
* unaccounted      — every regular file (and every symlink or special file) is in `reports` or in
                     `quarantine` by its name (a second name of identical bytes: in the manifest's
                     duplicates; a name that is not UTF-8: by its bytes' sha256);
* no_reason        — every quarantine row has a reason code and a reason;
* followed_outside — nothing reached through a symlink leaving the folder is published;
* value_not_in_file — every published non-null value's raw_value is printed in its file (decoded
                     text, whitespace and width normalised), unless the cell carries a flag;
* pass_with_failed_check — no report has verdict pass and a failed quality check.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unicodedata
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from hostile.corpus import Entry

REPO = Path(__file__).resolve().parents[2]
# a traceback, or an exception named in a line (a step that failed and was reported as a warning)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(?:Error|Exception): ")
CELL_TABLES = ("active_disclosure", "applications", "review_litigation")


@dataclass
class RunResult:
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int            # bytes, sum over the process tree, sampled
    timed_out: bool


def run_nianbao(source: str | Path, dest: str | Path, *, prefect: bool = False, timeout: float = 1800,
                extra: tuple[str, ...] = (), sample_every: float = 0.2) -> RunResult:
    """`nianbao run --source … --dest …` in a subprocess (its own process group: killed whole on a hang)."""
    import psutil

    cmd = [sys.executable, "-m", "flows", "run", "--source", str(source), "--dest", str(dest), "--no-progress",
           "--prefect" if prefect else "--no-prefect", *extra]
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "GX_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL"}
    env.pop("NIANBAO_PROGRESS", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                break
            peak = max(peak, total)
            stop.wait(sample_every)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    stop.set()
    th.join()
    return RunResult(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                     time.perf_counter() - t0, peak, timed_out)


# --------------------------------------------------------------------------------------------------
# Reading what was published

def _read(dest: Path, name: str, columns: list[str]):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    path = dest / name
    if not path.exists():
        return pd.DataFrame(columns=columns)
    part = ds.partitioning(pa.schema([("report_year", pa.int64())]), flavor="hive")
    d = ds.dataset(str(path), format="parquet", partitioning=part if any(path.rglob("report_year=*")) else None)
    return d.to_table(columns=[c for c in columns if c in d.schema.names]).to_pandas()


def _manifest_duplicates(dest: Path) -> set[str]:
    p = dest / "current" / "_manifest.json"
    if not p.exists():
        return set()
    entries = json.loads(p.read_text(encoding="utf-8")).get("entries", {})
    return {d for e in entries.values() for d in e.get("duplicates") or ()}


def _name_variants(name: str) -> set[str]:
    """How a name that is not UTF-8 might be published (escaped or replaced)."""
    raw = name.encode("utf-8", "surrogateescape")
    return {name, raw.decode("utf-8", "replace"), raw.decode("utf-8", "backslashreplace"),
            raw.decode("latin-1"), raw.decode("gb18030", "replace")}


# --------------------------------------------------------------------------------------------------
# The text a value must be printed in

_SPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_TAG = re.compile(rb"<[^>]*>")


def _norm(s: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", s))


def file_text(data: bytes, encoding: str | None) -> str | None:
    """The printed text of a file, as well as it can be read independently of the engine (None: not
    readable here, the check is skipped)."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                parts = [zf.read(n)[:50 * 1024 * 1024] for n in zf.namelist() if n.startswith("word/") and n.endswith(".xml")]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
            return None
        return "".join(html.unescape(b"\x00".join(_TAG.split(p)).decode("utf-8", "replace")) for p in parts)
    if b"%PDF-" in data[:1024]:
        try:
            import pdfplumber
            with pdfplumber.open(io.BytesIO(data)) as pdf:
                out = []
                for page in pdf.pages[:60]:
                    out.append(page.extract_text() or "")
                    out.append("".join(c["text"] for c in page.chars))
            return "\n".join(out)
        except Exception:  # noqa: BLE001 — any broken PDF: not checkable here
            return None
    texts = []
    for enc in ([encoding] if encoding else []) + ["utf-8", "gb18030", "utf-16", "big5"]:
        try:
            texts.append(data.decode(enc, "replace"))
        except (LookupError, TypeError):
            continue
        if enc == encoding:
            break
    return html.unescape("\n".join(texts))


# --------------------------------------------------------------------------------------------------
# The invariants

@dataclass
class Findings:
    run: RunResult
    n_entries: int
    by_category: dict[str, Counter] = field(default_factory=dict)     # category -> outcome counts
    reasons: dict[str, Counter] = field(default_factory=dict)         # category -> quarantine reason codes
    problems: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    problem_categories: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    n_reports: int = 0
    n_quarantined: int = 0
    n_values: int = 0
    n_values_checked: int = 0

    def add(self, invariant: str, category: str, detail: str) -> None:
        self.problems[invariant].append(f"[{category}] {detail}")
        self.problem_categories[invariant][category] += 1


def analyse(source: str | Path, dest: str | Path, entries: list[Entry], run: RunResult) -> Findings:
    source, dest = Path(source), Path(dest)
    f = Findings(run, len(entries))
    if run.timed_out:
        f.add("hang", "run", f"killed after {run.seconds:.0f} s")
    if run.exit_code != 0:
        f.add("exit_code", "run", f"exit code {run.exit_code}: {run.stderr.strip().splitlines()[-1:] or ''}")
    tb = TRACEBACK.findall(run.stdout + "\n" + run.stderr)
    if tb:
        f.add("traceback", "run", f"{len(tb)} traceback/exception line(s), first: "
              + next(line for line in (run.stdout + "\n" + run.stderr).splitlines() if TRACEBACK.search(line))[:300])

    rep = _read(dest, "reports", ["report_id", "source_file", "encoding", "verdict", "failed_checks", "status"])
    qua = _read(dest, "quarantine", ["report_id", "source_file", "reason_code", "reason"])
    qc = _read(dest, "quality_checks", ["report_id", "status"])
    f.n_reports, f.n_quarantined = len(rep), len(qua)
    published = set(rep["source_file"]) | set(qua["source_file"])
    reported_names = set(rep["source_file"])
    duplicates = _manifest_duplicates(dest)
    ids = set(rep["report_id"]) | set(qua["report_id"])
    reason_of = dict(zip(qua["source_file"], qua["reason_code"]))
    report_ids = set(rep["report_id"])

    from transforms.names import printable_name

    for e in entries:
        name = printable_name(str(source / e.path))      # the documented, lossless published spelling
        outcome = ("published" if name in reported_names else "quarantined" if name in reason_of
                   else "duplicate" if name in duplicates else None)
        if outcome is None:          # inside a hidden folder: the folder is listed (quarantine: hidden)
            parents = [printable_name(str(source / q)) for q in Path(e.path).parents if q.name.startswith(".")]
            if any(reason_of.get(q) == "hidden" for q in parents):
                outcome = "quarantined"
                name = next(q for q in parents if reason_of.get(q) == "hidden")
        if outcome is None and not valid_utf8(e.path):
            hit = _name_variants(name) & published
            outcome = (("published" if hit & reported_names else "quarantined") if hit
                       else "by_content" if e.sha256 in ids else None)
        f.by_category.setdefault(e.category, Counter())[outcome or ("n/a" if not e.must_account else "MISSING")] += 1
        if outcome == "quarantined":
            f.reasons.setdefault(e.category, Counter())[reason_of.get(name, "?")] += 1
        if outcome is None and e.must_account:
            f.add("unaccounted", e.category, f"{e.path!r} ({e.kind}{', ' + e.note if e.note else ''})")
        if e.outside and (name in reported_names or (e.sha256 and e.sha256 in report_ids)):
            f.add("followed_outside", e.category, f"{e.path!r} {e.note}: its target was published")
    for r in qua.itertuples():
        if not isinstance(r.reason_code, str) or not r.reason_code or not isinstance(r.reason, str) or not r.reason.strip():
            f.add("no_reason", "quarantine", f"{r.source_file!r}: reason_code={r.reason_code!r} reason={r.reason!r}")

    # pass with a failed check
    failed = set(qc.loc[qc["status"] == "fail", "report_id"]) if len(qc) else set()
    cat_of = _category_by_sha(entries)
    for r in rep.itertuples():
        has_failed = r.report_id in failed or (r.failed_checks is not None and len(r.failed_checks) > 0)
        if r.verdict == "pass" and has_failed:
            f.add("pass_with_failed_check", cat_of.get(r.report_id, "?"), f"{r.source_file!r}")

    _check_values(f, source, dest, entries, rep, cat_of)
    return f


def valid_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _category_by_sha(entries: list[Entry]) -> dict[str, str]:
    out = {}
    for e in entries:
        if e.sha256 and e.kind == "file":
            out.setdefault(e.sha256, e.category)
    return out


def _check_values(f: Findings, source: Path, dest: Path, entries: list[Entry], rep, cat_of: dict) -> None:
    import pandas as pd

    file_of = {}
    for e in entries:
        if e.sha256 and e.kind == "file":
            file_of.setdefault(e.sha256, source / e.path)
    enc_of = dict(zip(rep["report_id"], rep["encoding"]))
    frames = [_read(dest, t, ["report_id", "source_file", "raw_value", "value", "flags", "row_path", "column_path"])
              .assign(table=t) for t in CELL_TABLES]
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not len(cells):
        return
    cells = cells[cells["value"].notna()]
    f.n_values = len(cells)
    for rid, group in cells.groupby("report_id", sort=True):
        path = file_of.get(rid)
        if path is None:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        text = file_text(data, enc_of.get(rid))
        if text is None:
            continue
        norm = _norm(text)
        for r in group.itertuples():
            f.n_values_checked += 1
            flagged = r.flags is not None and len(r.flags) > 0
            raw = r.raw_value if isinstance(r.raw_value, str) else ""
            if flagged or (raw and _norm(raw) in norm):
                continue
            f.add("value_not_in_file", cat_of.get(rid, "?"),
                  f"{path.name!r} {r.table} {r.row_path} | {r.column_path}: value {r.value!r} raw {raw!r}")


# --------------------------------------------------------------------------------------------------
# Printing

def report(f: Findings, *, examples: int = 5) -> str:
    r = f.run
    lines = [f"exit code: {r.exit_code}{' (killed: timeout)' if r.timed_out else ''}",
             f"wall time: {r.seconds:.1f} s",
             f"peak RSS (process tree): {r.peak_rss / 2**30:.2f} GB",
             f"files in corpus: {f.n_entries}; reports published: {f.n_reports}; quarantined: {f.n_quarantined}",
             f"published values: {f.n_values}; checked against their file's text: {f.n_values_checked}",
             f"tracebacks/exceptions in output: {len(TRACEBACK.findall(r.stdout + r.stderr))}",
             "", "outcome by category:"]
    for cat in sorted(f.by_category):
        c = f.by_category[cat]
        reasons = f.reasons.get(cat)
        lines.append(f"  {cat:<20} " + ", ".join(f"{k} {v}" for k, v in sorted(c.items()))
                     + (f"   quarantine reasons: {dict(reasons)}" if reasons else ""))
    lines += ["", "PROBLEMS" if f.problems else "PROBLEMS: none"]
    for inv in sorted(f.problems):
        items = f.problems[inv]
        lines.append(f"  {inv}: {len(items)}  by category {dict(f.problem_categories[inv])}")
        for d in items[:examples]:
            lines.append(f"    {d[:400]}")
        if len(items) > examples:
            lines.append(f"    … {len(items) - examples} more")
    return "\n".join(lines)
