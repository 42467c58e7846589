"""The one schema registry of nianbao's datasets, by field name (as PUDL's metadata is).

Each field is defined once in `FIELDS` (its type, nullability, description, allowed values); each
dataset (`REGISTRY`) lists its fields by name, with its primary key and partition key, and may narrow a
field's description, nullability or allowed values for itself (`_as`). A dataset's own field whose
name another field already has (fetch_log's HTTP `status`) is declared inside the dataset.

Every consumer is a projection of this module: the Parquet schemas (`arrow_schema`), the typed pandas
frames (`transforms.typed.conform`), the Great Expectations suites (expectations/), the file metadata
and datapackage.json (transforms/metadata.py) and the data dictionary (docs/). A test checks that they
agree, so a field is added here and nowhere else. `DATASETS` holds the published datasets; the
reconciliation frame of the gate is registered too, but not published.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pyarrow as pa

from transforms.formats import FORMATS
from transforms.measures import SUMMARY_MEASURES   # re-exported: the registry's headline measures

PARSER_VERSION = "0.3.0"

# The formats' names come from the loaded format files (a third format is a new file), plus "hybrid"
# for a report whose tables were read in different formats.
TEMPLATES = (*FORMATS, "hybrid")
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
    "reordered",         # values printed before their row label (a page break, an extractor's order), placed by the text's order
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


# --- Vocabularies of the quality gate (expectations/gate.py, transforms/checks/reconcile.py; docs/GATE_API.md) ---

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
    "superseded",           # a crawled article's other rendering (its page or another attachment) read more
                            # complete statutory tables: that one is published, this one listed here
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
# A maintainers' decision on a check of a report (transforms/checks/reviews.py, the reviews file in git).
REVIEW_DECISIONS = (
    "publisher_error_confirmed",  # the printed numbers contradict each other: the publisher's error
    "parser_error",               # nianbao read the report wrongly: the printed numbers are fine
    "accepted",                   # looked at and accepted as it is (e.g. a known provincial variant)
    "corrected_value",            # a cell should hold another number: published as corrected_value
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


# The crawl's fetch log (flows/crawl.py writes DEST/_crawl/fetch_log.jsonl; a run over a crawl folder
# publishes it): one row per request, in the order they were made.
FETCH_OUTCOMES = ("fetched", "not_modified", "gone", "failed", "refused", "robots_disallowed",
                  "skipped_max_articles", "site_failed")
FETCH_KINDS = ("robots", "list", "article", "attachment")


# --- What the prose of a report states about its own figures (transforms/narrative.py) ---

def _statement_quantities() -> tuple[str, ...]:
    """The statements' quantities as transforms/narrative.yaml declares them, read from the file: the
    narrative module compiles its rules against the formats, which import this registry (a cycle).
    transforms.narrative.quantity_names() gives the same list (tests/test_narrative.py)."""
    from pathlib import Path

    from transforms import yamlfile
    doc = yamlfile.safe_load(Path(__file__).with_name("narrative.yaml").read_text(encoding="utf-8"))
    return (*doc["quantities"], doc["report_year"]["quantity"],
            *(f"section.{s['key']}" for s in doc["sections"]["required"]))


AXES = ("row", "column")


# --- Fields and datasets ---

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
    # pandas dtype when it is not the Arrow type's (the reconciliation frame's categorical strings)
    dtype: str | None = None

    @property
    def pandas_dtype(self) -> str:
        return self.dtype or _PANDAS_DTYPES[self.arrow]

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


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()   # the columns that identify a row (unique; GX checks it)
    partition_key: str | None = None    # the published files are split by it (one folder per value)
    published: bool = True              # False: a frame of the gate only (never written)

    def __post_init__(self):
        names = [f.name for f in self.fields]
        assert len(set(names)) == len(names), f"{self.name}: a field listed twice"
        assert set(self.primary_key) <= set(names), f"{self.name}: primary key {self.primary_key}"
        assert self.partition_key in (None, *names), f"{self.name}: partition key {self.partition_key}"


STR, F64, I64, LIST, BOOL = pa.string(), pa.float64(), pa.int64(), pa.list_(pa.string()), pa.bool_()
# How a local file name that is not printable UTF-8 is written (transforms/names.py): lossless, so
# the same file always has the same source_file in every dataset and in the manifest.
NAME_ESCAPES = (" A local file name is written as printed, except that an undecodable byte or a control "
                "character is escaped as \\xNN (U+0080–U+009F as \\u00NN) and a backslash as \\\\.")


def _f(name, arrow, description, nullable=True, allowed=None, free_text=False) -> Field:
    return Field(name, arrow, description, nullable, allowed, free_text)


# The dimensions of each cell table (its rows' and columns' labels and codes), as the format files
# declare them (`dimensions:`), in their order; described here.
DIMENSION_DESCRIPTIONS = {
    "category": "Sub-table caption, e.g. 第二十条第（一）项.",
    "item": "Row label, e.g. 规章.",
    "metric": "Column label, e.g. 本年新制作数量.",
    "outcome": "Row leaf label, e.g. （一）予以公开 or 1.属于国家秘密.",
    "applicant": "Applicant column leaf, e.g. 自然人, 商业企业, 总计.",
    "proceeding": "行政复议, 行政诉讼 > 未经复议直接起诉 or 行政诉讼 > 复议后起诉.",
    "result": "结果维持, 结果纠正, 其他结果, 尚未审结 or 总计.",
}


def _dimensions(table: str) -> tuple[str, ...]:
    """The table's dimensions over every loaded format (a format file may add one)."""
    return tuple(dict.fromkeys(d for f in FORMATS.values() if table in f.tables for d in f.tables[table].dimensions))


