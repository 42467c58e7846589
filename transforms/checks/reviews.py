"""The maintainers' review: decisions on failed quality checks, kept in git (pure; no Prefect, no GX).

A reviews file (YAML, default ``reviews/reviews.yaml``) is a list of entries, one decision on one
check of one report, keyed by the report's sha256 (``report_id``): a report whose bytes change has
a new id, so a decision never applies to bytes nobody reviewed. YAML rather than CSV: notes are
free prose (commas, quotes, several lines), cell addresses hold ``' > '``, comments can explain an
entry, and a diff shows one entry per block. The file is validated strictly: an unknown key, a bad
decision, a malformed id or date, a duplicate, or bytes that are not UTF-8 are a ``ReviewsError``
naming the file and line.

    - report_id: 3f2a…(64 hex)
      check: applications_balance
      decision: publisher_error_confirmed      # parser_error | accepted | corrected_value
      note: 表三 prints 95 new applications, the prose 17; the publisher's site shows the same
      reviewer: wang
      date: 2026-12-06
    - report_id: 3f2a…
      check: applications_row_total
      decision: corrected_value                # + the cell and the number that should have been printed
      table: applications
      row_path: 一、本年新收政府信息公开申请数量
      column_path: 申请人情况 > 自然人
      corrected_value: 12
      note: …
      reviewer: li
      date: 2026-12-06

Applying them never changes a check's status, a verdict, ``value`` or ``raw_value``: the review is
published beside them (quality_checks.review_*, cells' corrected_value / correction_source).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from transforms import schema

DECISIONS = schema.REVIEW_DECISIONS
CORRECTED = "corrected_value"
REQUIRED = ("report_id", "check", "decision", "note", "reviewer", "date")
CELL_KEYS = ("table", "row_path", "column_path", "corrected_value")
KEYS = (*REQUIRED[:3], *CELL_KEYS, *REQUIRED[3:])
SORT_KEYS = ("report_id", "check", "table", "row_path", "column_path")
CHECK_FIELDS = ("review_decision", "reviewer", "review_note", "review_date")
CELL_REVIEW_FIELDS = ("corrected_value", "correction_source")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class ReviewsError(ValueError):
    """A reviews file that cannot be applied: the message names the file, the line and the reason."""


@dataclass(frozen=True)
class Reviews:
    """The validated entries (``entries``: one row per entry, KEYS + ``line``) of one file."""
    path: str | None
    entries: pd.DataFrame

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def report_ids(self) -> set[str]:
        return set(self.entries["report_id"])

    def corrections(self) -> pd.DataFrame:
        return self.entries[self.entries["decision"] == CORRECTED]

    def applied(self) -> list[dict]:
        """The entries as published, in key order (no line numbers: moving an entry changes nothing)."""
        return [{k: _json_safe(r[k]) for k in KEYS} for r in self.entries.to_dict("records")]


def _json_safe(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def empty(path: str | None = None) -> Reviews:
    cols = {k: pd.Series(dtype="float64" if k == "corrected_value" else object) for k in KEYS}
    return Reviews(path, pd.DataFrame({**cols, "line": pd.Series(dtype="int64")}))


# --------------------------------------------------------------------------- reading

def load(path: str | Path, *, missing_ok: bool = False) -> Reviews:
    """The validated reviews of ``path``; an empty set when it does not exist and ``missing_ok``."""
    p = Path(path)
    if not p.exists():
        if missing_ok:
            return empty(str(p))
        raise ReviewsError(f"{p}: no such reviews file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ReviewsError(f"{p}: cannot be read: {e.strerror or e}") from e
    return parse(data, str(p))


def parse(data: bytes, name: str) -> Reviews:
    """Validate the bytes of a reviews file named ``name`` (used in every message)."""
    text = _decode(data, name)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = f"{mark.line + 1}: " if mark is not None else ""
        why = getattr(e, "problem", None) or str(e)
        raise ReviewsError(f"{name}:{line}not valid YAML: {why}") from None
    if root is None:
        return empty(name)
    if not isinstance(root, yaml.SequenceNode):
        raise ReviewsError(f"{name}:{root.start_mark.line + 1}: expected a list of review entries ('- report_id: …')")
    rows = [_entry(node, name) for node in root.value]
    _check_duplicates(rows, name)
    if not rows:
        return empty(name)
    # in key order: what is published depends on the entries, not on where they stand in the file
    rows.sort(key=lambda r: tuple("" if r[k] is None else r[k] for k in SORT_KEYS))
    df = pd.DataFrame(rows, columns=[*KEYS, "line"])
    df["corrected_value"] = pd.to_numeric(df["corrected_value"], errors="raise").astype("float64")
    df["line"] = df["line"].astype("int64")
    for k in KEYS:
        if k != "corrected_value":
            df[k] = df[k].astype(object)
    return Reviews(name, df)


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ReviewsError(f"{name}:{line}: not UTF-8 (byte 0x{data[e.start]:02x}); save the file as UTF-8") from None


def _scalar(node, key: str, name: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise ReviewsError(f"{name}:{node.start_mark.line + 1}: {key} must be a single value")
    return node.value


def _entry(node, name: str) -> dict:
    line = node.start_mark.line + 1
    where = f"{name}:{line}"
    if not isinstance(node, yaml.MappingNode):
        raise ReviewsError(f"{where}: a review entry must be a mapping of {', '.join(REQUIRED)}")
    raw: dict[str, str] = {}
    lines: dict[str, int] = {}
    for k_node, v_node in node.value:
        key = _scalar(k_node, "a key", name)
        kline = k_node.start_mark.line + 1
        if key not in KEYS:
            raise ReviewsError(f"{name}:{kline}: unknown key {key!r} (allowed: {', '.join(KEYS)})")
        if key in raw:
            raise ReviewsError(f"{name}:{kline}: key {key!r} given twice in one entry")
        raw[key] = _scalar(v_node, key, name).strip()
        lines[key] = kline
    missing = [k for k in REQUIRED if not raw.get(k)]
    if missing:
        raise ReviewsError(f"{where}: missing {', '.join(missing)}")
    return {**validate_entry(raw, lambda k: f"{name}:{lines.get(k, line)}"), "line": line}


def validate_entry(raw: dict, where) -> dict:
    """One entry (strings as written) checked and normalised; ``where`` (a text, or key → text: the
    line of that key) prefixes every message."""
    at = where if callable(where) else (lambda _k: where)
    out = {k: None for k in KEYS}
    rid = str(raw["report_id"]).strip()
    if not _SHA256.fullmatch(rid):
        raise ReviewsError(f"{at('report_id')}: report_id must be the report's sha256 (64 hex digits), got {rid!r}")
    out["report_id"] = rid.lower()
    check = str(raw["check"]).strip()
    known = _check_tables()
    if check not in known:
        raise ReviewsError(f"{at('check')}: unknown check {check!r} (see quality_checks.check)")
    out["check"] = check
    decision = str(raw["decision"]).strip()
    if decision not in DECISIONS:
        raise ReviewsError(f"{at('decision')}: bad decision {decision!r} (one of {', '.join(DECISIONS)})")
    out["decision"] = decision
    for k in ("note", "reviewer"):
        v = " ".join(str(raw.get(k) or "").split()) if k == "reviewer" else str(raw.get(k) or "").strip()
        if not v:
            raise ReviewsError(f"{at(k)}: {k} is empty")
        out[k] = v
    date = str(raw["date"]).strip()
    try:
        if not _DATE.fullmatch(date):
            raise ValueError
        dt.date.fromisoformat(date)
    except ValueError:
        raise ReviewsError(f"{at('date')}: date must be YYYY-MM-DD, got {date!r}") from None
    out["date"] = date
    cell = {k: raw.get(k) for k in CELL_KEYS if raw.get(k) not in (None, "")}
    if decision != CORRECTED:
        if cell:
            raise ReviewsError(f"{at('decision')}: {', '.join(cell)} only go with decision {CORRECTED}")
        return out
    lacking = [k for k in CELL_KEYS if k not in cell]
    if lacking:
        raise ReviewsError(f"{at('decision')}: decision {CORRECTED} needs {', '.join(lacking)}")
    table = str(cell["table"]).strip()
    if table not in schema.STATUTORY_TABLES:
        raise ReviewsError(f"{at('table')}: unknown table {table!r} (one of {', '.join(schema.STATUTORY_TABLES)})")
    if known[check] is not None and known[check] != table:
        raise ReviewsError(f"{at('table')}: check {check} reads table {known[check]}, not {table}")
    row, col = str(cell["row_path"]).strip(), str(cell["column_path"]).strip()
    if (row, col) not in _addresses(table):
        raise ReviewsError(f"{at('row_path')}: no cell at row_path {row!r}, column_path {col!r} in {table} of any format")
    text = str(cell["corrected_value"]).strip()
    if not _NUMBER.fullmatch(text) or not math.isfinite(float(text)):
        raise ReviewsError(f"{at('corrected_value')}: corrected_value must be a number, got {text!r}")
    out.update(table=table, row_path=row, column_path=col, corrected_value=float(text))
    return out


def _check_duplicates(rows: list[dict], name: str) -> None:
    """One decision per report and check; corrected_value entries of one check (each its own cell) are
    the exception; one corrected value per cell."""
    by_check: dict[tuple, dict] = {}
    by_cell: dict[tuple, dict] = {}
    for r in rows:
        k = (r["report_id"], r["check"])
        first = by_check.get(k)
        if first is not None and not (first["decision"] == CORRECTED == r["decision"]):
            raise ReviewsError(f"{name}:{r['line']}: duplicate review of report {r['report_id'][:12]}… check "
                               f"{r['check']} (first at line {first['line']}); edit that entry instead")
        by_check.setdefault(k, r)
        if r["decision"] == CORRECTED:
            c = (r["report_id"], r["table"], r["row_path"], r["column_path"])
            if c in by_cell:
                raise ReviewsError(f"{name}:{r['line']}: a second corrected value for the same cell "
                                   f"(first at line {by_cell[c]['line']})")
            by_cell[c] = r


def _check_tables() -> dict[str, str | None]:
    """check name → the table it reads (None when not known from its name or the identity catalog)."""
    from transforms.checks.catalogue import check_names, identity_catalog
    cat = identity_catalog().drop_duplicates("check").set_index("check")["table"]
    out = {}
    for c in check_names():
        t = c.split(".", 1)[0] if "." in c else cat.get(c)
        out[c] = t if t in schema.STATUTORY_TABLES else None
    return out


def _addresses(table: str):
    from transforms.checks.catalogue import ADDRESS_INDEX
    return ADDRESS_INDEX[table]


def digest(reviews: Reviews) -> str:
    """A hash of the entries as applied (line numbers, comments and the order in the file left out)."""
    return hashlib.sha256(json.dumps(reviews.applied(), ensure_ascii=False, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- applying

def check_reviews(reviews: Reviews) -> pd.DataFrame:
    """One row per (report_id, check) with the CHECK_FIELDS to publish. Several corrected cells of one
    check are one decision: their distinct notes, reviewers and dates are joined, sorted."""
    e = reviews.entries
    cols = ["report_id", "check", *CHECK_FIELDS]
    if len(e) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})

    def joined(s: pd.Series) -> str:
        return "; ".join(sorted(set(s)))
    g = e.groupby(["report_id", "check"], sort=True, dropna=False)
    out = g.agg(review_decision=("decision", "first"), reviewer=("reviewer", joined),
                review_note=("note", joined), review_date=("date", joined)).reset_index()
    return out[cols].astype(object)


def correction_source(entries: pd.DataFrame) -> pd.Series:
    """Provenance of a corrected value: the review entry's check, reviewer and date."""
    return entries["check"] + " · " + entries["reviewer"] + " · " + entries["date"]


