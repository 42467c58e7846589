"""The one schema registry of nianbao's published datasets.

Every consumer is a projection of this module: the Parquet schemas (`arrow_schema`), the empty
pandas frames (`empty_frame`), the Great Expectations suites (expectations/) and the data
dictionary (docs/). A test checks that they agree, so a field is added here and nowhere else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

PARSER_VERSION = "0.2.0"

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
    "decode_repaired",   # read from a source line where invalid bytes were replaced by U+FFFD while decoding
    "implausible_value",  # beyond the format's value_bounds, or an integer over 2^53 (value null); fails the gate
    "ocr",               # read from an image by OCR (recognition confidence in `confidence`)
    "ocr_low_confidence",  # read by OCR with a recognition confidence below 0.9
)
# Flags that say the parse of a cell was uncertain: a failed check involving such a cell is attributed
# to the parser. implausible_value is left out: it restates a check on the printed number, not a doubt
# about how it was read.
PARSER_FLAGS = tuple(f for f in CELL_FLAGS if f != "implausible_value")
# Who a failed or warned check points at (quality_checks.attribution): the printed numbers contradict
# each other (every cell involved clean), or the parse was uncertain (a cell involved carries a parser
# flag, or the rule is about the parse itself: completeness, unknown addresses, …).
ATTRIBUTIONS = ("publisher", "parser")


# Where a report's identity was read (transforms/identity, most trusted first).
IDENTITY_SOURCES = ("override", "title", "preamble", "html_meta", "statistics_period", "document_properties",
                    "year_end", "signature", "context", "source_line", "annual_mention", "opening_sentence",
                    "file_name", "publication_date")
ORGANIZATION_TYPES = ("government", "general_office", "department", "township", "subdistrict",
                      "development_zone", "other")
DIVISION_LEVELS = ("province", "city", "county", "township")


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
# How a local file name that is not printable UTF-8 is written (transforms/names.py): lossless, so
# the same file always has the same source_file in every dataset and in the manifest.
NAME_ESCAPES = (" A local file name is written as printed, except that an undecodable byte or a control "
                "character is escaped as \\xNN (U+0080–U+009F as \\u00NN) and a backslash as \\\\.")

_CELL_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the report file's raw bytes (stable id of one published file).", False),
    _f("source_file", STR, "Path or URL of the file the value was read from." + NAME_ESCAPES, False),
    _f("organization", STR, "Issuing body as printed (title, preamble, signature, …; see reports.organization_source)."),
    _f("organization_id", STR, "Stable id of the issuing body across years, renderings and name variants "
       "(as in reports; join cells to reports or to each other on it)."),
    _f("report_year", I64, "Year the report covers (see reports.report_year_source); null when not printed."),
    _f("template", STR, "National format detected from the labels: 2019, 2021 or hybrid.", True, TEMPLATES),
    _f("table", STR, "Statutory table: active_disclosure (二), applications (三), review_litigation (四).",
       False, STATUTORY_TABLES),
    _f("row_path", STR, "Canonical row address (STATUTORY_TABLES.md), labels joined with ' > '; '' in table 四.", False),
    _f("column_path", STR, "Canonical column address, labels joined with ' > '.", False),
    _f("value", F64, "Parsed number; null when the cell is blank, '/', '-', unreadable, unresolved, or an integer "
       "over 2^53 (flag implausible_value: a float64 would round it)."),
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
    _f("source_file", STR, "Path or URL of the report file." + NAME_ESCAPES, False),
    _f("organization", STR, "Issuing body as the report prints its full name (traditional characters and widths "
       "folded, year and report words removed); null when no source names it, with the reason in problems."),
    _f("organization_source", STR, "Where the organization was read (the most trusted source that names it).",
       True, IDENTITY_SOURCES),
    _f("organization_confidence", F64, "Confidence of organization by its source (override 1.0, title 0.95, "
       "preamble 0.9, … file name 0.55)."),
    _f("organization_normalized", STR, "Canonical name: the division's city and county completed where the "
       "report leaves them out (from the gazetteer or the caller's context), body words spelt one way."),
    _f("organization_type", STR, "Kind of body: government (人民政府), general_office (办公厅/室), department (部门), "
       "township (乡镇), subdistrict (街道), development_zone (开发区/管委会), other.", True, ORGANIZATION_TYPES),
    _f("organization_id", STR, "Stable id of the body: '<division code>-<hash of township and body words>', the "
       "same across years, renderings (X区人民政府 / Y市X区人民政府) and formats; '000000-…' when the division "
       "is unknown (then derived from the name)."),
    _f("division_code", STR, "GB/T 2260 code of the body's division (6 digits; a township's county); null "
       "when the gazetteer does not know the place or several places share the name."),
    _f("province", STR, "Province-level division of the body."),
    _f("city", STR, "Prefecture-level division of the body (null for a province or a county under its province)."),
    _f("county", STR, "County-level division of the body."),
    _f("township", STR, "Township or street (乡镇/街道) of a township-level body."),
    _f("division_level", STR, "Level of the body's division: province, city, county or township.", True,
       DIVISION_LEVELS),
    _f("report_year", I64, "Year the report covers; null when no source dates it (reason in problems)."),
    _f("report_year_source", STR, "Where the year was read; publication_date means inferred as the publication "
       "year minus one (flagged in problems).", True, IDENTITY_SOURCES),
    _f("report_year_confidence", F64, "Confidence of report_year by its source (publication_date 0.3)."),
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
# Why discovery did not hand an entry of the source to the parser (flows/sources.py). These rows
# describe the source as it is now: each run that lists a change replaces all of them.
DISCOVERY_REASONS = (
    "unsupported_type",     # an image, executable, archive, media file… (magic number): not a report format
    "hidden",               # a name starting with '.' (file, or folder not searched)
    "link_outside_source",  # a symbolic link leaving the source folder (not followed without --follow-symlinks)
    "dangling_link",        # a symbolic link to nothing
    "link_loop",            # a symbolic link that points back to itself
    "special_file",         # a FIFO, socket or device: never opened
    "read_error",           # the file could not be opened or read (permissions)
    "fetch_failed",         # a URL that could not be downloaded (HTTP error, timeout, over a limit)
)
QUARANTINE_REASONS = (
    "empty",               # nothing but blanks
    "binary",              # NUL bytes: not a text report
    "undecodable",         # not text in any charset read (or too damaged to repair)
    "not_a_report",
    "no_statutory_table",  # read, but no usable value in tables 二/三/四
    "unreadable",          # any other reason (read error, parser error)
    "too_large",           # over NIANBAO_MAX_BYTES (found before the file is read)
    "too_many_pages",      # PDF over NIANBAO_MAX_PDF_PAGES
    "archive_limit",       # DOCX over a ZIP limit: members, unpacked size, compression ratio
    "time_limit",          # reading took longer than NIANBAO_MAX_SECONDS
    "memory_limit",        # the isolated parse went over NIANBAO_MAX_MEMORY
    "unsafe_markup",       # XML/HTML declaring a DOCTYPE with entities (entity expansion, external entities)
    "corrupt_document",    # a broken PDF, DOCX (ZIP or XML) or unparsable HTML
    "no_text_layer",       # a scan (image-only PDF, image) in which OCR found no text
    "converter_missing",   # a legacy Office file and no LibreOffice to convert it, or a scan and no OCR engine
    "structural",          # parsed, but breaks a critical expectation of the gate: quarantined alone
    *DISCOVERY_REASONS,
)
_CODED = re.compile(r" \[([a-z_]+)\]$")


def quarantine_problem(source_file: str, reason: str, code: str) -> str:
    """The problem of a file that cannot be read: its reason with the quarantine reason code at the end,
    so the code travels with the report's problems to the quarantine dataset."""
    return f"{source_file}: {coded(reason, code)}"


