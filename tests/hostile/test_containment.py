"""Containment: one file never holds back another, and any batch composition gives the same outputs.

Junk text never becomes rows, a report that breaks a structural expectation is quarantined alone,
any file name works, the quality report takes reports without a format, and batch sizes 1, 3 and
the default (locally and on Dask) publish byte-identical datasets. Inputs: the seeds (tests/fixtures/seeds) and
the real-world text copies in tests/fixtures/realworld/raw (see its README).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from transforms import schema
from transforms.engine import parse_report, parse_text
from transforms.names import escape_surrogates, printable_name, real_name
from transforms.tidy import to_frames

from paths import ROOT
RAW = ROOT / "tests" / "fixtures" / "seeds"
SEEDS = sorted(RAW.glob("*.txt"))
REALWORLD = sorted((ROOT / "tests" / "fixtures" / "realworld" / "raw").glob("*.txt"))
SEED_2021 = RAW / "001_8a969314eacec6bd.txt"      # table 二 one cell per tab-indented line, format 2021
TABLE4_ONLY = """某某局2022年政府信息公开工作年度报告
四、政府信息公开行政复议、行政诉讼情况
行政复议\t行政诉讼
结果维持\t结果纠正\t其他结果\t尚未审结\t总计\t未经复议直接起诉\t复议后起诉
1\t2\t0\t0\t3\t0\t1\t0\t0\t1\t0\t0\t0\t2\t2
五、存在的主要问题及改进情况
"""


def with_junk_values(text: str, labels=("\t规章", "\t行政规范性文件")) -> str:
    """The seed with a mojibake '?' printed before the second value of the given rows (a real report
    printed '? 0' in the 本年废止件数 cells of table 二)."""
    lines = text.split("\n")
    out, k = [], 0
    while k < len(lines):
        out.append(lines[k])
        if lines[k] in labels:
            out += [lines[k + 1], "\t? " + lines[k + 2].strip()]
            k += 3
            continue
        k += 1
    return "\n".join(out)


def addresses_unique(parsed) -> bool:
    keys = [(c.table, c.row_path, c.column_path) for c in parsed.cells]
    return len(keys) == len(set(keys))


# ---------------------------------------------------------------- junk rows never reach the tables

def test_junk_values_never_make_rows():
    text = with_junk_values(SEED_2021.read_text(encoding="utf-8"))
    lines = text.split("\n")
    junk_lines = [i + 1 for i, t in enumerate(lines) if t.startswith("\t? ")]
    assert len(junk_lines) == 2
    p = parse_report(text.encode("utf-8"), "junk.txt")
    assert p.report["status"] == "parsed" and addresses_unique(p)
    assert not [c for c in p.cells if "?" in c.row_path]
    assert not [c for c in p.cells if "extra_row" in c.flags]
    # in a row's place, the damaged value is that row's cell: null, its text kept, flagged nonnumeric,
    # so the values after it keep their columns
    damaged = [c for c in p.cells if (c.raw_value or "").startswith("? ")]
    assert sorted(c.source_line for c in damaged) == junk_lines
    assert all(c.value is None and "nonnumeric" in c.flags for c in damaged)
    clean = parse_report(SEED_2021.read_bytes(), "clean.txt")
    truth = {(c.table, c.row_path, c.column_path): c.value for c in clean.cells}
    assert all(truth[(c.table, c.row_path, c.column_path)] == c.value for c in p.cells if not c.flags)
    rows = {c.row_path for c in clean.cells}
    assert {c.row_path for c in p.cells} == rows          # same rows: the junk made none


@pytest.mark.parametrize("table_label", ["\t自然人", "\t行政复议"])
def test_text_without_letters_is_reported_in_every_table(table_label):
    text = SEED_2021.read_text(encoding="utf-8").replace(table_label, table_label + "\n\t\ufffd\ufffd", 1)
    assert text != SEED_2021.read_text(encoding="utf-8")
    p = parse_report(text.encode("utf-8"), "junk.txt")
    assert addresses_unique(p)
    assert any("'\ufffd\ufffd' is not a label of the format" in m for m in p.report["problems"])


def test_a_repeated_extra_row_is_published_once():
    text = """二、主动公开政府信息情况
