"""`nianbao run --sites`: a saved government column served on 127.0.0.1 is crawled and ingested in
one flow; crawled files are published under their URLs with their article's provenance, the most
complete rendering of an article's report is kept, the fetch log is a dataset, and the crawl
folder's state is never read as reports."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from flows import crawl as c
from flows import crawled
from flows import manifest as mf
from flows import publish as pub
from flows.cli import main
from flows.pipeline import RunConfig, run_plain
from flows.prefect_flow import run_flow
from flows.sources import discover
from transforms.engine import parse_report
from transforms.site_pages import completeness
from integration.test_crawl import BROKEN, COL, DEAD, DOC, REAL, SITE, Site, _sites_file

from paths import FIXTURES
KEYS = FIXTURES / "realworld" / "expected"
# article or attachment URL path -> the answer key of the real report it carries
REAL_REPORTS = {
    COL + "202501/t20250120_101.html": "hangzhou_style_2025",
    COL + "202501/P020250121386512345678.doc": "hangzhou_style_2025",
    COL + "202401/t20240118_103.html": "hangzhou_style_2025",
    COL + "202101/t20210129_106.html": "mirror_gz_fgj_2020",
    COL + "202501/t20250125_107.html": "lg_dept_2024",
}


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None
    return b is not None and math.isclose(a, b, abs_tol=1e-9)


def _share_right(cells, key: dict) -> float:
    got = {(r.table, r.row_path, r.column_path): r for r in cells.itertuples(index=False)}
    want = key["cells"] + key.get("partial_table_cells", [])
    right = sum(1 for k in want if (g := got.get((k["table"], k["row"], k["column"]))) is not None
                and _same(g.value, k["value"]) and (g.raw_value or "") == k["raw"])
    return right / len(want)


def _cells(dest: Path):
    import pandas as pd
    return pd.concat([pub.load_frame(dest / t, t) for t in ("active_disclosure", "applications", "review_litigation")],
                     ignore_index=True)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Two `nianbao run --sites --no-prefect` against one served column (the nightly schedule twice)."""
    tmp = tmp_path_factory.mktemp("sites")
    with Site() as site:
        sites = _sites_file(tmp, site.port)
        args = ["run", "--sites", str(sites), "--source", str(tmp / "crawl"), "--dest", str(tmp / "out"),
                "--no-prefect", "--no-quality-report", "--no-progress", "--json"]
        rc1 = main(args)
        first = {k: v for k, v in pub.digest(tmp / "out").items() if not k.startswith("fetch_log")}
        bodies = dict(site.bodies)
        s2 = run_plain(RunConfig(source=str(tmp / "crawl"), dest=str(tmp / "out"), sites=str(sites),
                                 quality_report=False))
        yield {"tmp": tmp, "site": site, "rc": rc1, "first": first, "bodies": bodies, "second": s2,
               "base": f"http://127.0.0.1:{site.port}"}


def test_every_report_of_the_column_is_published_under_its_url_with_its_cells_right(ran):
    assert ran["rc"] == 0
    dest = ran["tmp"] / "out"
    reports = pub.load_frame(dest / "reports", "reports")
    assert all(u.startswith(ran["base"] + COL) for u in reports["source_file"])
    cells = _cells(dest)
    published = {u[len(ran["base"]):]: rid for u, rid in zip(reports["source_file"], reports["report_id"])}
    assert set(REAL_REPORTS) <= set(published)
    for path, key_name in REAL_REPORTS.items():
        key = json.loads((KEYS / f"{key_name}.json").read_text(encoding="utf-8"))
        share = _share_right(cells[cells["report_id"] == published[path]], key)
        assert share >= 0.99, (path, share)
    # the generated DOCX behind the flaky (503 once) link, too
    assert COL + "202401/W020240119000001.docx" in published