def coded(reason: str, code: str) -> str:
    """A reason followed by its quarantine reason code, as reason_code_of reads it back."""
    assert code in QUARANTINE_REASONS, code
    return f"{reason} [{code}]"


def reason_code_of(problem: str) -> str | None:
    """The reason code a quarantine_problem carries (None for any other problem text)."""
    m = _CODED.search(problem)
    return m.group(1) if m and m.group(1) in QUARANTINE_REASONS else None

QUALITY_CHECK_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the report file (as in reports).", False),
    _f("source_file", STR, "Path or URL of the report file." + NAME_ESCAPES, False),
    _f("organization", STR, "Issuing body (as in reports)."),
    _f("report_year", I64, "Year the report covers (as in reports)."),
    _f("template", STR, "Format detected from the labels (as in reports).", True, TEMPLATES),
    _f("check", STR, "Check name: an identity, hierarchy or cross-year id from the format files, a plausibility or "
       "consolidated-report id from transforms/checks.yaml, or <table>.<rule> for the structural per-report rules "
       "(docs/GATE_API.md).", False),
    _f("identity_number", I64, "Identity number in STATUTORY_TABLES.md; null for structural rules."),
    _f("table", STR, "Statutory table the check reads (applications for the whole-report check all_zero_report).",
       False, STATUTORY_TABLES),
    _f("format", STR, "Format whose rule was applied (per table; a hybrid uses the format its addresses carry)."),
    _f("status", STR, "pass, warn or fail.", False, CHECK_STATUSES),
    _f("n_evaluated", I64, "Instances (columns, rows or cells) evaluated.", False),
    _f("n_failed", I64, "Instances that failed.", False),
    _f("n_not_evaluable", I64, "Instances not evaluable (a blank or absent cell).", False),
    _f("observed", STR, "Observed values: failing instances with lhs, rhs and the printed cells, or a summary.",
       free_text=True),
    _f("cells", LIST, "Cells involved in the failures ('row_path | column_path').", False),
    _f("related_report_id", STR, "Cross-year check: the other year's report."),
    _f("attribution", STR, "Who a failed or warned check points at: publisher (the printed numbers contradict "
       "each other; every cell involved is clean) or parser (a cell involved carries a flag of PARSER_FLAGS, or "
       "the rule is about the parse itself); null when the check passed.", True, ATTRIBUTIONS),
)

QUARANTINE_FIELDS = (
    _f("report_id", STR, "Hex sha256 of the raw bytes; for a file whose bytes were not read (sha256 null), "
       "the sha256 of 'unread:' + its source_file.", False),
    _f("sha256", STR, "Hex sha256 of the raw bytes (same as report_id); null when the bytes were not read "
       "(a FIFO, a link leaving the source, a failed download: reason says why).", True),
    _f("source_file", STR, "Path or URL of the file." + NAME_ESCAPES, False),
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
DESCRIPTIONS["quarantine"] = ("One row per input file that could not be read at all, or that discovery did not "
                              "take (DISCOVERY_REASONS), with the reason and its hash.")
