"""expectations/: generated suites, the file-backed GX project and validate_batch (GX started once)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from expectations import build, views
from synthetic.frames import make_frames
from transforms import schema

from paths import ROOT
RAW = ROOT / "tests" / "fixtures" / "seeds"
SEEDS = sorted(RAW.glob("*.txt"))


def _parse(items):
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    return to_frames([parse_report(b, name) for name, b in items])


def _seed_items():
    return [(str(p), p.read_bytes()) for p in SEEDS]


# ---------------------------------------------------------------- suites as code and files (no GX import)

def test_committed_suites_equal_the_builder():
    assert build.check_committed() == [], "run: python -m expectations.build"
    names = {p.stem for p in (build.GX_DIR / "expectations").glob("*.json")}
    assert names == set(views.all_suite_datasets())
    for name, n in build.expected_counts().items():
        doc = json.loads((build.GX_DIR / "expectations" / f"{name}.json").read_text(encoding="utf-8"))
        assert len(doc["expectations"]) == n > 0
        assert len({e["id"] for e in doc["expectations"]}) == n


def test_one_suite_per_dataset_covering_every_schema_field():
    specs = build.suite_specs()
    for ds in schema.DATASETS:
        if ds in schema.GENERATED:      # written from the format files, never from a report: not gated
            assert ds not in specs
            continue
        typed = {e["kwargs"]["column"]: e["kwargs"]["type_"] for e in specs[ds] if e["type"] == "expect_column_type_to_be"}
        assert typed == {f.name: f.validation_dtype for f in schema.fields(ds) if not f.free_text}, ds
        notnull = {e["kwargs"]["column"] for e in specs[ds] if e["type"] == "expect_column_values_to_not_be_null"}
        assert {f.name for f in schema.fields(ds) if not f.nullable} <= notnull
        cols = [e for e in specs[ds] if e["type"] == "expect_table_columns_to_match_set"]
        own = {f.name for f in schema.fields(ds) if not f.free_text}
        assert cols and own <= set(cols[0]["kwargs"]["column_set"])
        free = [f for f in schema.fields(ds) if f.free_text]
        assert not {f.name for f in free} & set(cols[0]["kwargs"]["column_set"])
        assert all(f.nullable and f.arrow == pa.string() for f in free), "free text is nullable str"
    for t in schema.STATUTORY_TABLES:
        assert any(e["type"] == "expect_compound_columns_to_be_unique" and e["kwargs"]["column_list"] ==
                   ["report_id", "table", "row_path", "column_path"] for e in specs[t])


def test_gx_project_layout_is_committed_and_uncommitted_ignored():
    gx = build.GX_DIR
    assert (gx / "great_expectations.yml").exists()
    assert "uncommitted/" in (gx / ".gitignore").read_text()
    assert {p.stem for p in (gx / "validation_definitions").glob("*.json")} == set(views.all_suite_datasets())
    assert "progress_bars" in (gx / "great_expectations.yml").read_text()


# ---------------------------------------------------------------- GX runtime (one context per module)

@pytest.fixture(scope="module")
def gx_root(tmp_path_factory):
    from expectations import gate
    root = tmp_path_factory.mktemp("gx") / "gx"
    gate.get_context(root)  # asserts the loaded suites' expectation counts
    return root


@pytest.fixture(scope="module")
def seeds_result(gx_root):
    from expectations.gate import validate_batch
    return validate_batch(_parse(_seed_items()), run_name="test-seeds", context_root=gx_root)


def test_loaded_suites_have_every_expectation(gx_root):
    from expectations import gate
    ctx = gate.get_context(gx_root)
    for name, n in build.expected_counts().items():
        assert len(ctx.suites.get(name).expectations) == n


def test_seeds_are_structurally_valid_and_not_failed(seeds_result):
    r = seeds_result
    assert r.structural_ok, r.structural_failures
    assert set(r.results) == set(views.suite_datasets())
    rep = r.frames["reports"]
    assert len(rep) == len(SEEDS) and rep["verdict"].notna().all()
    assert set(rep["verdict"]) <= {"pass", "warn"}
    for name in ("quality_checks", "quarantine", "reports"):
        df = r.frames[name]
        assert list(df.columns) == schema.column_names(name)
        assert [str(t) for t in df.dtypes] == [f.pandas_dtype for f in schema.fields(name)]
    assert len(r.frames["quarantine"]) == 0


def test_changed_number_fails_the_report_and_gx_names_it(gx_root, seeds_result):
    from expectations.gate import validate_batch
    frames = _parse(_seed_items())
    rec = seeds_result.reconciliation
    ok = [rid for rid in frames["reports"]["report_id"]
          if (rec[rec["report_id"] == rid]["status"] == "holds").all()][0]
    app = frames["applications"].copy()
    m = (app["report_id"] == ok) & (app["row_path"] == "三、本年度办理结果 > （一）予以公开") & \
        (app["column_path"] == "申请人情况 > 自然人")
    app.loc[m, "value"] += 1
    r = validate_batch({**frames, "applications": app}, run_name="test-changed", context_root=gx_root)
    assert r.structural_ok  # bad numbers are published with their verdict
    rep = r.frames["reports"].set_index("report_id")
    assert rep.loc[ok, "verdict"] == "fail"
    assert set(rep.loc[ok, "failed_checks"]) >= {"applications_row_total", "applications_outcome_total"}
    assert "applications_balance" not in rep.loc[ok, "failed_checks"]
    others = rep.drop(index=ok)
    assert set(others["verdict"]) <= {"pass", "warn"}
    # the stored GX result of the reconciliation suite lists the failing report and the instance
    res = r.results["reconciliation"]
    assert not res["success"] and any("applications_row_total" in f for f in res["failures"])
    stored = list((Path(gx_root) / "uncommitted" / "validations" / "reconciliation").rglob("*.json"))
    text = "\n".join(json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) for p in stored)
    assert ok in text and "三、本年度办理结果 > （一）予以公开" in text


def test_each_suite_is_stored_once_per_run_pass_fail_only_with_details_of_its_failures(gx_root, seeds_result):
    """A suite runs for pass/fail first and only its failed expectations again with SUMMARY: the stored
    result (one per suite and run) has the values and row keys of each failure, and the pass/fail
    outcome alone of each expectation that passed."""
    root = Path(gx_root) / "uncommitted" / "validations"
    outcomes = set()
    for name in views.suite_datasets():
        stored = list((root / name / "test-seeds").rglob("*.json"))
        assert len(stored) == 1, (name, stored)
        res = json.loads(stored[0].read_text(encoding="utf-8"))
        assert res["success"] == seeds_result.results[name]["success"]
        assert res["statistics"]["evaluated_expectations"] == len(res["results"]) == build.expected_counts()[name]
        outcomes.add(res["success"])
        assert not any(r.get("result") for r in res["results"] if r["success"])
        failed = [r for r in res["results"] if not r["success"]]
        assert res["statistics"]["unsuccessful_expectations"] == len(failed) and bool(failed) != res["success"]
        assert all(r["result"].get("partial_unexpected_index_list") for r in failed
                   if r["expectation_config"]["type"].startswith("expect_column_values"))
    assert outcomes == {True, False}      # the seeds exercise both paths


@pytest.mark.parametrize("corrupt", ["warnings", "table"])
def test_failures_are_detailed_as_a_whole_suite_with_summary_would(gx_root, corrupt, monkeypatch):
    """The failed expectations run again on the columns they read (and the row keys) give the results a
    SUMMARY run of the whole suite on the whole view gives; a failure about the table (a column gone)
    is detailed on the whole view."""
    from great_expectations.core.run_identifier import RunIdentifier

    from expectations import gate
    fr = make_frames(3, seed=11)
    qc = gate.prepare_batch(fr).frames["quality_checks"]
    qc = qc.assign(status=qc["status"].where(qc.index % 7 != 0, "fail"))   # failing checks in every report
    view = views.make_view(qc, "quality_checks")
    if corrupt == "table":
        view = view.drop(columns=["format"])
    handed = []
    detail_frame = gate._detail_frame
    monkeypatch.setattr(gate, "_detail_frame", lambda *a: handed.append(detail_frame(*a)) or handed[-1])
    got = gate.validate_frames({"quality_checks": view}, run_name=f"test-detail-{corrupt}",
                               context_root=gx_root)["quality_checks"]
    assert len(handed) == 1
    if corrupt == "table":
        assert handed[0] is view
    else:       # the failed per-check columns and the row keys
        assert set(handed[0].columns) < set(view.columns) and "format" not in handed[0]
        assert set(views.INDEX_COLUMNS["quality_checks"]) < set(handed[0].columns)
    vd = gate.get_context(gx_root).validation_definitions.get("quality_checks")
    whole = vd.run(batch_parameters={"dataframe": view}, run_id=RunIdentifier(run_name="test-detail-whole"),
                   result_format=gate._summary_format("quality_checks"))
    assert not got.success and got.statistics == whole.statistics

    def failures(res):
        return [(r.expectation_config.to_json_dict(), r.result, r.exception_info) for r in res.results if not r.success]
    assert failures(got) == failures(whole) and len(failures(got)) >= (2 if corrupt == "warnings" else 1)
    # what the run keeps: the detailed failures in the stored result
    stored = list((Path(gx_root) / "uncommitted" / "validations" / "quality_checks" / f"test-detail-{corrupt}").rglob("*.json"))
    assert len(stored) == 1
    doc = json.loads(stored[0].read_text(encoding="utf-8"))
    assert [r["result"] for r in doc["results"] if not r["success"]] == \
        [json.loads(json.dumps(r.to_json_dict()["result"])) for r in whole.results if not r.success]


def test_structural_failure_is_contained_to_its_report(gx_root):
    """A duplicated cell or an unknown address is the report's own trouble: that report is quarantined
    (reason structural, naming the expectation) and the batch passes; a mistyped column, which no report
    can be blamed for, still stops the batch."""
    from expectations.gate import validate_batch
    fr = make_frames(2)
    first = fr["applications"]["report_id"].iloc[0]
    dup = pd.concat([fr["applications"], fr["applications"].iloc[:1]], ignore_index=True)
    r = validate_batch({**fr, "applications": dup}, run_name="test-dup", context_root=gx_root)
    assert r.structural_ok, r.structural_failures
    q = r.frames["quarantine"]
    assert q["report_id"].tolist() == [first] and q["reason_code"].tolist() == ["structural"]
    assert "expect_compound_columns_to_be_unique" in q["reason"].iloc[0]
    assert first not in set(r.frames["reports"]["report_id"]) and len(r.frames["reports"]) == 1
    bad = fr["review_litigation"].assign(column_path="行政复议 > 不存在的列")
    r = validate_batch({**fr, "review_litigation": bad}, run_name="test-address", context_root=gx_root)
    assert r.structural_ok and len(r.frames["reports"]) == 0
    assert all("_column_path_" in x for x in r.frames["quarantine"]["reason"])
    mistyped = fr["applications"].assign(value=fr["applications"]["value"].astype(str))
    r = validate_batch({**fr, "applications": mistyped}, run_name="test-type", context_root=gx_root)
    assert not r.structural_ok and any("expect_column_type_to_be" in f for f in r.structural_failures)


def test_cross_year_mismatch_is_caught(gx_root):
    """The cross-year rows of the run-level pass go through GX (quality_checks and reconciliation
    suites) and fold into the verdicts: a broken carry-over is a warning, never a structural failure."""
    from expectations.gate import validate_views
    from expectations.views import RECONCILIATION, make_view
    from transforms.checks import crossyear as cy
    from transforms.checks.rules import quality_checks as qc_of
    from transforms.checks.verdicts import verdicts
    y1 = make_frames(2, year=2021, formats=("2021",), seed=5)
    bad = make_frames(2, year=2022, formats=("2021",), seed=7, salt="b")
    both = {k: pd.concat([y1[k], bad[k]], ignore_index=True) for k in y1}
    qc = qc_of(both)
    fm = qc[qc["check"].str.endswith(".completeness")].assign(table=lambda d: d["check"].str.split(".").str[0])
    recon = cy.evaluate(both["reports"], fm[["report_id", "table", "format"]], both)
    xqc = cy.checks(recon, both["reports"])
    r = validate_views({"quality_checks": make_view(xqc, "quality_checks"),
                        RECONCILIATION: make_view(recon, RECONCILIATION)}, run_name="test-cy", context_root=gx_root)
    assert r.structural_ok, r.structural_failures
    assert any("carryover_across_years" in w for w in r.warnings)
    cy_fail = xqc[(xqc["check"] == "carryover_across_years") & (xqc["status"] == "fail")]
    assert set(cy_fail["report_id"]) == set(bad["reports"]["report_id"])
    assert set(cy_fail["related_report_id"]) <= set(y1["reports"]["report_id"])
    rep = verdicts(bad["reports"], qc[qc["report_id"].isin(bad["reports"]["report_id"])])
    patch = cy.fold_verdicts(rep, qc, xqc)
    assert set(patch["verdict"]) == {"fail"}
    assert all("carryover_across_years" in fc for fc in patch["failed_checks"])


def test_folder_with_unreadable_files_publishes_the_good_and_quarantines_the_rest(gx_root, tmp_path):
    from expectations.gate import quarantine_record, validate_batch
    seed = SEEDS[0].read_text(encoding="utf-8")
    files = {
        "empty.txt": b"",
        "binary.bin": bytes(range(256)) * 40,
        "gbk_notice.txt": ("某某区人民政府关于做好春节期间安全生产工作的通知\n各街道办事处：\n现将有关事项通知如下。\n" * 20)
        .encode("gbk"),
        "page.html": "<html><head><title>网站首页</title></head><body><h1>欢迎访问</h1><p>政务服务</p></body></html>"
        .encode(),
        "gbk_report.txt": seed.encode("gbk", errors="replace"),  # a real report in GBK is a good report
    }
    for n, b in files.items():
        (tmp_path / n).write_bytes(b)
    items = _seed_items()[1:3] + [(str(tmp_path / n), b) for n, b in files.items()]
    extra = [quarantine_record(str(tmp_path / "gone.txt"), None, "read error: permission denied")]
    r = validate_batch(_parse(items), run_name="test-folder", context_root=gx_root, extra_quarantine=extra)
    assert r.structural_ok, r.structural_failures
    published = set(r.frames["reports"]["source_file"])
    assert published == {items[0][0], items[1][0], str(tmp_path / "gbk_report.txt")}
    q = r.frames["quarantine"].set_index("source_file")
    expected = {"empty.txt": "empty", "binary.bin": "binary", "gbk_notice.txt": "no_statutory_table",
                "page.html": "no_statutory_table"}
    for n, code in expected.items():
        row = q.loc[str(tmp_path / n)]
        assert row["reason_code"] == code and row["reason"]
        assert row["sha256"] == hashlib.sha256(files[n]).hexdigest() == row["report_id"]
    assert q.loc[str(tmp_path / "gone.txt"), "reason"].startswith("read error")
    # nothing disappears: every input is published or quarantined
    assert len(published) + len(q) == len(items) + len(extra)
    for t in schema.STATUTORY_TABLES:
        assert not set(r.frames[t]["report_id"]) & set(q["report_id"])


def test_run_leaves_the_committed_project_untouched(gx_root, seeds_result):
    for name in ("great_expectations.yml", "expectations", "validation_definitions"):
        src, dst = build.GX_DIR / name, Path(gx_root) / name
        files = [p for p in src.rglob("*") if p.is_file()] if src.is_dir() else [src]
        for p in files:
            q = dst / p.relative_to(src) if src.is_dir() else dst
            assert q.read_bytes() == p.read_bytes(), q


# ---------------------------------------------------------------- views on disk, validated per chunk

def test_saved_views_load_back_identical_and_concatenate(tmp_path):
    from expectations.gate import prepare_batch
    a = prepare_batch(_parse(_seed_items()[:2])).views
    b = prepare_batch(make_frames(3, seed=5)).views
    for name in a:
        views.save_view(a[name], tmp_path / f"{name}-a.arrow", name)
        views.save_view(b[name], tmp_path / f"{name}-b.arrow", name)
        got = views.load_views([tmp_path / f"{name}-a.arrow", tmp_path / f"{name}-b.arrow"], name)
        assert list(got.columns) == views.view_columns(name) and set(got.columns) == set(a[name].columns)
        got = got[list(a[name].columns)]
        assert [str(t) for t in got.dtypes] == [str(t) for t in a[name].dtypes], name
        want = pd.concat([a[name].astype(object), b[name].astype(object)], ignore_index=True)
        assert got.astype(object).where(got.notna(), None).equals(want.where(want.notna(), None)), name
    assert views.load_views([]) is None


def test_saved_view_keeps_null_and_nonstring_list_cells(tmp_path):
    """The fast list conversion covers plain lists/tuples of str only; anything else goes through
    Arrow's own conversion, so a null list cell stays null for the suite's not-null check."""
    from expectations.gate import prepare_batch
    view = prepare_batch(_parse(_seed_items()[:1])).views["applications"]
    flags = view["flags"].copy()
    flags.iloc[1] = ["inferred"]
    flags.iloc[2] = None
    for name, col in (("clean", view["flags"]), ("broken", flags)):
        views.save_view(view.assign(flags=col), tmp_path / f"{name}.arrow", "applications")
        got = views.load_views([tmp_path / f"{name}.arrow"], "applications")
        assert got["flags"].tolist() == [None if x is None else tuple(x) for x in col], name


def test_views_have_one_schema_whatever_the_batch_holds(tmp_path):
    """A batch with no cell in a table (every list column empty, every helper null) and a full batch
    save views of the same Arrow schema, derived from the registry: they concatenate."""
    from expectations.gate import prepare_batch
    seeds = _seed_items()
    full = prepare_batch(_parse(seeds[:2])).views
    none = prepare_batch(_parse([(n, b"not a report") for n, _ in seeds[:1]])).views
    for name in full:
        sch = views.view_schema(name)
        for tag, v in (("full", full[name]), ("none", none[name])):
            views.save_view(v, tmp_path / f"{name}-{tag}.arrow", name)
            assert pa.ipc.open_file(tmp_path / f"{name}-{tag}.arrow").schema.equals(sch, check_metadata=False)
        got = views.load_views([tmp_path / f"{name}-none.arrow", tmp_path / f"{name}-full.arrow"], name)
        assert len(got) == len(full[name]) + len(none[name])
        assert [str(t) for t in got.dtypes] == [views.view_dtypes(name)[c] for c in got.columns], name


def _run_with_corrupted_views(tmp_path, monkeypatch, corrupt):
    """One report per batch, chunks as small as they can be (validate_rows=1; a chunk still takes every
    batch that finished while the previous one was validated); the applications view of the batch with
    seed 001 is corrupted by ``corrupt`` after the gate's own pre-check, so that only GX sees it."""
    import shutil

    from flows import batch
    from flows.pipeline import RunConfig, run_plain
    src = tmp_path / "src"
    src.mkdir()
    for p in SEEDS:
        shutil.copy(p, src / p.name)
    bad_name = SEEDS[1].name
    real_gate = batch.gate

    def corrupting_gate(frames, extra):
        out, vs = real_gate(frames, extra)
        app = vs["applications"]
        if any(str(s).endswith(bad_name) for s in app["source_file"]):
            vs["applications"] = corrupt(app)
        return out, vs

    monkeypatch.setattr(batch, "gate", corrupting_gate)
    cfg = RunConfig(source=str(src), dest=str(tmp_path / "out"), batch_size=1, workers=1, validate_rows=1,
                    quality_report=False)
    s = run_plain(cfg)
    monkeypatch.setattr(batch, "gate", real_gate)
    by_batch = [str(src / p.name) for p in sorted(SEEDS, key=lambda p: hashlib.sha256(p.read_bytes()).hexdigest())]
    for d in views.suite_datasets():       # every batch validated once per dataset
        assert sorted(b for c in s["gate_chunks"] if c["dataset"] == d for b in c["batches"]) == list(range(5)), d
    return s, cfg, str(src / bad_name), by_batch


