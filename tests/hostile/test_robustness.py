"""A folder of ~200 hostile and mutated files in one plain `nianbao run`: every promise of a run holds.

The corpus (tests/hostile/corpus.py) mutates the repository's reports (truncations, bit flips,
re-encodings, junk lines, mojibake, odd values, hostile markup …) and adds hostile files (odd names,
symlinks in and out of the folder, a fifo, empty and binary files, an oversize file, deep HTML, DOCX
bombs, broken PDFs). bench/robustness.py runs the same at ≥ 1,000 files with a sparse 3 GB file and
prints the figures; here the oversize file is 64 MB (over NIANBAO_MAX_BYTES all the same), so the test
never asks the machine for GBs.
"""
from __future__ import annotations

import os
import stat
import zipfile
from collections import Counter

import pytest

from hostile import check, corpus

SIZE = 200
OVERSIZE = 64 * 1024 * 1024


def test_corpus_is_deterministic_and_hostile(tmp_path):
    size = 92 + 2 * len(corpus.MUTATIONS)        # the fixed hostile files, then each mutation twice
    a = corpus.generate(tmp_path / "a", seed=3, size=size, oversize_bytes=OVERSIZE)
    b = corpus.generate(tmp_path / "b", seed=3, size=size, oversize_bytes=OVERSIZE)
    c = corpus.generate(tmp_path / "c", seed=4, size=size, oversize_bytes=OVERSIZE)
    assert [(e.path, e.category, e.sha256) for e in a] == [(e.path, e.category, e.sha256) for e in b]
    assert [e.sha256 for e in a] != [e.sha256 for e in c]
    assert len(a) == size and corpus.load_manifest(tmp_path / "a") == a
    cats = Counter(e.category for e in a)
    assert all(cats[m] == 2 for m in corpus.MUTATIONS), cats
    root = os.fsencode(tmp_path / "a")

    def lst(e):
        return os.lstat(root + b"/" + os.fsencode(e.path))
    kinds = Counter(e.kind for e in a)
    assert kinds["symlink"] >= 10 and kinds["fifo"] == 1
    assert all(stat.S_ISLNK(lst(e).st_mode) for e in a if e.kind == "symlink")
    assert all(stat.S_ISFIFO(lst(e).st_mode) for e in a if e.kind == "fifo")
    assert any(e.outside for e in a) and any(e.note.startswith("-> ..") for e in a if e.outside)
    names = [e.path for e in a]
    assert any(not check.valid_utf8(n) for n in names) and any(len(os.fsencode(n)) > 200 for n in names)
    assert any(corpus.PWNED in n for n in names) and any(n.startswith("-") for n in names)
    sparse = next(e for e in a if e.category == "oversize" and e.sha256 is None)
    st = lst(sparse)
    assert st.st_size == OVERSIZE and st.st_blocks * 512 < OVERSIZE // 10      # sparse: no disk spent
    with zipfile.ZipFile(tmp_path / "a" / "zipbomb.docx") as zf:
        assert sum(i.file_size for i in zf.infolist()) > 300 * 2**20
    assert (tmp_path / "a" / "zipbomb.docx").stat().st_size < 2 * 2**20
    with zipfile.ZipFile(tmp_path / "a" / "entity_bomb_utf-16.docx") as zf:
        assert zf.read("word/document.xml").startswith(b"\xff\xfe<\x00?\x00x\x00m\x00l\x00")
    for m in ("truncate", "bit_flip"):       # mutations are real: not a copy of any seed
        seeds = {s.data for s in corpus.seeds()}
        assert all((tmp_path / "a" / e.path).read_bytes() not in seeds for e in a if e.category == m)




@pytest.mark.slow
def test_hostile_corpus_run_keeps_every_promise(tmp_path):
    src, dest = tmp_path / "corpus", tmp_path / "processed"
    entries = corpus.generate(src, seed=0, size=SIZE, oversize_bytes=OVERSIZE)
    run = check.run_nianbao(src, dest, timeout=1200)
    findings = check.analyse(src, dest, entries, run)
    summary = check.report(findings, examples=20)
    if findings.problems:
        pytest.fail(summary, pytrace=False)
    # not vacuous: the readable mutants were published, the hostile files quarantined
    assert findings.n_reports >= 60 and findings.n_quarantined >= 40 and findings.n_values_checked > 1000, summary
