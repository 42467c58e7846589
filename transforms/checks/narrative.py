"""The prose against the tables (the narrative rows of quality_checks): each statement the reader
found in the report's text (transforms/narrative.py, declared in transforms/narrative.yaml) compared
with the cells it names, the statistics period with report_year, and the six sections in order.
Status pass or warn only: the prose is a second copy of numbers the tables hold."""
from __future__ import annotations

import numpy as np
import pandas as pd

from transforms.narrative import SECTION_PREFIX, SPEC, TABLE, Quantity, check_names

def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _quote(s: str, limit: int = 60) -> str:
    s = " ".join(str(s).split())
    return "“" + (s if len(s) <= limit else s[:limit] + "…") + "”"


def quality_checks(statements: pd.DataFrame | None, report_ids, report_years, prepared: dict,
                   address_index: dict) -> pd.DataFrame:
    """The narrative rows of quality_checks: one row per report × narrative check, status pass or
    warn. ``prepared``: the encoded cell tables (transforms.checks.reconcile.Prepared: .reports, .format,
    .W); ``address_index``: table → the address index of their value matrices.

    Per check the columns are built whole: most reports state nothing that disagrees, and their row
    is the counts and the same few texts; only the statements are read one by one."""
    rids = pd.Series(report_ids, dtype="str").to_numpy(dtype=object).tolist()
    years = dict(zip(rids, pd.array(report_years, dtype="Int64")))
    n = len(rids)
    checks = check_names()
    if n == 0:
        return pd.DataFrame(columns=["report_id", "check", "identity_number", "table", "format", "status",
                                     "n_evaluated", "n_failed", "n_not_evaluable", "observed", "cells",
                                     "related_report_id"])
    # per check: counts per report, and the observations and cells of the reports that have some
    acc = {c: {"ev": np.zeros(n, np.int64), "bad": np.zeros(n, np.int64), "ne": np.zeros(n, np.int64),
               "obs": {}, "cells": {}} for c in checks}
    acc[SPEC.section_check]["ne"][:] = len(SPEC.sections)     # no heading found: none evaluable
    pos = {r: i for i, r in enumerate(rids)}
    by_report: dict[int, list] = {}
    if statements is not None and len(statements):
        cols = [statements[c].to_numpy(dtype=object) for c in ("report_id", "quantity", "value", "sentence",
                                                                 "source_line", "raw_text")]
        for rid, qn, v, sent, line, raw in zip(*cols):
            j = pos.get(str(rid))
            if j is not None:
                got = by_report.get(j)
                if got is None:
                    by_report[j] = [(qn, float(v), sent, line, raw)]
                else:
                    got.append((qn, float(v), sent, line, raw))
    qmap = {q.name: q for q in SPEC.quantities}
    where = {t: {r: k for k, r in enumerate(p.reports)} for t, p in prepared.items()}
    indexers: dict = {}
    for j, items in by_report.items():
        sections = []
        for qn, v, sent, line, raw in items:
            if qn.startswith(SECTION_PREFIX):
                sections.append((qn[len(SECTION_PREFIX):], int(v), raw, int(line), sent))
                continue
            if qn == SPEC.period_quantity:
                a = acc[SPEC.year_check]
                y = years.get(rids[j])
                if y is pd.NA or y is None:
                    a["ne"][j] += 1
                    continue
                a["ev"][j] += 1
                if int(v) != int(y):
                    a["bad"][j] += 1
                    a["obs"].setdefault(j, []).append(f"statistics period {_num(v)} ≠ report_year {y} "
                                                      f"(line {line}: {_quote(sent)})")
                continue
            q = qmap.get(qn)
            if q is None or not q.cells:
                continue
            a = acc[q.check]
            table_value, cells = _table_value(q, rids[j], prepared, where, address_index, indexers)
            if table_value is None:
                a["ne"][j] += 1
                continue
            a["ev"][j] += 1
            ok = v >= table_value - 1e-9 if q.relation == "at_least" else abs(v - table_value) <= 1e-6
            if not ok:
                a["bad"][j] += 1
                rel = "<" if q.relation == "at_least" else "≠"
                a["obs"].setdefault(j, []).append(
                    f"{qn}: prose {_num(v)} (printed {raw!r}) {rel} table {_num(table_value)} "
                    f"[{'; '.join(cells)}] (line {line}: {_quote(sent)})")
                a["cells"].setdefault(j, []).extend(cells)
        if sections:
            _section_result(acc[SPEC.section_check], j, sections)
    columns: dict[str, list] = {"report_id": rids * len(checks), "check": [], "status": [], "n_evaluated": [],
                                "n_failed": [], "n_not_evaluable": [], "observed": [], "cells": []}
    for c in checks:
        a = acc[c]
        bad, ev, ne = a["bad"].tolist(), a["ev"].tolist(), a["ne"].tolist()
        columns["check"] += [c] * n
        columns["status"] += [_STATUS[b > 0] for b in bad]
        columns["n_evaluated"] += ev
        columns["n_failed"] += bad
        columns["n_not_evaluable"] += ne
        ok_texts: dict[tuple[int, int], str] = {}
        observed = []
        for e, x in zip(ev, ne):
            t = ok_texts.get((e, x))
            if t is None:
                t = ok_texts[(e, x)] = _ok_text(c, e, x)
            observed.append(t)
        for j, obs in a["obs"].items():
            if obs:
                observed[j] = " | ".join(obs[:5]) + (f" (+{len(obs) - 5} more)" if len(obs) > 5 else "")
        columns["observed"] += observed
        cells = [[] for _ in range(n)]
        for j, got in a["cells"].items():
            cells[j] = list(dict.fromkeys(got))
        columns["cells"] += cells
    df = pd.DataFrame(columns)
    df.insert(2, "identity_number", pd.NA)
    df.insert(3, "table", TABLE)
    df.insert(4, "format", None)
    df["related_report_id"] = None
    return df


