"""Synthetic tidy frames that follow transforms.schema and satisfy every identity of FORMATS.

Used by the quality-gate tests and bench/validate_bench.py (no parser needed). Values are generated
per report so that identities 1–4 hold; `carry_in` lets a report's 二、上年结转 equal the previous
year's 四、结转下年度继续办理 (identity 6).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from transforms import schema
from transforms.typed import conform
from transforms.formats import FORMATS, cell_place

CELL_TABLES = schema.STATUTORY_TABLES


def _dims(fmt, table: str) -> pd.DataFrame:
    """One row per cell address of the format: row_path, column_path, kind, unit, dimension columns."""
    t = fmt.tables[table]
    rows = []
    for b, r, c in t.cells():
        d = {"row_path": r.path, "column_path": c.path, "_kind": c.kind, "unit": c.unit,
             "_row": r.path, "_col": c.path}
        for dim, source in t.dimensions.items():
            label, code = {
                "block": (b.caption, b.code), "row_leaf": (r.label, r.code), "column_leaf": (c.label, c.code),
                "column_parent": (c.parent_path, c.parent_code), "row_parent": (r.parent_path, r.parent_code),
            }[source]
            d[dim], d[f"{dim}_code"] = label, code
        d.update(cell_place(r, c))
        rows.append(d)
    return pd.DataFrame(rows)


def _applications_values(fmt, n: int, rng, carry_in: np.ndarray | None) -> np.ndarray:
    """(n, n_cells) values in fmt's cell order; identities 1–3 hold."""
    t = fmt.tables["applications"]
    rows, cols = t.row_paths, t.column_paths
    total_col = [c for c in cols if c.endswith("> 总计")][0]
    parts = [c for c in cols if c != total_col]
    ident = {i.id: i for i in fmt.identities}
    outcome_rows = list(ident["applications_outcome_total"].rhs)
    total_row = ident["applications_outcome_total"].lhs[0]
    new_row, carry_row = ident["applications_balance"].lhs
    fwd_row = [r for r in ident["applications_balance"].rhs if r != total_row][0]
    v = {r: np.zeros((n, len(parts))) for r in rows}
    for r in outcome_rows:
        v[r] = rng.poisson(2.0, (n, len(parts))) * (rng.random((n, len(parts))) < 0.5)
    v[total_row] = sum(v[r] for r in outcome_rows)
    v[fwd_row] = rng.poisson(1.0, (n, len(parts)))
    if carry_in is not None:
        v[carry_row] = np.minimum(carry_in, v[total_row] + v[fwd_row])
    else:
        v[carry_row] = np.minimum(rng.poisson(1.0, (n, len(parts))), v[total_row] + v[fwd_row])
    v[new_row] = v[total_row] + v[fwd_row] - v[carry_row]
    out = np.zeros((n, len(rows) * len(cols)))
    k = 0
    for r in rows:  # Table.cells() order: rows outer, columns inner
        for c in cols:
            out[:, k] = v[r].sum(axis=1) if c == total_col else v[r][:, parts.index(c)]
            k += 1
    return out


def _review_values(fmt, n: int, rng) -> np.ndarray:
    cols = fmt.tables["review_litigation"].column_paths
    out = np.zeros((n, len(cols)))
    for i, c in enumerate(cols):
        if not c.endswith("总计"):
            out[:, i] = rng.poisson(0.7, n)
    for i, c in enumerate(cols):
        if c.endswith("总计"):
            grp = c.rsplit(" > ", 1)[0]
            out[:, i] = sum(out[:, j] for j, cc in enumerate(cols) if cc.startswith(grp + " > ") and cc != c)
    return out


def _active_values(fmt, n: int, rng, dims: pd.DataFrame) -> np.ndarray:
    out = np.zeros((n, len(dims)))
    for i, kind in enumerate(dims["_kind"]):
        if kind == "count":
            out[:, i] = rng.poisson(5.0, n)
        elif kind == "delta":
            out[:, i] = rng.integers(-3, 4, n)
        else:
            out[:, i] = np.round(rng.random(n) * 100, 4)
    return out


def _raw(values: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, dtype=object)
    flat, fk = values.ravel(), np.broadcast_to(kinds, values.shape).ravel()
    o = out.ravel()
    for i, (x, k) in enumerate(zip(flat, fk)):
        if k == "delta" and x > 0:
            o[i] = f"+{int(x)}"
        elif float(x).is_integer():
            o[i] = str(int(x))
        else:
            o[i] = f"{x:g}"
    return o.reshape(values.shape)


def report_id(org: str, year: int, salt: str = "") -> str:
    return hashlib.sha256(f"{org}|{year}|{salt}".encode()).hexdigest()


