"""expectations/evaluator.py against GX: every expectation of every committed suite gives the same success
and the same result fields the gate reads, on real views and on hostile ones; what it cannot evaluate
exactly falls back to GX; a one-file run publishes the same bytes whichever validated it.

Real inputs: the seeds (tests/fixtures/seeds) and the real copies (tests/fixtures/realworld/raw)."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from expectations import evaluator, views
from paths import ROOT
from expectations.build import GX_DIR

REAL = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt")) + \
    sorted((ROOT / "tests" / "fixtures" / "realworld" / "raw").glob("*"))


def _norm(v):
    """GX's and pandas' nulls (None, NaN, NA) as None, numpy scalars as Python ones, tuples as lists."""
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_norm(x) for x in v]
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return _norm(v.item())
    return v


def _assert_same(gx_res, ours, what: str) -> int:
    """Each expectation's success and, where it failed, the result fields; returns the failures seen."""
    by_id = {r.expectation_config.id: r for r in gx_res.results}
    assert len(by_id) == len(ours.results), what
    assert [r.expectation_config.id for r in gx_res.results] == [r.expectation_config.id for r in ours.results], what
    failed = 0
    for o in ours.results:
        g = by_id[o.expectation_config.id]
        key = (what, o.expectation_config.type, o.expectation_config.kwargs)
        assert bool(g.success) == o.success, (key, g.result)
        if not o.success:
            failed += 1
            for f in evaluator.RESULT_FIELDS:
                assert _norm((g.result or {}).get(f)) == _norm(o.result.get(f)), (key, f)
    assert bool(gx_res.success) == ours.success and dict(gx_res.statistics) == ours.statistics, what
    return failed


def _parse(paths):
    from transforms.engine import parse_report
    from transforms.tidy import to_frames
    return to_frames([parse_report(p.read_bytes(), str(p)) for p in paths])


@pytest.fixture(scope="module")
def gx_root(tmp_path_factory):
    from expectations import gate
    root = tmp_path_factory.mktemp("gx") / "gx"
    gate.get_context(root)
    return root


@pytest.fixture(scope="module")
def real_views():
    from expectations import gate
    from synthetic.frames import make_frames
    real = gate.prepare_batch(_parse(REAL)).views
    synthetic = gate.prepare_batch(make_frames(4, seed=3)).views
    return real, synthetic