def apply_to_checks(qc: pd.DataFrame, reviews: Reviews) -> pd.DataFrame:
    """quality_checks rows with CHECK_FIELDS set from the reviews (null where none): a vectorised
    lookup on (report_id, check); any review fields the rows carried before are replaced."""
    out = qc.copy()
    rv = check_reviews(reviews)
    pos = _lookup(out, rv, ["report_id", "check"])
    for f in CHECK_FIELDS:
        vals = np.append(rv[f].to_numpy(dtype=object), None)[pos]
        out[f] = pd.Series(vals, index=out.index, dtype=object).astype(_dtype(f, "quality_checks"))
    return out


def apply_to_cells(cells: pd.DataFrame, table: str, reviews: Reviews) -> pd.DataFrame:
    """Cells of ``table`` with corrected_value and correction_source set where a review corrects them
    (null elsewhere); ``value`` and ``raw_value`` are never touched."""
    out = cells.copy()
    c = reviews.corrections()
    c = c[c["table"] == table]
    rv = pd.DataFrame({"report_id": c["report_id"], "row_path": c["row_path"], "column_path": c["column_path"],
                       "corrected_value": c["corrected_value"], "correction_source": correction_source(c)})
    pos = _lookup(out, rv, ["report_id", "row_path", "column_path"])
    value = np.append(rv["corrected_value"].to_numpy(dtype="float64"), np.nan)[pos]
    source = np.append(rv["correction_source"].to_numpy(dtype=object), None)[pos]
    out["corrected_value"] = pd.Series(value, index=out.index, dtype=_dtype("corrected_value", table))
    out["correction_source"] = pd.Series(source, index=out.index, dtype=object).astype(
        _dtype("correction_source", table))
    return out