def test_a_report_gx_finds_broken_in_a_chunk_is_quarantined_alone(gx_root, tmp_path, monkeypatch):
    """A duplicated cell that only GX sees (the view changed after the pre-check): the chunk is validated
    again without that report, which is quarantined with the reason; every other report is published."""
    from flows import publish as pub
    from flows.pipeline import run_plain
    s, cfg, bad, by_batch = _run_with_corrupted_views(
        tmp_path, monkeypatch, lambda app: pd.concat([app, app.iloc[:1]], ignore_index=True))
    assert not s["structural_failures"] and all(c["structural_ok"] for c in s["gate_chunks"])
    assert [c["source_file"] for c in s["contained"]] == [bad]
    assert "expect_compound_columns_to_be_unique" in s["contained"][0]["reason"]
    dest = Path(cfg.dest)
    q = pub.read_table(dest / "quarantine", "quarantine").to_pandas()
    assert q["source_file"].tolist() == [bad] and q["reason_code"].tolist() == ["structural"]
    for name in ("reports", *schema.STATUTORY_TABLES, "quality_checks"):
        assert set(pub.read_table(dest / name, name)["source_file"].to_pylist()) == set(by_batch) - {bad}, name
    assert s["parsed"] == len(SEEDS) - 1 and s["quarantined"] == 1
    s2 = run_plain(cfg)            # quarantined like an unreadable file: not parsed again while unchanged
    assert s2["noop"] and s2["to_parse"] == 0


