"""CPU of the run-level cross-report pass (flows/crossreport.py) on N synthetic reports.

Stages N reports (N/4 bodies × 2019–2022, synthetic.frames frames with consistent carry-over
and roll-forward but for 2 % of the bodies, per-report checks from transforms.checks.reconcile) as
750-report parse batches would, untimed; then times the pass alone: plan
(read the columns it needs from the staged Parquet, pair, evaluate, fold verdicts) and apply (stage
its rows, patch the staged verdicts). Usage: python bench/crossreport_bench.py [N=20000]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # synthetic/ is not installed


def _roll_forward(prev: dict, cur: dict, fname: str, pname: str) -> None:
    """cur's table 二 rolled forward from prev (same organisations) wherever a cross-year check applies."""
    from transforms.formats import FORMATS
    ad, last = cur["active_disclosure"], prev["active_disclosure"]

    def at(df, a):
        m = (df["row_path"] == a[0]) & (df["column_path"] == a[1])
        return m, df.loc[m].set_index("organization")["value"]
    for c in FORMATS[fname].cross_year:
        if c.table != "active_disclosure":
            continue
        for _k, lhs, plus, minus, before in c.instances(FORMATS[fname], FORMATS[pname]):
            m, target = at(ad, lhs[0])
            v = sum(at(last, a)[1] for a in before) + sum(at(ad, a)[1] for a in plus) - sum(at(ad, a)[1] for a in minus)
            ad.loc[m, "value"] = v.reindex(target.index).to_numpy()
            ad.loc[m, "raw_value"] = ad.loc[m, "value"].map("{:g}".format)


def stage(n: int, staging: Path, broken: float = 0.02) -> None:
    """n reports of n/4 bodies over 2019–2022, carry-over and roll-forward consistent but for a
    `broken` share of the bodies' carry-over."""
    from synthetic.frames import forward_carry, make_frames
    from flows import publish as pub
    from transforms.checks.rules import quality_checks
    from transforms.checks.verdicts import verdicts
    bodies = [f"测试机关{i:05d}" for i in range(n // 4)]
    batch = 750 // 4
    for b in range(0, len(bodies), batch):
        orgs = bodies[b:b + batch]
        parts, prev = [], None
        for y, f in ((2019, "2019"), (2020, "2019"), (2021, "2021"), (2022, "2021")):
            fr = make_frames(len(orgs), year=y, formats=(f,), organizations=orgs, seed=y + b, fast_raw=True,
                             carry_in=forward_carry(prev) if prev else None)
            if prev is not None:
                _roll_forward(prev, fr, f, parts[-1]["reports"]["template"].iloc[0])
            parts.append(fr)
            prev = fr
        fr = {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in parts[0]}
        app = fr["applications"]
        hit = (app["row_path"] == "二、上年结转政府信息公开申请数量") & (app["report_year"] > 2019) & \
            (app["organization"].str[-5:].astype(int) % round(1 / broken) == 0)
        app.loc[hit, "value"] += 1
        qc = quality_checks(fr)
        fr["reports"] = verdicts(fr["reports"], qc)
        fr["quality_checks"] = qc
        for name, df in fr.items():
            pub.write_staged(pub.table_from_frame(df, name), name, staging, f"b{b:05d}")


def main(n: int) -> None:
    from flows import crossreport as xr
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "staging"
        t0 = time.perf_counter()
        stage(n, staging)
        print(f"staged {n} reports in {time.perf_counter() - t0:.1f} s (not timed)")
        c0, t0 = time.process_time(), time.perf_counter()
        index = xr.StagedIndex()          # as flows.steps.cross_report_step: the staged files indexed
        new = xr.read_rows(staging / "reports", "reports", xr.cy.report_columns(), index=index, indexing=True)
        ids = set(new["report_id"])
        plan = xr.plan(xr.run_sources(staging, None, set(), ids, index, new), changed=new, staged_ids=ids)
        c1, t1 = time.process_time(), time.perf_counter()
        xr.apply(plan, staging, None)
        c2, t2 = time.process_time(), time.perf_counter()
        print(f"pairs {plan.summary['pairs']}, cross-year rows {len(plan.quality_checks)}, "
              f"verdicts changed {plan.summary['verdicts_changed']}; plan stages {plan.summary['seconds']}")
        print(f"plan:  {c1 - c0:.2f} s CPU ({t1 - t0:.2f} s wall)")
        print(f"apply: {c2 - c1:.2f} s CPU ({t2 - t1:.2f} s wall)")
        print(f"total: {c2 - c0:.2f} s CPU for {n} reports")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