def _dimension_fields() -> tuple[Field, ...]:
    out = []
    for name in dict.fromkeys(d for t in STATUTORY_TABLES for d in _dimensions(t)):
        out.append(_f(name, STR, DIMENSION_DESCRIPTIONS.get(name, f"Dimension {name} (from the format files).")))
        out.append(_f(f"{name}_code", STR, f"English code of {name} (from the format files)."))
    return tuple(out)


# Who published which report: the fields of a report's row that the datasets of its cells, checks and
# statements repeat (each dataset lists those it has; identity_columns).
REPORT_IDENTITY = ("report_id", "source_file", "organization", "organization_id", "report_year", "template")

# Every field once, by name. A dataset narrows a description, the nullability or the allowed values
# for itself with `_as` (an identity field of a derived dataset says "as in reports").
_ALL_FIELDS = (
    # who published which report: the identity of a report, repeated in every dataset of its rows
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
    # the file and its reading
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
    # one printed cell of a statutory table
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
    # the maintainers' review (transforms/checks/reviews.py): published beside the printed value, never over it
    _f("corrected_value", F64, "The value a maintainers' review (decision corrected_value) says the cell should "
       "hold; null unless reviewed. value and raw_value stay as printed."),
    _f("correction_source", STR, "Provenance of corrected_value: the review entry's 'check · reviewer · date' "
       "(the note is in quality_checks.review_note); null unless corrected."),
    *_dimension_fields(),
    # Where a cell sits in its format's row/column tree (declared in the format files; the `codes` dataset
    # lists every node): what keeps a sum over cells from counting totals with their parts.
    _f("is_total", BOOL, "True when the cell's row or column is a total or subtotal in its format (（七）总计, the "
       "总计 applicant column, the 总计 columns of table 四; `total: true` in the format files). Summing cells: "
       "filter is_total = false (the parts) or take the totals alone, never both.", False),
    _f("parent_code", STR, "Code of the parent node of the cell's row in its format's tree: outcomes, withheld, "
       "unavailable, not_processed, other_handling (2021) in table 三, the sub-table (article20_item1 …) in "
       "table 二; in table 四, whose one data row has no label, the column's parent (administrative_review, "
       "litigation_without_review, litigation_after_review); '' at the top (see the codes dataset)."),
    _f("level", I64, "Depth of that node in the tree: 1 = top (一、本年新收…), 2 = （一）予以公开, 3 = "
       "1.属于国家秘密; table 二's rows are 2 (under their sub-table), table 四's columns 2 or 3."),
    # one quality check of one report
    _f("check", STR, "Check name: an identity, hierarchy or cross-year id from the format files, a plausibility or "
       "consolidated-report id from transforms/checks.yaml, or <table>.<rule> for the structural per-report rules "
       "(docs/GATE_API.md).", False),
    _f("identity_number", I64, "Identity number in STATUTORY_TABLES.md; null for structural rules."),
    _f("format", STR, "Format whose rule was applied (per table; a hybrid uses the format its addresses carry)."),
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
    # the maintainers' review: status and verdict stay as computed, the decision is shown beside them
    _f("review_decision", STR, "The maintainers' decision on this check of this report (reviews file, keyed by "
       "the report's sha256): publisher_error_confirmed, parser_error, accepted or corrected_value; null when "
       "not reviewed. The status is not changed by it.", True, REVIEW_DECISIONS),
    _f("reviewer", STR, "Who reviewed the check (several for corrected cells of one check: '; '-joined)."),
    _f("review_note", STR, "The reviewer's note.", free_text=True),
    _f("review_date", STR, "Date of the review (YYYY-MM-DD)."),
    # a file that could not be read
    _f("reason_code", STR, "Why the file was quarantined.", False, QUARANTINE_REASONS),
    _f("reason", STR, "Human-readable reason (the parser's problems).", False),
    # one HTTP request of a crawl
    _f("crawl_id", STR, "UTC start of the crawl that made the request (YYYYMMDDTHHMMSSZ).", False),
    _f("time", STR, "UTC time of the request (ISO 8601, seconds).", False),
    _f("site", STR, "Name of the site in the sites file.", False),
    _f("url", STR, "URL requested (null for a row about the site, e.g. articles over max_articles)."),
    _f("referrer", STR, "Page the URL was found on (list page of an article, article of an attachment)."),
    _f("kind", STR, "What the URL was fetched as: robots, list, article or attachment.", False, FETCH_KINDS),
    _f("etag", STR, "ETag of the cached body (sent back as If-None-Match by the next crawl)."),
    _f("last_modified", STR, "Last-Modified of the cached body (sent back as If-Modified-Since)."),
    _f("bytes", I64, "Size of the body in bytes."),
    _f("seconds", F64, "Seconds the request took, retries and waits included."),
    _f("attempts", I64, "Requests sent for this URL (retries on 5xx and timeouts included)."),
    _f("error", STR, "Why the request failed or was refused; null on success."),
    # one node of a format's row or column tree
    _f("axis", STR, "row or column of the table.", False, AXES),
    _f("dimension", STR, "Cell-dataset dimension whose *_code column holds this code (outcome, applicant, "
       "category, item, metric, proceeding, result); a group node takes its axis's dimension."),
    _f("path", STR, "Canonical address (row_path or column_path of the cell datasets; a group node's "
       "path is the prefix of its leaves' paths).", False),
    _f("label", STR, "Label as the format prints it.", False),
    _f("code", STR, "English code (as in the cell datasets' *_code columns).", False),
    _f("code_path", STR, "Codes from the top of the tree down to this node, joined with ' > ' "
       "(e.g. outcomes > withheld > withheld_state_secret): LIKE 'outcomes > %' finds every outcome row.", False),
    _f("is_leaf", BOOL, "True when cells are published at this node; false for a group label "
       "(三、本年度办理结果, （三）不予公开, 2021's （六）其他处理 …).", False),
    _f("harmonised_code", STR, "Code that makes the formats comparable (docs/crosswalk.md): the 2021 "
       "（六）其他处理 sub-rows carry other_handling, the 2019 row's code; otherwise the node's own code.", False),
    # the headline figures of report_summary (transforms/measures.py)
    *(_f(n, F64, d + " Null unless every cell it sums has a value.") for n, d in SUMMARY_MEASURES),
    # what the prose of a report states about its own figures (transforms/narrative.py)
    _f("quantity", STR, "What the statement counts (transforms/narrative.yaml): applications_new, "
       "administrative_review, …; period_year (the statistics period's year); section.<key> (a section "
       "heading, value = its printed ordinal).", False, _statement_quantities()),
    _f("raw_text", STR, "The number as printed (with its unit when the unit was converted), or the words "
       "stating zero (未收到…申请).", False),
    _f("sentence", STR, "The sentence the statement was read from (a heading line for a section).", False),
)
FIELDS: dict[str, Field] = {f.name: f for f in _ALL_FIELDS}
assert len(FIELDS) == len(_ALL_FIELDS), "a field defined twice"