def test_a_chunk_failing_gx_as_a_whole_is_not_published_and_is_retried_next_run(gx_root, tmp_path, monkeypatch):
    """A failure no report can be blamed for (a cell row without report_id in the view): the reports
    of that applications chunk are left out of the version (from every dataset) and parsed again next
    run; the other batches are published."""
    from flows import publish as pub
    from flows.pipeline import run_plain

    def orphan_row(app):
        extra = app.iloc[:1].copy()
        extra["report_id"] = None
        return pd.concat([app, extra], ignore_index=True)

    s, cfg, bad, by_batch = _run_with_corrupted_views(tmp_path, monkeypatch, orphan_row)
    failed = [c for c in s["gate_chunks"] if not c["structural_ok"]]
    assert len(failed) == 1 and by_batch.index(bad) in failed[0]["batches"]
    assert failed[0]["dataset"] == "applications" and not s.get("contained")
    assert any("expect_column_values_to_not_be_null" in f for f in s["structural_failures"])
    dest = Path(cfg.dest)
    published = set(pub.read_table(dest / "reports", "reports")["source_file"].to_pylist())
    assert published == set(by_batch) - {by_batch[b] for b in failed[0]["batches"]}
    assert bad not in pub.read_table(dest / "applications", "applications")["source_file"].to_pylist()
    s2 = run_plain(cfg)
    assert s2["to_parse"] == len(failed[0]["batches"]) and not s2["structural_failures"]
    assert set(pub.read_table(dest / "reports", "reports")["source_file"].to_pylist()) == set(by_batch)


