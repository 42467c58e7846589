"""A folder of real reports of every supported type, run with the default options, as a new user
would: every file is published or quarantined with its reason, and no number differs from the
answer key without a flag on its cell.

The folder holds the five seeds (text), the real-world copies (text, HTML), and the real
Hangzhou-style 2025 report as a DOCX, a text-layer PDF, Word 97 .doc, RTF, OpenDocument, Excel 97,
an image-only PDF (scan) and a PNG of its table 四 page.
"""
from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from synthetic import render_docs as rd
from transforms.read.legacy_office import soffice_path

from paths import FIXTURES, ROOT
REAL = FIXTURES / "realworld"
KEY = json.loads((REAL / "expected" / "hangzhou_style_2025.json").read_text())
RENDERINGS = {  # file in the folder: (fixture, cells of the key it must give)
    "hangzhou.docx": (None, "all"),
    "hangzhou.pdf": (FIXTURES / "site" / "hangzhou_style_2025.pdf", "flagged"),
    "hangzhou.doc": (FIXTURES / "legacy" / "hangzhou_style_2025.doc", "all"),
    "hangzhou.rtf": (FIXTURES / "legacy" / "hangzhou_style_2025.rtf", "all"),
    "hangzhou.odt": (FIXTURES / "legacy" / "hangzhou_style_2025.odt", "all"),
    "hangzhou.xls": (FIXTURES / "legacy" / "hangzhou_style_2025.xls", "all"),
    "hangzhou_scan.pdf": (FIXTURES / "scans" / "hz_scan.pdf", "all"),
    "hangzhou_table4.png": (FIXTURES / "scans" / "hz_p4_bw.png", "review_litigation"),
}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(soffice_path() is None, reason="LibreOffice not installed (.ci/apt-packages.txt)")]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from flows import pipeline
    from flows.publish import load_frame

    src = tmp_path_factory.mktemp("reports")
    for f in sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt")):
        shutil.copy(f, src / f.name)
    for f in sorted((REAL / "raw").iterdir()):
        shutil.copy(f, src / f.name)
    page = (REAL / "raw" / "hangzhou_style_2025.html").read_text(encoding="utf-8")
    (src / "hangzhou.docx").write_bytes(rd.html_to_docx(page))
    for name, (fixture, _) in RENDERINGS.items():
        if fixture is not None:
            shutil.copy(fixture, src / name)
    dest = tmp_path_factory.mktemp("out")
    summary = pipeline.run_plain(pipeline.RunConfig(source=str(src), dest=str(dest)))
    frames = {n: load_frame(dest / n, n) for n in ("reports", "quarantine", "active_disclosure", "applications",
                                                   "review_litigation")}
    return src, summary, frames


def test_every_file_is_published_or_quarantined_with_its_reason(published):
    src, summary, f = published
    names = {p.name for p in src.iterdir()}
    reported = {Path(s).name for s in f["reports"]["source_file"]}
    quarantined = dict(zip(f["quarantine"]["source_file"].map(lambda s: Path(s).name), f["quarantine"]["reason_code"]))
    assert reported | set(quarantined) >= names, names - reported - set(quarantined)
    assert not summary.get("structural_failures")
    # every rendering of the real report is read, whatever its type
    assert set(RENDERINGS) <= reported
    # the copy whose page dropped every value (labels only) is quarantined with its reason, never filled in
    assert quarantined["xiongxian_township_2019.txt"] == "no_statutory_table"
    layouts = dict(zip(f["reports"]["source_file"].map(lambda s: Path(s).name), f["reports"]["layout"]))
    assert {layouts[n] for n in RENDERINGS} >= {"docx", "pdf", "doc", "rtf", "odt", "xls", "pdf_ocr", "image_ocr"}


@pytest.mark.parametrize("name", list(RENDERINGS))
def test_no_number_differs_from_the_key_without_a_flag(published, name):
    _, _, f = published
    cells = pd.concat([f[t] for t in ("active_disclosure", "applications", "review_litigation")])
    mine = cells[cells["source_file"].map(lambda s: Path(s).name) == name]
    got = {(r.table, r.row_path, r.column_path): r for r in mine.itertuples()}
    scope = RENDERINGS[name][1]
    keys = [k for k in KEY["cells"] if scope in ("all", "flagged") or k["table"] == scope]
    right = wrong_unflagged = 0
    for k in keys:
        c = got.get((k["table"], k["row"], k["column"]))
        v = None if c is None or pd.isna(c.value) else c.value
        if (v is None and k["value"] is None) or (v is not None and k["value"] is not None
                                                  and math.isclose(v, k["value"])):
            right += 1
        elif c is not None and v is not None and not (set(c.flags) - {"ocr"}):
            wrong_unflagged += 1
    assert wrong_unflagged == 0
    if scope != "flagged":      # the PDF's wrapped labels leave some rows unresolved (flagged): issue of scans/extracts
        assert right == len(keys), (name, right, len(keys))