def _as(name: str, description: str | None = None, **narrowed) -> Field:
    """FIELDS[name] as one dataset states it: its own description, nullability or allowed values."""
    f = FIELDS[name]
    return replace(f, description=f.description if description is None else description, **narrowed)


def _fields(*specs: str | Field) -> tuple[Field, ...]:
    return tuple(FIELDS[s] if isinstance(s, str) else s for s in specs)


_AS_IN_REPORTS = (
    _as("report_id", "Hex sha256 of the report file (as in reports)."),
    "source_file",
    _as("organization", "Issuing body (as in reports)."),
)
_CELL_KEY = ("report_id", "table", "row_path", "column_path")


def _cell_dataset(table: str, description: str) -> Dataset:
    dimensions = [n for d in _dimensions(table) for n in (d, f"{d}_code")]
    return Dataset(table, description, _fields(
        _as("report_id", "Hex sha256 of the report file's raw bytes (stable id of one published file)."),
        _as("source_file", "Path or URL of the file the value was read from." + NAME_ESCAPES),
        _as("organization", "Issuing body as printed (title, preamble, signature, …; see "
            "reports.organization_source)."),
        _as("organization_id", "Stable id of the issuing body across years, renderings and name variants "
            "(as in reports; join cells to reports or to each other on it)."),
        _as("report_year", "Year the report covers (see reports.report_year_source); null when not printed."),
        _as("template", "National format detected from the labels: 2019, 2021 or hybrid."),
        "table", "row_path", "column_path", "value", "raw_value", "unit", "flags", "source_line", "confidence",
        "corrected_value", "correction_source", *dimensions, "is_total", "parent_code", "level",
    ), primary_key=_CELL_KEY, partition_key="report_year")


