"""The run-level cross-report phase end to end (plain executor): the checks across years are a
function of the dataset, whatever the batch size, run or `nianbao validate`, full or incremental."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import pandas as pd
import pytest

from flows import publish as pub
from flows.pipeline import RunConfig, run_plain
from flows.revalidate import revalidate
from synthetic.generator import identity_violations, make_truth, next_year, render

pytestmark = pytest.mark.slow      # several flow runs (plain executor)

XNAMES = ["carryover_across_years", "in_force_roll_forward", "items_roll_forward"]
YEARS = ((2020, "2019"), (2021, "2021"), (2022, "2021"))
BROKEN = (1, 2022)        # body 1's 2022 report does not carry its 2021 pending applications


def _corpus(root: Path, n_bodies: int = 4, seed: int = 7) -> None:
    """Bodies over 2019–2022 (the 2019 format, then 2021's), one broken pair; other reports around."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    layouts = ("tab_cells", "tsv", "pipe", "html")
    for b in range(n_bodies):
        series = [make_truth(rng, "2019", blanks=0.0)]
        series[0].report_year = 2019
        for year, fmt in YEARS:
            series.append(next_year(series[-1], rng, template=fmt, consistent=(b, year) != BROKEN))
        for t in series:
            assert not identity_violations(t)
            text = render(t, layouts[(b + t.report_year) % len(layouts)], rng, variants=False)
            (root / f"body{b}_{t.report_year}.txt").write_text(text, encoding="utf-8")
    for i in range(3):      # bodies with one report only
        t = make_truth(rng, "2021", blanks=0.0)
        (root / f"single{i}.txt").write_text(render(t, "tab_cells", rng, variants=False), encoding="utf-8")


def _published(dest: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pub.load_frame(dest / "quality_checks", "quality_checks"), pub.load_frame(dest / "reports", "reports"))


def _summary_has_the_final_verdicts(dest: Path) -> None:
    """report_summary holds one row per published report with the verdict reports publishes (the one
    after the checks across years), however the verdict was reached."""
    rep = pub.load_frame(dest / "reports", "reports").set_index("report_id")["verdict"]
    summ = pub.load_frame(dest / "report_summary", "report_summary").set_index("report_id")["verdict"]
    assert summ.index.is_unique and sorted(summ.index) == sorted(rep.index)
    assert summ.reindex(rep.index).astype(object).tolist() == rep.astype(object).tolist()


def _run(src: Path, dest: Path, batch_size: int) -> dict:
    return run_plain(RunConfig(source=str(src), dest=str(dest), glob="**/*.txt", batch_size=batch_size, workers=1,
                               quality_report=False))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("xyear") / "src"
    _corpus(src)
    return src


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("ref") / "out"
    _run(corpus, dest, 50)
    return dest


def test_cross_year_rows_on_the_generated_bodies(reference):
    qc, reports = _published(reference)
    x = qc[qc["check"].isin(XNAMES)]
    by = x.merge(reports[["report_id", "source_file"]], on="report_id", suffixes=("", "_r"))
    name = by["source_file"].map(lambda s: Path(s).stem)
    got = dict(zip(zip(name, by["check"]), by["status"]))
    for b in range(4):
        assert got[(f"body{b}_2020", "carryover_across_years")] == "pass"
        assert got[(f"body{b}_2020", "items_roll_forward")] == "pass"         # 2019 → 2019 format
        assert got[(f"body{b}_2021", "carryover_across_years")] == "pass"     # across the format change
        assert (f"body{b}_2021", "items_roll_forward") not in got             # no corresponding quantity
        assert (f"body{b}_2021", "in_force_roll_forward") not in got
        assert got[(f"body{b}_2022", "in_force_roll_forward")] == "pass"
        assert got[(f"body{b}_2022", "carryover_across_years")] == ("fail" if b == BROKEN[0] else "pass")
        assert not any(k[0] == f"body{b}_2019" for k in got)                  # no earlier year
    assert not any(k[0].startswith("single") for k in got)
    ver = dict(zip(reports["source_file"].map(lambda s: Path(s).stem), reports["verdict"]))
    fc = dict(zip(reports["source_file"].map(lambda s: Path(s).stem), reports["failed_checks"]))
    assert ver["body1_2022"] == "fail" and "carryover_across_years" in list(fc["body1_2022"])
    assert ver["body0_2022"] == "pass"
    _summary_has_the_final_verdicts(reference)
    # a report's cross-year rows come after its per-report rows
    rows = qc[qc["report_id"] == x.loc[x["status"] == "fail", "report_id"].iloc[0]]["check"].tolist()
    assert rows[-2:] == ["carryover_across_years", "in_force_roll_forward"]


def test_any_batch_size_and_validate_give_the_same_rows(corpus, reference, tmp_path):
    qc_ref, rep_ref = _published(reference)
    digest = {k: v for k, v in pub.digest(reference).items() if k.startswith(("quality_checks", "reports"))}
    for size in (1, 3):
        dest = tmp_path / f"b{size}"
        _run(corpus, dest, size)
        qc, rep = _published(dest)
        pd.testing.assert_frame_equal(qc, qc_ref)
        pd.testing.assert_frame_equal(rep, rep_ref)
        assert {k: v for k, v in pub.digest(dest).items() if k in digest} == digest
    # nianbao validate on the 1-report-batch output: the same rows again
    s = revalidate(str(tmp_path / "b1"), quality_report=False)
    assert s["published"] and s["verdicts"] == rep_ref["verdict"].value_counts().to_dict()
    qc, rep = _published(tmp_path / "b1")
    pd.testing.assert_frame_equal(qc, qc_ref)
    pd.testing.assert_frame_equal(rep, rep_ref)
    _summary_has_the_final_verdicts(tmp_path / "b1")


def test_incremental_run_rechecks_the_pairs_a_new_report_touches(corpus, reference, tmp_path):
    """Publish 2019, 2020 and 2022 first; the 2021 reports arrive next run: both their pairs are
    checked and the published 2022 reports' rows and verdicts updated, as a full run has them."""
    src = tmp_path / "src"
    shutil.copytree(corpus, src)
    later = tmp_path / "later"
    later.mkdir()
    for p in src.glob("*_2021.txt"):
        shutil.move(p, later / p.name)
    dest = tmp_path / "out"
    first = _run(src, dest, 3)
    qc1, rep1 = _published(dest)
    stem = rep1.set_index(rep1["source_file"].map(lambda s: Path(s).stem))["report_id"]
    assert not qc1[qc1["report_id"] == stem["body1_2022"]]["check"].isin(XNAMES).any()
    assert rep1.set_index("report_id").loc[stem["body1_2022"], "verdict"] == "pass"
    assert first["cross_report"]["pairs"] == 4                        # 2019 → 2020 only
    for p in later.iterdir():
        shutil.move(p, src / p.name)
    second = _run(src, dest, 3)
    assert second["cross_report"]["pairs"] == 8                       # 2020 → 2021 and 2021 → 2022
    assert second["verdicts"].get("fail", 0) == 0                     # the 2021 reports parsed now pass
    qc2, rep2 = _published(dest)
    x = qc2[qc2["check"].isin(XNAMES) & (qc2["report_id"] == stem["body1_2022"])]
    assert dict(zip(x["check"], x["status"])) == {"carryover_across_years": "fail", "in_force_roll_forward": "pass"}
    assert rep2.set_index("report_id").loc[stem["body1_2022"], "verdict"] == "fail"
    _summary_has_the_final_verdicts(dest)       # the published 2022 summary row was patched too
    # the same rows as a full run over the same folder
    full = tmp_path / "full"
    _run(src, full, 50)
    for a, b in zip((qc2, rep2), _published(full)):
        pd.testing.assert_frame_equal(a, b)
    # removing the 2021 reports (pruned) takes the 2022 reports' cross-year rows back out
    for p in src.glob("*_2021.txt"):
        p.unlink()
    run_plain(RunConfig(source=str(src), dest=str(dest), glob="**/*.txt", batch_size=3, workers=1, prune=True,
                        quality_report=False))
    qc3, rep3 = _published(dest)
    pd.testing.assert_frame_equal(qc3, qc1)
    pd.testing.assert_frame_equal(rep3, rep1)
    _summary_has_the_final_verdicts(dest)


def test_gx_gate_gives_the_same_cross_year_rows(corpus, reference, tmp_path, monkeypatch):
    dest = tmp_path / "gx"
    s = _run(corpus, dest, 3)
    assert not s["structural_failures"]
    assert any("carryover_across_years" in w for w in s["warnings"])
    for a, b in zip(_published(dest), _published(reference)):
        pd.testing.assert_frame_equal(a, b)


def test_read_rows_filters_on_dictionaries_and_reports(tmp_path):
    from synthetic.frames import make_frames
    from flows.crossreport import read_rows
    fr = make_frames(4, formats=("2019", "2021"))
    for i in (0, 2):
        part = fr["applications"][fr["applications"]["report_id"].isin(fr["reports"]["report_id"].iloc[i:i + 2])]
        pub.write_staged(pub.table_from_frame(part, "applications"), "applications", tmp_path, f"b{i:05d}")
    ids = list(fr["reports"]["report_id"])
    rows = ["二、上年结转政府信息公开申请数量", "四、结转下年度继续办理"]
    got = read_rows(tmp_path / "applications", "applications", ["report_id", "row_path", "value", "report_year"],
                    ids=set(ids[:3]), exclude={ids[0]}, where=[{"row_path": rows}])
    assert set(got["report_id"]) == set(ids[1:3]) and set(got["row_path"]) == set(rows)
    assert len(got) == 2 * 2 * 7 and got["report_id"].dtype == object
    assert set(got["report_year"]) == set(fr["reports"].set_index("report_id").loc[ids[1:3], "report_year"])
    # alternatives are ORed, the columns of one alternative ANDed
    alt = read_rows(tmp_path / "applications", "applications", ["report_id", "row_path", "column_path"],
                    where=[{"row_path": rows[:1], "column_path": ["申请人情况 > 总计"]}, {"row_path": rows[1:]}],
                    categorical=True)
    assert len(alt) == 4 * (1 + 7) and isinstance(alt["row_path"].dtype, pd.CategoricalDtype)
    assert len(read_rows(tmp_path / "applications", "applications", ["report_id"], ids=set())) == 0
    assert len(read_rows(tmp_path / "missing", "applications", ["report_id"])) == 0


def test_an_index_of_the_staged_files_opens_only_those_of_the_reports_read(tmp_path, monkeypatch):
    """The staged reports' places (partition folder, batch tag) index the other datasets' files: a read
    of some reports opens only their files and gives the same rows as a read of every file; a file no
    report of the index is placed in (written by another step) is still read."""
    import pyarrow.parquet as pq
    from synthetic.frames import make_frames
    from flows import crossreport as xr
    fr = make_frames(6, formats=("2019", "2021"))
    ids = list(fr["reports"]["report_id"])
    for b, (i, j) in enumerate(((0, 2), (2, 4), (4, 6))):
        for name in ("reports", "applications"):
            part = fr[name][fr[name]["report_id"].isin(ids[i:j])]
            pub.write_staged(pub.table_from_frame(part, name), name, tmp_path, f"b{b:05d}")
    index = xr.StagedIndex()
    new = xr.read_rows(tmp_path / "reports", "reports", ["report_id", "report_year"], index=index, indexing=True)
    assert sorted(new["report_id"]) == sorted(ids) and set(index.where) == set(ids)
    opened = []
    real = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda path, **kw: opened.append(Path(path)) or real(path, **kw))
    cols = ["report_id", "row_path", "column_path", "value"]
    wanted = {ids[0], ids[5]}
    got = xr.read_rows(tmp_path / "applications", "applications", cols, ids=wanted, index=index)
    assert {p.name.split("-")[0] for p in opened} == {"b00000", "b00002"}
    assert {xr.staged_place(p, tmp_path / "applications") for p in opened} == index.places(wanted)
    opened.clear()
    every = xr.read_rows(tmp_path / "applications", "applications", cols, ids=wanted)
    assert len(opened) == len(list((tmp_path / "applications").rglob("*.parquet"))) > 2
    pd.testing.assert_frame_equal(got.sort_values(cols).reset_index(drop=True),
                                  every.sort_values(cols).reset_index(drop=True))
    # rows of another step's tag are read whatever the index says
    other = fr["applications"][fr["applications"]["report_id"] == ids[0]]
    pub.write_staged(pub.table_from_frame(other, "applications"), "applications", tmp_path, "x00000")
    again = xr.read_rows(tmp_path / "applications", "applications", cols, ids=wanted, index=index)
    assert len(again) == len(got) + len(other)


