"""Property tests: the engine recovers every cell of a generated report exactly.

For random seeds, templates, layouts, label variants on/off and consistent or broken arithmetic,
`parse_text` must give back the truth of `synthetic.generator`: the same set of cell addresses,
the same values (null-aware) and the same printed text, and detect the truth's template.
A failure message names the seed, layout, variants and the first differing cells, with the text
around their printed row, so it can be reproduced with `generator.generate(...)`.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthetic import generator as g
from transforms.engine import parse_text

MAX_EXAMPLES = 60
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(min_value=0, max_value=2**32 - 1)
templates = st.sampled_from(g.TEMPLATES)


def _same_value(a, b) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a))
    b_null = b is None or (isinstance(b, float) and math.isnan(b))
    if a_null or b_null:
        return a_null and b_null
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)


def _same_raw(expected: str, got) -> bool:
    # A blank printed cell: "" (the engine may also say None: no text in the cell).
    if expected == "":
        return got in ("", None)
    return got is not None and got.strip() == expected


def _context(text: str, needle: str, width: int = 160) -> str:
    i = text.find(needle)
    if i < 0:
        return "(not found in text)"
    return repr(text[max(0, i - 40): i + width])


def check_recovers(seed: int, template: str, layout: str, variants: bool, consistent: bool) -> None:
    text, truth = g.generate(seed, template=template, layout=layout, consistent=consistent, variants=variants)
    reproduce = (f"generate({seed}, template={template!r}, layout={layout!r}, consistent={consistent}, "
                 f"variants={variants}) -> variants={truth.variants} options={truth.options}")

    parsed = parse_text(text, "gen.txt")
    problems = []
    if parsed.report.get("template") != truth.template:
        problems.append(f"template: expected {truth.template!r}, got {parsed.report.get('template')!r} "
                        f"(status {parsed.report.get('status')!r}, problems {parsed.report.get('problems')})")
    want = {(c["table"], c["row_path"], c["column_path"]): c for c in truth.cells}
    got: dict = {}
    dupes = []
    for c in parsed.cells:
        key = (c.table, c.row_path, c.column_path)
        if key in got:
            dupes.append(key)
        got[key] = c
    if dupes:
        problems.append(f"{len(dupes)} duplicate addresses, e.g. {dupes[:3]}")
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing:
        problems.append(f"{len(missing)} missing cells, e.g. {missing[:4]}")
    if extra:
        problems.append(f"{len(extra)} unexpected cells, e.g. {extra[:4]}")
    wrong = []
    for k, w in want.items():
        c = got.get(k)
        if c is None:
            continue
        if not _same_value(w["value"], c.value) or not _same_raw(w["raw_value"], c.raw_value):
            wrong.append((k, w["value"], w["raw_value"], c.value, c.raw_value, c.flags))
    if wrong:
        lines = [f"{len(wrong)} wrong cells (address, want value, want raw, got value, got raw, flags):"]
        lines += [f"  {w}" for w in wrong[:6]]
        row_label = wrong[0][0][1].split(" > ")[-1] or "行政复议"
        lines.append(f"  text near {row_label!r}: {_context(text, row_label[:4])}")
        problems.append("\n".join(lines))
    assert not problems, reproduce + "\n" + "\n".join(problems) + (
        f"\nengine problems: {parsed.report.get('problems')}")


def _family_test(layout: str):
    @SETTINGS
    @given(seed=seeds, template=templates, variants=st.booleans(), consistent=st.booleans())
    def test(seed, template, variants, consistent):
        check_recovers(seed, template, layout, variants, consistent)

    test.__name__ = f"test_engine_recovers_every_cell_{layout}"
    return test


test_engine_recovers_every_cell_tab_cells = _family_test("tab_cells")
test_engine_recovers_every_cell_tsv = _family_test("tsv")
test_engine_recovers_every_cell_pipe = _family_test("pipe")
test_engine_recovers_every_cell_pipe_cells = _family_test("pipe_cells")
test_engine_recovers_every_cell_line_cells = _family_test("line_cells")
test_engine_recovers_every_cell_one_line = _family_test("one_line")
test_engine_recovers_every_cell_pdf_text = _family_test("pdf_text")
test_engine_recovers_every_cell_html = _family_test("html")


@pytest.mark.parametrize("layout", g.LAYOUTS)
@pytest.mark.parametrize("template", g.TEMPLATES)
def test_engine_recovers_clean_reports(layout, template):
    """The plainest case of each layout (no label variants): a regression anchor for the properties."""
    for seed in range(3):
        check_recovers(seed, template, layout, variants=False, consistent=True)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(seed=seeds, layout=st.sampled_from(g.LAYOUTS))
def test_engine_reads_metadata(seed, layout):
    text, truth = g.generate(seed, layout=layout)
    report = parse_text(text, "gen.txt").report
    assert report["status"] == "parsed", (layout, truth.variants, report.get("problems"))
    assert report["report_year"] == truth.report_year, (layout, truth.variants)