# What one instance of an identity came to in the reconciliation frame.
RECON_STATUSES = ("holds", "broken", "not_evaluable")


# The reconciliation frame of the gate (transforms/checks/reconcile.py; docs/GATE_API.md): one row per
# report × identity × instance. Repetitive text columns are categorical: the frame is not published,
# and GX copies it per metric.
def _categorical(fields: tuple[Field, ...], plain: tuple[str, ...]) -> tuple[Field, ...]:
    """The text fields as categoricals, but ``plain`` (one distinct value per failing row)."""
    return tuple(replace(f, dtype="category") if f.arrow == STR and f.name not in plain else f for f in fields)


_RECONCILIATION = Dataset("reconciliation", "One row per report × identity × instance (not published).", _categorical(
    _fields(
        "report_id", "source_file", "organization", "report_year", "template",
        _as("format", "Format whose identity was applied.", nullable=False),
        "check", "identity_number",
        _as("table", allowed=(*STATUTORY_TABLES, "narrative")),
        _f("for_each", STR, "row or column: what one instance of the identity is."),
        _f("key", STR, "The instance: the column or row path the identity is instantiated for."),
        _f("lhs", F64, "Left-hand side of the identity."),
        _f("rhs", F64, "Right-hand side of the identity."),
        _f("diff", F64, "lhs − rhs."),
        _f("status", STR, "holds, broken or not_evaluable.", False, RECON_STATUSES),
        _f("holds", BOOL, "True when the identity holds; NA when not evaluable."),
        _f("n_cells", I64, "Cells the instance involves."),
        _f("n_missing", I64, "Of them, blank or absent."),
        _f("cells", STR, "The addresses involved."),
        _f("values", STR, "The printed values, where the identity does not hold.", free_text=True),
        "related_report_id",
        _f("description", STR, "What the identity says."),
        _f("failure", STR, "'source_file [report_id] key: lhs ≠ rhs' of a broken row (what Data Docs lists)."),
        Field("flagged", BOOL, "A cell involved carries a parser flag.", False, dtype="bool"),
    ), plain=("values", "failure")),
    primary_key=("report_id", "check", "key", "related_report_id"), published=False)


