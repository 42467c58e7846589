"""The run-level cross-report phase: after every batch is parsed and validated, before publishing
(and in ``nianbao validate``). No Prefect; GX only in :func:`validate`, imported lazily.

It reads only the columns the run-level checks need (organisation, division, year, report_id, the
carry-over and roll-forward cells with their flags, every cell of tables 三 and 四 of the consolidated
reports it re-checks and of their constituents, each table's format, the non-passing checks and
verdicts of the reports it re-checks) from the staged and published Parquet, runs transforms.checks.crossyear,
and stages the result:

* the cross-year ``quality_checks`` rows of every re-checked report, after its other rows (staged
  under the tag ``x00000``, which sorts after the batches' tags: publishing keeps that order);
* a published report it re-checks (year N+1 of a new report of year N, or the successor of a
  removed one) is re-staged whole in ``quality_checks`` (its other rows copied from the published
  version), and in ``reports`` and ``report_summary`` when its verdict changes: the plan lists those ids for removal from the
  previous version of those two datasets only;
* the verdicts of new reports are patched in the staged ``reports`` and ``report_summary`` files (a
  published report whose verdict changes is re-staged in both).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from flows import publish as pub
from transforms.checks import crossyear as cy
from transforms.checks.catalogue import cross_year_check_names

TAG = "x00000"        # sorts after the parse batches' b<no> and validate's c<no> staged files


def _mask_in(col, values: pa.Array) -> pa.Array:
    """Row mask: col in values (a dictionary column tests its few distinct values, not every row)."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        m = pc.is_in(col.dictionary, value_set=values).take(col.indices)
    else:
        m = pc.is_in(col, value_set=values)
    return pc.fill_null(m, False)


def _may_hold(path: Path, ids: pa.Array) -> bool:
    """False when the file's report_id statistics (published files carry them) show that none of the
    sorted ``ids`` is in it; True without statistics (staged files)."""
    import bisect
    meta = pq.ParquetFile(path).metadata
    paths = [meta.schema.column(i).path for i in range(meta.num_columns)]   # leaf columns: statistics' index
    col = paths.index("report_id") if "report_id" in paths else None
    if col is None or meta.num_rows == 0:
        return col is not None
    lo = hi = None
    for i in range(meta.num_row_groups):
        st = meta.row_group(i).column(col).statistics
        if st is None or not st.has_min_max:
            return True
        lo = st.min if lo is None else min(lo, st.min)
        hi = st.max if hi is None else max(hi, st.max)
    lo, hi = (x.decode() if isinstance(x, bytes) else x for x in (lo, hi))
    wanted = ids.to_pylist()
    k = bisect.bisect_left(wanted, lo)
    return k < len(wanted) and wanted[k] <= hi


@dataclass
class StagedIndex:
    """Which staged files hold each report: the partition folder and batch tag of its ``reports`` file.
    A batch writes every dataset of its reports under its own tag and the report's partition, so a
    read for a few reports opens only their files (at 10,000 reports the pass opened the 98 staged
    files of each dataset to find the 22 reports of 11 year-pairs: ~1.3 s of its ~2.2 s of CPU; the
    ids are sha256-spread, so report_id statistics cannot skip a file). A file whose place no
    report of the index has (written by another step) is always read."""
    where: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    known: set[tuple[str, str]] = field(default_factory=set)

    def add(self, key: tuple[str, str], ids) -> None:
        self.known.add(key)
        for rid in ids:
            self.where.setdefault(rid, set()).add(key)

    def places(self, ids) -> set[tuple[str, str]]:
        return {k for rid in ids for k in self.where.get(rid, ())}

    def skips(self, key: tuple[str, str], places: set[tuple[str, str]]) -> bool:
        return key in self.known and key not in places


def staged_place(path: Path, root: Path) -> tuple[str, str]:
    """A staged file's partition folder (relative to its dataset's folder) and batch tag."""
    return path.parent.relative_to(root).as_posix(), path.name.split("-", 1)[0]