第二十条第（一）项
信息内容\t本年制发件数\t本年废止件数\t现行有效件数
规章\t1\t0\t3
行政规范性文件\t4\t0\t6
其他文件\t7\t0\t8
其他文件\t9\t0\t10
"""
    p = parse_text(text)
    extra = [c for c in p.cells if "extra_row" in c.flags]
    assert addresses_unique(p) and len(extra) == 3 and [c.value for c in extra] == [7, 0, 8]
    assert any("printed twice" in m and "其他文件" in m for m in p.report["problems"])


@pytest.mark.parametrize("path", SEEDS + REALWORLD, ids=lambda p: p.name)
def test_no_report_has_a_duplicated_address_even_with_junk(path):
    text = path.read_bytes().decode("utf-8", "replace")
    for variant in (text, text.replace("\t0\n", "\t? 0\n"), text.replace(" 0 ", " ? 0 ")):
        assert addresses_unique(parse_report(variant.encode("utf-8"), path.name))


# ---------------------------------------------------------------- a structural failure is contained

def _seed_frames():
    return to_frames([parse_report(p.read_bytes(), str(p)) for p in SEEDS])


def _break(frames: dict, report_id: str) -> dict:
    """One report's cells made structurally invalid: a duplicated cell and a cell at an address that
    no format has (not flagged as an extra row)."""
    app = frames["applications"]
    mine = app[app["report_id"] == report_id]
    odd = mine.iloc[[0]].copy()
    odd["row_path"] = "not a row"
    out = dict(frames)
    out["applications"] = pd.concat([app, mine.iloc[[1]], odd], ignore_index=True)
    return out


def test_gate_quarantines_a_structurally_broken_report_alone():
    from expectations.gate import prepare_batch, structural_offenders
    frames = _seed_frames()
    clean = prepare_batch(frames)
    assert not structural_offenders(clean.views) and len(clean.frames["quarantine"]) == 0
    bad = str(frames["reports"]["report_id"].iloc[2])
    p = prepare_batch(_break(frames, bad))
    q = p.frames["quarantine"]
    assert q["report_id"].tolist() == [bad] and q["reason_code"].tolist() == ["structural"]
    reason = q["reason"].iloc[0]
    assert "expect_compound_columns_to_be_unique" in reason and "_row_path_" in reason and "not a row" in reason
    assert q["source_file"].iloc[0] == str(SEEDS[2]) or q["source_file"].iloc[0] in map(str, SEEDS)
    for name, df in p.frames.items():
        if name != "quarantine":
            assert bad not in set(df["report_id"].astype(str)), name
    assert not structural_offenders(p.views)
    # the other reports are published exactly as without the broken one
    others = prepare_batch({k: (v[v["report_id"] != bad].reset_index(drop=True)) for k, v in frames.items()})
    for name in ("reports", *schema.STATUTORY_TABLES, "quality_checks"):
        pd.testing.assert_frame_equal(p.frames[name].reset_index(drop=True), others.frames[name].reset_index(drop=True))


def test_gx_passes_the_batch_once_the_broken_report_is_quarantined(tmp_path):
    from expectations.gate import get_context, validate_batch
    root = tmp_path / "gx"
    get_context(root)
    frames = _seed_frames()
    bad = str(frames["reports"]["report_id"].iloc[0])
    r = validate_batch(_break(frames, bad), run_name="contained", context_root=root)
    assert r.structural_ok, r.structural_failures
    assert r.frames["quarantine"]["report_id"].tolist() == [bad]
    assert len(r.frames["reports"]) == len(SEEDS) - 1


# ---------------------------------------------------------------- file names

@pytest.mark.parametrize("raw", [b"bad_\xff.txt", b"a\\xff.txt", b"line\nbreak\x7f.txt", "年报\u0085.txt".encode(),
                                 b"\xc3(", b"plain.txt", "政府信息公开.txt".encode()])
def test_printable_name_is_lossless_and_printable(raw):
    shown = printable_name(os.fsdecode(raw))
    assert shown == printable_name(raw) and real_name(shown) == raw
    assert shown.isprintable() and shown.encode("utf-8")
    if raw.isascii() and b"\\" not in raw and raw.decode().isprintable() or raw == "政府信息公开.txt".encode():
        assert shown == raw.decode()              # ordinary names unchanged


def test_names_differing_only_by_escapes_stay_distinct():
    names = [b"bad_\xff.txt", b"bad_\\xff.txt", b"bad_\\\\xff.txt"]
    assert len({printable_name(n) for n in names}) == 3


def test_frames_take_a_surrogate_name_handed_to_the_parser_directly():
    name = os.fsdecode(b"/tmp/bad_\xff.txt")
    frames = to_frames([parse_report(SEED_2021.read_bytes(), name)])
    assert set(frames["reports"]["source_file"]) == {"/tmp/bad_\\xff.txt"}
    assert escape_surrogates(name) == "/tmp/bad_\\xff.txt"


# ---------------------------------------------------------------- whole runs

def _manifest(dest: Path) -> dict:
    from flows import publish as pub
    return json.loads((pub.current_version(dest) / "_manifest.json").read_text(encoding="utf-8"))


def test_run_with_hostile_names_junk_and_a_table4_page_exits_0(tmp_path, monkeypatch, capsys):
    """Real `nianbao run` (no Prefect) over the seeds plus: a seed with junk values, a seed copy whose
    name is not UTF-8, a page carrying only table 四 (no format detected): exit 0, every file published
    or quarantined, the odd name escaped the same way everywhere, the quality report built."""
    from flows import publish as pub
    from flows.cli import main
    src = tmp_path / "src"
    src.mkdir()
    for p in SEEDS:
        shutil.copy(p, src / p.name)
    (src / "junk.txt").write_text(with_junk_values(SEED_2021.read_text(encoding="utf-8")), encoding="utf-8")
    bad_name = os.path.join(os.fsencode(src), b"bad_\xff.txt")
    with open(bad_name, "wb") as f:          # a copy with other bytes (its own report_id)
        f.write(SEEDS[3].read_bytes() + "\n附：本报告另有纸质版。\n".encode("utf-8"))
    (src / "table4_only.txt").write_text(TABLE4_ONLY, encoding="utf-8")
    dest = tmp_path / "out"
    code = main(["run", "--source", str(src), "--dest", str(dest), "--no-prefect", "--json", "--no-progress",
                 "--batch-size", "2"])
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    s = json.loads(out.out[out.out.index("{"):])
    assert not s["structural_failures"] and "quality_report" not in (s.get("errors") or {}), s.get("errors")
    assert s["parsed"] + s["quarantined"] == len(SEEDS) + 3
    shown = printable_name(bad_name.decode("utf-8", "surrogateescape"))
    assert shown.endswith("bad_\\xff.txt")
    reports = pub.load_frame(dest / "reports", "reports")
    assert shown in set(reports["source_file"])
    assert {str(src / "junk.txt"), str(src / "table4_only.txt")} <= set(reports["source_file"])
    t4 = reports[reports["source_file"] == str(src / "table4_only.txt")].iloc[0]
    assert pd.isna(t4["template"])                        # the page the quality report used to crash on
    for name in schema.STATUTORY_TABLES:
        cells = pub.load_frame(dest / name, name)
        assert cells.duplicated(["report_id", "row_path", "column_path"]).sum() == 0
        assert all(n.isprintable() for n in set(cells["source_file"]))
    assert shown in set(pub.load_frame(dest / "applications", "applications")["source_file"])
    assert shown in {e["source_file"] for e in _manifest_entries(dest)}
    page = (dest / "quality_report" / "index.html").read_text(encoding="utf-8")
    assert "table4_only.txt" in page or "none" in page
    # nothing to do on a rerun: the escaped name is found again
    assert main(["run", "--source", str(src), "--dest", str(dest), "--no-prefect", "--json", "--no-progress"]) == 0
    assert json.loads((o := capsys.readouterr().out)[o.index("{"):])["noop"]


def test_run_with_a_structurally_broken_report_publishes_the_others(tmp_path, monkeypatch, capsys):
    """A report whose cells break a structural expectation (forced: a duplicated cell and an unknown
    address injected into its frames) is quarantined with the reason; the rest of its batch and chunk
    is published and `nianbao run` exits 0."""
    import transforms.tidy as tidy
    from flows import publish as pub
    from flows.cli import main
    victim = str(RAW / SEEDS[1].name)
    real = tidy.to_frames

    def breaking(parsed):
        frames = real(parsed)
        ids = frames["reports"].loc[frames["reports"]["source_file"] == victim, "report_id"]
        return _break(frames, str(ids.iloc[0])) if len(ids) else frames

    monkeypatch.setattr(tidy, "to_frames", breaking)
    dest = tmp_path / "out"
    code = main(["run", "--source", str(RAW), "--dest", str(dest), "--no-prefect", "--json", "--no-progress",
                 "--no-quality-report", "--workers", "1"])
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    s = json.loads(out.out[out.out.index("{"):])
    assert not s["structural_failures"] and s["parsed"] == len(SEEDS) - 1 and s["quarantined"] == 1
    q = pub.load_frame(dest / "quarantine", "quarantine")
    assert q["source_file"].tolist() == [victim] and q["reason_code"].tolist() == ["structural"]
    assert "expect_compound_columns_to_be_unique" in q["reason"].iloc[0]
    for name in ("reports", *schema.STATUTORY_TABLES, "quality_checks"):
        published = set(pub.load_frame(dest / name, name)["source_file"])
        assert published == {str(p) for p in SEEDS} - {victim}, name
    assert [e["status"] for e in _manifest_entries(dest) if e["source_file"] == victim] == ["quarantined"]


def _manifest_entries(dest: Path) -> list[dict]:
    return list(_manifest(dest)["entries"].values())


# ---------------------------------------------------------------- any batch composition, same outputs

def _fifteen(tmp_path: Path) -> Path:
    src = tmp_path / "src15"
    src.mkdir()
    for p in SEEDS + REALWORLD:
        shutil.copy(p, src / p.name)
    assert len(list(src.iterdir())) == 15
    return src


@pytest.fixture(scope="module")
def fifteen_default(tmp_path_factory):
    """The 15 files in one batch (the default size), plain run: the reference."""
    from flows import publish as pub
    from flows.pipeline import RunConfig, run_plain
    tmp = tmp_path_factory.mktemp("fifteen")
    src = _fifteen(tmp)
    dest = tmp / "out"
    s = run_plain(RunConfig(source=str(src), dest=str(dest), quality_report=False))
    assert not s["structural_failures"] and s["parsed"] + s["quarantined"] == 15
    return src, dest, pub.digest(dest)


def _same_outputs(dest: Path, ref_dest: Path, ref_digest: dict) -> None:
    """Byte-identical Parquet files; on a difference, the differing quality_checks rows are shown."""
    from flows import publish as pub
    got = pub.digest(dest)
    if got != ref_digest:
        a, b = (pub.load_frame(d / "quality_checks", "quality_checks") for d in (dest, ref_dest))
        diff = pd.concat([a.astype(str), b.astype(str)]).drop_duplicates(keep=False)
        pytest.fail(f"files differ: {sorted(k for k in set(got) | set(ref_digest) if got.get(k) != ref_digest.get(k))}"
                    f"\n{diff[['source_file', 'check', 'status']].to_string()[:3000]}")


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_size_does_not_change_outputs(fifteen_default, batch_size, tmp_path, monkeypatch):
    from flows.pipeline import RunConfig, run_plain
    src, ref_dest, ref = fifteen_default
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(src), dest=str(dest), batch_size=batch_size, quality_report=False))
    assert not s["structural_failures"] and len(s["gate_chunks"]) >= 7
    _same_outputs(dest, ref_dest, ref)


@pytest.mark.slow
def test_batch_size_1_on_a_dask_cluster_gives_the_same_outputs(fifteen_default, prefect_server, tmp_path,
                                                               monkeypatch):
    from distributed import LocalCluster
    from flows.pipeline import RunConfig
    from flows.prefect_flow import run_flow
    src, ref_dest, ref = fifteen_default
    dest = tmp_path / "out"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        s = run_flow(RunConfig(source=str(src), dest=str(dest), batch_size=1, dask_address=cluster.scheduler_address,
                               quality_report=False))
    assert not s["structural_failures"] and s["parsed"] + s["quarantined"] == 15
    _same_outputs(dest, ref_dest, ref)
