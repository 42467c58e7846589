"""The committed GX suites evaluated in pandas, with GX's semantics, for runs of a handful of reports.

GX 1.24 costs ~2-3 s of CPU per validation of a small batch whatever the rows (its metric graph and
configuration copies for ~450 expectations) and its import 2-3 s more: a run of one report file
spent most of its time there. The suites use ten expectation types only; this module evaluates those
on the same views, from the same JSON files GX reads (no second definition of any expectation), with
the pandas operations GX's pandas engine applies (null filtering, ``ignore_row_if``, ``mostly``), and
returns result objects shaped like GX's for what the gate reads (``gate._summarise``): success,
severity, kwargs, and for a failure the SUMMARY fields (counts, partial lists, row keys) or the
observed value. Whatever it cannot decide exactly — an expectation type or kwarg it does not know, a
column missing, a comparison pandas refuses — raises :class:`Unsupported`, and the gate runs GX
instead (never a silent pass). tests/test_evaluator.py compares every expectation with GX.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

REQUIRED = object()
# type -> its kwargs in the order of GX's model fields, with GX's defaults (GX's configuration lists the
# kwargs in that order and leaves out those equal to their default: the gate's failure texts show them)
KNOWN: dict[str, dict] = {
    "expect_table_columns_to_match_set": {"column_set": REQUIRED, "exact_match": True},
    "expect_column_type_to_be": {"column": REQUIRED, "type_": REQUIRED},
    "expect_column_values_to_not_be_null": {"column": REQUIRED, "mostly": 1.0},
    "expect_column_values_to_be_null": {"column": REQUIRED, "mostly": 1.0},
    "expect_column_values_to_be_in_set": {"column": REQUIRED, "mostly": 1.0, "value_set": REQUIRED},
    "expect_column_values_to_be_between": {"column": REQUIRED, "mostly": 1.0, "min_value": None, "max_value": None,
                                           "strict_min": False, "strict_max": False},
    "expect_column_values_to_match_regex": {"column": REQUIRED, "mostly": 1.0, "regex": REQUIRED},
    "expect_column_values_to_be_unique": {"column": REQUIRED, "mostly": 1.0},
    "expect_compound_columns_to_be_unique": {"column_list": REQUIRED, "mostly": 1.0,
                                             "ignore_row_if": "all_values_are_missing"},
    "expect_column_pair_values_to_be_equal": {"column_A": REQUIRED, "column_B": REQUIRED, "mostly": 1.0,
                                              "ignore_row_if": "both_values_are_missing"},
}
# what a result holds for the gate: the SUMMARY fields GX gives a failed map expectation, or the
# observed value of the aggregate ones (the differential test compares exactly these)
RESULT_FIELDS = ("element_count", "unexpected_count", "missing_count", "partial_unexpected_list",
                 "partial_unexpected_index_list", "observed_value", "details")
PARTIAL_UNEXPECTED = 50
_NULL_RATIO_TYPES = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null")


class Unsupported(Exception):
    """The evaluator cannot give GX's result for this suite on this frame: GX must run instead."""


@dataclass
class Configuration:
    type: str
    kwargs: dict
    severity: str
    id: str | None = None
    meta: dict = field(default_factory=dict)


@dataclass
class ExpectationResult:
    success: bool
    expectation_config: Configuration
    result: dict
    exception_info: dict | None = None


@dataclass
class SuiteResult:
    suite: str
    success: bool
    results: list[ExpectationResult]
    statistics: dict


def load_suite(root: Path, name: str) -> list[dict]:
    """The expectations of one committed suite (``<root>/expectations/<name>.json``), as GX reads them."""
    doc = json.loads((Path(root) / "expectations" / f"{name}.json").read_text(encoding="utf-8"))
    return list(doc["expectations"])


def check_suite(specs: list[dict]) -> None:
    """Unsupported unless every expectation is of a known type with known kwargs (no row conditions)."""
    for e in specs:
        known = KNOWN.get(e["type"])
        if known is None:
            raise Unsupported(f"expectation type {e['type']} is not evaluated in pandas")
        extra = set(e["kwargs"]) - set(known)
        if extra:
            raise Unsupported(f"{e['type']}: kwargs {sorted(extra)} are not evaluated in pandas")
        missing = [k for k, v in known.items() if v is REQUIRED and k not in e["kwargs"]]
        if missing:
            raise Unsupported(f"{e['type']}: kwargs {missing} missing")


def _config(e: dict) -> Configuration:
    """The configuration as GX's model gives it back: kwargs in field order, defaults left out, the
    numbers of ``mostly`` and of the bounds as floats."""
    given = dict(e["kwargs"])
    for k in ("mostly", "min_value", "max_value"):
        if isinstance(given.get(k), int) and not isinstance(given.get(k), bool):
            given[k] = float(given[k])
    kwargs = {k: given[k] for k, default in KNOWN[e["type"]].items()
              if k in given and (default is REQUIRED or given[k] != default)}
    return Configuration(type=e["type"], kwargs=kwargs, severity=e.get("severity") or "critical", id=e.get("id"),
                         meta=e.get("meta") or {})