def _mutations(view: pd.DataFrame, seed: int) -> list[tuple[str, pd.DataFrame]]:
    """Hostile variants of a view: empty, nulls, values out of their set, duplicated rows, wrong types,
    negative numbers, a surplus column, columns all null."""
    rng = np.random.default_rng(seed)
    cols = list(view.columns)
    out = [("empty", view.iloc[:0].copy())]
    if not len(view):
        return out
    rows = rng.choice(len(view), size=min(len(view), 3), replace=False)
    v = view.copy()
    for c in rng.choice(cols, size=min(len(cols), 6), replace=False):
        if pd.api.types.is_bool_dtype(v[c].dtype) and not isinstance(v[c].dtype, pd.BooleanDtype):
            v[c] = v[c].astype(object)
        v.loc[rows, c] = None
    out.append(("nulls", v))
    v = view.copy()
    for c in cols:
        if isinstance(v[c].dtype, pd.CategoricalDtype):
            v[c] = v[c].cat.add_categories(["__bogus__"])
            v.loc[rows[:1], c] = "__bogus__"
    out.append(("out of set", v))
    out.append(("duplicates", pd.concat([view, view.iloc[rows]], ignore_index=True)))
    v = view.copy()
    for c in rng.choice(cols, size=min(len(cols), 4), replace=False):
        s = v[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            v[c] = s.astype(object)
        elif pd.api.types.is_integer_dtype(s.dtype):
            v[c] = s.astype("float64")
        elif pd.api.types.is_float_dtype(s.dtype):
            v[c] = -s.fillna(1.5) - 1
    out.append(("wrong types", v))
    v = view.copy()
    for c in cols:
        if pd.api.types.is_numeric_dtype(v[c].dtype) and not pd.api.types.is_bool_dtype(v[c].dtype):
            if pd.api.types.is_integer_dtype(v[c].dtype) and not isinstance(v[c].dtype, pd.api.extensions.ExtensionDtype):
                v[c] = v[c].astype("float64")
            v.loc[rows[:2], c] = -7
    out.append(("negative", v))
    out.append(("surplus column", view.assign(_surplus=1)))
    out.append(("all null", view.assign(**{c: None for c in rng.choice(cols, size=min(len(cols), 3), replace=False)})))
    return out


@pytest.mark.parametrize("dataset", views.suite_datasets() + ["reconciliation"])
def test_every_expectation_as_gx_on_real_and_hostile_views(gx_root, real_views, dataset):
    """The gate's GX validation (pass/fail, then SUMMARY for the failures) and the evaluator agree on
    every expectation: success, counts, partial values and row keys, observed values, and the gate's own
    summary of them (failure texts, critical vs warning, the reports GX's row keys blame)."""
    from expectations import gate
    specs = evaluator.load_suite(GX_DIR, dataset)
    index = views.INDEX_COLUMNS[dataset]
    real, synthetic = real_views
    cases = [("real", real[dataset]), ("synthetic", synthetic[dataset])]
    cases += [(f"real, {label}", v) for label, v in _mutations(real[dataset], seed=1)]
    failures = 0
    for label, view in cases:
        what = f"{dataset}: {label}"
        ours = evaluator.validate(view, specs, index, suite=dataset)
        gx_res = gate.validate_frames({dataset: view}, run_name="test-evaluator", context_root=gx_root)[dataset]
        failures += _assert_same(gx_res, ours, what)
        offending_gx, offending_ours = {}, {}
        assert gate._summarise(dataset, gx_res, offending_gx) == gate._summarise(dataset, ours, offending_ours), what
        assert offending_gx == offending_ours, what
    assert failures >= 5, "the hostile views must make expectations fail"


def _gx_on(view: pd.DataFrame, specs: list[dict], index: list[str]):
    """GX on hand-written expectations (an ephemeral context), with the gate's SUMMARY format."""
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    ctx = gx.get_context(mode="ephemeral")
    batch = ctx.data_sources.add_pandas("d").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b") \
        .get_batch(batch_parameters={"dataframe": view})
    suite = ExpectationSuite(name="s", expectations=[ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], id=e["id"])
                                                     for e in specs])
    return batch.validate(suite, result_format={"result_format": "SUMMARY", "unexpected_index_column_names": index,
                                                "partial_unexpected_count": evaluator.PARTIAL_UNEXPECTED,
                                                "return_unexpected_index_query": False})


def test_mostly_nulls_and_ignore_row_if_as_gx(gx_root):
    """The semantics the committed suites do not exercise yet: ``mostly`` (on either side of its
    threshold), nulls ignored by the value rules but not by the null ones, ignore_row_if, strict bounds."""
    import uuid
    f = pd.DataFrame({"k": [f"r{i}" for i in range(10)],
                      "a": pd.Categorical(["x", "y", None, "x", "z", None, "x", "x", "y", "q"]),
                      "b": pd.Categorical(["x", "y", None, "w", "z", "x", None, "x", "y", "q"]),
                      "n": [0.0, 1.0, np.nan, 5.0, -1.0, 2.0, 3.0, np.nan, 4.0, 10.0],
                      "i": pd.array([1, 2, None, 2, 3, 4, 5, 6, 7, 8], dtype="Int64"),
                      "s": ["ab", "a1", None, "zz", "ab", "b", "ab", "ab", None, "c"]})

    def e(kind, **kw):
        return {"type": kind, "kwargs": kw, "id": str(uuid.uuid4()), "severity": "critical"}
    specs = [e("expect_column_values_to_be_in_set", column="a", value_set=["x", "y"], mostly=0.7),
             e("expect_column_values_to_be_in_set", column="a", value_set=["x", "y"], mostly=0.8),
             e("expect_column_values_to_not_be_null", column="n", mostly=0.8),
             e("expect_column_values_to_not_be_null", column="n", mostly=0.9),
             e("expect_column_values_to_be_null", column="s", mostly=0.2),
             e("expect_column_values_to_be_null", column="s"),
             e("expect_column_values_to_be_between", column="n", min_value=0, max_value=5, strict_max=True),
             e("expect_column_values_to_be_between", column="n", min_value=0, mostly=0.85),
             e("expect_column_values_to_be_between", column="i", max_value=5),
             e("expect_column_values_to_be_between", column="i", min_value=1, max_value=8, strict_min=True,
               mostly=0.5),
             e("expect_column_values_to_match_regex", column="s", regex="^a"),
             e("expect_column_values_to_match_regex", column="s", regex="b", mostly=0.5),
             e("expect_column_values_to_be_unique", column="s"),
             e("expect_column_values_to_be_unique", column="k"),
             e("expect_compound_columns_to_be_unique", column_list=["a", "s"]),
             e("expect_compound_columns_to_be_unique", column_list=["a", "s"], ignore_row_if="any_value_is_missing"),
             e("expect_column_pair_values_to_be_equal", column_A="a", column_B="b"),
             e("expect_column_pair_values_to_be_equal", column_A="a", column_B="b", ignore_row_if="either_value_is_missing"),
             e("expect_column_pair_values_to_be_equal", column_A="a", column_B="b", mostly=0.5),
             e("expect_column_type_to_be", column="i", type_="Int64"),
             e("expect_column_type_to_be", column="n", type_="int64"),
             e("expect_table_columns_to_match_set", column_set=["k", "a", "b"], exact_match=False),
             e("expect_table_columns_to_match_set", column_set=["k", "a", "b", "zz"])]
    same_categories = f.assign(b=pd.Categorical(f["b"], categories=f["a"].cat.categories.union(["w"])),
                               a=pd.Categorical(f["a"], categories=f["a"].cat.categories.union(["w"])))
    for frame in (same_categories, same_categories.iloc[:0], same_categories.iloc[[2, 5]]):
        ours = evaluator.validate(frame, specs, ["k"], suite="s")
        _assert_same(_gx_on(frame, specs, ["k"]), ours, f"hand-written, {len(frame)} rows")
    assert sum(not r.success for r in evaluator.validate(same_categories, specs, ["k"]).results) >= 10