def test_nianbao_validate_regates_what_is_published(gx_root, tmp_path, monkeypatch):
    """`nianbao validate`: verdicts and quality_checks recomputed from the published cells, published
    as a new version; the cell tables are carried over unchanged."""
    from flows import publish as pub
    from flows.pipeline import RunConfig, run_plain
    from flows.revalidate import revalidate
    dest = tmp_path / "out"
    run_plain(RunConfig(source=str(RAW), dest=str(dest), quality_report=False))
    before = pub.digest(dest)
    v1 = pub.current_version(dest).name
    s = revalidate(str(dest), chunk_size=2, quality_report=False)
    assert s["published"] and not s["structural_failures"] and s["version"] != v1
    assert sum(s["verdicts"].values()) == s["reports"] == len(SEEDS)
    after = pub.digest(dest)
    cells = [k for k in before if k.split("/")[0] in schema.STATUTORY_TABLES]
    assert cells and all(after[k] == before[k] for k in cells)
    old, new = (pub.load_frame(pub.current_version(dest).parent / v / "reports", "reports") for v in (v1, s["version"]))
    key = ["report_id", "verdict"]
    assert old[key].sort_values("report_id").values.tolist() == new[key].sort_values("report_id").values.tolist()


def _corrupt_cells(v: pd.DataFrame) -> pd.DataFrame:
    v = v.copy()
    v["_kind"] = v["_kind"].cat.add_categories(["no kind"])
    v.loc[3, "_kind"] = "no kind"
    return pd.concat([v, v.iloc[[7]]], ignore_index=True)