def test_an_attachment_carries_its_articles_provenance_down_to_its_cells(ran):
    dest = ran["tmp"] / "out"
    reports = pub.load_frame(dest / "reports", "reports")
    doc = reports[reports["source_file"] == ran["base"] + COL + "202501/P020250121386512345678.doc"].iloc[0]
    # the .doc prints no body's name: the article's title names it, the article's date dates it
    assert doc["organization"] == "示例市某局" and doc["organization_source"] == "context"
    assert doc["publication_date"] == "2025-01-21" and doc["layout"] == "doc"
    cells = _cells(dest)
    mine = cells[cells["report_id"] == doc["report_id"]]
    assert len(mine) == 200 and set(mine["source_file"]) == {doc["source_file"]}
    assert set(mine["organization"]) == {"示例市某局"} and set(mine["organization_id"]) == {doc["organization_id"]}


def test_of_an_articles_page_and_attachment_the_more_complete_is_published_the_other_superseded(ran):
    dest = ran["tmp"] / "out"
    q = pub.load_frame(dest / "quarantine", "quarantine")
    sup = q[q["reason_code"] == "superseded"].set_index("source_file")
    base = ran["base"]
    # the PDF (its wrapped labels rejoined: three complete tables too, but cells flagged) loses to the
    # page's clean tables; the Word copy ties its page, and the page (read without conversion) wins
    assert set(sup.index) == {base + COL + "202401/W020240118123456.pdf", base + COL + "202101/P020210129000001.doc"}
    why = sup.loc[base + COL + "202401/W020240118123456.pdf", "reason"]
    assert f"superseded by {base}{COL}202401/t20240118_103.html" in why and "complete statutory tables 3 vs 3, cells 200 vs 200, flagged cells 0 vs" in why
    assert sup.loc[base + COL + "202101/P020210129000001.doc", "sha256"]
    reports = pub.load_frame(dest / "reports", "reports")
    assert not set(sup.index) & set(reports["source_file"])


def test_the_crawl_state_is_never_read_as_reports(ran):
    dest = ran["tmp"] / "out"
    names = list(pub.load_frame(dest / "reports", "reports")["source_file"])
    names += list(pub.load_frame(dest / "quarantine", "quarantine")["source_file"])
    assert not [n for n in names if "_crawl" in n or not n.startswith("http")]