def _org_id(org: str) -> str:
    """The id the engine gives a body of that name (transforms/identity)."""
    from transforms.identity.organization import identify
    return identify(org).organization_id


def make_frames(n_reports: int = 3, *, formats=("2019", "2021"), seed: int = 0, year: int | None = None,
                organizations: list[str] | None = None, carry_in: dict[str, np.ndarray] | None = None,
                fast_raw: bool = False, salt: str = "") -> dict[str, pd.DataFrame]:
    """Consistent frames: {'reports', 'active_disclosure', 'applications', 'review_litigation'}.

    Report i uses formats[i % len(formats)], year `year` (default 2020 for 2019, 2022 for 2021),
    organization organizations[i] (default 机关{i}). carry_in: organization → applicant-part vector of
    the previous year's 四 (identity 6). fast_raw: raw_value from a vectorised str() (benchmarks).
    """
    rng = np.random.default_rng(seed)
    orgs = organizations or [f"测试机关{i:05d}" for i in range(n_reports)]
    by_fmt: dict[str, list[int]] = {}
    for i in range(n_reports):
        by_fmt.setdefault(formats[i % len(formats)], []).append(i)
    tables = {t: [] for t in CELL_TABLES}
    reports = []
    for fname, idx in by_fmt.items():
        fmt = FORMATS[fname]
        yr = year or (2020 if fname == "2019" else 2022)
        n = len(idx)
        rids = [report_id(orgs[i], yr, salt) for i in idx]
        srcs = [f"synthetic/{fname}/{orgs[i]}_{yr}.txt" for i in idx]
        for table in CELL_TABLES:
            dims = _dims(fmt, table)
            if table == "applications":
                ci = None
                if carry_in:
                    parts = len(fmt.tables["applications"].column_paths) - 1
                    ci = np.stack([np.asarray(carry_in.get(orgs[i], np.zeros(parts))) for i in idx])
                vals = _applications_values(fmt, n, rng, ci)
            elif table == "review_litigation":
                vals = _review_values(fmt, n, rng)
            else:
                vals = _active_values(fmt, n, rng, dims)
            m = len(dims)
            df = pd.DataFrame({c: np.tile(dims[c].to_numpy(dtype=object), n) for c in dims.columns
                               if not c.startswith("_")})
            df.insert(0, "report_id", np.repeat(rids, m))
            df.insert(1, "source_file", np.repeat(srcs, m))
            df.insert(2, "organization", np.repeat([orgs[i] for i in idx], m))
            df.insert(3, "organization_id", np.repeat([_org_id(orgs[i]) for i in idx], m))
            df.insert(4, "report_year", yr)
            df.insert(5, "template", fname)
            df.insert(6, "table", table)
            df["value"] = vals.ravel()
            if fast_raw:
                df["raw_value"] = pd.Series(vals.ravel()).map("{:g}".format).to_numpy()
            else:
                df["raw_value"] = _raw(vals, dims["_kind"].to_numpy()).ravel()
            df["flags"] = pd.Series([[] for _ in range(len(df))], dtype=object)
            df["source_line"] = np.tile(np.arange(1, m + 1) + 10, n)
            tables[table].append(df)
        for i, rid, src in zip(idx, rids, srcs):
            reports.append({
                "report_id": rid, "source_file": src, "organization": orgs[i], "organization_source": "title",
                "organization_id": _org_id(orgs[i]),
                "report_year": yr, "template": fname, "publication_date": None, "sha256": rid, "file_size": 1000,
                "encoding": "utf-8", "layout": "tab_cells", "parser_version": schema.PARSER_VERSION,
                "status": "parsed", **{f"{t}_status": "complete" for t in CELL_TABLES},
                "tables_found": list(CELL_TABLES), "tables_complete": list(CELL_TABLES),
                "n_cells": sum(len(FORMATS[fname].cell_addresses(t)) for t in CELL_TABLES),
                "n_flagged": 0, "n_inferred": 0, "n_unresolved": 0, "problems": [], "verdict": None,
                "failed_checks": None,
            })
    out = {"reports": conform(pd.DataFrame(reports), "reports")}
    for t in CELL_TABLES:
        out[t] = conform(pd.concat(tables[t], ignore_index=True) if tables[t] else pd.DataFrame(), t)
    return out


def forward_carry(frames: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    """organization → the applicant-part values of 四、结转下年度继续办理 (to feed make_frames(carry_in=))."""
    app = frames["applications"]
    out = {}
    fwd = app[app["row_path"] == "四、结转下年度继续办理"]
    for org, g in fwd.groupby("organization"):
        g = g[~g["column_path"].str.endswith("> 总计")]
        out[org] = g["value"].to_numpy()
    return out
