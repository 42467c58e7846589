"""The one schema registry of nianbao's published datasets.

Every consumer is a projection of this module: the Parquet schemas (`arrow_schema`), the empty
pandas frames (`empty_frame`), the Great Expectations suites (expectations/) and the data
dictionary (docs/). A test checks that they agree, so a field is added here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

PARSER_VERSION = "0.1.0"

TEMPLATES = ("2019", "2021", "hybrid")
TABLE_STATUSES = ("complete", "incomplete", "missing", "unreadable")
REPORT_STATUSES = ("parsed", "unreadable")
VERDICTS = ("pass", "warn", "fail")
STATUTORY_TABLES = ("active_disclosure", "applications", "review_litigation")
# Cell flags: why a value deserves a second look. Values are never altered to satisfy them.
CELL_FLAGS = (
    "inferred",          # position or value fixed by the identities (row had too few/many values)
    "unresolved",        # row could not be aligned; value left null, reason in the report problems
    "typo_zero_padding",  # "000000" read as 0
    "typo_double_sign",  # "--253" read as -253
    "unit_in_cell",      # the unit was printed inside the cell ("251000元")
    "legacy_label",      # a 2019 wording printed in a 2021 table, kept at the 2021 address
    "fuzzy_label",       # row label matched by similarity (mirror dropped characters)
    "truncated_label",   # row label matched by prefix
    "extra_row",         # a provincial extra row outside the national format
    "nonnumeric",        # printed text that is not a number (value null)
    "unexpected_sign",   # a sign on a count column
    "ocr",               # read from an image by OCR (recognition confidence in `confidence`)
    "ocr_low_confidence",  # read by OCR with a recognition confidence below 0.9
)


@dataclass(frozen=True)
class Field:
    name: str
    arrow: pa.DataType
    description: str
    nullable: bool = True
    allowed: tuple | None = None  # allowed values (scalar fields) or allowed items (list fields)
    # Long text for people (one distinct value per row): typed by the Parquet schema, left out of the
    # frames GX validates, where dictionary-encoding it would hash ~1 KB per row for a vacuous check.
    free_text: bool = False

    @property
    def pandas_dtype(self) -> str:
        return _PANDAS_DTYPES[self.arrow]

    @property
    def validation_dtype(self) -> str:
        """dtype in the frames GX validates: strings dictionary-encoded, as in the Parquet files.

        GX filters the whole frame for every expectation; taking categorical codes is ~4x cheaper
        than taking Arrow strings. Only a column that is `str` becomes `category`, so a mistyped
        column still fails its type expectation."""
        return validation_dtype(self.pandas_dtype)


def validation_dtype(pandas_dtype: str) -> str:
    return "category" if pandas_dtype == "str" else pandas_dtype


_PANDAS_DTYPES = {
    pa.string(): "str",
    pa.float64(): "float64",
    pa.int64(): "Int64",
    pa.int32(): "Int64",
    pa.bool_(): "boolean",
    pa.list_(pa.string()): "object",
}


def _f(name, arrow, description, nullable=True, allowed=None, free_text=False) -> Field:
    return Field(name, arrow, description, nullable, allowed, free_text)


STR, F64, I64, LIST = pa.string(), pa.float64(), pa.int64(), pa.list_(pa.string())

_CELL_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the report file's raw bytes (stable id of one published file).", False),
    _f("source_file", STR, "Path or URL of the file the value was read from.", False),
    _f("organization", STR, "Issuing body, from the title, preamble or signature."),
    _f("report_year", I64, "Year the report covers (from title/preamble); null when not printed."),
    _f("template", STR, "National format detected from the labels: 2019, 2021 or hybrid.", True, TEMPLATES),
    _f("table", STR, "Statutory table: active_disclosure (二), applications (三), review_litigation (四).",
       False, STATUTORY_TABLES),
    _f("row_path", STR, "Canonical row address (STATUTORY_TABLES.md), labels joined with ' > '; '' in table 四.", False),
    _f("column_path", STR, "Canonical column address, labels joined with ' > '.", False),
    _f("value", F64, "Parsed number; null when the cell is blank, '/', '-', unreadable or unresolved."),
    _f("raw_value", STR, "The cell's text exactly as printed (null when no text could be attributed to the cell)."),
    _f("unit", STR, "count for counts; 万元 / 元 for amounts when printed or fixed by the format; null when unknown."),
    _f("flags", LIST, "Why the value needs a second look (see CELL_FLAGS); empty when clean.", False, CELL_FLAGS),
    _f("source_line", I64, "1-based line of the source text the value (or its row) came from."),
    _f("confidence", F64, "OCR recognition confidence (0–1) of the cell's printed text when the report was a scan "
                          "(flag ocr); null otherwise."),
)

_DIMENSIONS = {
    "active_disclosure": (
        ("category", "Sub-table caption, e.g. 第二十条第（一）项."),
        ("item", "Row label, e.g. 规章."),
        ("metric", "Column label, e.g. 本年新制作数量."),
    ),
    "applications": (
        ("outcome", "Row leaf label, e.g. （一）予以公开 or 1.属于国家秘密."),
        ("applicant", "Applicant column leaf, e.g. 自然人, 商业企业, 总计."),
    ),
    "review_litigation": (
        ("proceeding", "行政复议, 行政诉讼 > 未经复议直接起诉 or 行政诉讼 > 复议后起诉."),
        ("result", "结果维持, 结果纠正, 其他结果, 尚未审结 or 总计."),
    ),
}


def _dimension_fields(table: str) -> tuple[Field, ...]:
    out = []
    for name, desc in _DIMENSIONS[table]:
        out.append(_f(name, STR, desc))
        out.append(_f(f"{name}_code", STR, f"English code of {name} (from the format files)."))
    return tuple(out)


REPORT_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the raw bytes.", False),
    _f("source_file", STR, "Path or URL of the report file.", False),
    _f("organization", STR, "Issuing body (title, preamble or signature); null when not printed."),
    _f("organization_source", STR, "Where the organization was found: title, preamble, signature."),
    _f("report_year", I64, "Year the report covers; null when not printed."),
    _f("template", STR, "Format detected from the labels: 2019, 2021, hybrid; null when no table was read.",
       True, TEMPLATES),
    _f("publication_date", STR, "Publication date printed in the file (ISO yyyy-mm-dd), if any."),
    _f("sha256", STR, "Hex sha256 of the raw bytes (same as report_id).", False),
    _f("file_size", I64, "Size of the raw file in bytes.", False),
    _f("encoding", STR, "Text encoding the bytes were decoded with."),
    _f("layout", STR, "Text layout family the reader recognised (tab_cells, tsv, pipe, line_cells, one_line, html …)."),
    _f("parser_version", STR, "Version of the nianbao engine that produced the row.", False),
    _f("status", STR, "parsed, or unreadable when no usable statutory value was found.", False, REPORT_STATUSES),
    _f("active_disclosure_status", STR, "Table 二: complete, incomplete, missing or unreadable.", False, TABLE_STATUSES),
    _f("applications_status", STR, "Table 三: complete, incomplete, missing or unreadable.", False, TABLE_STATUSES),
    _f("review_litigation_status", STR, "Table 四: complete, incomplete, missing or unreadable.", False, TABLE_STATUSES),
    _f("tables_found", LIST, "Statutory tables located in the file.", False, STATUTORY_TABLES),
    _f("tables_complete", LIST, "Statutory tables with every cell of their format present.", False, STATUTORY_TABLES),
    _f("n_cells", I64, "Number of cells published for this report.", False),
    _f("n_flagged", I64, "Cells carrying at least one flag.", False),
    _f("n_inferred", I64, "Cells flagged inferred.", False),
    _f("n_unresolved", I64, "Cells flagged unresolved.", False),
    _f("problems", LIST, "Human-readable problems found while parsing (unknown labels, cut tables, …).", False),
    _f("verdict", STR, "Quality verdict: pass, warn or fail (set by the quality gate).", True, VERDICTS),
    _f("failed_checks", LIST, "Names of the quality checks this report failed (set by the quality gate)."),
)

DATASETS: dict[str, tuple[Field, ...]] = {
    "reports": REPORT_FIELDS,
    **{t: _CELL_FIELDS + _dimension_fields(t) for t in STATUTORY_TABLES},
}

DESCRIPTIONS = {
    "reports": "One row per input file: metadata, table statuses, counts of flagged cells, problems, verdict.",
    "active_disclosure": "Table 二 主动公开政府信息情况, one row per cell.",
    "applications": "Table 三 收到和处理政府信息公开申请情况, one row per cell.",
    "review_litigation": "Table 四 政府信息公开行政复议、行政诉讼情况, one row per cell.",
}


def fields(dataset: str) -> tuple[Field, ...]:
    return DATASETS[dataset]


def column_names(dataset: str) -> list[str]:
    return [f.name for f in DATASETS[dataset]]


def arrow_schema(dataset: str) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.arrow, nullable=f.nullable) for f in DATASETS[dataset]])


# --- Datasets of the quality gate (expectations/gate.py, transforms/reconcile.py; docs/GATE_API.md) ---

CHECK_STATUSES = ("pass", "warn", "fail")
QUARANTINE_REASONS = ("empty", "binary", "undecodable", "not_a_report", "no_statutory_table", "unreadable")

QUALITY_CHECK_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the report file (as in reports).", False),
    _f("source_file", STR, "Path or URL of the report file.", False),
    _f("organization", STR, "Issuing body (as in reports)."),
    _f("report_year", I64, "Year the report covers (as in reports)."),
    _f("template", STR, "Format detected from the labels (as in reports).", True, TEMPLATES),
    _f("check", STR, "Check name: an identity id or cross-year id from the format files, or "
       "<table>.<rule> for the structural per-report rules (docs/GATE_API.md).", False),
    _f("identity_number", I64, "Identity number in STATUTORY_TABLES.md; null for structural rules."),
    _f("table", STR, "Statutory table the check reads.", False, STATUTORY_TABLES),
    _f("format", STR, "Format whose rule was applied (per table; a hybrid uses the format its addresses carry)."),
    _f("status", STR, "pass, warn or fail.", False, CHECK_STATUSES),
    _f("n_evaluated", I64, "Instances (columns, rows or cells) evaluated.", False),
    _f("n_failed", I64, "Instances that failed.", False),
    _f("n_not_evaluable", I64, "Instances not evaluable (a blank or absent cell).", False),
    _f("observed", STR, "Observed values: failing instances with lhs, rhs and the printed cells, or a summary.",
       free_text=True),
    _f("cells", LIST, "Cells involved in the failures ('row_path | column_path').", False),
    _f("related_report_id", STR, "Cross-year check: the other year's report."),
)

QUARANTINE_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the raw bytes.", False),
    _f("sha256", STR, "Hex sha256 of the raw bytes (same as report_id).", False),
    _f("source_file", STR, "Path or URL of the file.", False),
    _f("file_size", I64, "Size of the raw file in bytes."),
    _f("reason_code", STR, "Why the file was quarantined.", False, QUARANTINE_REASONS),
    _f("reason", STR, "Human-readable reason (the parser's problems).", False),
    _f("problems", LIST, "Problems reported by the parser.", False),
    _f("encoding", STR, "Encoding tried, if any."),
    _f("parser_version", STR, "Version of the engine that read the file."),
)

DATASETS["quality_checks"] = QUALITY_CHECK_FIELDS
DATASETS["quarantine"] = QUARANTINE_FIELDS
DESCRIPTIONS["quality_checks"] = ("One row per report × quality check (identities 1–4 and 6, completeness, "
                                  "signs, parsing): status pass/warn/fail with the observed values.")
DESCRIPTIONS["quarantine"] = "One row per input file that could not be read at all, with the reason and its hash."
