"""A report's verdict from its quality_checks rows (docs/GATE_API.md): fail when a check fails, warn
when one warns, pass otherwise; a report read by OCR passes only when every identity of its format
was evaluated and holds; an unreadable report fails."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.formats import FORMATS

STATUSES = ("pass", "warn", "fail")


def verdicts(reports: pd.DataFrame, qc: pd.DataFrame) -> pd.DataFrame:
    """reports with `verdict` (pass | warn | fail) and `failed_checks` (fail first, then warn) filled."""
    out = reports.copy()
    if len(out) == 0:
        return out
    rank = {"pass": 0, "warn": 1, "fail": 2}
    # the three columns read here only: filtering and sorting all of qc's (their kilobytes of observed
    # text included) cost ~0.03 ms a report
    bad = qc.loc[(qc["status"] != "pass").to_numpy(dtype=bool), ["report_id", "status", "check"]]
    r = np.array([rank[x] for x in bad["status"]], dtype=np.int64)
    worst = bad.assign(_r=r).groupby("report_id")["_r"].max()
    ordered = bad.assign(_r=-r).sort_values(["report_id", "_r"], kind="stable")
    names: dict[str, list[str]] = {}       # a groupby(...).agg(list) cost ~0.1 ms a report
    for k, c in zip(ordered["report_id"].astype(object), ordered["check"].astype(object)):
        names.setdefault(k, []).append(c)
    rid = out["report_id"].astype("str")
    w = pd.Series(worst.reindex(rid.to_numpy()).fillna(0).to_numpy(dtype=np.int64), index=out.index)
    out["verdict"] = pd.Series(np.array(["pass", "warn", "fail"], dtype=object)[w.to_numpy()],
                               index=out.index).astype("str")
    out["failed_checks"] = pd.Series([list(names.get(r, ())) for r in rid], index=out.index, dtype=object)
    if "layout" in out.columns:
        _ocr_needs_identities(out, qc)
    unread = out["status"] == "unreadable"
    if unread.any():
        out.loc[unread, "verdict"] = "fail"
        out.loc[unread, "failed_checks"] = pd.Series([["unreadable"]] * int(unread.sum()),
                                                     index=out.index[unread], dtype=object)
    return out


OCR_IDENTITIES = "ocr_identities"   # failed_checks entry: a report read by OCR whose identities did not all hold


def _ocr_needs_identities(out: pd.DataFrame, qc: pd.DataFrame) -> None:
    """A report read by OCR passes only when every identity of its format was evaluated and holds:
    recognition errors the flags cannot see (a 6 read as 8) show only as broken sums, so an identity
    that could not be checked (blank cells, a missing table, a format not decided) leaves it at warn."""
    ocr = out["layout"].astype("str").str.endswith("_ocr").to_numpy(dtype=bool) & \
        (out["verdict"].astype("str") == "pass").to_numpy(dtype=bool)
    if not ocr.any():
        return
    passed = qc.loc[qc["status"].astype("str") == "pass", ["report_id", "check"]].astype(object)
    held = set(zip(passed["report_id"], passed["check"]))
    for i in np.flatnonzero(ocr):
        rid, template = str(out["report_id"].iat[i]), out["template"].iat[i] if "template" in out.columns else None
        needed = _IDENTITIES_OF.get(template if isinstance(template, str) else None, _IDENTITIES_OF[None])
        if not needed or not all((rid, c) in held for c in needed):
            out.iat[i, out.columns.get_loc("verdict")] = "warn"
            out.iat[i, out.columns.get_loc("failed_checks")] = [*out["failed_checks"].iat[i], OCR_IDENTITIES]


# identity ids each format must show holding (a hybrid or undecided format: every one of every format)
_IDENTITIES_OF: dict = {name: tuple(i.id for i in f.identities) for name, f in FORMATS.items()}
_IDENTITIES_OF[None] = tuple(dict.fromkeys(i.id for f in FORMATS.values() for i in f.identities))
_IDENTITIES_OF["hybrid"] = _IDENTITIES_OF[None]

