"""Discovery of a folder source: every file is taken and its type sniffed; what is not taken (hidden,
links leaving the source, dangling/looping links, FIFOs and sockets, unsupported types, unreadable
files) is listed in the run summary and in the quarantine dataset with its reason code; an empty
source is an error unless --allow-empty."""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pytest

from flows import publish as pub
from flows import sources as src
from flows.cli import main
from flows.pipeline import RunConfig, run_plain
from transforms.read import filetypes
from synthetic import render_docs as rd
from transforms import schema

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
PE = b"MZ" + bytes(58) + (64).to_bytes(4, "little") + b"PE\x00\x00" + bytes(100)
ELF = b"\x7fELF\x02\x01\x01" + bytes(100)


def _zip(path: Path, members: dict[str, bytes]) -> None:
    import zipfile
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)


def hostile_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A source folder with two seeds and one of each thing discovery must not take; a folder
    elsewhere with a report the source links to."""
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(SEEDS[0], d / SEEDS[0].name)
    shutil.copy(SEEDS[1], d / "sub" / SEEDS[1].name)
    shutil.copy(SEEDS[2], elsewhere / "report.txt")
    (d / "program.bin").write_bytes(ELF)
    (d / "setup.exe").write_bytes(PE)
    (d / "tool").write_bytes(ELF)
    _zip(d / "archive.zip", {"a.txt": b"x"})
    _zip(d / "sheet.xlsx", {"xl/workbook.xml": b"<workbook/>"})
    (d / ".hidden.txt").write_bytes(SEEDS[3].read_bytes())
    (d / ".git").mkdir()
    (d / ".git" / "config").write_text("[core]\n")
    os.mkfifo(d / "pipe.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(d / "socket.txt"))
    sock.close()
    (d / "passwd.txt").symlink_to("/etc/passwd")
    (d / "ext.txt").symlink_to(elsewhere / "report.txt")
    (d / "extdir").symlink_to(elsewhere)
    (d / "dangling.txt").symlink_to(d / "nothing")
    (d / "loop").symlink_to(d / "loop")
    (d / "sub" / "inside.txt").symlink_to(Path("..") / SEEDS[0].name)     # inside: fine (a duplicate)
    (d / "subdir_link").symlink_to(d / "sub")                              # inside: reached through sub/
    return d, elsewhere


EXPECTED_SKIPS = {
    ".git": "hidden", ".hidden.txt": "hidden", "archive.zip": "unsupported_type", "dangling.txt": "dangling_link",
    "ext.txt": "link_outside_source", "extdir": "link_outside_source", "loop": "link_loop",
    "passwd.txt": "link_outside_source", "program.bin": "unsupported_type", "pipe.txt": "special_file",
    "setup.exe": "unsupported_type", "sheet.xlsx": "unsupported_type", "socket.txt": "special_file",
    "tool": "unsupported_type",
}


def _discover(d: Path, **kw) -> src.Discovery:
    """Discovery in a thread: if it ever opened the FIFO for reading it would block for ever, and the
    test fails instead of hanging."""
    out = {}
    t = threading.Thread(target=lambda: out.update(d=src.discover_dir(str(d), **kw)), daemon=True)
    t.start()
    t.join(120)
    assert not t.is_alive(), "discovery blocked (a FIFO opened for reading?)"
    return out["d"]


def test_every_entry_is_taken_or_listed_with_its_reason(tmp_path):
    d, _ = hostile_folder(tmp_path)
    disc = _discover(d)
    rel = lambda p: Path(p).relative_to(d).as_posix()        # noqa: E731
    assert [rel(i.source_file) for i in disc.items] == [SEEDS[0].name, f"sub/{SEEDS[1].name}", "sub/inside.txt"]
    assert {rel(s.source_file): s.reason_code for s in disc.skipped} == EXPECTED_SKIPS
    by = {rel(s.source_file): s for s in disc.skipped}
    assert set(EXPECTED_SKIPS.values()) <= set(schema.DISCOVERY_REASONS) <= set(schema.QUARANTINE_REASONS)
    # bytes read only inside the source: the hidden copy and the unsupported files have their sha256
    assert by[".hidden.txt"].sha256 == hashlib.sha256(SEEDS[3].read_bytes()).hexdigest()
    assert by["program.bin"].sha256 == hashlib.sha256(ELF).hexdigest() and "ELF" in by["program.bin"].reason
    assert "Windows" in by["setup.exe"].reason and "Excel" in by["sheet.xlsx"].reason
    for name in ("passwd.txt", "ext.txt", "pipe.txt", "socket.txt", "dangling.txt", "loop", ".git"):
        assert by[name].sha256 is None and by[name].size is None, name
    assert "/etc/passwd" in by["passwd.txt"].reason and "--follow-symlinks" in by["passwd.txt"].reason
    assert "FIFO" in by["pipe.txt"].reason


def test_follow_symlinks_reads_links_leaving_the_source(tmp_path):
    d, elsewhere = hostile_folder(tmp_path)
    (d / "passwd.txt").unlink()
    disc = _discover(d, follow_symlinks=True)
    got = {Path(i.source_file).relative_to(d).as_posix(): i for i in disc.items}
    assert {"ext.txt", "extdir/report.txt"} <= set(got)
    assert got["ext.txt"].sha256 == hashlib.sha256(SEEDS[2].read_bytes()).hexdigest()
    assert got["ext.txt"].local_path == str(elsewhere / "report.txt")
    assert "link_outside_source" not in {s.reason_code for s in disc.skipped}


def test_a_link_leaving_the_source_is_never_read(tmp_path, monkeypatch):
    d, _ = hostile_folder(tmp_path)
    opened = []
    real = src.read_candidate
    monkeypatch.setattr(src, "read_candidate", lambda p, *a: (opened.append(p), real(p, *a))[1])
    _discover(d)
    assert all(Path(p).resolve().is_relative_to(d.resolve()) for p in opened), opened
    assert not any(p in ("/etc/passwd",) for p in opened)


def test_run_lists_skips_in_summary_and_quarantine_and_replaces_them_when_the_source_changes(tmp_path):
    d, _ = hostile_folder(tmp_path)
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(d), dest=str(dest), quality_report=False))
    assert s["parsed"] == 2 and len(s["skipped"]) == len(EXPECTED_SKIPS)
    assert {Path(k["source_file"]).name: k["reason_code"] for k in s["skipped"]} == EXPECTED_SKIPS
    q = pub.load_frame(dest / "quarantine", "quarantine")
    rows = {Path(r.source_file).name: r for r in q.itertuples(index=False)}
    assert {k: rows[k].reason_code for k in EXPECTED_SKIPS} == EXPECTED_SKIPS
    assert pd.isna(rows["pipe.txt"].sha256) and rows["pipe.txt"].report_id != rows["passwd.txt"].report_id
    assert rows["program.bin"].sha256 == rows["program.bin"].report_id == hashlib.sha256(ELF).hexdigest()
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    assert passwd not in set(q["sha256"].dropna()) and passwd not in set(q["report_id"])
    reports = pub.load_frame(dest / "reports", "reports")
    assert sorted(Path(p).name for p in reports["source_file"]) == sorted([SEEDS[0].name, SEEDS[1].name])
    # unchanged source: nothing to do
    assert run_plain(RunConfig(source=str(d), dest=str(dest), quality_report=False))["noop"]
    # one skip gone, one added: the quarantine is republished, the reports' files are untouched
    before = {k: v for k, v in pub.digest(dest).items() if not k.startswith("quarantine")}
    (d / "program.bin").unlink()
    (d / "movie.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    s = run_plain(RunConfig(source=str(d), dest=str(dest), quality_report=False))
    assert not s["noop"] and s["parsed"] == 0
    q = pub.load_frame(dest / "quarantine", "quarantine")
    names = sorted(Path(p).name for p in q["source_file"])
    assert "program.bin" not in names and "movie.mp4" in names and len(names) == len(EXPECTED_SKIPS)
    assert {k: v for k, v in pub.digest(dest).items() if not k.startswith("quarantine")} == before


def test_skipped_files_pass_the_gx_gate(tmp_path, monkeypatch):
    """The quarantine suite accepts rows without sha256 (and the rest of the batch publishes)."""
    d, _ = hostile_folder(tmp_path)
    s = run_plain(RunConfig(source=str(d), dest=str(tmp_path / "out"), quality_report=False))
    assert not s["structural_failures"] and s["parsed"] == 2
    q = pub.load_frame(tmp_path / "out" / "quarantine", "quarantine")
    assert set(EXPECTED_SKIPS.values()) <= set(q["reason_code"])


def test_every_supported_type_in_one_folder_is_read_with_default_options(tmp_path):
    truth, forms = rd.render_all(7)
    d = tmp_path / "in"
    d.mkdir()
    for kind, data in forms.items():
        data = data.encode("utf-8") if isinstance(data, str) else data
        (d / f"report.{ {'text': 'txt'}.get(kind, kind)}").write_bytes(data)
    s = run_plain(RunConfig(source=str(d), dest=str(tmp_path / "out"), quality_report=False))
    assert s["discovered"] == 4 and not s["skipped"]
    # four prints of one report: four files (different bytes), all parsed
    assert s["parsed"] == 4 and s["quarantined"] == 0


def test_non_utf8_file_name_is_published_under_an_escaped_name(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    raw = os.fsencode(str(d)) + b"/bad_\xff.txt"
    with open(raw, "wb") as f:
        f.write(SEEDS[0].read_bytes())
    s = run_plain(RunConfig(source=str(d), dest=str(tmp_path / "out"), quality_report=False))
    assert s["parsed"] == 1
    reports = pub.load_frame(tmp_path / "out" / "reports", "reports")
    assert list(reports["source_file"]) == [f"{d}/bad_\\xff.txt"]


@pytest.mark.parametrize("setup", ["empty", "only_skipped", "no_match"])
def test_empty_source_is_an_error_naming_the_source(tmp_path, setup):
    d = tmp_path / "in"
    d.mkdir()
    glob = "**/*"
    if setup == "only_skipped":
        (d / ".DS_Store").write_bytes(b"x")
    elif setup == "no_match":
        shutil.copy(SEEDS[0], d / "a.txt")
        glob = "**/*.html"
    dest = tmp_path / "out"
    with pytest.raises(src.SourceError) as e:
        run_plain(RunConfig(source=str(d), dest=str(dest), glob=glob, quality_report=False))
    msg = str(e.value)
    assert str(d) in msg and "--allow-empty" in msg and "\n" not in msg
    if setup == "only_skipped":
        assert "1 hidden" in msg
    if setup == "no_match":
        assert "1 files not matching" in msg
    # nothing published, and no dataset link left pointing at nothing
    assert not [p for p in dest.iterdir() if p.is_symlink()]


def test_allow_empty_first_run_publishes_empty_readable_datasets(tmp_path):
    from transforms.codes import codes_frame
    d = tmp_path / "in"
    d.mkdir()
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(d), dest=str(dest), allow_empty=True, quality_report=False))
    assert s["version"] and s["discovered"] == 0
    for name in schema.DATASETS:
        assert (dest / name).exists(), name
        df = pd.read_parquet(dest / name)
        want = len(codes_frame()) if name in schema.GENERATED else 0    # the codes come from the format files
        assert len(df) == want, name
        assert pads.dataset(dest / name, format="parquet").to_table().num_rows == want
    # then reports arrive
    shutil.copy(SEEDS[0], d / SEEDS[0].name)
    s = run_plain(RunConfig(source=str(d), dest=str(dest), quality_report=False))
    assert s["parsed"] == 1 and len(pd.read_parquet(dest / "reports")) == 1


def test_cli_empty_source_one_line_exit_1_with_prefect(tmp_path, capsys, monkeypatch, prefect_server):
    d = tmp_path / "in"
    d.mkdir()
    assert main(["run", "--source", str(d), "--dest", str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("nianbao: error: no report file found in"), err
    assert str(d) in err
    assert main(["run", "--source", str(d), "--dest", str(tmp_path / "out"), "--no-progress", "--no-prefect",
                 "--allow-empty", "--no-quality-report"]) == 0


def test_cli_missing_source_is_an_error_even_with_allow_empty(tmp_path, capsys):
    assert main(["run", "--source", str(tmp_path / "unmounted"), "--allow-empty", "--no-prefect"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "source not found" in err and "unmounted" in err


def test_cli_lists_skipped_files(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(SEEDS[0], d / "a.txt")
    (d / "b.bin").write_bytes(ELF)
    assert main(["run", "--source", str(d), "--dest", str(tmp_path / "out"), "--no-prefect", "--no-progress",
                 "--no-quality-report"]) == 0
    out = capsys.readouterr()
    assert "1 skipped" in out.out
    assert f"skipped [unsupported_type]: {d}/b.bin: unsupported file type: executable (ELF)" in out.err


def test_cli_prints_hostile_names_as_one_inert_line(tmp_path, capsys):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(SEEDS[0], d / "a.txt")
    (d / "evil\n\x1b[31mred.bin").write_bytes(ELF)
    assert main(["run", "--source", str(d), "--dest", str(tmp_path / "out"), "--no-prefect", "--no-progress",
                 "--no-quality-report"]) == 0
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("skipped")]
    assert len(line) == 1 and "evil\\x0a\\x1b[31mred.bin" in line[0] and "\x1b" not in err


def test_help_documents_the_source_options():
    from click.testing import CliRunner
    from flows.cli import app
    for cmd in ("run", "serve"):
        text = CliRunner().invoke(app, [cmd, "--help"], terminal_width=200).output
        for opt in ("--glob", "--follow-symlinks", "--allow-empty"):
            assert opt in text, (cmd, opt)


def test_deployment_carries_the_source_options(tmp_path):
    from flows.deployment import build_deployment
    dep = build_deployment(str(tmp_path), str(tmp_path / "out"), glob="**/*.html", follow_symlinks=True,
                           allow_empty=True)
    assert dep.parameters["glob"] == "**/*.html" and dep.parameters["follow_symlinks"] is True
    assert dep.parameters["allow_empty"] is True


def test_output_folder_inside_the_source_is_not_read(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(SEEDS[0], d / "a.txt")
    run_plain(RunConfig(source=str(d), dest=str(d / "out"), quality_report=False))
    s = run_plain(RunConfig(source=str(d), dest=str(d / "out"), quality_report=False))
    assert s["noop"] and s["discovered"] == 1 and not s["skipped"]


@pytest.mark.parametrize("pattern, yes, no", [
    ("**/*", ["a", "a.txt", "x/y/z.pdf", ".h"], []),
    ("**/*.txt", ["a.txt", "x/y/a.txt"], ["a.html", "a.txt/b"]),
    ("*.txt", ["a.txt"], ["x/a.txt"]),
    ("20[12]?/*.htm?", ["2021/a.html", "2019/b.htmx"], ["2031/a.html", "2021/x/a.html"]),
    ("[!a]*.txt", ["b.txt"], ["a.txt"]),
    ("reports/**", ["reports/a", "reports/x/y"], ["other/a"]),
])
def test_glob_regex_follows_path_glob(pattern, yes, no):
    rx = src.glob_regex(pattern)
    assert all(rx.match(p) for p in yes), [p for p in yes if not rx.match(p)]
    assert not any(rx.match(p) for p in no), [p for p in no if rx.match(p)]


def test_unsupported_types_by_magic_number():
    assert filetypes.unsupported_type(ELF) == "executable (ELF)"
    assert filetypes.unsupported_type(b"ID3\x03" + bytes(10)) == "MP3 audio"
    # scans and legacy Office files are read (OCR, LibreOffice): the engine takes them
    for read in (b"\x89PNG\r\n\x1a\n" + bytes(10), b"\xff\xd8\xff\xe0", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        assert filetypes.unsupported_type(read) is None
    assert filetypes.unsupported_type(b"PK\x03\x04", ["mimetype", "content.xml"]) is None   # ODT / ODS
    assert filetypes.unsupported_type(PE) == "executable (Windows)"
    assert filetypes.unsupported_type(ELF) == "executable (ELF)"
    assert filetypes.unsupported_type(b"PK\x03\x04", ["word/document.xml"]) is None
    assert "ZIP archive" in filetypes.unsupported_type(b"PK\x03\x04", ["a.txt"])
    assert filetypes.unsupported_type(b"PK\x03\x04", None) is None       # broken: the engine says why
    for ok in (b"%PDF-1.7\n", b"<html><body>", "一、总体情况".encode(), "一、总体情况".encode("utf-16"),
               b"MZ is a place", b"BMW annual report", b""):
        assert filetypes.unsupported_type(ok) is None, ok