def read_rows(root: Path | None, dataset: str, columns: list[str], *, ids=None, exclude=None,
              where: list[dict[str, list[str]]] | None = None, categorical: bool = False,
              index: StagedIndex | None = None, indexing: bool = False) -> pd.DataFrame:
    """`columns` of the rows of a staged or published dataset directory: only reports in `ids` (if
    given) and not in `exclude`, only rows matching one of the `where` alternatives (column → values,
    all of them). Files are read column by column with strings as dictionaries, so the filters test
    distinct values. Strings come back as plain objects (the pass looks ids up in Python sets; pandas'
    isin on its Arrow-backed strings converts the set element by element), or with `categorical` as
    categoricals straight from the dictionaries (the cell tables' many repeated paths).

    ``index`` (a staged root): with `ids`, only the files holding those reports are opened; with
    ``indexing`` it is filled instead, with the place of every row read (a `reports` read)."""
    from transforms import schema as registry
    fields = {f.name: f for f in registry.fields(dataset)}
    file_cols = [c for c in columns if c != pub.PARTITION_KEY]
    need = list(dict.fromkeys([*file_cols, "report_id", *(c for alt in where or () for c in alt)]))
    strings = [c for c in need if fields[c].arrow == pa.string()]
    where = [{c: pa.array(sorted(v), pa.string()) for c, v in alt.items()} for alt in where or ()]
    keep_ids = None if ids is None else pa.array(sorted(ids), pa.string())
    drop_ids = pa.array(sorted(exclude), pa.string()) if exclude else None
    if keep_ids is not None and len(keep_ids) == 0:
        files = []
    else:
        files = sorted(root.rglob("*.parquet")) if root is not None and root.exists() else []
    places = index.places(ids) if index is not None and not indexing and ids is not None else None
    parts = []
    for path in files:
        if places is not None and index.skips(staged_place(path, root), places):
            continue
        if keep_ids is not None and not _may_hold(path, keep_ids):
            continue
        t = pq.read_table(path, columns=need, read_dictionary=strings, use_threads=False)
        if indexing and index is not None:
            index.add(staged_place(path, root), t["report_id"].cast(pa.string()).to_pylist())
        mask = None
        for alt in where:
            m = None
            for c, values in alt.items():
                mc = _mask_in(t[c], values)
                m = mc if m is None else pc.and_(m, mc)
            mask = m if mask is None else pc.or_(mask, m)
        if keep_ids is not None:
            m = _mask_in(t["report_id"], keep_ids)
            mask = m if mask is None else pc.and_(mask, m)
        if drop_ids is not None:
            m = pc.invert(_mask_in(t["report_id"], drop_ids))
            mask = m if mask is None else pc.and_(mask, m)
        if mask is not None and t.num_rows:
            t = t.filter(mask)
        if t.num_rows == 0:
            continue
        t = t.select(file_cols)
        if pub.PARTITION_KEY in columns:
            year = pub.year_of_dirname(path.parent.name) if pub.is_partition_dirname(path.parent.name) else None
            t = t.append_column(pub.PARTITION_KEY, pa.array([year] * t.num_rows, type=pa.int64()))
        parts.append(t.select(columns))
    if not parts:
        sch = registry.arrow_schema(dataset)
        return pa.schema([sch.field(c) for c in columns]).empty_table().to_pandas()
    t = pa.concat_tables(parts, promote_options="permissive")
    out = {}
    for c in columns:
        col = t[c]
        if c in fields and fields[c].arrow == pa.string():
            if categorical:
                out[c] = col.to_pandas()
                continue
            col = col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
            out[c] = pd.Series(col.to_numpy(), dtype=object)
        else:
            out[c] = col.to_pandas()
    return pd.DataFrame(out)