def _corrupt_reports(v: pd.DataFrame) -> pd.DataFrame:
    v = v.copy()
    v["sha256"] = v["sha256"].cat.add_categories(["0" * 64])
    v.loc[0, "sha256"] = "0" * 64
    v.loc[1, "verdict"] = None
    return v


@pytest.mark.parametrize("dataset, corrupt", [("applications", _corrupt_cells), ("reports", _corrupt_reports)])
def test_pandas_structural_rules_agree_with_gx(gx_root, dataset, corrupt):
    """The gate's pandas pre-check reads the suites' own critical row rules: on a corrupted view it
    blames exactly the expectations GX fails, and names the reports whose rows GX lists."""
    from expectations.gate import prepare_batch, structural_offenders, validate_views
    view = corrupt(prepare_batch(_parse(_seed_items())).views[dataset])
    blamed = structural_offenders({dataset: view})
    r = validate_views({dataset: view}, run_name=f"test-agree-{dataset}", context_root=gx_root)
    assert not r.structural_ok and blamed
    gx_types = {f.split(" ")[1] + " " + f.split(" ", 2)[2].split(" → ")[0] for f in r.structural_failures}
    ours = {why.split(":", 2)[1].strip().split(" ")[0] for whys in blamed.values() for why in whys}
    assert ours == {t.split(" ")[0] for t in gx_types} and len(ours) >= 2, (ours, gx_types)
    assert set(r.offending) <= set(blamed)