def validate(view: pd.DataFrame, specs: list[dict], index_columns: list[str], *, suite: str = "",
             detail: bool = True) -> SuiteResult:
    """Every expectation of ``specs`` on ``view``, in suite order. ``detail``: the failures carry the
    SUMMARY fields (values and row keys), as the gate's detailed GX run gives them."""
    check_suite(specs)
    results = []
    for e in gx_order(specs):
        success, result = _evaluate(view, e, index_columns, detail)
        results.append(ExpectationResult(success=bool(success), expectation_config=_config(e),
                                         result=result if (detail and not success) else {}))
    failed = sum(1 for r in results if not r.success)
    n = len(results)
    stats = {"evaluated_expectations": n, "successful_expectations": n - failed,
             "unsuccessful_expectations": failed, "success_percent": ((n - failed) / n * 100) if n else None}
    return SuiteResult(suite=suite, success=failed == 0, results=results, statistics=stats)


def gx_order(specs: list[dict]) -> list[dict]:
    """The order of GX's results (its validator groups the expectations by ``column``, groups in the order
    of their first expectation; those without a column are one group, keyed "_nocolumn"): the gate
    lists failures in this order."""
    groups: dict[str, list[dict]] = {}
    for e in specs:
        column = e["kwargs"].get("column")
        groups.setdefault(column if isinstance(column, str) else "_nocolumn", []).append(e)
    return [e for group in groups.values() for e in group]


def _column(view: pd.DataFrame, name) -> pd.Series:
    if not isinstance(name, str) or name not in view.columns:
        raise Unsupported(f"column {name!r} is not in the frame (GX reports it as an exception)")
    return view[name]


def _mostly(considered: int, unexpected: int, mostly: float) -> bool:
    if considered == 0:
        return True
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


def _evaluate(view: pd.DataFrame, e: dict, index_columns: list[str], detail: bool) -> tuple[bool, dict]:
    kind = e["type"]
    kw = {**KNOWN[kind], **e["kwargs"]}     # check_suite: every REQUIRED one is given
    if kind == "expect_table_columns_to_match_set":
        return _columns_match_set(view, kw)
    if kind == "expect_column_type_to_be":
        return _type_to_be(_column(view, kw["column"]), kw["type_"])
    if kind in ("expect_compound_columns_to_be_unique", "expect_column_pair_values_to_be_equal"):
        return _multicolumn(view, kind, kw, index_columns, detail)
    col = _column(view, kw["column"])
    total = len(view)
    notnull = col.notnull().to_numpy(dtype=bool)
    if kind in _NULL_RATIO_TYPES:
        ok = notnull if kind == "expect_column_values_to_not_be_null" else ~notnull
        bad = np.flatnonzero(~ok)
        success = True if total == 0 else (total - len(bad)) / total >= kw["mostly"]
        return success, _map_result(view, [kw["column"]], bad, total, None, index_columns, detail and not success,
                                    values=col)
    rows = np.flatnonzero(notnull)
    domain = col.iloc[rows] if len(rows) < total else col
    ok = _condition(domain, kind, kw)
    bad = rows[~ok]
    considered = len(rows)
    success = total == 0 or considered == 0 or _mostly(considered, len(bad), kw["mostly"])
    return success, _map_result(view, [kw["column"]], bad, total, total - considered, index_columns,
                                detail and not success, values=col)


def _condition(domain: pd.Series, kind: str, kw: dict) -> np.ndarray:
    """GX's pandas condition of a column map expectation, on the non-null values."""
    try:
        if kind == "expect_column_values_to_be_in_set":
            if kw["value_set"] is None:
                return np.ones(len(domain), dtype=bool)
            out = domain.isin(kw["value_set"])
        elif kind == "expect_column_values_to_match_regex":
            out = domain.astype(str).str.contains(kw["regex"])
        elif kind == "expect_column_values_to_be_unique":
            out = ~domain.duplicated(keep=False)
        elif kind == "expect_column_values_to_be_between":
            out = _between(domain, kw)
        else:  # pragma: no cover - check_suite lets only KNOWN types through
            raise Unsupported(kind)
        arr = np.asarray(out, dtype=object) if out.dtype == object else out.to_numpy()
        if arr.dtype != bool:
            if any(v is not True and v is not False and not isinstance(v, np.bool_) for v in arr):
                raise Unsupported(f"{kind}: a condition that is not a boolean per row")
            arr = arr.astype(bool)
        return arr
    except Unsupported:
        raise
    except Exception as exc:          # GX would record an exception: its message is GX's to give
        raise Unsupported(f"{kind}: {type(exc).__name__}: {exc}") from None