@dataclass
class Sources:
    """Where each dataset's rows come from: [(directory, report ids to leave out)]; ``index``: which
    files of the staging folder ``staged`` hold each report (reads of some reports open only those)."""
    reports: list
    quality_checks: list
    cells: dict[str, list]
    staged: Path | None = None
    index: StagedIndex | None = None
    # rows a caller has read already, whole (no filter, nothing left out): root → frame of some columns
    read_already: dict[Path, pd.DataFrame] = field(default_factory=dict)

    def read(self, dataset: str, columns, **kw) -> pd.DataFrame:
        srcs = self.cells[dataset] if dataset in self.cells else getattr(self, dataset)
        frames = [self.read_already[root] if not kw and not exclude and list(columns) == list(
                      getattr(self.read_already.get(root), "columns", ())) else
                  read_rows(root, dataset, list(columns), exclude=set(exclude) or None,
                            index=self.index if root.parent == self.staged else None, **kw)
                  for root, exclude in srcs]
        frames = [f for f in frames if len(f)] or frames[:1]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


@dataclass
class Plan:
    """What the pass found and what applying it stages."""
    reconciliation: pd.DataFrame
    quality_checks: pd.DataFrame          # the cross-year rows (all re-checked reports)
    owners: set[str]
    published_owners: set[str]
    verdict_patch: pd.DataFrame           # report_id, verdict, failed_checks, old_verdict
    summary: dict = field(default_factory=dict)
    remove: dict[str, set] = field(default_factory=dict)   # dataset → ids to drop from the previous version
    years: dict[str, set] = field(default_factory=dict)    # dataset → partitions those ids live in
    index: StagedIndex | None = None      # the sources' index of the staged files (apply patches only those)


def run_sources(staging: Path, prev: Path | None, removed: set[str], staged_ids: set[str],
                index: StagedIndex | None = None, staged_reports: pd.DataFrame | None = None) -> Sources:
    """A run: the staged rows, and the published rows of reports neither replaced nor removed.
    ``index``: of the staged reports (read_rows(..., index=, indexing=True) of staging/reports);
    ``staged_reports``: every staged reports row, as read by the caller (not read again)."""
    gone = set(removed) | set(staged_ids)

    def two(name):
        return [(staging / name, ()), *(((prev / name, gone),) if prev is not None else ())]
    return Sources(two("reports"), two("quality_checks"), {t: two(t) for t in cy.cell_tables()},
                   staged=staging if index is not None else None, index=index,
                   read_already={} if staged_reports is None else {staging / "reports": staged_reports})


def validate_sources(staging: Path, prev: Path) -> Sources:
    """``nianbao validate``: reports and quality_checks freshly staged, cells as published."""
    return Sources([(staging / "reports", ())], [(staging / "quality_checks", ())],
                   {t: [(prev / t, ())] for t in cy.cell_tables()})