def test_kwargs_in_gx_model_order_with_gx_defaults():
    """The failure texts print the kwargs as GX's configuration holds them (field order, defaults left out)."""
    import great_expectations.expectations as gxe
    for kind, known in evaluator.KNOWN.items():
        cls = getattr(gxe, "".join(w.capitalize() for w in kind.split("_")))
        fields = [f for f in cls.__fields__ if f in known]
        assert fields == list(known), kind
        for name, default in known.items():
            if default is not evaluator.REQUIRED:
                assert cls.__fields__[name].default == default, (kind, name)


def test_what_it_cannot_evaluate_exactly_is_unsupported():
    view = pd.DataFrame({"a": pd.Categorical(["x", "y"]), "b": pd.Categorical(["x", "z"])})

    def e(kind, **kw):
        return [{"type": kind, "kwargs": kw, "id": "1", "severity": "critical"}]
    for specs in (e("expect_column_values_to_be_increasing", column="a"),               # unknown type
                  e("expect_column_values_to_be_in_set", column="a", value_set=["x"], row_condition="a=='x'"),
                  e("expect_column_values_to_be_in_set", column="missing", value_set=["x"]),
                  e("expect_column_values_to_be_in_set", column="a"),                  # value_set missing
                  e("expect_column_pair_values_to_be_equal", column_A="a", column_B="b"),   # pandas refuses
                  e("expect_column_values_to_be_between", column="a", min_value=0),
                  e("expect_column_type_to_be", column="a", type_="no such type")):
        with pytest.raises(evaluator.Unsupported):
            evaluator.validate(view, specs, [])


def test_a_suite_with_an_unknown_expectation_type_falls_back_to_gx(gx_root, real_views, monkeypatch):
    """Never a silent pass: the gate asked for pandas validates with GX (and stores the result for Data
    Docs) when one suite holds a type the evaluator does not know."""
    from expectations import gate
    real, _ = real_views
    suites = dict(gate._suites(gx_root))
    suites["quarantine"] = [*suites["quarantine"], {"type": "expect_table_row_count_to_be_between", "id": "x",
                                                    "kwargs": {"min_value": 0}, "severity": "critical"}]
    monkeypatch.setattr(gate, "_suites", lambda root: suites)
    picked = {k: real[k] for k in ("reports", "quarantine")}
    r = gate.validate_views(picked, run_name="test-fallback", context_root=gx_root, engine=gate.PANDAS)
    assert r.engine == gate.GX and set(r.timings) == {"gx:reports", "gx:quarantine"}
    monkeypatch.undo()
    again = gate.validate_views(picked, run_name="test-fallback-2", context_root=gx_root, engine=gate.PANDAS)
    assert again.engine == gate.PANDAS and set(again.timings) == {"pandas:reports", "pandas:quarantine"}
    assert (again.results, again.structural_failures, again.warnings) == (r.results, r.structural_failures, r.warnings)