def test_a_body_published_as_pdf_then_as_html_under_two_names_is_paired(tmp_path):
    """Consecutive reports of one body: a PDF titled 道里区人民政府 one year, an HTML page titled
    哈尔滨市道里区人民政府 the next. organization_id pairs them and the carry-over is checked."""
    from synthetic import render_docs as rd

    rng = random.Random(11)
    first = make_truth(rng, "2021", blanks=0.0)
    first.report_year, first.organization = 2022, "道里区人民政府"
    second = next_year(first, rng)
    second.organization = "哈尔滨市道里区人民政府"
    src = tmp_path / "src"
    src.mkdir()
    (src / "daoli_2022.pdf").write_bytes(rd.html_to_pdf(render(first, "html", rng, variants=False)))
    (src / "daoli_2023.html").write_text(render(second, "html", rng, variants=False), encoding="utf-8")
    dest = tmp_path / "out"
    run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    qc, rep = _published(dest)
    by_name = dict(zip(rep["source_file"].map(lambda s: Path(s).name), rep["report_id"].astype(str)))
    assert rep["organization_id"].nunique() == 1 and rep["organization_id"].notna().all()
    row = qc[(qc["check"] == "carryover_across_years") & (qc["report_id"].astype(str) == by_name["daoli_2023.html"])]
    assert len(row) == 1 and row["status"].iloc[0] == "pass"
    assert row["related_report_id"].astype(str).iloc[0] == by_name["daoli_2022.pdf"]