def plan(src: Sources, *, changed: pd.DataFrame | None, staged_ids: set[str]) -> Plan:
    """Run the cross-year checks for the reports `changed` touches (None: every report).

    `changed`: report_year and the pairing column of the new, replaced and removed reports;
    `staged_ids`: the reports whose rows are in the staging area (the others are published)."""
    t0 = time.perf_counter()
    reports = src.read("reports", cy.report_columns())
    all_members = cy.consolidated_members(reports)
    owners = set(reports["report_id"]) if changed is None else cy.affected_owners(reports, changed, all_members)
    pr = cy.pairs(reports, owners)
    involved = set(pr["cur_id"]) | set(pr["prev_id"])
    tables = cy.tables()
    # each table's format, for the reports of a pair
    fm = src.read("quality_checks", ["report_id", "check", "format"], ids=involved,
                  where=[{"check": [f"{t}.completeness" for t in tables]}])
    fm = fm.assign(table=fm["check"].str.split(".", n=1).str[0])
    cells = {}
    for t in tables:
        rows, cols = cy.addresses(t)
        cells[t] = src.read(t, cy.CELL_COLUMNS, ids=involved, categorical=True,
                            where=[{"row_path": sorted(rows), "column_path": sorted(cols)}])
    # consolidated reports of the owners with their constituents: every cell of the compared tables
    members = all_members[all_members["cons_id"].isin(owners)]
    grouped = set(members["cons_id"]) | set(members["member_id"])
    cons_cells = {t: src.read(t, cy.CELL_COLUMNS, ids=grouped, categorical=True)
                  for t in sorted({c.table for c in cy.CHECKS.consolidated})} if grouped else {}
    t_read = time.perf_counter()
    recon = cy.evaluate(reports, fm, cells, owners, paired=pr)
    xqc = cy.checks(recon, reports, cy.consolidated_checks(reports, cons_cells, owners, members))
    t_eval = time.perf_counter()
    # a verdict can change only where cross-year rows come (the reports of a pair) or may go (a
    # published report re-checked: its old rows are replaced); a new report without a pair keeps the
    # verdict its batch gave it, so its checks and verdict are not read again
    refold = (set(xqc["report_id"]) | (owners - set(staged_ids))) & owners
    ver = src.read("reports", ["report_id", "verdict", "failed_checks"], ids=refold)
    other = src.read("quality_checks", ["report_id", "check", "status"], ids=refold,
                     where=[{"status": ["warn", "fail"]}])
    patch = cy.fold_verdicts(ver, other, xqc)
    old = ver.drop_duplicates("report_id").set_index("report_id")["verdict"]
    patch["old_verdict"] = old.reindex(patch["report_id"]).to_numpy(dtype=object)
    st = xqc["status"].value_counts()
    summary = {"reports": int(len(reports)), "rechecked": len(owners), "pairs": int(len(pr)),
               "consolidated": int(members["cons_id"].nunique()),
               "checks": {str(k): int(v) for k, v in st.items()},
               "verdicts_changed": int(len(patch)),
               "seconds": {"read": round(t_read - t0, 3), "evaluate": round(t_eval - t_read, 3),
                           "fold": round(time.perf_counter() - t_eval, 3)}}
    return Plan(recon, xqc, owners, owners - set(staged_ids), patch, summary, index=src.index)


def validate(p: Plan, run_name: str, context_root: str, engine: str = "gx") -> list[str]:
    """GX on the cross-year rows (the quality_checks and reconciliation suites, as for the batches' rows);
    returns the structural failures (then nothing of the plan may be applied). ``engine``: as the run's
    chunks (expectations.gate.engine_for)."""
    if len(p.reconciliation) == 0:
        return []
    from expectations import views
    from expectations.gate import validate_views
    r = validate_views({"quality_checks": views.make_view(p.quality_checks, "quality_checks"),
                        views.RECONCILIATION: views.make_view(p.reconciliation, views.RECONCILIATION)},
                       run_name=run_name, context_root=context_root, engine=engine)
    p.summary["warnings"] = list(r.warnings[:50])
    return list(r.structural_failures)


def apply(p: Plan, staging: Path, prev: Path | None) -> Plan:
    """Stage the plan's rows (see the module docstring); fills p.remove and p.years for publishing."""
    xnames = cross_year_check_names()
    pub_owners = sorted(p.published_owners)
    qc = p.quality_checks
    if pub_owners and prev is not None:
        old = pub.load_frame(prev / "quality_checks", "quality_checks",
                             filter=pc.is_in(ds.field("report_id"), value_set=pa.array(pub_owners, pa.string())))
        old = old[~old["check"].isin(xnames)]
        qc = pd.concat([old, qc], ignore_index=True) if len(old) else qc
        p.remove["quality_checks"] = set(pub_owners)
        p.years["quality_checks"] = set(old["report_year"].dropna().astype(int)) | \
            set(p.quality_checks.loc[p.quality_checks["report_id"].isin(pub_owners), "report_year"].dropna().astype(int))
    if len(qc):
        qc = qc.sort_values("report_id", kind="stable")    # a report's other rows, then its cross-year rows
        pub.write_staged(pub.table_from_frame(qc, "quality_checks"), "quality_checks", staging, TAG)
    patch = p.verdict_patch
    if len(patch):
        by_id = patch.set_index("report_id")
        # report_summary carries the verdict too: patched the same way, so it is the published one
        for name, columns in VERDICT_COLUMNS.items():
            staged = _patch_staged_reports(staging / name, by_id, columns, p.index)
            published = sorted(set(by_id.index) - staged)
            if published and prev is not None:
                rows = pub.load_frame(prev / name, name,
                                      filter=pc.is_in(ds.field("report_id"), value_set=pa.array(published, pa.string())))
                if not len(rows):
                    continue
                rows["verdict"] = by_id["verdict"].reindex(rows["report_id"]).to_numpy(dtype=object)
                if "failed_checks" in columns:
                    rows["failed_checks"] = pd.Series(list(by_id["failed_checks"].reindex(rows["report_id"])),
                                                      index=rows.index, dtype=object)
                pub.write_staged(pub.table_from_frame(rows, name), name, staging, TAG)
                p.remove[name] = set(rows["report_id"])
                p.years[name] = set(rows["report_year"].dropna().astype(int))
    return p