def test_the_reports_validated_without_data_docs_are_recorded_and_a_gx_validation_clears_them(gx_root, real_views):
    from expectations import gate
    real, _ = real_views
    root = gx_root.parent / "record"
    shutil.copytree(gx_root, root)
    (root / "uncommitted" / gate.WITHOUT_DOCS).unlink(missing_ok=True)     # other tests' runs
    picked = {"reports": real["reports"]}
    ids = set(real["reports"]["report_id"].astype(str))
    gate.validate_views(picked, run_name="small-run", context_root=root, engine=gate.PANDAS)
    assert gate.validated_without_docs(root) == {i: "small-run" for i in ids}
    one = real["reports"].iloc[:1]
    gate.validate_views({"reports": one}, run_name="gx-run", context_root=root)
    assert set(gate.validated_without_docs(root)) == ids - {str(one["report_id"].iloc[0])}


def test_the_summary_page_says_which_failed_reports_have_no_data_docs(tmp_path):
    from expectations import gate
    from quality_page import report
    frames = gate.prepare_batch(_parse(REAL)).frames
    data = {k: frames[k] for k in ("reports", "quality_checks", "quarantine", "active_disclosure", "applications",
                                   "review_litigation")}
    qc = data["quality_checks"].copy()
    broken = qc["status"].isin(["warn", "fail"]) & (qc["n_failed"].fillna(0) > 0)
    qc.loc[broken, "status"] = "fail"               # the real copies' broken identities, as failures
    data["quality_checks"] = qc
    data["failures"] = qc.loc[broken, report.FAILURE_COLUMNS].reset_index(drop=True)
    failed_ids = set(qc.loc[broken, "report_id"].astype(str))
    assert failed_ids
    without = set(list(failed_ids)[:1]) | {"f" * 64}      # not published: not counted
    page = report.write_summary(data, tmp_path, without_docs=without).read_text(encoding="utf-8")
    n = data["reports"]["report_id"].nunique()
    assert f"1 of {n} published reports were last validated in a run of a handful of reports" in page
    assert page.count("validated without GX Data Docs: run `nianbao validate` to build them") >= 2
    assert "class='count without-docs'" in page
    plain = report.write_summary(data, tmp_path / "plain").read_text(encoding="utf-8")
    assert "without GX Data Docs" not in plain and "without-docs" not in plain


def test_a_one_file_run_publishes_the_same_bytes_with_either_engine(tmp_path, monkeypatch):
    """Every published dataset (quality_checks included) byte for byte, and the run's warnings, whether
    the suites ran in pandas or in GX; and only the GX run stores validation results."""
    from expectations import gate
    from flows import pipeline as pl
    from flows import publish as pub
    files = [ROOT / "tests" / "fixtures" / "realworld" / "raw" / "lg_dept_2024.txt",
             ROOT / "tests" / "fixtures" / "realworld" / "raw" / "hangzhou_style_2025.html",
             ROOT / "tests" / "fixtures" / "seeds"]       # a small folder: five reports, one batch
    for f in files:
        runs = {}
        for engine in (gate.PANDAS, gate.GX):
            if engine == gate.GX:
                monkeypatch.setattr(gate, "EVALUATOR_MAX_REPORTS", 0)
            dest = tmp_path / f"{f.stem}-{engine}"
            s = pl.run_inline(pl.RunConfig(source=str(f), dest=str(dest), quality_report=False,
                                           gate_while_parsing=True))
            assert s["gate_engine"] == engine and s["parsed"] == (1 if f.is_file() else 5)
            runs[engine] = (pub.digest(dest), s["warnings"], s["structural_failures"], s["verdicts"])
            stored = list((dest / ".gx" / "uncommitted").rglob("validations/**/*.json"))
            assert bool(stored) == (engine == gate.GX)
            monkeypatch.undo()
        assert runs[gate.PANDAS] == runs[gate.GX]
        assert len(runs[gate.PANDAS][0]) > 5


def test_the_engine_of_a_run():
    from expectations import gate
    n = gate.EVALUATOR_MAX_REPORTS
    assert gate.engine_for(1, data_docs=False) == gate.engine_for(n, data_docs=False) == gate.PANDAS
    assert gate.engine_for(n + 1, data_docs=False) == gate.GX
    assert gate.engine_for(1, data_docs=True) == gate.GX          # only GX stores what Data Docs render