def _between(col: pd.Series, kw: dict) -> pd.Series:
    low, high = kw["min_value"], kw["max_value"]
    strict_min, strict_max = kw["strict_min"], kw["strict_max"]
    if low is None and high is None:
        raise Unsupported("min_value and max_value both None")
    if low is not None and high is not None and low > high:
        raise Unsupported("min_value greater than max_value")
    if any(isinstance(v, str) for v in (low, high)):
        raise Unsupported("string bounds (GX parses them as dates)")
    if col.dtype in [int, float]:
        if low is None:
            return col < high if strict_max else col <= high
        if high is None:
            return low < col if strict_min else low <= col
        return (((low < col) if strict_min else (low <= col)) & ((col < high) if strict_max else (col <= high)))
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_ns_dtype(col.dtype):
        raise Unsupported("datetime column")

    def is_between(val):
        if isinstance(val, str):
            raise TypeError("Column values, min_value, and max_value must either be None or of the same type.")
        if low is not None and high is not None:
            return ((val > low) if strict_min else (val >= low)) and ((val < high) if strict_max else (val <= high))
        if high is not None:
            return val < high if strict_max else val <= high
        return val > low if strict_min else val >= low

    return col.map(is_between)


def _type_to_be(col: pd.Series, expected: str) -> tuple[bool, dict]:
    from pandas.api.types import pandas_dtype
    actual = col.dtype
    try:
        parsed = pandas_dtype(expected)
    except Exception:
        raise Unsupported(f"type {expected!r} is not a pandas dtype") from None
    if isinstance(parsed, np.dtype) and parsed.kind in "mM" and np.datetime_data(parsed)[0] == "generic":
        success = isinstance(actual, np.dtype) and actual.kind == parsed.kind
    elif isinstance(actual, pd.StringDtype) and isinstance(parsed, pd.StringDtype):
        success = str(actual) == str(parsed)
    else:
        success = actual in (parsed, expected)
    return bool(success), {"observed_value": str(actual)}


def _columns_match_set(view: pd.DataFrame, kw: dict) -> tuple[bool, dict]:
    expected = set(kw["column_set"]) if kw["column_set"] is not None else set()
    actual = {str(c) for c in view.columns}
    observed = sorted(actual)
    if (kw["column_set"] is None and kw["exact_match"] is not True) or actual == expected:
        return True, {"observed_value": observed}
    mismatched = {}
    if actual - expected:
        mismatched["unexpected"] = sorted(actual - expected)
    if expected - actual:
        mismatched["missing"] = sorted(expected - actual)
    result = {"observed_value": observed, "details": {"mismatched": mismatched}}
    return not kw["exact_match"], result


def _multicolumn(view: pd.DataFrame, kind: str, kw: dict, index_columns: list[str],
                 detail: bool) -> tuple[bool, dict]:
    cols = list(kw["column_list"]) if kind == "expect_compound_columns_to_be_unique" else [kw["column_A"], kw["column_B"]]
    for c in cols:
        _column(view, c)
    how = {"all_values_are_missing": "all", "both_values_are_missing": "all", "any_value_is_missing": "any",
           "either_value_is_missing": "any"}.get(kw["ignore_row_if"])
    total = len(view)
    isnull = np.column_stack([view[c].isnull().to_numpy(dtype=bool) for c in cols]) if total else np.zeros((0, len(cols)), bool)
    if how == "all":
        keep = ~isnull.all(axis=1)
    elif how == "any":
        keep = ~isnull.any(axis=1)
    elif kw["ignore_row_if"] in ("never", "neither"):
        keep = np.ones(total, dtype=bool)
    else:
        raise Unsupported(f"ignore_row_if {kw['ignore_row_if']!r}")
    rows = np.flatnonzero(keep)
    domain = view.iloc[rows][cols] if len(rows) < total else view[cols]
    try:
        if kind == "expect_compound_columns_to_be_unique":
            ok = (~domain.duplicated(keep=False)).to_numpy(dtype=bool)
        else:
            ok = (domain[cols[0]] == domain[cols[1]]).to_numpy(dtype=bool)
    except Exception as exc:
        raise Unsupported(f"{kind}: {type(exc).__name__}: {exc}") from None
    bad = rows[~ok]
    considered = len(rows)
    success = total == 0 or considered == 0 or _mostly(considered, len(bad), kw["mostly"])
    return success, _map_result(view, cols, bad, total, total - considered, index_columns, detail and not success,
                                values=None,
                                pairs=kind == "expect_column_pair_values_to_be_equal")


def _map_result(view: pd.DataFrame, cols: list[str], bad: np.ndarray, total: int, missing: int | None,
                index_columns: list[str], detail: bool, values: pd.Series | None, pairs: bool = False) -> dict:
    """The SUMMARY fields the gate reads: counts, the first unexpected values and their row keys."""
    if not detail:
        return {}
    shown = bad[:PARTIAL_UNEXPECTED]
    if values is not None:
        partial = values.iloc[shown].tolist()
    elif pairs:
        partial = [list(t) for t in zip(*(view[c].iloc[shown].tolist() for c in cols))]
    else:
        partial = view.iloc[shown][cols].to_dict("records")
    keys = [c for c in index_columns if c in view.columns]
    keys += [c for c in cols if c not in keys]
    index = view.iloc[shown][keys].to_dict("records") if len(shown) else []
    out = {"element_count": int(total), "unexpected_count": int(len(bad)), "partial_unexpected_list": partial,
           "partial_unexpected_index_list": index}
    if missing is not None:
        out["missing_count"] = int(missing)
    return out
