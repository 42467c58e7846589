"""Parse + check one batch of files into the run's staging area (pure; no Prefect, no GX).

Runs in a worker process (local ProcessPool) or a Dask worker. The DataFrames never leave the
worker: it writes hive-partitioned staging Parquet and the batch's GX views (Arrow IPC, validated
later per dataset and chunk of batches by flows.steps.validate_step) and returns a small JSON-able summary.
One bad file never stops a batch: a read error or a parser exception becomes an
``unreadable`` report, which the quality gate moves to the ``quarantine`` dataset.
"""
from __future__ import annotations

import hashlib
import os
import time
import traceback
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from flows import runtime
from transforms import schema as registry


def read_bytes(local_path: str, max_bytes: int | None = None) -> bytes:
    """The bytes of one input file, refused before memory is spent on them: the size is taken first
    (fstat, or the remote file's size) and at most ``max_bytes + 1`` bytes are read, so a file over
    the limit (NIANBAO_MAX_BYTES by default), or growing past it while read, raises
    read.limits.Unreadable (reason code too_large) having cost at most the limit in memory."""
    from transforms.read.limits import Limits, too_large

    limit = Limits.from_env().max_bytes if max_bytes is None else max_bytes
    if "://" in local_path and not local_path.startswith("file://"):
        import fsspec
        with fsspec.open(local_path, "rb") as f:
            size = getattr(f, "size", None)
            if isinstance(size, int) and size > limit:
                raise too_large(size, limit)
            data = f.read(limit + 1)
    else:
        with open(local_path.removeprefix("file://"), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise too_large(size, limit)
            # read(n) allocates n bytes up front: asking for the limit cost ~0.3 ms a file (a 20 MB
            # buffer mapped and unmapped); the size and one byte more tells a file that grew, whose
            # rest is then read up to the limit
            data = f.read(size + 1)
            if len(data) > size:
                data += f.read(limit + 1 - len(data))
    if len(data) > limit:
        raise too_large(len(data), limit, grew=True)
    return data


def sha256_of(local_path: str) -> str:
    """sha256 of a file read in 1 MB chunks (for a file refused before it was read)."""
    import fsspec
    h = hashlib.sha256()
    remote = "://" in local_path and not local_path.startswith("file://")
    with (fsspec.open(local_path, "rb") if remote else open(local_path.removeprefix("file://"), "rb")) as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def refused_report(item: dict, exc):
    """The report of a file refused before it was read (over NIANBAO_MAX_BYTES): its sha256 from
    discovery (streamed there), else streamed here; never the whole file in memory."""
    from transforms.schema import quarantine_problem
    sha = item.get("sha256")
    if not sha:
        try:
            sha = sha256_of(item["local_path"])
        except OSError:
            sha = None
    return crashed_report(None, item["source_file"], quarantine_problem(item["source_file"], str(exc), exc.code),
                          sha256=sha, file_size=item.get("size"))


def crashed_report(data: bytes | None, source_file: str, reason: str, *, sha256: str | None = None,
                   file_size: int | None = None):
    """A ParsedReport-like object for a file the engine could not handle."""
    from types import SimpleNamespace
    sha = sha256 or hashlib.sha256(data or b"").hexdigest()
    rep = {}
    for f in registry.fields("reports"):
        rep[f.name] = [] if f.arrow == pa.list_(pa.string()) else None
    rep.update(report_id=sha, sha256=sha, source_file=source_file,
               file_size=len(data or b"") if file_size is None else file_size,
               parser_version=registry.PARSER_VERSION, status="unreadable", problems=[reason],
               n_cells=0, n_flagged=0, n_inferred=0, n_unresolved=0, failed_checks=None)
    for t in registry.STATUTORY_TABLES:
        rep[f"{t}_status"] = "unreadable"
    return SimpleNamespace(report=rep, cells=[])


VIEWS = "_views"   # staging subfolder: the GX views of each batch, validated per chunk by the run


def gate(frames, extra_quarantine):
    """The pure half of the quality gate: (published frames, the views the suites validate). The checks
    across years are not per batch: the run's cross-report phase adds them (flows/crossreport.py)."""
    from expectations.gate import prepare_batch
    p = prepare_batch(frames, extra_quarantine=extra_quarantine)
    return p.frames, p.views


def batch_tag(batch_no: int) -> str:
    return f"b{batch_no:05d}"


def view_path(staging: str | os.PathLike, dataset: str, batch_no: int) -> Path:
    return Path(staging) / VIEWS / dataset / f"{batch_tag(batch_no)}.arrow"


def drop_staged_batches(staging: str | os.PathLike, batch_nos) -> int:
    """Remove the staged rows of batches that failed the gate (they are not published)."""
    tags = {batch_tag(b) for b in batch_nos}
    n = 0
    for p in Path(staging).rglob("*"):
        if p.is_file() and p.name.split("-", 1)[0].split(".", 1)[0] in tags:
            p.unlink()
            n += 1
    return n


def _staged_files(staging: str | os.PathLike, tags: set[str]) -> list[Path]:
    return sorted(p for p in Path(staging).rglob("*.parquet")
                  if VIEWS not in p.parts and p.name.split("-", 1)[0].split(".", 1)[0] in tags)


def contain_staged(staging: str | os.PathLike, batch_nos, held: dict[str, list[str]]) -> list[dict]:
    """Take reports out of the staged batches (every dataset) and stage their quarantine rows: the
    reports GX still found structurally broken when their chunk was validated (``held``: report_id →
    reasons). Returns the quarantine rows written."""
    import pyarrow.parquet as pq
    from expectations.gate import structural_record
    from flows.publish import STAGING_WRITE, table_from_frame, write_staged

    if not held:
        return []
    tags = {batch_tag(b) for b in batch_nos}
    ids = pa.array(sorted(held), type=pa.string())
    found: dict[str, dict] = {}
    for p in _staged_files(staging, tags):
        t = pq.ParquetFile(p).read()          # the file alone (no partition column from its path)
        hit = pc.is_in(t["report_id"].cast(pa.string()), value_set=ids)
        if not pc.any(hit).as_py():
            continue
        if p.relative_to(staging).parts[0] == "reports":
            for r in t.filter(hit).to_pylist():
                found[r["report_id"]] = r
        kept = t.filter(pc.invert(hit))
        if kept.num_rows:
            pq.write_table(kept, p, **STAGING_WRITE)
        else:
            p.unlink()
    records = [structural_record(found[rid], held[rid]) for rid in sorted(found)]
    if records:
        import pandas as pd
        from transforms.checks.quarantine import quarantine_frame
        frame = quarantine_frame(pd.DataFrame(columns=registry.column_names("reports")), records)
        write_staged(table_from_frame(frame, "quarantine"), "quarantine", staging,
                     f"{batch_tag(min(batch_nos))}.contained")
    return records


_FREEZE_SURVIVORS = False      # a worker process (worker_init): a batch's survivors are frozen after it
_PARSED = None      # shared counter of reports parsed (multiprocessing.Value), for the progress display


def count_parsed_into(counter) -> None:
    """Count each parsed report into ``counter`` (a shared multiprocessing.Value; None: do not count),
    so that progress advances by report rather than by batch."""
    global _PARSED
    _PARSED = counter


def worker_init(counter=None) -> None:
    """Process-pool initializer: import the batch code once, then freeze everything imported so far
    out of the garbage collector's reach (full collections otherwise rescan ~10^6 module objects).
    Ctrl-C is left to the run, which terminates its workers (one line on stderr, not one traceback
    per worker). ``counter``: the run's shared count of parsed reports."""
    import signal

    global _FREEZE_SURVIVORS
    count_parsed_into(counter)
    _FREEZE_SURVIVORS = True

    signal.signal(signal.SIGINT, signal.SIG_IGN)     # the run stops its workers itself
    import transforms.engine  # noqa: F401
    import transforms.checks.batch  # noqa: F401
    import transforms.tidy  # noqa: F401
    import expectations.views  # noqa: F401
    runtime.freeze_alive()


def sibling_images(local_path: str, max_bytes: int | None = None):
    """src of an ``<img>`` in an HTML page → the bytes of that picture when it was saved with the page:
    a relative src inside the page's folder, else a file of the src's name in that folder (a crawl
    keeps a page's attachments next to it); None otherwise. Never a file outside the page's folder,
    never a link, never one over ``max_bytes`` (default NIANBAO_MAX_BYTES)."""
    if "://" in local_path and not local_path.startswith("file://"):
        return None
    from urllib.parse import unquote, urlsplit

    folder = Path(local_path.removeprefix("file://")).resolve().parent

    def read(src: str) -> bytes | None:
        path = unquote(urlsplit(src).path)
        if not path:
            return None
        candidates = [] if urlsplit(src).scheme or path.startswith("/") else [folder / path]
        candidates.append(folder / Path(path).name)
        for c in candidates:
            try:
                if c.is_symlink() or not c.is_file() or not c.resolve().is_relative_to(folder):
                    continue
                return read_bytes(str(c), max_bytes)
            except (OSError, ValueError):      # unreadable, or over the size limit (read.limits.Unreadable)
                continue
        return None
    return read


def parse_batch(batch_no: int, items: list[dict], staging: str, *,
                extra_quarantine: list[dict] | None = None, limits=None) -> dict:
    """Parse, check (pure half of the gate) and stage one batch; its GX views are validated later.
    ``extra_quarantine``: quarantine rows of files discovery did not take (they pass the same gate);
    ``limits``: the run's per-file limits (read.limits.Limits or its fields as a dict; default: from
    the environment, for direct use)."""
    from transforms.read.limits import Limits
    if isinstance(limits, dict):
        limits = Limits(**limits)
    with runtime.gc_paused():
        summary = _parse_batch(batch_no, items, staging, extra_quarantine, limits or Limits.from_env())
    runtime.release_memory(trim_above=runtime.WORKER_TRIM_ABOVE)
    if _FREEZE_SURVIVORS:
        runtime.freeze_alive()
    return summary


def _parse_batch(batch_no: int, items: list[dict], staging: str, extra_quarantine: list[dict] | None,
                 limits) -> dict:
    from transforms.read.limits import Unreadable
    from transforms.engine import parse_report
    from flows.publish import table_from_frame, write_staged

    t0 = time.perf_counter()
    parsed = []
    for it in items:
        try:
            data = read_bytes(it["local_path"], limits.max_bytes)
        except Unreadable as e:          # over the size limit: refused before it was read
            data = None
            p = refused_report(it, e)
        except OSError as e:
            data = None
            p = crashed_report(b"", it["source_file"], f"read error: {e}")
        else:
            try:
                # context: what the source knows of the file (site, URL list entry), when it says
                p = parse_report(data, it["source_file"], it.get("context"), limits,
                                 images=sibling_images(it["local_path"], limits.max_bytes)
                                 if b"<img" in data or b"<IMG" in data
                                 else None)
            except Exception as e:  # the engine promises not to raise; never trust it with a batch
                p = crashed_report(data, it["source_file"],
                                   f"parser error: {type(e).__name__}: {e}")
                p.report["problems"].append(traceback.format_exc(limit=3)[-500:])
        parsed.append(p)
        if _PARSED is not None:
            with _PARSED.get_lock():
                _PARSED.value += 1
    t_parse = time.perf_counter()

    summary = {"batch": batch_no, "n": len(items), "reports": [], "rows": {}, "view_rows": {}}
    for it, p in zip(items, parsed):
        r = p.report
        summary["reports"].append({
            "source_file": it["source_file"], "sha256": r["report_id"], "size": r.get("file_size"),
            "report_year": None if r.get("report_year") is None or r.get("report_year") != r.get("report_year")
            else int(r["report_year"]),
            "status": "quarantined" if r["status"] == "unreadable" else "parsed",
            "mtime_ns": it.get("mtime_ns"), "local_path": it["local_path"]})

    from transforms.tidy import to_frames
    frames = to_frames(parsed)
    del parsed                           # peak memory: the parsed objects are in the frames now
    reports = frames["reports"]
    out, views = gate(frames, extra_quarantine)
    t_gate = time.perf_counter()
    held = set(out["quarantine"]["report_id"]) if "quarantine" in out else set()
    for r in summary["reports"]:           # a parsed report the gate quarantined (structural trouble)
        if r["sha256"] in held:
            r["status"] = "quarantined"

    # a run that stopped or failed has removed its staging: write nothing (a Dask worker outlives the run)
    if not Path(staging).is_dir():
        raise RuntimeError(f"{staging} is gone: the run has stopped")
    tag = batch_tag(batch_no)
    verdicts = out.get("reports")
    if verdicts is not None and "verdict" in verdicts:
        summary["verdicts"] = {str(k): int(v) for k, v in verdicts["verdict"].value_counts().items()}
    del frames, reports, verdicts
    # each dataset's frame and view are dropped once written: the batch's peak memory is in this phase
    from expectations.views import save_view
    views = views or {}
    for name in [*(n for n in out if n in registry.DATASETS), *(n for n in views if n not in out)]:
        df = out.pop(name, None)           # None for the views-only reconciliation
        v = views.pop(name, None)
        t = None
        if df is not None:
            t = table_from_frame(df, name, encoded=v)   # the view's categoricals: strings already encoded
            summary["rows"][name] = t.num_rows
            write_staged(t, name, staging, tag)
        del df
        if v is not None:
            path = view_path(staging, name, batch_no)
            path.parent.mkdir(parents=True, exist_ok=True)
            save_view(v, path, name, made=t)        # its dictionaries and lists as staged
            summary["view_rows"][name] = len(v)
            del v
        del t
    del out, views
    summary["seconds"] = {"parse": t_parse - t0, "gate": t_gate - t_parse, "write": time.perf_counter() - t_gate}
    return summary