# datasets holding a report's verdict → the columns the cross-report pass replaces in them
VERDICT_COLUMNS = {"reports": ("verdict", "failed_checks"), "report_summary": ("verdict",)}
# every dataset apply() stages rows in or patches: a run publishes the others while the pass runs
RESTAGED = ("quality_checks", *VERDICT_COLUMNS)


def _patch_staged_reports(root: Path, patch: pd.DataFrame,
                          columns: tuple[str, ...] = ("verdict", "failed_checks"),
                          index: StagedIndex | None = None) -> set[str]:
    """Rewrite the staged files (of `reports` or `report_summary`) holding patched reports (`columns`
    replaced); returns the ids found there. ``index``: only the files it places them in are read."""
    found: set[str] = set()
    if not root.exists():
        return found
    ids = pa.array(list(patch.index), type=pa.string())
    places = index.places(patch.index) if index is not None else None
    for path in sorted(root.rglob("*.parquet")):
        if places is not None and index.skips(staged_place(path, root), places):
            continue
        t = pq.read_table(path)
        rid = t["report_id"].combine_chunks()
        rid = rid.cast(pa.string()) if pa.types.is_dictionary(rid.type) else rid
        where = pc.index_in(rid, value_set=ids)
        if where.null_count == len(where):
            continue
        hit = pc.is_valid(where)
        found.update(pc.filter(rid, hit).to_pylist())
        take = pc.fill_null(where, 0)
        verdict = t["verdict"].combine_chunks()
        verdict = verdict.cast(pa.string()) if pa.types.is_dictionary(verdict.type) else verdict
        new_v = pa.array(patch["verdict"].to_numpy(dtype=object), pa.string()).take(take)
        t = t.set_column(t.schema.get_field_index("verdict"), pa.field("verdict", pa.string()),
                         pc.if_else(hit, new_v, verdict))
        if "failed_checks" in columns:
            fc_type = t.schema.field("failed_checks").type
            new_fc = pa.array([list(x) for x in patch["failed_checks"]], fc_type).take(take)
            t = t.set_column(t.schema.get_field_index("failed_checks"), t.schema.field("failed_checks"),
                             pc.if_else(hit, new_fc, t["failed_checks"].combine_chunks()))
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(t, tmp, compression="none", use_dictionary=True, write_statistics=False)
        tmp.replace(path)
    return found


def verdict_counts(counts: dict[str, int], patch: pd.DataFrame, staged_ids: set[str]) -> dict[str, int]:
    """The run's verdict counts (of the reports it parsed) after the cross-year fold."""
    out = dict(counts)
    for rid, old, new in zip(patch["report_id"], patch["old_verdict"], patch["verdict"]):
        if rid in staged_ids and old != new:
            out[str(old)] = out.get(str(old), 0) - 1
            out[str(new)] = out.get(str(new), 0) + 1
    return {k: v for k, v in out.items() if v}


__all__ = ["read_rows", "StagedIndex", "staged_place", "Sources", "Plan", "run_sources", "validate_sources", "plan", "validate", "apply", "verdict_counts",
           "TAG", "VERDICT_COLUMNS", "RESTAGED"]
