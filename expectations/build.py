"""Builds the GX suites from the schema registry and the format files, and the committed GX project.

    python -m expectations.build          # regenerate expectations/gx (suites, datasource, validation defs)
    python -m expectations.build --check  # exit 1 if the committed JSON differs from what the builder makes

Suites are generated, never hand-edited. `suite_specs()` is pure (no GX import): one list of expectation
dicts per dataset. Expectation and suite ids are deterministic (uuid5 of the content), so regenerating
never churns the JSON kept in git (ECOSYSTEM_NOTES §1.1).

Severity: `critical` = structural (schema, addresses, keys): a failure stops the batch from being
published. `warning` = data quality (identities, completeness, signs): recorded in the verdicts.
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from expectations.views import (CELL_TABLES, OTHER, RECONCILIATION, SHA_MISMATCH, helper_columns,
                                all_suite_datasets, list_fields_with_allowed, per_check_column, view_columns)
from transforms import narrative, schema
from transforms.formats import FORMATS
from transforms.checks.catalogue import check_names, hierarchy_catalog, identity_catalog, STRUCTURAL_RULES, WARN_RULES
from transforms.checks.reconcile import RECON_COLUMNS, RECON_FREE_TEXT, RECON_STATUSES
from transforms.checks.plausibility import CHECKS

GX_DIR = Path(__file__).with_name("gx")
SUITES_DIR = GX_DIR / "expectations"
DATASOURCE = "nianbao"
BATCH_DEFINITION = "whole_dataframe"
GX_VERSION = "1.24.1"
_NS = uuid.UUID("6f1c1d2e-8a43-4c55-9b1e-6e69616e6261")
CRITICAL, WARNING = "critical", "warning"
QC = "quality_checks"


def suite_name(dataset: str) -> str:
    return dataset


def _e(expectation_type: str, severity: str = CRITICAL, description: str | None = None, meta: dict | None = None,
       **kwargs) -> dict:
    d = {"kwargs": kwargs, "meta": meta or {}, "severity": severity, "type": expectation_type}
    if description:
        d["description"] = description
    return d


def _schema_expectations(dataset: str) -> list[dict]:
    out = [_e("expect_table_columns_to_match_set", column_set=view_columns(dataset), exact_match=True,
              description=f"{dataset}: exactly the schema columns{' + helper columns' if helper_columns(dataset) else ''}")]
    if dataset == RECONCILIATION:
        for c, dtype in RECON_COLUMNS.items():
            if c in RECON_FREE_TEXT:
                continue
            out.append(_e("expect_column_type_to_be", column=c, type_=schema.validation_dtype(dtype)))
        for c in ("report_id", "check", "table", "format", "status"):
            out.append(_e("expect_column_values_to_not_be_null", column=c))
        return out
    for f in schema.fields(dataset):
        if f.free_text:              # typed by the Parquet schema; not in the view
            continue
        out.append(_e("expect_column_type_to_be", column=f.name, type_=f.validation_dtype,
                      meta={"description": f.description}))
        if not f.nullable:
            out.append(_e("expect_column_values_to_not_be_null", column=f.name))
        if f.allowed and f.pandas_dtype != "object":
            out.append(_e("expect_column_values_to_be_in_set", column=f.name, value_set=list(f.allowed)))
    for f in list_fields_with_allowed(dataset):
        out.append(_e("expect_column_values_to_be_between", column=f"_{f.name}_unknown", min_value=0, max_value=0,
                      description=f"{dataset}.{f.name}: every item in {list(f.allowed)}"))
    return out


def _cell_expectations(table: str) -> list[dict]:
    out = [
        _e("expect_column_values_to_be_in_set", column="table", value_set=[table],
           description=f"every row of {table} has table = {table}"),
        _e("expect_compound_columns_to_be_unique", column_list=list(schema.primary_key(table)),
           description="(report_id, table, row_path, column_path) unique: each cell published once"),
    ]
    names = sorted(FORMATS)
    for n in (*names, OTHER):
        fmts = [n] if n != OTHER else names
        rows = sorted({p for f in fmts for p in FORMATS[f].tables[table].row_paths})
        cols = sorted({p for f in fmts for p in FORMATS[f].tables[table].column_paths})
        src = (f"format {n} ({FORMATS[n].source.name})" if n != OTHER
               else "hybrid / undetected template (any format)")
        out.append(_e("expect_column_values_to_be_in_set", column=f"_row_path_{n}", value_set=rows,
                      description=f"{src}: row_path is a row of {table} (flagged extra rows aside)"))
        out.append(_e("expect_column_values_to_be_in_set", column=f"_column_path_{n}", value_set=cols,
                      description=f"{src}: column_path is a column of {table}"))
    kinds = sorted({c.kind for f in FORMATS.values() for _, _, c in f.tables[table].cells()})
    out.append(_e("expect_column_values_to_be_in_set", column="_kind", value_set=kinds,
                  description="every column_path has a value kind in the format files"))
    out += [
        _e("expect_column_values_to_be_between", WARNING, column="_count_value", min_value=0,
           description="identity 5: counts are non-negative (value where the format says count; "
                       "not 本年增/减, not amounts)"),
        _e("expect_column_values_to_be_between", WARNING, column="_count_fraction", min_value=0, max_value=0,
           description="identity 5: counts are integers (fractional part of count values)"),
        _e("expect_column_values_to_be_in_set", WARNING, column="_printed_not_parsed", value_set=[False],
           description="raw text present ⇒ value present, unless the cell is flagged"),
    ]
    return out


def _reports_expectations() -> list[dict]:
    return [
        _e("expect_column_values_to_be_unique", column="report_id", description="one row per report file"),
        _e("expect_column_pair_values_to_be_equal", column_A="report_id", column_B="sha256",
           description="report_id is the sha256 of the file"),
        _e("expect_column_values_to_match_regex", column="report_id", regex="^[0-9a-f]{64}$"),
        _e("expect_column_values_to_be_in_set", column="status", value_set=["parsed"],
           description="published reports were read (unreadable files go to quarantine)"),
        _e("expect_column_values_to_not_be_null", column="verdict", description="the gate gave every report a verdict"),
        _e("expect_column_values_to_not_be_null", column="failed_checks"),
        _e("expect_column_values_to_be_between", column="n_cells", min_value=0),
    ]


def _quality_check_expectations() -> list[dict]:
    out = [
        _e("expect_compound_columns_to_be_unique", column_list=list(schema.primary_key("quality_checks")),
           description="one row per report × check"),
        _e("expect_column_values_to_be_in_set", column="check", value_set=check_names(),
           description="check names come from the format files and the structural rules"),
        _e("expect_column_values_to_be_in_set", column="format", value_set=sorted(FORMATS)),
    ]
    cat = identity_catalog()
    for r in cat.itertuples(index=False):
        out.append(_e("expect_column_values_to_be_in_set", WARNING, column=per_check_column(QC, r.check),
                      value_set=["pass", "warn"],
                      description=f"identity {r.identity_number} ({r.check}): {r.description}",
                      meta={"identity_number": int(r.identity_number), "formats": list(r.formats)}))
    for check, (table, description) in hierarchy_catalog().items():
        out.append(_e("expect_column_values_to_be_in_set", WARNING, column=per_check_column(QC, check),
                      value_set=["pass", "warn"], description=f"hierarchy ({check}): {description}"))
    warn_only = [(b.id, b.description) for b in CHECKS.level_bounds] + \
        [(CHECKS.all_zero_id, CHECKS.all_zero_description)] + [(c.id, c.description) for c in CHECKS.consolidated]
    for check, description in warn_only:
        out.append(_e("expect_column_values_to_be_in_set", WARNING, column=per_check_column(QC, check),
                      value_set=["pass"], description=f"{check} (never fails; warns): {description}"))
    for t in CELL_TABLES:
        for rule in (r for r in STRUCTURAL_RULES if r not in WARN_RULES):
            out.append(_e("expect_column_values_to_be_in_set", WARNING, column=per_check_column(QC, f"{t}.{rule}"),
                          value_set=["pass", "warn"],
                          description=f"{t}.{rule} does not fail"))
        out.append(_e("expect_column_values_to_be_in_set", WARNING, column=per_check_column(QC, f"{t}.flagged_cells"),
                      value_set=["pass"],
                      description=f"{t}: no cell flagged inferred or unresolved"))
    for check, description in narrative.SPEC.checks:      # warn only: listed in Data Docs when the prose disagrees
        out.append(_e("expect_column_values_to_be_in_set", WARNING, column=per_check_column(QC, check),
                      value_set=["pass"], description=description))
    return out


def _quarantine_expectations() -> list[dict]:
    return [
        _e("expect_compound_columns_to_be_unique", column_list=list(schema.primary_key("quarantine")),
           description="one row per quarantined file (identical bytes under two names are two rows)"),
        _e("expect_column_values_to_match_regex", column="sha256", regex="^[0-9a-f]{64}$"),
        _e("expect_column_values_to_be_in_set", column=SHA_MISMATCH, value_set=[False],
           description="report_id is the sha256 of the bytes, when they were read (sha256 not null)"),
    ]


def _reconciliation_expectations() -> list[dict]:
    out = [
        _e("expect_column_values_to_be_in_set", column="status", value_set=list(RECON_STATUSES)),
        _e("expect_column_values_to_be_in_set", column="check", value_set=list(identity_catalog()["check"])),
        _e("expect_compound_columns_to_be_unique", column_list=list(schema.primary_key(RECONCILIATION)),
           description="one row per report × identity × instance"),
    ]
    for r in identity_catalog().itertuples(index=False):
        out.append(_e("expect_column_values_to_be_null", WARNING, column=per_check_column(RECONCILIATION, r.check),
                      description=f"identity {r.identity_number}: {r.description}",
                      meta={"identity_number": int(r.identity_number), "check": r.check,
                            "formats": list(r.formats)}))
    return out


def suite_specs() -> dict[str, list[dict]]:
    """dataset → expectation dicts (type, kwargs, meta, severity, description). Pure."""
    specs = {}
    for ds in all_suite_datasets():
        ex = _schema_expectations(ds)
        if ds in CELL_TABLES:
            ex += _cell_expectations(ds)
        elif ds == "reports":
            ex += _reports_expectations()
        elif ds == "quality_checks":
            ex += _quality_check_expectations()
        elif ds == "quarantine":
            ex += _quarantine_expectations()
        elif ds == RECONCILIATION:
            ex += _reconciliation_expectations()
        specs[suite_name(ds)] = ex
    return specs


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join(parts)))


def suite_json(name: str, expectations: list[dict]) -> dict:
    """The suite as GX writes it (ExpectationSuite JSON), with deterministic ids."""
    exps = []
    for e in expectations:
        d = dict(e)
        d["id"] = _id(name, json.dumps(e, sort_keys=True, ensure_ascii=False))
        exps.append(dict(sorted(d.items())))
    ids = [e["id"] for e in exps]
    if len(set(ids)) != len(ids):
        raise ValueError(f"suite {name}: duplicate expectation")
    return {"expectations": exps, "id": _id("suite", name),
            "meta": {"great_expectations_version": GX_VERSION,
                     "generated_by": "python -m expectations.build (do not edit)"},
            "name": name, "notes": None}


def suite_text(name: str, expectations: list[dict]) -> str:
    return json.dumps(suite_json(name, expectations), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_counts() -> dict[str, int]:
    return {n: len(e) for n, e in suite_specs().items()}


def write_suites(root: Path = GX_DIR) -> list[Path]:
    """Write every suite JSON under root/expectations (only files whose text changed); remove stale ones."""
    d = root / "expectations"
    d.mkdir(parents=True, exist_ok=True)
    written, keep = [], set()
    for name, ex in suite_specs().items():
        p = d / f"{name}.json"
        keep.add(p.name)
        text = suite_text(name, ex)
        if not p.exists() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            written.append(p)
    for p in d.glob("*.json"):
        if p.name not in keep:
            p.unlink()
    return written


def check_committed(root: Path = GX_DIR) -> list[str]:
    """Names of suites whose committed JSON differs from the builder's (empty = in sync)."""
    bad = []
    for name, ex in suite_specs().items():
        p = root / "expectations" / f"{name}.json"
        if not p.exists() or p.read_text(encoding="utf-8") != suite_text(name, ex):
            bad.append(name)
    return bad