# Every dataset, in the order they are published, documented and listed in datapackage.json.
REGISTRY: dict[str, Dataset] = {d.name: d for d in (
    Dataset("reports", "One row per input file: metadata, table statuses, counts of flagged cells, problems, "
            "verdict.", _fields(
                "report_id", "source_file", "organization", "organization_source", "organization_confidence",
                "organization_normalized", "organization_type", "organization_id", "division_code", "province",
                "city", "county", "township", "division_level", "report_year", "report_year_source",
                "report_year_confidence", "template", "publication_date", "sha256", "file_size", "encoding",
                "layout", "parser_version", "status", "active_disclosure_status", "applications_status",
                "review_litigation_status", "tables_found", "tables_complete", "n_cells", "n_flagged",
                "n_inferred", "n_unresolved", "problems", "verdict", "failed_checks"),
            primary_key=("report_id",), partition_key="report_year"),
    _cell_dataset("active_disclosure", "Table 二 主动公开政府信息情况, one row per cell."),
    _cell_dataset("applications", "Table 三 收到和处理政府信息公开申请情况, one row per cell."),
    _cell_dataset("review_litigation", "Table 四 政府信息公开行政复议、行政诉讼情况, one row per cell."),
    Dataset("quality_checks", "One row per report × quality check (identities 1–4 and 6, completeness, signs, "
            "parsing): status pass/warn/fail with the observed values.", _fields(
                *_AS_IN_REPORTS,
                _as("report_year", "Year the report covers (as in reports)."),
                _as("template", "Format detected from the labels (as in reports)."),
                "check", "identity_number",
                _as("table", "Statutory table the check reads (applications for the whole-report check "
                    "all_zero_report); narrative for the checks of the prose against the tables "
                    "(transforms/narrative.yaml).", allowed=(*STATUTORY_TABLES, "narrative")),
                "format",
                _as("status", "pass, warn or fail.", allowed=CHECK_STATUSES),
                "n_evaluated", "n_failed", "n_not_evaluable", "observed", "cells", "related_report_id",
                "attribution", "review_decision", "reviewer", "review_note", "review_date"),
            primary_key=("report_id", "check"), partition_key="report_year"),
    Dataset("quarantine", "One row per input file that could not be read at all, or that discovery did not take "
            "(DISCOVERY_REASONS), with the reason and its hash.", _fields(
                _as("report_id", "Hex sha256 of the raw bytes; for a file whose bytes were not read (sha256 null), "
                    "the sha256 of 'unread:' + its source_file."),
                _as("sha256", "Hex sha256 of the raw bytes (same as report_id); null when the bytes were not read "
                    "(a FIFO, a link leaving the source, a failed download: reason says why).", nullable=True),
                _as("source_file", "Path or URL of the file." + NAME_ESCAPES),
                _as("file_size", nullable=True),
                "reason_code", "reason",
                _as("problems", "Problems reported by the parser."),
                _as("encoding", "Encoding tried, if any."),
                _as("parser_version", "Version of the engine that read the file.", nullable=True)),
            primary_key=("report_id", "source_file")),
    # The crawl's log, not of report parsing: no report_id, no key (one row per request, in the order
    # they were made; the same URL is fetched by every crawl).
    Dataset("fetch_log", "One row per HTTP request of the crawls of a crawl folder (nianbao crawl / run --sites): "
            "URL, referrer, outcome, status, ETag / Last-Modified, sha256, bytes, time, error.", _fields(
                "crawl_id", "time", "site", "url", "referrer", "kind",
                _f("outcome", STR, "fetched (200), not_modified (304 from the cache), gone (404/410), failed (5xx, "
                   "timeout, over a limit, after retries), refused (another host, an internal address, a redirect "
                   "out), robots_disallowed, skipped_max_articles, site_failed (the site's crawl broke off; the "
                   "others went on).", False, FETCH_OUTCOMES),
                _f("status", I64, "HTTP status of the last attempt (200, 304, 404, 503 …); null when no response "
                   "came."),
                "etag", "last_modified",
                _as("sha256", "Hex sha256 of the body (the report_id of a report file kept from it).", nullable=True),
                "bytes", "seconds", "attempts", "error")),
    Dataset("report_summary", "One row per published report: identity, final verdict and headline figures "
            "(applications received and handled by outcome, review and litigation, decisions, fees), comparable "
            "across formats. Most questions start here.", _fields(
                "report_id", "source_file", "organization", "organization_id", "organization_type", "division_code",
                "province", "city", "county", "division_level", "report_year", "template", "applications_status",
                "review_litigation_status",
                _as("verdict", "Final quality verdict of the report (as in reports, after the checks across "
                    "years): keep 'pass' (or pass and warn) to leave out reports whose numbers do not add up."),
                *(n for n, _ in SUMMARY_MEASURES)),
            primary_key=("report_id",), partition_key="report_year"),
    Dataset("codes", "One row per node of each format's row and column trees: code, label, parent, level, "
            "is_total and the harmonised code (the crosswalk between formats, docs/crosswalk.md). Generated from "
            "transforms/formats/*.yaml.", _fields(
                _as("format", "Format file the node is declared in (2019, 2021, …).", nullable=False),
                _as("table", "Statutory table."), "axis", "dimension", "path", "label", "code", "code_path",
                _as("parent_code", "Code of the parent node ('' at the top).", nullable=False),
                _as("level", "Depth in the tree (1 = top).", nullable=False),
                _as("is_total", "A total or subtotal of other cells (declared `total: true`)."),
                "is_leaf", "harmonised_code"),
            primary_key=("format", "table", "axis", "path")),
    Dataset("statements", "One row per quantity the prose of a report states (applications, review and "
            "litigation cases, normative documents, fees, the statistics period, section headings), with its "
            "sentence and line: what the narrative checks compare.", _fields(
                *_AS_IN_REPORTS,
                _as("organization_id", "Stable id of the issuing body (as in reports)."),
                _as("report_year", "Year the report covers (as in reports)."),
                "quantity",
                _as("value", "The number the prose states (0 for a sentence saying there was none; amounts in the "
                    "quantity's unit).", nullable=False),
                "raw_text",
                _as("unit", "件, 元, 万元, 年; null for a section ordinal."),
                "sentence",
                _as("source_line", "1-based line of the source text the number (or the heading) is on.",
                    nullable=False)),
            primary_key=("report_id", "quantity", "source_line"), partition_key="report_year"),
    _RECONCILIATION,
)}