def test_the_fetch_log_is_published_as_a_dataset(ran):
    dest = ran["tmp"] / "out"
    log = pub.load_frame(dest / "fetch_log", "fetch_log")
    lines = (ran["tmp"] / "crawl" / "_crawl" / "fetch_log.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(log) == len(lines)           # the second run's crawl included
    assert len(set(log["crawl_id"])) == 2
    by_url = log.drop_duplicates("url").set_index("url")
    assert by_url.loc[ran["base"] + DEAD, "status"] == 404 and by_url.loc[ran["base"] + DEAD, "outcome"] == "gone"
    broken = by_url.loc[ran["base"] + BROKEN]
    assert broken["outcome"] == "failed" and broken["status"] == 503 and broken["attempts"] == 4
    fetched = log[(log["outcome"] == "fetched") & (log["kind"] == "attachment")]
    assert fetched["etag"].notna().all() and fetched["sha256"].str.fullmatch("[0-9a-f]{64}").all()
    assert (fetched["bytes"] > 0).all() and fetched["referrer"].notna().all() and fetched["time"].notna().all()
    assert (log["outcome"] == "refused").sum() >= 6      # each crawl refused the same hostile links


def test_the_nightly_rerun_downloads_nothing_unchanged_and_republishes_no_report(ran):
    s2 = ran["second"]
    assert ran["site"].bodies == ran["bodies"]                    # no 200 with a body the second time
    assert s2["crawl"]["downloaded_bytes"] == 0 and s2["crawl"]["outcomes"]["not_modified"] >= 10
    assert s2["to_parse"] == 0 and s2["to_remove"] == 0
    after = {k: v for k, v in pub.digest(ran["tmp"] / "out").items() if not k.startswith("fetch_log")}
    assert after == ran["first"]                   # only the fetch log changed


@pytest.mark.slow
def test_run_sites_as_a_prefect_flow_gives_the_same_datasets(prefect_server, tmp_path):
    with Site() as site:
        sites = _sites_file(tmp_path, site.port)
        plain = run_plain(RunConfig(source=str(tmp_path / "c1"), dest=str(tmp_path / "o1"), sites=str(sites),
                                    quality_report=False))
        flow = run_flow(RunConfig(source=str(tmp_path / "c2"), dest=str(tmp_path / "o2"), sites=str(sites),
                                  quality_report=False))
    assert plain["crawl"]["files"] == flow["crawl"]["files"] == 8
    one = {k: v for k, v in pub.digest(tmp_path / "o1").items() if not k.startswith("fetch_log")}
    two = {k: v for k, v in pub.digest(tmp_path / "o2").items() if not k.startswith("fetch_log")}
    assert one == two and not flow["structural_failures"]
    assert len(pub.load_frame(tmp_path / "o2" / "fetch_log", "fetch_log")) > 10


def test_a_failed_crawl_does_not_stop_the_run(tmp_path, monkeypatch):
    """The sites' host is down: every request fails, the run publishes what earlier crawls left."""
    crawl_dir = tmp_path / "crawl"
    with Site() as site:
        sites = _sites_file(tmp_path, site.port)
        run_plain(RunConfig(source=str(crawl_dir), dest=str(tmp_path / "out"), sites=str(sites), quality_report=False))
    # the server is gone now
    s = run_plain(RunConfig(source=str(crawl_dir), dest=str(tmp_path / "out"), sites=str(sites), quality_report=False))
    assert s["crawl"]["outcomes"].get("fetched", 0) == 0 and s["crawl"]["errors"]
    assert s["to_parse"] == 0 and s["discovered"] == 6      # the earlier crawl's files (2 superseded) still are
    # a crawl that breaks as a whole (the disk is full) is an error of the crawl, not of the run
    monkeypatch.setattr(c.Crawler, "crawl", lambda self, sites, workers=4: (_ for _ in ()).throw(OSError("disk full")))
    s = run_plain(RunConfig(source=str(crawl_dir), dest=str(tmp_path / "out"), sites=str(sites), quality_report=False))
    assert "disk full" in s["errors"]["crawl"] and s["discovered"] == 6


def test_one_sites_failure_never_stops_the_others(tmp_path):
    with Site() as site:
        good = c.load_sites(_sites_file(tmp_path, site.port))[0]
        bad = c.Site("broken", good.start_url, good.article_pattern, good.next_page_pattern, good.attachments, delay=0)

        def factory(policy):
            if policy.site.name == "broken":
                raise RuntimeError("client could not start")
            return crawler._client(policy)

        crawler = c.Crawler(tmp_path / "d", backoff=0.01, sleep=lambda s: None, client_factory=factory)
        summary = crawler.crawl([bad, good])
    rows = [json.loads(x) for x in (tmp_path / "d" / "_crawl" / "fetch_log.jsonl").read_text().splitlines()]
    failed = [r for r in rows if r["outcome"] == "site_failed"]
    assert len(failed) == 1 and failed[0]["site"] == "broken" and "client could not start" in failed[0]["error"]
    assert summary.files == 8


def test_run_sites_rejects_a_bad_sites_file_in_one_line(tmp_path, capsys):
    bad = tmp_path / "sites.yaml"
    bad.write_text("sites: []\n", encoding="utf-8")
    assert main(["run", "--sites", str(bad), "--source", str(tmp_path / "c"), "--dest", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sites.yaml" in err and not (tmp_path / "c").exists()
    assert main(["run", "--sites", str(bad), "--source", "http://127.0.0.1:9/x", "--dest", str(tmp_path / "o")]) == 2


def test_serve_sites_schedules_the_crawl_with_the_run(tmp_path):
    from flows.deployment import build_deployment
    sites = _sites_file(tmp_path, 8000)
    dep = build_deployment(str(tmp_path / "crawl"), str(tmp_path / "out"), sites=str(sites))
    assert dep.parameters["sites"] == str(sites.resolve())
    assert dep.parameters["source"] == str((tmp_path / "crawl").resolve())


# --------------------------------------------------------------------------- the pure parts

def _crawl_folder(tmp: Path, files: dict[str, tuple[bytes, dict]]) -> Path:
    """A crawl folder as `nianbao crawl` leaves it: the files, files.json, a fetch log and a cache."""
    import hashlib
    root = tmp / "crawl"
    record = {}
    for rel, (data, meta) in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        record[rel] = {"sha256": hashlib.sha256(data).hexdigest(), "site": "s", **meta}
    state = root / "_crawl"
    (state / "http").mkdir(parents=True)
    (state / "http" / "0123abcd.body").write_bytes(REAL.read_bytes())     # a cached body: not a report
    (state / "files.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    (state / "fetch_log.jsonl").write_text(json.dumps(LOG_ROW) + "\n{cut off by a kill\n", encoding="utf-8")
    return root


LOG_ROW = {"crawl_id": "20250101T000000Z", "time": "2025-01-01T00:00:01+00:00", "site": "s", "url": "http://h/a",
           "referrer": None, "kind": "article", "outcome": "fetched", "status": 200, "etag": '"e"',
           "last_modified": None, "sha256": "a" * 64, "bytes": 10, "seconds": 0.1, "attempts": 1, "error": None}


def _article(url, kind, article, title="示例市某局2024年政府信息公开工作年度报告"):
    return {"url": url, "kind": kind, "article_url": article, "article_title": title, "article_date": "2025-01-21"}


def test_a_crawl_folder_is_discovered_by_url_with_context_and_without_its_state(tmp_path, monkeypatch):
    a = "http://h/zfxxgknb/t1_1.html"
    root = _crawl_folder(tmp_path, {
        "s/h_80/zfxxgknb/P1.doc": (DOC.read_bytes(), _article("http://h/zfxxgknb/P1.doc", "attachment", a)),
        "s/h_80/zfxxgknb/edited.html": (b"changed by hand", _article("http://h/zfxxgknb/edited.html", "article", None)),
    })
    (root / "s/h_80/zfxxgknb/edited.html").write_bytes(REAL.read_bytes())       # not the bytes the crawl kept
    d = discover(str(root), cache_dir=tmp_path / "cache")
    by = {i.source_file: i for i in d.items}
    assert set(by) == {"http://h/zfxxgknb/P1.doc", str(root / "s/h_80/zfxxgknb/edited.html")}
    assert by["http://h/zfxxgknb/P1.doc"].context == {"url": "http://h/zfxxgknb/P1.doc",
                                                       "title": "示例市某局2024年政府信息公开工作年度报告",
                                                       "publication_date": "2025-01-21"}
    assert not d.skipped                             # _crawl/ is state: neither read nor listed
    # a second discovery reuses the manifest's sha256 of the file published under its URL (not read again)
    it = by["http://h/zfxxgknb/P1.doc"]
    known = {it.source_file: {"source_file": it.source_file, "sha256": it.sha256, "size": it.size,
                              "mtime_ns": it.mtime_ns}}
    from flows import sources
    real_read = sources.read_candidate
    read = []
    monkeypatch.setattr(sources, "read_candidate", lambda p, limit=None: read.append(p) or real_read(p, limit))
    again = discover(str(root), cache_dir=tmp_path / "cache", known=known)
    assert [i.source_file for i in again.items if i.sha256 == it.sha256] == [it.source_file]
    assert read == [str(root / "s/h_80/zfxxgknb/edited.html")]
    # the fetch log's rows; a line cut off by a killed crawl is skipped
    assert crawled.fetch_log_rows(root) == [LOG_ROW]


def test_the_more_complete_rendering_wins_whatever_the_order(tmp_path):
    """An article whose page prints only the first tables (cut) and whose .doc has all three: the .doc
    is published, the page superseded; the choice does not depend on the order files are listed."""
    html = REAL.read_bytes()
    cut = html[:html.find("政府信息公开行政复议".encode())] + b"</table></body></html>"
    a = "http://h/zfxxgknb/t1_1.html"
    root = _crawl_folder(tmp_path, {
        "s/h_80/zfxxgknb/t1_1.html": (cut, _article(a, "article", a, None)),
        "s/h_80/zfxxgknb/P1.doc": (DOC.read_bytes(), _article("http://h/zfxxgknb/P1.doc", "attachment", a, None)),
    })
    d = discover(str(root), cache_dir=tmp_path / "cache")
    assert [i.source_file for i in d.items] == ["http://h/zfxxgknb/P1.doc"]
    assert [(s.source_file, s.reason_code) for s in d.skipped] == [(a, "superseded")]
    assert d.withdrawn == [a] and "complete statutory tables 3 vs" in d.skipped[0].reason
    assert (tmp_path / crawled.CHOICES_FILE).exists()       # the readings are remembered per sha256
    from flows.sources import discover_dir
    listed = discover_dir(str(root), exclude=[crawled.state_dir(root)]).items
    items, meta_of = crawled.apply_provenance(str(root), listed)
    for order in (items, list(reversed(items))):
        kept, dropped = crawled.choose(order, meta_of, None)
        assert [i.source_file for i in kept] == ["http://h/zfxxgknb/P1.doc"] and [d[0].source_file for d in dropped] == [a]


def test_renderings_of_different_reports_on_one_article_are_all_kept(tmp_path):
    a = "http://h/zfxxgknb/t1_1.html"
    mirror = (SITE / "mirror_gz_fgj_2020.html").read_bytes()
    root = _crawl_folder(tmp_path, {
        "s/h_80/zfxxgknb/P1.doc": (DOC.read_bytes(), _article("http://h/zfxxgknb/P1.doc", "attachment", a, None)),
        "s/h_80/zfxxgknb/P2.html": (mirror, _article("http://h/zfxxgknb/P2.html", "attachment", a, None)),
    })
    d = discover(str(root), cache_dir=tmp_path / "cache")
    assert len(d.items) == 2 and not d.skipped          # 2025 and 2020: two reports, not two renderings


def test_an_unreadable_best_supersedes_nothing(tmp_path):
    a = "http://h/zfxxgknb/t1_1.html"
    root = _crawl_folder(tmp_path, {
        "s/h_80/zfxxgknb/P1.pdf": (b"%PDF-1.4 broken", _article("http://h/zfxxgknb/P1.pdf", "attachment", a)),
        "s/h_80/zfxxgknb/P2.doc": (b"\xd0\xcf\x11\xe0junk", _article("http://h/zfxxgknb/P2.doc", "attachment", a)),
    })
    d = discover(str(root), cache_dir=tmp_path / "cache")
    assert len(d.items) == 2 and not d.skipped          # each keeps its own quarantine reason


def test_completeness_orders_tables_then_cells_then_flags():
    full = {"status": "parsed", "tables_complete": ["a", "b", "c"], "n_cells": 100, "n_flagged": 9}
    assert completeness(full) > completeness({**full, "tables_complete": ["a", "b"], "n_cells": 500, "n_flagged": 0})
    assert completeness(full) > completeness({**full, "n_cells": 99, "n_flagged": 0})
    assert completeness(full) > completeness({**full, "n_flagged": 10})
    assert completeness({"status": "unreadable", "n_cells": 5}) == (0, 0, 0)


def test_a_superseded_source_has_its_published_rows_removed():
    prev = {"a" * 64: {"source_file": "http://h/t1.html", "sha256": "a" * 64, "parser_version": "p"}}
    keep = mf.plan([], prev, parser_version="p")
    assert keep.retained_missing == ["a" * 64]                      # disappeared: kept
    gone = mf.plan([], prev, parser_version="p", withdrawn=["http://h/t1.html"])
    assert gone.remove == {"a" * 64} and not gone.retained_missing  # superseded: its rows go


def test_the_article_title_and_date_complete_the_identity_of_an_attachment():
    data = DOC.read_bytes()
    bare = parse_report(data, "P1.doc").report
    assert bare["organization"] is None and bare["publication_date"] is None
    ctx = {"title": "示例市某局2024年政府信息公开工作年度报告", "publication_date": "2025-01-21 09:30"}
    rep = parse_report(data, "P1.doc", ctx).report
    assert rep["organization"] == "示例市某局" and rep["organization_source"] == "context"
    assert rep["publication_date"] == "2025-01-21"
    assert rep["report_year"] == 2025 and rep["report_year_source"] == "statistics_period"   # printed wins
    assert rep["organization_id"] and rep["organization_id"] != bare["organization_id"]