def test_memoised_configurations_give_the_same_results(gx_root):
    """Inside one validation each expectation's configuration is built once (gate._memoise_configurations):
    the results, pass/fail and detailed, are those GX gives without the memo, and outside a validation
    every read builds it anew, as GX does."""
    from great_expectations.core.run_identifier import RunIdentifier

    from expectations import gate
    fr = make_frames(3, seed=13)
    p = gate.prepare_batch(fr)
    qc = p.frames["quality_checks"]
    qc = qc.assign(status=qc["status"].where(qc.index % 5 != 0, "fail"))
    ctx = gate.get_context(gx_root)
    for name, view in {"quality_checks": views.make_view(qc, "quality_checks"),
                       "applications": p.views["applications"]}.items():
        vd = ctx.validation_definitions.get(name)
        for fmt in ({"result_format": "BOOLEAN_ONLY"}, gate._summary_format(name)):
            def run(vd=vd, view=view, fmt=fmt):
                res = vd.run(batch_parameters={"dataframe": view}, run_id=RunIdentifier(run_name="test-memo"),
                             result_format=fmt)
                return [r.to_json_dict() for r in res.results], res.statistics
            with gate._configurations_memoised():
                memoised = run()
                assert len(gate._MEMO.configs) >= build.expected_counts()[name]     # built once each, kept
                assert len(gate._MEMO.objects) >= build.expected_counts()[name]
            assert gate._MEMO.configs is None and gate._MEMO.objects is None
            assert memoised == run(), (name, fmt)
    e = ctx.suites.get("applications").expectations[0]
    assert e.configuration is not e.configuration and e.configuration == e.configuration
    c = e.configuration
    assert c.to_domain_obj() is not c.to_domain_obj() and c.to_domain_obj() == c.to_domain_obj()