def _lookup(rows: pd.DataFrame, keys: pd.DataFrame, on: list[str]) -> np.ndarray:
    """For each row of ``rows``, the position of its key in ``keys`` (len(keys) when absent)."""
    n = len(keys)
    if n == 0 or len(rows) == 0:
        return np.full(len(rows), n, dtype=np.int64)
    idx = pd.MultiIndex.from_frame(keys[on].astype(object))
    probe = pd.MultiIndex.from_arrays([rows[c].astype(object).to_numpy() for c in on])
    pos = idx.get_indexer(probe)
    return np.where(pos < 0, n, pos).astype(np.int64)


def _dtype(field: str, dataset: str) -> str:
    return next(f.pandas_dtype for f in schema.fields(dataset) if f.name == field)


# --------------------------------------------------------------------------- writing

def entry_text(entry: dict) -> str:
    """One entry as a YAML block to append to a reviews file (keys in KEYS order; values quoted)."""
    lines = []
    for k in KEYS:
        v = entry.get(k)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if k == "corrected_value":
            text = repr(int(v)) if float(v).is_integer() else repr(float(v))
        else:
            text = json.dumps(str(v), ensure_ascii=False)     # a JSON string is a YAML double-quoted scalar
        lines.append(("- " if not lines else "  ") + f"{k}: {text}")
    return "\n".join(lines) + "\n"


def append(path: str | Path, entry: dict) -> Reviews:
    """Append one entry (strings as given on a command line) to ``path`` after validating the file
    with it; the file is replaced atomically, and left as it was on any error."""
    p = Path(path)
    old = p.read_bytes() if p.exists() else b""
    if old.strip() and not old.endswith(b"\n"):
        old += b"\n"
    if not old.strip():
        old = b"# Maintainers' decisions on failed quality checks (docs/GATE_API.md: the maintainers' review).\n"
    where = f"{p} (new entry)"
    norm = validate_entry(entry, where)
    new = old + entry_text(norm).encode("utf-8")
    reviews = parse(new, str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(new)
    tmp.replace(p)
    return reviews


__all__ = ["DECISIONS", "KEYS", "CHECK_FIELDS", "CELL_REVIEW_FIELDS", "Reviews", "ReviewsError", "load", "parse",
           "empty", "validate_entry", "digest", "check_reviews", "apply_to_checks", "apply_to_cells", "append",
           "entry_text", "correction_source"]
