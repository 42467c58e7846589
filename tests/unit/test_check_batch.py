"""transforms/checks/batch.py: the one gate sequence that run, validate and parse share, and the
declarations the checks and the page derive from the format catalogue instead of naming them."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from synthetic.frames import make_frames
from transforms import schema
from transforms.checks.batch import check_batch
from transforms.checks.catalogue import identity_instances
from transforms.checks.reconcile import reconcile
from transforms.checks.rules import quality_checks
from transforms.checks.verdicts import verdicts
from transforms.formats import FORMATS

from paths import SEEDS

SEED = sorted(SEEDS.glob("*.txt"))[0]


def _unreadable(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The frames with their first report made unreadable (its cells kept, as a reader may leave some)."""
    rep = frames["reports"].copy()
    rep.loc[0, "status"] = "unreadable"
    rep.loc[0, "problems"] = pd.Series([["empty file [empty]"]], dtype=object).iloc[0]
    return {**frames, "reports": rep}


def test_check_batch_is_the_checks_in_order_and_keeps_quarantined_reports_out_of_every_dataset():
    frames = _unreadable(make_frames(4))
    bad = frames["reports"]["report_id"].iloc[0]
    checked = check_batch(frames)
    out = checked.frames
    assert set(out) == {"reports", *schema.STATUTORY_TABLES, "quality_checks", "quarantine", "statements",
                        "report_summary"}
    assert list(out["quarantine"]["report_id"]) == [bad]
    assert out["quarantine"]["reason_code"].tolist() == ["empty"]
    for name in ("reports", *schema.STATUTORY_TABLES, "quality_checks", "report_summary"):
        assert bad not in set(out[name]["report_id"]), name
    # the same rows as the checks called one by one on the readable reports
    rest = {k: v[v["report_id"] != bad].reset_index(drop=True) for k, v in frames.items()}
    qc = quality_checks(rest, reconcile(rest))
    pd.testing.assert_frame_equal(out["quality_checks"], qc)
    pd.testing.assert_frame_equal(out["reports"], verdicts(rest["reports"], qc))
    assert len(checked.reconciliation) and set(checked.reconciliation["report_id"]) == set(rest["reports"]["report_id"])
    assert list(checked.timings) == ["prepare", "reconcile", "quality_checks", "report_summary"]


def test_the_gx_half_starts_from_the_same_checks():
    """prepare_batch (run, validate) publishes exactly check_batch's frames when no report breaks a
    critical row rule: the gate sequence is written once."""
    from expectations.gate import prepare_batch
    frames = _unreadable(make_frames(3, seed=2))
    p, checked = prepare_batch(frames), check_batch(frames)
    assert set(p.frames) == set(checked.frames)
    for name, df in checked.frames.items():
        pd.testing.assert_frame_equal(p.frames[name], df, obj=name)
    pd.testing.assert_frame_equal(p.reconciliation, checked.reconciliation)


def test_parse_shows_the_verdict_of_the_one_gate(capsys):
    from flows.cli import main
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    assert main(["parse", str(SEED)]) == 0
    verdict = check_batch(to_frames([parse_report(SEED.read_bytes(), str(SEED))])).frames["reports"]["verdict"].iloc[0]
    assert f"verdict: {verdict}" in capsys.readouterr().out


@pytest.mark.parametrize("fname", sorted(FORMATS))
def test_identity_instances_expand_every_column_or_row_of_the_table(fname):
    fmt = FORMATS[fname]
    for k, ident in enumerate(fmt.identities):
        t = fmt.tables[ident.table]
        keys = t.column_paths if ident.for_each == "column" else t.row_paths
        insts = ident.instances(fmt)
        assert [key for key, _l, _r in insts] == list(keys)
        for key, lhs, rhs in insts:
            at = (lambda p: (p, key)) if ident.for_each == "column" else (lambda p: (key, p))  # noqa: B023
            assert lhs == [at(p) for p in ident.lhs] and rhs == [at(p) for p in ident.rhs]
        assert [i[0] for i in identity_instances(fname, k)] == list(keys)


def test_the_page_finds_the_outcome_rows_by_the_format_tree_not_by_an_identity_id(monkeypatch):
    from quality_page import report
    before = report.outcome_groups()
    assert before and all(code for code in before.values())
    renamed = {name: dataclasses.replace(f, identities=tuple(dataclasses.replace(i, id=f"renamed_{i.id}")
                                                             for i in f.identities))
               for name, f in FORMATS.items()}
    monkeypatch.setattr(report, "FORMATS", renamed)
    assert report.outcome_groups() == before
