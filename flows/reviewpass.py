"""Applying the maintainers' reviews (transforms/checks/reviews.py) to a run or a ``nianbao validate``, once
every batch is staged and the cross-report pass is done, before publishing. No Prefect, no GX.

A review is keyed by report sha256 and check, so its effect is per report, the same whatever the
batching. What a version has applied is kept beside its data (``_reviews.json``: the entries, without
line numbers); a run compares it with the reviews file, so a change of the file alone is not a no-op,
and re-stages only the published reports whose review fields change:

* staged ``quality_checks`` / cell files that hold a report reviewed now or before are patched in
  place (the cross-report pass copies published rows there with their old review fields);
* a published report, not staged, whose decisions (or corrected cells) changed has its rows of that
  dataset copied from the previous version with the new fields (tag ``v00000``), and is left out of
  the previous version of that dataset only.

No reviews now and none applied before: nothing is read or written (runs behave as without reviews).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from flows import publish as pub
from transforms.checks import reviews as rv
from transforms import schema as registry

SIDECAR = "_reviews.json"
TAG = "v00000"            # sorts after the batches' and the cross-report pass's staged files
QC = "quality_checks"


def load(path: str | None) -> rv.Reviews:
    """The run's reviews: ``path`` when given (it must exist), else the default file when present."""
    from flows import defaults
    if path:
        return rv.load(path)
    return rv.load(defaults.REVIEWS, missing_ok=True)


def applied(version: Path | None) -> list[dict]:
    """The entries a published version applied (none for a version without a sidecar)."""
    p = None if version is None else Path(version) / SIDECAR
    if p is None or not p.exists():
        return []
    return json.loads(p.read_text(encoding="utf-8"))["entries"]


def changed(reviews: rv.Reviews, version: Path | None) -> bool:
    return reviews.applied() != applied(version)


def write_sidecar(version: Path, reviews: rv.Reviews) -> None:
    """What this version applied; nothing when there is nothing (a run without reviews is as before)."""
    if len(reviews):
        pub.write_json(Path(version) / SIDECAR, {"file": reviews.path, "digest": rv.digest(reviews),
                                                   "entries": reviews.applied()})


def _from_applied(entries: list[dict]) -> rv.Reviews:
    if not entries:
        return rv.empty()
    df = pd.DataFrame(entries, columns=list(rv.KEYS)).assign(line=0)
    df["corrected_value"] = pd.to_numeric(df["corrected_value"]).astype("float64")
    return rv.Reviews(None, df)


def _keys(reviews: rv.Reviews, dataset: str) -> dict[str, set]:
    """report_id → what the reviews publish in ``dataset`` for it (to tell which reports change)."""
    if dataset == QC:
        frame = rv.check_reviews(reviews)
        cols = ["check", *rv.CHECK_FIELDS]
    else:
        c = reviews.corrections()
        c = c[c["table"] == dataset]
        frame = c.assign(source=rv.correction_source(c))
        cols = ["row_path", "column_path", "corrected_value", "source"]
    out: dict[str, set] = {}
    for rid, *rest in frame[["report_id", *cols]].itertuples(index=False):
        out.setdefault(rid, set()).add(tuple(rest))
    return out


# every dataset apply() patches staged files of or re-stages rows in: a run publishes them after the pass
RESTAGED = (QC, *registry.STATUTORY_TABLES)


def _datasets() -> list[str]:
    return list(RESTAGED)


def _ids_of(path: Path) -> set[str]:
    col = pq.read_table(path, columns=["report_id"]).column("report_id").combine_chunks()
    col = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
    return set(pc.unique(col).to_pylist())


def _apply(df: pd.DataFrame, dataset: str, reviews: rv.Reviews) -> pd.DataFrame:
    return rv.apply_to_checks(df, reviews) if dataset == QC else rv.apply_to_cells(df, dataset, reviews)


def _fields(dataset: str) -> tuple[str, ...]:
    return rv.CHECK_FIELDS if dataset == QC else rv.CELL_REVIEW_FIELDS


