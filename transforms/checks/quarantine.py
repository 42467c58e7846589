"""The quarantine manifest: one row per file that could not be read (its reason code and reason)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms import schema
from transforms.typed import conform, empty

QUARANTINE_REASONS = schema.QUARANTINE_REASONS


def classify_reason(problems, file_size=None) -> str:
    """The code a reader attached to its problem (schema.quarantine_problem), else one from the text."""
    for p in problems or []:
        code = schema.reason_code_of(p)
        if code is not None:
            return code
    text = " ".join(problems or []).lower()
    if file_size == 0 or "empty" in text or "空文件" in text:
        return "empty"
    if "binary" in text or "二进制" in text:
        return "binary"
    if "decod" in text or "encoding" in text or "编码" in text:
        return "undecodable"
    if "not a report" in text or "not_a_report" in text or "no report" in text:
        return "not_a_report"
    if "statutory table" in text or "no table" in text or "no usable value" in text:
        return "no_statutory_table"
    return "unreadable"


def quarantine_frame(reports: pd.DataFrame, extra: list[dict] | None = None) -> pd.DataFrame:
    """The quarantine manifest: reports with status unreadable (+ extra rows from quarantine_record)."""
    rows = []
    if reports is not None and len(reports):
        bad = reports[reports["status"] == "unreadable"]
        for r in bad.to_dict("records"):
            probs = list(r.get("problems") if isinstance(r.get("problems"), (list, tuple, np.ndarray)) else [])
            size = r.get("file_size")
            size = None if size is None or size is pd.NA else int(size)
            rows.append({"report_id": r["report_id"], "sha256": r.get("sha256") or r["report_id"],
                         "source_file": r["source_file"], "file_size": size,
                         "reason_code": classify_reason(probs, size),
                         "reason": "; ".join(probs) or "no statutory table could be read",
                         "problems": probs, "encoding": r.get("encoding"),
                         "parser_version": r.get("parser_version")})
    rows += list(extra or [])
    if not rows:
        return empty("quarantine")
    df = pd.DataFrame(rows).drop_duplicates(["report_id", "source_file"])  # two empty files share a hash
    df["encoding"] = df["encoding"].where(df["encoding"].notna(), None)
    return conform(df, "quarantine")

