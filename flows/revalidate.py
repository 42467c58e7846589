"""`nianbao validate`: re-run the quality gate on what is published (pure; no Prefect).

Reports are validated in chunks (in report_id order), then the cross-report checks run over the
whole dataset (flows/crossreport.py, the same phase as a run's, every pair re-checked), then the
maintainers' reviews (flows/reviewpass.py); the ``reports`` (verdicts) and ``quality_checks``
datasets are replaced, the cell tables and the quarantine are carried over (hard links; the reports
whose corrected values changed are re-staged), the quality report is rebuilt, and the result is
published atomically as a new version like a run.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from flows import manifest as mf
from flows import catalog
from flows import publish as pub
from flows import store

REPLACED = ("reports", "quality_checks", "report_summary")


def _chunks(reports, size: int) -> list[list[str]]:
    ids = sorted(reports["report_id"].astype(str))
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def revalidate(dest: str, *, chunk_size: int = 2000, quality_report: bool = True, progress=None,
               reviews: str | None = None) -> dict:
    from transforms import schema as registry
    from flows import reviewpass
    from flows.batch import gate
    dest = Path(dest)
    review_set = reviewpass.load(reviews)
    names = list(registry.DATASETS)
    with pub.run_lock(dest), store.Transaction(dest) as tx:
        if pub.current_version(dest) is None:
            raise pub.PublishError(f"nothing published under {dest}; run `nianbao run` first")
        prev = tx.open([*names, *catalog.CATALOG_FILES])
        assert prev is not None
        run_id = tx.id
        staging = tx.stage()
        context_root = str(dest / ".gx")
        reports = pub.load_frame(prev / "reports", "reports")
        chunks = _chunks(reports, chunk_size)
        failures, warnings, verdicts = [], [], {}
        for i, ids in enumerate(chunks):
            value_set = pa.array(ids, type=pa.string())
            flt = pc.is_in(ds.field("report_id"), value_set=value_set)
            frames = {n: pub.load_frame(prev / n, n, filter=flt)
                      for n in ("reports", *registry.STATUTORY_TABLES, "statements")}
            out, views = gate(frames, None)
            # a published report the gate would now quarantine (structural): its cells are published,
            # so the version is kept as it is and the report named
            held = out["quarantine"]
            failures += [f"{r.source_file}: {r.reason}" for r in held.itertuples()]
            from expectations.gate import validate_views
            r = validate_views(views, run_name=f"nianbao-validate-{run_id}", context_root=context_root)
            ok = not len(held) and r.structural_ok
            failures += r.structural_failures
            warnings += r.warnings
            if ok:
                for n in REPLACED:
                    pub.write_staged(pub.table_from_frame(out[n], n), n, staging, f"c{i:05d}")
                for k, v in out["reports"]["verdict"].value_counts().items():
                    verdicts[str(k)] = verdicts.get(str(k), 0) + int(v)
            if progress:
                progress(len(ids))
        if not failures:               # the checks across years, over the whole dataset
            from flows import crossreport as xr
            plan = xr.plan(xr.validate_sources(staging, prev), changed=None, staged_ids=set(reports["report_id"]))
            failures += xr.validate(plan, f"nianbao-validate-{run_id}", context_root)
            warnings += plan.summary.get("warnings", [])
            if not failures:
                xr.apply(plan, staging, prev)
                verdicts = xr.verdict_counts(verdicts, plan.verdict_patch, set(reports["report_id"]))
        reviewed = {"remove": {}, "years": {}}
        if not failures:
            reviewed = reviewpass.apply(review_set, staging, prev)
        if failures:
            tx.remove_unpublished()
            return {"structural_failures": failures, "warnings": warnings[:50], "verdicts": verdicts,
                    "version": prev.name, "published": False}
        partial = tx.begin()
        reviewpass.write_sidecar(partial, review_set)
        for n in names:
            if n in REPLACED:
                pub.publish_dataset(n, prev / n, staging / n, partial / n, set(), replace=True)
            elif n in reviewed["remove"]:          # corrected values changed: those reports re-staged
                pub.publish_dataset(n, prev / n, staging / n, partial / n, set(reviewed["remove"][n]),
                                    reviewed["years"][n])
            else:
                pub.publish_dataset(n, prev / n, None, partial / n, set())
        tx.seal(mf.load(prev), registry.PARSER_VERSION)
        summary = {"run_id": run_id, "verdicts": verdicts, "warnings": warnings[:50], "structural_failures": [],
                   "version": tx.vid, "published": True, "reports": int(len(reports))}
        if len(review_set) or reviewed.get("summary", {}).get("patched_files"):
            summary["reviews"] = reviewed["summary"]
        if quality_report:
            from flows.pipeline import report_step
            if report_step(str(partial), context_root):
                summary["quality_report"] = str(dest / pub.QUALITY_REPORT / "index.html")
        tx.commit(summary)
        return summary
