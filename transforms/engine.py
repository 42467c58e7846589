"""The statutory-table engine: one report's bytes → canonical, flagged cells + report metadata.

It only strings the steps together: transforms/read (bytes → lines) → identity (who, which year) →
transforms/parse: regions of tables 二/三/四 → tokens (layout family) → rows by label → format per
block → cells (values aligned to columns) → the repairs for positional text (cut numbers, failing
rows and columns) → the report row's statuses and counts, and the statements of the prose.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from transforms.formats import FORMATS
from transforms.identity import IDENTITY_FIELDS, describe, document_properties
from transforms.names import escape_surrogates
from transforms.narrative import Statement, extract as extract_statements, prose_lines
from transforms.parse.cells import Cell, build_table
from transforms.parse.cut_numbers import mend as mend_cut_numbers
from transforms.parse.format_choice import decide_formats
from transforms.parse.regions import locate
from transforms.parse.row_order import flag_failing_columns, flag_failing_rows, mark_placed_by_order, values_after_end
from transforms.parse.rows import read_rows, reread_wrapped, stray
from transforms.parse.tokens import detect_layout, tokens
from transforms.read.charsets import repair_problem
from transforms.read.document import read_document
from transforms.read.html import html_table_lines as html_lines
from transforms.read.limits import Unreadable
from transforms.read.text import is_html, text_lines
from transforms.schema import PARSER_VERSION, STATUTORY_TABLES, coded, quarantine_problem


@dataclass
class ParsedReport:
    report: dict
    cells: list[Cell]
    # what the prose says about the report's own figures (transforms/narrative.py), in line order
    statements: list[Statement] = field(default_factory=list)


# --------------------------------------------------------------------------- metadata

def metadata(lines: list[tuple[str, int]], source_file: str = "", properties: dict | None = None,
             context: dict | None = None, sha256: str | None = None) -> dict:
    """Who published the report and for which year (transforms/identity): the identity columns of
    the reports row, plus "_problems" (why a field is unknown, conflicting sources, overrides used)."""
    return describe(lines, source_file, properties, context, sha256)


# --------------------------------------------------------------------------- report

def parse_report(data: bytes, source_file: str, context: dict | None = None, limits=None,
                 images=None) -> ParsedReport:
    """Parse one report file. Never raises on bad content: problems land in report['problems'].

    context: what the caller knows of the source (optional keys organization, region, site_name,
    url, report_year, title, publication_date: e.g. the site, URL list or article page the file came
    from); it completes, never overrides, what the report prints. limits: read.limits.Limits (default:
    from the environment, read per call; a batch reads them once). images: for an HTML page, src →
    the bytes of a picture saved next to it (None when not available): tables pasted as pictures are
    read by OCR (read.document.html_images)."""
    source_file = escape_surrogates(source_file)   # a name given as os.fsdecode'd bytes: every step can encode it
    sha = hashlib.sha256(data).hexdigest()
    base = _empty_report(sha, source_file, len(data))
    try:
        doc = read_document(data, limits, images=images)
    except Unreadable as exc:
        base["problems"] = [quarantine_problem(source_file, str(exc), exc.code)]
        return ParsedReport(base, [])
    properties = {**document_properties(data, doc.kind, doc.encoding), **doc.properties}
    parsed = _parse("", base, doc.encoding, lines=doc.lines, kind=doc.kind, tabular=doc.tabular,
                    repairs=doc.repairs, properties=properties, context=context)
    if doc.confidences is not None:
        # a page with pictures read by OCR: only the cells of their rows are OCR'd
        mark_ocr(parsed, doc.confidences, only_their_rows=doc.kind == "html_ocr")
    for note in doc.notes if doc.kind in ("html", "html_ocr") else ():
        if note.startswith("picture"):
            parsed.report["problems"].append(f"{source_file}: {note}")
    return parsed


OCR_CONFIDENT = 0.9   # below this recognition score a value is flagged ocr_low_confidence as well


def mark_ocr(parsed: ParsedReport, confidences: dict[int, list[tuple[str, float | None]]],
             only_their_rows: bool = False) -> None:
    """Every cell of a report read by OCR is flagged ``ocr`` and carries the recognition confidence of
    its printed text (the lowest among the row's cells printed the same, when a row repeats a text);
    a value read with less than OCR_CONFIDENT is flagged ``ocr_low_confidence`` too."""
    for c in parsed.cells:
        if only_their_rows and c.source_line not in confidences:
            continue
        row = confidences.get(c.source_line) or []
        raw = (c.raw_value or "").strip()
        scores = [x for t, x in row if x is not None and t.strip() == raw] if raw else []
        c.confidence = min(scores) if scores else None
        low = c.value is not None and (c.confidence is None or c.confidence < OCR_CONFIDENT)
        c.flags = c.flags + (("ocr", "ocr_low_confidence") if low else ("ocr",))
    rep = parsed.report
    rep["n_flagged"] = sum(1 for c in parsed.cells if c.flags)
    what = "the values of its pictures are" if only_their_rows else "every value is"
    rep["problems"].append(f"{rep['source_file']}: read by OCR: {what} flagged ocr "
                           f"({sum('ocr_low_confidence' in c.flags for c in parsed.cells)} with low confidence)")


def parse_text(text: str, source_file: str = "<text>", context: dict | None = None) -> ParsedReport:
    data = text.encode("utf-8")
    base = _empty_report(hashlib.sha256(data).hexdigest(), source_file, len(data))
    return _parse(text, base, "utf-8", context=context)


def _empty_report(sha: str, source_file: str, size: int) -> dict:
    return {
        "report_id": sha, "source_file": source_file, **dict.fromkeys(IDENTITY_FIELDS),
        "template": None, "sha256": sha, "file_size": size,
        "encoding": None, "layout": None, "parser_version": PARSER_VERSION, "status": "unreadable",
        **{f"{t}_status": "missing" for t in STATUTORY_TABLES},
        "tables_found": [], "tables_complete": [], "n_cells": 0, "n_flagged": 0, "n_inferred": 0,
        "n_unresolved": 0, "problems": [], "verdict": None, "failed_checks": None,
    }


def _parse(text: str, report: dict, encoding: str | None, lines: list[tuple[str, int]] | None = None,
           kind: str | None = None, tabular: bool = False, repairs: tuple = (), properties: dict | None = None,
           context: dict | None = None) -> ParsedReport:
    # `lines` given: read from a document by transforms/read (kind docx | pdf | html | text; tabular → "html"
    # layout); else `text` is split here (parse_text)
    html = is_html(text) if lines is None else tabular
    if lines is None:
        try:
            lines = html_lines(text) if html else text_lines(text)
        except Exception as exc:  # lxml on hostile markup: the file is unreadable, the batch goes on
            report["problems"] = [f"{report['source_file']}: HTML could not be parsed ({type(exc).__name__}: {exc})"]
            report["encoding"] = encoding
            return ParsedReport(report, [])
    identity = metadata(lines, report["source_file"], properties, context, report["sha256"])
    identity_problems = identity.pop("_problems")
    report.update(identity)
    report["encoding"] = encoding
    regions = locate(lines)
    problems: list[str] = [repair_problem(repairs)] if repairs else []
    damaged = frozenset(r.line for r in repairs)
    layout = detect_layout(lines, regions, html)
    # the document kind for DOCX, PDF and converted legacy files (doc, rtf, odt, xls, ods)
    report["layout"] = kind if kind not in (None, "html", "text") else layout
    reads = {}
    mangled: set[str] = set()   # tables some of whose values the order of the text placed
    spilled: dict[str, set[int]] = {}   # table → lines of values printed after its end (row_order)
    for t, r in regions.items():
        toks = tokens(lines, r, layout)
        if layout in _POSITIONAL and (after := values_after_end(t, toks, lines, r.end)):
            toks, spilled[t], note = after
            problems.append(note)
        tr = reads[t] = read_rows(t, toks)
        if t != "review_litigation" and (tr.unknown or stray(tr) or any(row.entry is None for row in tr.rows)):
            reads[t] = reread_wrapped(t, toks, tr, problems, cut=r.truncated)
            if layout in _POSITIONAL and mark_placed_by_order(reads[t]):
                problems.append(f"{t}: labels and values printed apart and not every value has its row: rows "
                                "whose values sit on lines of their own placed by the order of the text (flag reordered)")
            if any(row.how == "reordered" for row in reads[t].rows):
                mangled.add(t)
    decided = decide_formats(reads, problems)
    cells: list[Cell] = []
    statuses = {}
    for table in STATUTORY_TABLES:
        if table not in regions:
            statuses[table] = "missing"
            continue
        tcells, status = build_table(table, reads[table], regions[table], decided, problems, layout, damaged)
        cells.extend(tcells)
        statuses[table] = status
        if table in spilled:
            for c in tcells:
                if c.source_line in spilled[table]:
                    c.flags = c.flags + ("reordered",)
    if layout in _POSITIONAL and cells:
        by_table: dict[str, set[str]] = {}
        for (t, _), f in decided.items():
            if f:
                by_table.setdefault(t, set()).add(f)
        for t, status in statuses.items():   # table 四 has no row labels to decide its format: the report's
            if t not in by_table and status != "missing":
                by_table[t] = {f for f in decided.values() if f}
        mended, withdrawn = mend_cut_numbers(cells, by_table)
        problems += mended
        statuses.update(dict.fromkeys(withdrawn, "incomplete"))
        if mangled:
            problems += flag_failing_columns(cells, by_table, mangled)
        problems += flag_failing_rows(cells, by_table, _ONE_ROW_TABLES)
    used = sorted({f for f in decided.values() if f})
    template = None if not used else used[0] if len(used) == 1 else "hybrid"
    # the counts of the report row in one pass over the cells (11.8 → 5.4 µs a report: five passes before)
    flagged = inferred = unresolved = 0
    has_value = False
    for c in cells:
        if not has_value and c.value is not None:
            has_value = True
        if c.flags:
            flagged += 1
            inferred += "inferred" in c.flags
            unresolved += "unresolved" in c.flags
    if not regions:
        problems.append(coded("no statutory table found (no 二/三/四 section heading or table label)",
                              "no_statutory_table"))
    elif not has_value:
        problems.append(coded("no usable value in any statutory table", "no_statutory_table"))
    report.update({
        "template": template,
        "status": "parsed" if has_value else "unreadable",
        **{f"{t}_status": s for t, s in statuses.items()},
        "tables_found": [t for t in STATUTORY_TABLES if t in regions],
        "tables_complete": [t for t in STATUTORY_TABLES if statuses.get(t) == "complete"],
        "n_cells": len(cells), "n_flagged": flagged,
        "n_inferred": inferred,
        "n_unresolved": unresolved,
        "problems": [f"{report['source_file']}: {p}" for p in problems],
    })
    # an unreadable file's problems say why it is unreadable (the quarantine reads them): of the
    # identity's problems it keeps only the overrides used
    report["problems"] += [f"{report['source_file']}: {p}" for p in identity_problems
                           if report["status"] == "parsed" or p.startswith("identity override")]
    statements = (extract_statements(prose_lines(lines, [(r.start, r.end) for r in regions.values()]),
                                     report["report_year"]) if report["status"] == "parsed" else [])
    return ParsedReport(report, cells, statements)


# text whose cells are separated by position alone (extractor output, PDF pages): a number in it can
# have been cut by the extractor (transforms/parse/cut_numbers.py)
_POSITIONAL = frozenset({"spaced", "line_cells", "one_line"})
# tables of one data row without a label (table 四): their values follow each other in the text
_ONE_ROW_TABLES = frozenset(t for t in STATUTORY_TABLES if all(
    [r.label for b in f.tables[t].blocks for r in b.rows] == [""] for f in FORMATS.values()))
