"""The checks of one batch, in the one order every command uses (``run``, ``validate``, ``parse``):
quarantine → the encoded cell tables → identities → quality_checks → verdicts → report_summary.

Pure pandas: the GX half (expectations/gate.py) takes the result and makes its views; a command
that does not validate with GX (``nianbao parse --checks``) reads the same frames."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from transforms import schema
from transforms.checks.prepared import Prepared, prepare
from transforms.checks.quarantine import quarantine_frame
from transforms.checks.reconcile import reconcile
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts
from transforms.summary import summary_frame
from transforms.typed import empty

CELL_TABLES = schema.STATUTORY_TABLES


@dataclass
class CheckedBatch:
    """``frames``: the datasets to publish (reports with their verdicts, the cell tables, quality_checks,
    quarantine, statements, report_summary); ``reports_in`` and ``cells`` as they came, less the
    quarantined reports' rows (what a second pass starts from); ``prepared``: the encoded cell tables,
    whose helper columns the GX views reuse."""
    frames: dict[str, pd.DataFrame]
    reconciliation: pd.DataFrame
    prepared: dict[str, Prepared]
    reports_in: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def conformed(df: pd.DataFrame | None, dataset: str) -> pd.DataFrame:
    """The batch's frame as it is (to_frames typed it) with a fresh index: only a missing one is made,
    empty."""
    return empty(dataset) if df is None else df.reset_index(drop=True)


def without(df: pd.DataFrame, report_ids: set) -> pd.DataFrame:
    """df less the rows of report_ids (df itself when none is there: no copy of its columns)."""
    if not report_ids or len(df) == 0:
        return df
    keep = ~df["report_id"].isin(report_ids).to_numpy()
    return df if keep.all() else df[keep].reset_index(drop=True)


def check_batch(frames: dict[str, pd.DataFrame], *, extra_quarantine: list[dict] | None = None) -> CheckedBatch:
    """Quarantine, reconciliation, quality_checks, verdicts and report_summary of one batch of tidy
    frames (transforms.tidy.to_frames). A quarantined report is published nowhere: its cells (an
    unreadable report may have some, all blank) stay out of the cell tables and of the checks. The
    checks across years are not here: they need the whole dataset (transforms/checks/crossyear.py)."""
    tm, t0 = {}, time.perf_counter()

    def lap(name):
        nonlocal t0
        t1 = time.perf_counter()
        tm[name] = round(t1 - t0, 3)
        t0 = t1

    reports_in = conformed(frames.get("reports"), "reports")
    quarantine = quarantine_frame(reports_in, extra_quarantine)
    bad_ids = set(quarantine["report_id"])
    parsed = without(reports_in, bad_ids)      # no copy of the ~40 columns when nothing is quarantined
    cells = {t: without(conformed(frames.get(t), t), bad_ids) for t in CELL_TABLES}
    statements = without(conformed(frames.get("statements"), "statements"), bad_ids)
    batch = {"reports": parsed, **cells, "statements": statements}
    prepared = prepare(batch)  # encoded once, shared by reconcile, quality_checks and the GX views
    lap("prepare")
    recon = reconcile(batch, prepared)
    lap("reconcile")
    qc = quality_checks(batch, recon, prepared=prepared)
    reports = verdicts(parsed, qc)
    lap("quality_checks")
    out = {"reports": reports, **cells, "quality_checks": qc, "quarantine": quarantine, "statements": statements}
    out["report_summary"] = summary_frame(reports, cells)
    lap("report_summary")
    return CheckedBatch(frames=out, reconciliation=recon, prepared=prepared, reports_in=reports_in, timings=tm)