def _patch_file(path: Path, dataset: str, reviews: rv.Reviews) -> None:
    """Set the review fields of one staged file's rows (only those columns are rewritten)."""
    t = pq.read_table(path)
    keys = ["report_id", "check"] if dataset == QC else ["report_id", "row_path", "column_path"]
    frame = pd.DataFrame({k: pc.cast(t[k], pa.string()).to_numpy(zero_copy_only=False) for k in keys})
    patched = _apply(frame, dataset, reviews)
    for f in _fields(dataset):
        i = t.schema.get_field_index(f)
        typ = t.schema.field(f).type
        arr = pa.array(patched[f].astype(object).where(patched[f].notna(), None).tolist(),
                       type=pa.float64() if f == "corrected_value" else pa.string())
        t = t.set_column(i, t.schema.field(f), arr.cast(typ))
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(t, tmp, compression="none", use_dictionary=True, write_statistics=False)
    tmp.replace(path)


def apply(reviews: rv.Reviews, staging: Path, prev: Path | None, removed: set[str] = frozenset()) -> dict:
    """Stage the reviews' effect (module docstring). Returns {"remove": dataset → ids to leave out of the
    previous version, "years": dataset → their partitions, "summary": counts}."""
    old = _from_applied(applied(prev))
    out = {"remove": {}, "years": {}, "summary": {"entries": len(reviews), "patched_files": 0, "restaged": {}}}
    if len(reviews) == 0 and len(old) == 0:
        return out
    for name in _datasets():
        now, before = _keys(reviews, name), _keys(old, name)
        involved = set(now) | set(before)
        if not involved:
            continue
        staged_ids: set[str] = set()
        root = staging / name
        for path in sorted(root.rglob("*.parquet")) if root.exists() else []:
            ids = _ids_of(path)
            staged_ids |= ids
            if ids & involved:
                _patch_file(path, name, reviews)
                out["summary"]["patched_files"] += 1
        moved = {r for r in involved if now.get(r) != before.get(r)} - staged_ids - set(removed)
        if not moved or prev is None or not (prev / name).exists():
            continue
        rows = pub.load_frame(prev / name, name,
                              filter=pc.is_in(ds.field("report_id"), value_set=pa.array(sorted(moved), pa.string())))
        if len(rows) == 0:
            continue
        rows = _apply(rows, name, reviews)
        pub.write_staged(pub.table_from_frame(rows, name), name, staging, TAG)
        ids = set(rows["report_id"].astype(str))
        out["remove"][name] = sorted(ids)
        out["years"][name] = sorted({int(y) for y in rows["report_year"].dropna()})
        out["summary"]["restaged"][name] = len(ids)
    return out


def merge_plans(remove_of: dict, years_of: dict, extra: dict) -> None:
    """Add the pass's removals and partitions to the run's per-dataset lists (in place)."""
    for n, ids in extra["remove"].items():
        remove_of[n] = sorted(set(remove_of.get(n, ())) | set(ids))
    for n, ys in extra["years"].items():
        years_of[n] = sorted(set(years_of.get(n, ())) | set(ys), key=lambda y: (y is None, y or 0))



def from_entries(entries: list[dict], path: str | None = None) -> rv.Reviews:
    """Reviews rebuilt from ``Reviews.applied()`` (what travels to a task, or a version's sidecar)."""
    r = _from_applied(entries)
    return rv.Reviews(path, r.entries)


class UnknownReport(ValueError):
    """A review of something the published data does not hold."""


def check_published(dest: Path, entry: dict) -> None:
    """Refuse a review of a report, check or cell that is not published under ``dest`` (nothing is
    checked when nothing is published there yet)."""
    version = pub.current_version(dest)
    if version is None:
        return
    rid = entry["report_id"]
    only = pc.field("report_id") == rid
    reports = pub.read_table(version / "reports", "reports", columns=["report_id"], filter=only)
    if reports.num_rows == 0:
        raise UnknownReport(f"report {rid} is not published under {dest} (a file whose bytes changed has a new "
                            "sha256: review its new report_id)")
    qc = pub.read_table(version / QC, QC, columns=["check"], filter=only & (pc.field("check") == entry["check"]))
    if qc.num_rows == 0:
        raise UnknownReport(f"report {rid} has no check {entry['check']} under {dest}")
    if entry["decision"] == rv.CORRECTED:
        t = entry["table"]
        cell = pub.read_table(version / t, t, columns=["report_id"],
                              filter=only & (pc.field("row_path") == entry["row_path"])
                              & (pc.field("column_path") == entry["column_path"]))
        if cell.num_rows == 0:
            raise UnknownReport(f"report {rid} has no cell {entry['row_path']!r} | {entry['column_path']!r} in {t}")


__all__ = ["SIDECAR", "RESTAGED", "load", "applied", "changed", "write_sidecar", "apply", "merge_plans", "from_entries",
           "UnknownReport", "check_published"]