def build_project(root: Path = GX_DIR) -> None:
    """Create/refresh the file-backed GX project: config, suites, datasource, assets, validation defs.
    Idempotent: a second run leaves the tree byte-identical (get-or-add, never add_or_update)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (root / "great_expectations.yml").exists()
    if fresh:
        ctx = gx.get_context(mode="file", project_root_dir=str(root.parent))
        if Path(ctx.root_directory).resolve() != root.resolve():
            raise RuntimeError(f"GX created {ctx.root_directory}, expected {root}")
    else:
        ctx = gx.get_context(mode="file", context_root_dir=str(root))
    pb = ctx.variables.progress_bars
    globally = pb.get("globally") if isinstance(pb, dict) else getattr(pb, "globally", None)
    if fresh or globally is not False:
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        ctx.variables.save()
    write_suites(root)
    ensure_validation_definitions(ctx)


def _get_or_add(get, add, name):
    try:
        return get(name)
    except Exception:  # noqa: BLE001 — GX raises several lookup errors
        return add(name)


def ensure_validation_definitions(ctx) -> dict:
    import great_expectations as gx

    ds = _get_or_add(ctx.data_sources.get, ctx.data_sources.add_pandas, DATASOURCE)
    vds = {}
    for name in suite_specs():
        asset = _get_or_add(ds.get_asset, ds.add_dataframe_asset, name)
        bd = _get_or_add(asset.get_batch_definition, asset.add_batch_definition_whole_dataframe, BATCH_DEFINITION)
        try:
            vds[name] = ctx.validation_definitions.get(name)
        except Exception:  # noqa: BLE001
            suite = ctx.suites.get(name)
            vds[name] = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=bd, suite=suite))
    return vds


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        bad = check_committed()
        if bad:
            print("suites out of date (run python -m expectations.build):", ", ".join(bad))
            return 1
        print("suites in sync:", expected_counts())
        return 0
    build_project()
    print("built", GX_DIR, expected_counts())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