# The published datasets: dataset -> its fields, and its description.
DATASETS: dict[str, tuple[Field, ...]] = {n: d.fields for n, d in REGISTRY.items() if d.published}
DESCRIPTIONS = {n: d.description for n, d in REGISTRY.items() if d.published}
# Datasets of the crawl, not of report parsing: not keyed by report_id, published whole (replaced when
# the source's log changed, kept as they are otherwise).
CRAWL_DATASETS = ("fetch_log",)
# Datasets written from the format files by every publish, not from reports (no report_id).
GENERATED = ("codes",)
REPORT_FIELDS = DATASETS["reports"]


def dataset(name: str) -> Dataset:
    return REGISTRY[name]


def fields(dataset: str) -> tuple[Field, ...]:
    return REGISTRY[dataset].fields


def column_names(dataset: str) -> list[str]:
    return [f.name for f in REGISTRY[dataset].fields]


def identity_columns(dataset: str) -> tuple[str, ...]:
    """The columns of REPORT_IDENTITY the dataset has, in its order: what its rows repeat from their
    report's row in `reports` (report_id first)."""
    names = column_names(dataset)
    return tuple(c for c in REPORT_IDENTITY if c in names)


def primary_key(dataset: str) -> tuple[str, ...]:
    return REGISTRY[dataset].primary_key


def partition_key(dataset: str) -> str | None:
    return REGISTRY[dataset].partition_key


def pandas_dtypes(dataset: str) -> dict[str, str]:
    """column -> pandas dtype of the dataset's frames."""
    return {f.name: f.pandas_dtype for f in REGISTRY[dataset].fields}


def arrow_schema(dataset: str) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.arrow, nullable=f.nullable) for f in REGISTRY[dataset].fields])