def test_column_conditions_on_the_column_give_gx_own_results(gx_root):
    """GX's column conditions evaluated on the column alone (gate._filter_columns_not_frames, instead of
    GX's copy of the whole frame without the column's nulls) give GX's own results, pass/fail and
    detailed, on views whose conditioned columns hold nulls and failing values."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations import registry

    from expectations import gate
    ctx = gate.get_context(gx_root)
    replaced = {n: d["providers"]["PandasExecutionEngine"] for n, d in registry._registered_metrics.items()
                if getattr(d["providers"].get("PandasExecutionEngine", (None, None))[1], "nianbao_column_only", False)}
    assert {"column_values.in_set.condition", "column_values.between.condition",
            "column_values.match_regex.condition", "column_values.unique.condition"} <= set(replaced)
    p = gate.prepare_batch(make_frames(3, seed=13))
    apps = p.views["applications"]
    apps = apps.assign(_count_value=apps["_count_value"].where(apps.index % 7 != 0, -1.0))
    reports = p.views["reports"]
    rid = reports["report_id"].cat.add_categories(["not-a-sha256"])
    rid.iloc[0] = "not-a-sha256"
    reports = reports.assign(report_id=rid, n_cells=reports["n_cells"].where(reports.index != 1, -1))
    cases = {"applications": apps, "reports": reports}
    assert apps["_row_path_2019"].isna().any() and apps["_row_path_2019"].notna().any()

    def run(name, view, fmt):
        res = ctx.validation_definitions.get(name).run(batch_parameters={"dataframe": view}, result_format=fmt,
                                                       run_id=RunIdentifier(run_name="test-columns"))
        return [r.to_json_dict() for r in res.results], res.statistics

    for name, view in cases.items():
        for fmt in ({"result_format": "BOOLEAN_ONLY"}, gate._summary_format(name)):
            ours = run(name, view, fmt)
            try:
                for n, (cls, fn) in replaced.items():
                    registry._registered_metrics[n]["providers"]["PandasExecutionEngine"] = (cls, fn.nianbao_original)
                theirs = run(name, view, fmt)
            finally:
                for n, entry in replaced.items():
                    registry._registered_metrics[n]["providers"]["PandasExecutionEngine"] = entry
            assert ours == theirs, (name, fmt)
            assert ours[1]["unsuccessful_expectations"] > 0, name      # the failing values were seen


def test_a_failing_suite_is_serialised_once_and_kept_if_its_details_fail(gx_root, monkeypatch):
    """The pass/fail result of a failing suite is not stored before its detailed one replaces it
    (gate._hold_stored_results): one serialisation per suite and chunk; a passing suite is stored as
    GX stores it; if detailing the failures fails, the pass/fail result is stored before the error."""
    from great_expectations.data_context.store.validation_results_store import ValidationResultsStore

    from expectations import gate
    p = gate.prepare_batch(make_frames(2, seed=5))
    qc = p.frames["quality_checks"]
    failing = views.make_view(qc.assign(status=qc["status"].where(qc.index % 7 != 0, "fail")), "quality_checks")
    passing = p.views["quarantine"]
    serialised = []
    serialise = ValidationResultsStore.serialize
    monkeypatch.setattr(ValidationResultsStore, "serialize",
                        lambda self, value: serialised.append(value.success) or serialise(self, value))
    got = gate.validate_frames({"quality_checks": failing, "quarantine": passing}, run_name="test-held",
                               context_root=gx_root)
    assert not got["quality_checks"].success and got["quarantine"].success
    assert serialised == [False, True]                 # the detailed failing result, then the passing one
    root = Path(gx_root) / "uncommitted" / "validations"
    for name in ("quality_checks", "quarantine"):
        assert len(list((root / name / "test-held").rglob("*.json"))) == 1

    def broken(*a, **k):
        raise RuntimeError("details failed")
    monkeypatch.setattr(gate, "_detail_failures", broken)
    with pytest.raises(RuntimeError, match="details failed"):
        gate.validate_frames({"quality_checks": failing}, run_name="test-held-broken", context_root=gx_root)
    stored = list((root / "quality_checks" / "test-held-broken").rglob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text(encoding="utf-8"))["success"] is False
    assert gate._MEMO.held is None
