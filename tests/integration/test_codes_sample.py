"""The embedded sample (data/raw) run and published: its codes and one summary row per report, and the README's
query recipes run on it and print its figures (the codes and summaries themselves: unit/test_codes.py)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from transforms.codes import codes_frame

from paths import ROOT


# ------------------------------------------------------------------ the embedded sample, published; the README's recipes
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from flows.pipeline import RunConfig, run_plain
    root = tmp_path_factory.mktemp("sample")
    run_plain(RunConfig(source=str(ROOT / "data" / "raw"), dest=str(root / "data" / "processed"), quality_report=False))
    return root


def test_sample_publishes_codes_and_one_summary_row_per_report(sample):
    from flows import publish as pub
    dest = sample / "data" / "processed"
    codes = pub.load_frame(dest / "codes", "codes")
    pd.testing.assert_frame_equal(codes, codes_frame(), check_dtype=False)
    reports = pub.load_frame(dest / "reports", "reports")
    summary = pub.load_frame(dest / "report_summary", "report_summary")
    assert sorted(summary["report_id"]) == sorted(reports["report_id"]) and len(reports) == 7
    assert (summary.set_index("report_id")["verdict"] == reports.set_index("report_id")["verdict"]).all()
    assert summary["new_applications"].max() > 0 and summary["licensing_decisions"].max() > 0


def test_readme_recipes_run_on_the_sample_and_print_its_figures(sample, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Query recipes"):]
    section = section[:section.index("\n## ", 5)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(sample)
    ns: dict = {}
    for b in blocks:
        exec(compile(b, "README.md", "exec"), ns)
    assert str(ns["summary"]["report_year"].dtype) == "Int64"
    apps = ns["apps"]
    assert str(apps["report_year"].dtype) == "Int64"
    # the figures the README quotes
    assert apps["value"].sum() == 86378 and apps.loc[~apps.is_total, "value"].sum() == 29379
    by_applicant = ns["new"].groupby("applicant_code")["value"].sum()
    assert (by_applicant["natural_person"], by_applicant["business"], by_applicant.sum()) == (13695, 259, 14160)
    assert by_applicant.sum() == ns["summary"]["new_applications"].sum()     # the parts add up to the 总计 column
    out = capsys.readouterr().out
    for figure in ("5548", "2168", "730", "3421", "457", "1486"):              # DuckDB's outcome mix of 2025
        assert figure in out
    kept = ns["kept"].groupby(["report_year", "template"])[["new_applications", "granted", "total_handled"]].sum(min_count=1)
    assert kept.loc[(2025, "2021")].tolist() == [14069, 5548, 13810]
