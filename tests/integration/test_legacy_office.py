"""Legacy Office files (.doc/.wps, .rtf, .odt, .xls/.et) are converted by LibreOffice and read like DOCX/HTML.

A real report saved in each legacy format must give every cell of its answer key; generated reports
of both national formats, printed as DOCX and re-saved by LibreOffice, must give their truth; without
LibreOffice, or when a conversion hangs, the file is unreadable with the reason (never a crash).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from transforms.read.limits import MAX_BYTES
from transforms.read.sniff import sniff
from synthetic import render_docs as rd
from transforms.read import legacy_office
from transforms.engine import parse_report

from paths import FIXTURES
LEGACY = FIXTURES / "legacy"
KEY = json.loads((FIXTURES / "realworld" / "expected" / "hangzhou_style_2025.json").read_text())
needs_soffice = pytest.mark.skipif(legacy_office.soffice_path() is None and not os.environ.get("CI"),
                                   reason="LibreOffice not installed (CI installs it: .ci/apt-packages.txt)")


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or a != a) and (b is None or b != b)
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-9)


def _right_cells(parsed, cells: list[dict], keys=("table", "row", "column")) -> int:
    got = {(c.table, c.row_path, c.column_path): c.value for c in parsed.cells}
    return sum(_same(got.get(tuple(k[x] for x in keys)), k["value"]) for k in cells)


@pytest.mark.parametrize("name,kind", [("hangzhou_style_2025.doc", "doc"), ("hangzhou_style_2025.rtf", "rtf"),
                                       ("hangzhou_style_2025.odt", "odt"), ("hangzhou_style_2025.xls", "xls")])
def test_sniffed_from_the_bytes(name, kind):
    assert sniff((LEGACY / name).read_bytes()) == kind


@needs_soffice
@pytest.mark.parametrize("name", ["hangzhou_style_2025.doc", "hangzhou_style_2025.rtf", "hangzhou_style_2025.odt",
                                  "hangzhou_style_2025.xls"])
def test_real_report_in_a_legacy_format_gives_every_cell_of_its_key(name):
    parsed = parse_report((LEGACY / name).read_bytes(), name)
    assert parsed.report["status"] == "parsed", parsed.report["problems"]
    assert parsed.report["layout"] == name.rsplit(".", 1)[1]
    assert parsed.report["template"] == KEY["template"]
    assert _right_cells(parsed, KEY["cells"]) == len(KEY["cells"])
    # the file's own bytes identify it, not the converted copy's
    assert parsed.report["report_id"] == __import__("hashlib").sha256((LEGACY / name).read_bytes()).hexdigest()


@needs_soffice
@pytest.mark.parametrize("fmt", ["doc", "rtf", "odt"])
def test_a_second_real_report_saved_by_libreoffice_gives_every_cell_of_its_key(fmt):
    """mirror_gz_fgj_2020 (a 2019-format copy with signed 本年增/减 and an amount in 元, table 三 cut
    off): its page rebuilt from the real copy, saved as DOCX, then by LibreOffice
    (tests/fixtures/site/make_real_pages.py)."""
    key = json.loads((FIXTURES / "realworld" / "expected" / "mirror_gz_fgj_2020.json").read_text())
    cells = key["cells"] + key["partial_table_cells"]
    parsed = parse_report((LEGACY / f"mirror_gz_fgj_2020.{fmt}").read_bytes(), f"mirror.{fmt}")
    assert parsed.report["status"] == "parsed" and parsed.report["layout"] == fmt
    assert parsed.report["template"] == key["template"] and parsed.report["report_year"] == key["report_year"]
    assert _right_cells(parsed, cells) == len(cells)
    raw = {(c.table, c.row_path, c.column_path): c.raw_value or "" for c in parsed.cells}
    assert all(raw[(k["table"], k["row"], k["column"])] == k["raw"] for k in cells)


def _soffice_save(docx: bytes, fmt: str, tmp: Path) -> bytes:
    """A DOCX re-saved by LibreOffice as `fmt` (what a clerk's "Save as" produces)."""
    src = tmp / "report.docx"
    src.write_bytes(docx)
    filt = {"doc": "doc:MS Word 97", "rtf": "rtf:Rich Text Format", "odt": "odt:writer8"}[fmt]
    subprocess.run([legacy_office.soffice_path(), "--headless", f"-env:UserInstallation={(tmp / 'p').as_uri()}",
                    "--convert-to", filt, "--outdir", str(tmp / fmt), str(src)],
                   check=True, capture_output=True, timeout=120)
    return (tmp / fmt / f"report.{fmt}").read_bytes()


@needs_soffice
@pytest.mark.slow
@pytest.mark.parametrize("seed,template", [(1, "2019"), (2, "2021")])
def test_generated_reports_saved_as_doc_rtf_odt_give_their_truth(seed, template, tmp_path):
    truth, forms = rd.render_all(seed, template=template)
    want = [{"table": c["table"], "row": c["row_path"], "column": c["column_path"], "value": c["value"]}
            for c in truth.cells]
    for fmt in ("doc", "rtf", "odt"):
        parsed = parse_report(_soffice_save(forms["docx"], fmt, tmp_path), f"gen.{fmt}")
        assert parsed.report["status"] == "parsed", (fmt, parsed.report["problems"])
        assert parsed.report["template"] == template
        right = _right_cells(parsed, want)
        assert right / len(want) >= 0.99, (fmt, right, len(want))


def test_without_libreoffice_the_file_is_unreadable_with_the_reason(monkeypatch):
    monkeypatch.setenv("NIANBAO_SOFFICE", "/nonexistent/soffice")
    parsed = parse_report((LEGACY / "hangzhou_style_2025.doc").read_bytes(), "old.doc")
    assert parsed.report["status"] == "unreadable"
    assert "LibreOffice" in parsed.report["problems"][0] and "old.doc" in parsed.report["problems"][0]


def test_a_conversion_that_hangs_is_killed_at_the_time_limit(monkeypatch, tmp_path):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 60 &\nsleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setenv("NIANBAO_SOFFICE", str(fake))
    monkeypatch.setenv("NIANBAO_MAX_SECONDS", "1")
    parsed = parse_report((LEGACY / "hangzhou_style_2025.rtf").read_bytes(), "slow.rtf")
    assert parsed.report["status"] == "unreadable"
    assert "time limit" in parsed.report["problems"][0]


def test_a_failed_conversion_is_unreadable_with_the_reason(monkeypatch, tmp_path):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\necho 'Error: source file could not be loaded' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("NIANBAO_SOFFICE", str(fake))
    parsed = parse_report((LEGACY / "hangzhou_style_2025.doc").read_bytes(), "broken.doc")
    assert parsed.report["status"] == "unreadable"
    assert "could not be loaded" in parsed.report["problems"][0]


def test_an_ole_file_that_is_neither_word_nor_excel_is_unreadable():
    data = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 2000
    assert sniff(data) == "ole"
    parsed = parse_report(data, "thing.msg")
    assert parsed.report["status"] == "unreadable"


@needs_soffice
def test_every_conversion_has_its_own_profile_with_macros_disabled(monkeypatch, tmp_path):
    """The command line LibreOffice gets: a private profile whose settings forbid macros."""
    seen = {}
    real_popen = subprocess.Popen

    def spy(cmd, **kw):
        profile = next(a for a in cmd if a.startswith("-env:UserInstallation="))
        xcu = Path(profile.split("=", 1)[1].removeprefix("file://")) / "user" / "registrymodifications.xcu"
        seen.setdefault("profiles", []).append(profile)
        seen["xcu"] = xcu.read_text()
        return real_popen(cmd, **kw)

    monkeypatch.setattr(legacy_office.subprocess, "Popen", spy)
    data = (LEGACY / "hangzhou_style_2025.rtf").read_bytes()
    legacy_office.convert(data, "rtf", timeout=120, max_bytes=MAX_BYTES)
    legacy_office.convert(data, "rtf", timeout=120, max_bytes=MAX_BYTES)
    assert len(set(seen["profiles"])) == 2
    assert "DisableMacrosExecution" in seen["xcu"] and "<value>true</value>" in seen["xcu"]
    assert shutil.which("soffice") is not None