_STATUS = ("pass", "warn")


def _ok_text(check: str, evaluated: int, not_evaluable: int) -> str:
    if check == SPEC.section_check:
        if not evaluated:
            return "no section heading found: not evaluated"
        if not_evaluable:
            return (f"{evaluated} sections present, in order, with their ordinals; {not_evaluable} before the first "
                    "or after the last heading found not evaluated (the copy may start or end there)")
        return "the six sections present, in order, with their ordinals"
    if evaluated == 0 and not_evaluable == 0:
        return "no statement of the prose to compare"
    extra = f"; {not_evaluable} not comparable (table cell blank or absent)" if not_evaluable else ""
    return f"{evaluated} statement(s) of the prose agree with the tables{extra}"


def _table_value(q: Quantity, rid: str, prepared: dict, where: dict, address_index: dict,
                 indexers: dict | None = None):
    """(sum of the quantity's cells in the report's format of their table, their labels); (None, [])
    when the report has no such table, its format has no such quantity, or a cell is blank/absent.
    ``indexers``: the cells' positions in each table's matrix, kept across the reports of a batch."""
    for table, p in prepared.items():
        k = where[table].get(rid)
        if k is None:
            continue
        fmt = p.format[k]
        cells = q.cells.get(fmt)
        if not cells:
            continue
        if indexers is None:
            idx = address_index[table].get_indexer(cells)
        else:
            idx = indexers.get((table, cells))
            if idx is None:
                idx = indexers[(table, cells)] = address_index[table].get_indexer(cells)
        if (idx < 0).any():
            continue                                   # the cells are in another table
        vals = p.W[k, idx]
        if np.isnan(vals).any():
            return None, []
        return float(vals.sum()), [f"{r} | {c}" if r else c for r, c in cells]
    return None, []


def _section_result(a: dict, j: int, sections: list[tuple[str, int, str, int, str]]) -> None:
    """Six required sections: present, with the ordinal of their place, in that order. A section
    missing before the first heading found or after the last one is not evaluable: the copy may
    start or end there (a page, a copy cut inside a table); one missing between two found is missing."""
    keys = [k for k, _ in SPEC.sections]
    found = {k: (o, raw, line, sent) for k, o, raw, line, sent in sections}
    if not found:
        a["ne"][j] = len(keys)
        return
    places = [i for i, k in enumerate(keys) if k in found]
    inner = range(places[0], places[-1] + 1)
    a["ev"][j] = len(inner)
    a["ne"][j] = len(keys) - len(inner)
    problems = []
    for i in inner:
        k = keys[i]
        if k not in found:
            problems.append(f"section {SPEC_ORDINALS[i]} ({k}) missing")
        elif found[k][0] != i + 1:
            o, raw, line, sent = found[k]
            problems.append(f"section {k} numbered {raw} instead of {SPEC_ORDINALS[i]} (line {line}: {_quote(sent, 30)})")
    # Out of order only when a later section's heading is on an earlier line: headings sharing a line
    # (an HTML page printed on one line) have no order the line numbers can show, so none is claimed.
    expected = [k for k in keys if k in found]
    lines = [found[k][2] for k in expected]
    if any(a > b for a, b in zip(lines, lines[1:])):
        order = sorted((line, i, k) for i, (k, line) in enumerate(zip(expected, lines)))
        problems.append("sections out of order: " + " → ".join(f"{k} (line {line})" for line, _, k in order))
    a["bad"][j] = len(problems)
    a["obs"][j] = problems


SPEC_ORDINALS = [o for o, _ in sorted(SPEC.ordinals.items(), key=lambda kv: kv[1])]
