"""The crawler against a saved government column served on 127.0.0.1: list pages, articles,
attachments, robots.txt, conditional GET, retries, and hostile links refused."""
from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows import crawl as c
from synthetic import render_docs as rd
from transforms.engine import parse_report
from transforms.site_pages import page_facts

from paths import FIXTURES
SITE = FIXTURES / "site"
REAL = FIXTURES / "realworld" / "raw" / "hangzhou_style_2025.html"
DOC = FIXTURES / "legacy" / "hangzhou_style_2025.doc"
MIRROR_DOC = FIXTURES / "legacy" / "mirror_gz_fgj_2020.doc"
COL = "/zwgk/zfxxgknb/"
PDF_ARTICLE = COL + "202401/t20240118_103.html"
DEAD = COL + "202401/W020240118999999.pdf"
BROKEN = COL + "202501/P020250125000001.pdf"       # a 503 every time: retried, logged, the crawl goes on


def with_attachments(page: Path, links: str) -> bytes:
    """A saved article page carrying its own tables, with attachment links added (as CMS pages print
    附件 under the text)."""
    return page.read_bytes().replace(b"</body>", f"<p>附件：{links}</p></body>".encode(), 1)


def _routes() -> dict[str, tuple[int, bytes, str]]:
    docx = rd.render_all(2, template="2021")[1]["docx"]
    ok = lambda p, t="text/html; charset=utf-8": (200, Path(p).read_bytes(), t)  # noqa: E731
    html = "text/html; charset=utf-8"
    return {
        "/robots.txt": ok(SITE / "robots.txt", "text/plain"),
        COL + "index.html": ok(SITE / "list_index.html"),
        COL + "index_1.html": ok(SITE / "list_index_1.html"),
        COL + "202501/t20250120_101.html": ok(REAL),
        COL + "202501/t20250121_102.html": ok(SITE / "article_doc.html"),
        COL + "202501/P020250121386512345678.doc": ok(DOC, "application/msword"),
        # the real page's tables and its PDF (the LibreOffice print of the same report) on one article
        PDF_ARTICLE: (200, with_attachments(REAL, '<a href="/zwgk/zfxxgknb/202401/W020240118123456.pdf">年度报告（PDF）</a>'
                                                  f' <a href="{DEAD}">旧版本（已删除）</a>'), html),
        COL + "202401/W020240118123456.pdf": ok(SITE / "hangzhou_style_2025.pdf", "application/pdf"),
        COL + "202401/t20240119_104.html": ok(SITE / "article_flaky.html"),
        COL + "202401/W020240119000001.docx": (200, docx, "application/octet-stream"),
        COL + "private/202501/t20250122_109.html": ok(REAL),
        COL + "index_2.html": ok(SITE / "list_index_2.html"),
        # a second real report: its page's tables and its Word 97 attachment (equally complete)
        COL + "202101/t20210129_106.html": (200, with_attachments(SITE / "mirror_gz_fgj_2020.html",
                                                                  '<a href="P020210129000001.doc">报告.doc</a>'), html),
        COL + "202101/P020210129000001.doc": ok(MIRROR_DOC, "application/msword"),
        # a third: an HTML article, with an attachment link that always fails
        COL + "202501/t20250125_107.html": (200, with_attachments(SITE / "lg_dept_2024.html",
                                                                  f'<a href="{BROKEN}">报告.pdf</a>'), html),
    }


class Site:
    """A tiny static site with ETag/Last-Modified, a 503 that recovers, a 404 and a redirect out."""

    def __init__(self):
        self.routes = _routes()
        self.hits: dict[str, int] = {}
        self.bodies: dict[str, int] = {}           # 200 responses with a body, per path
        site = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                site.hits[path] = site.hits.get(path, 0) + 1
                if path == BROKEN or (path == COL + "202401/W020240119000001.docx" and site.hits[path] == 1):
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path == COL + "202401/t20240119_105.html":
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:9/zwgk/zfxxgknb/202401/t1_1.html")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path not in site.routes:
                    self.send_error(404)
                    return
                status, body, ctype = site.routes[path]
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                site.bodies[path] = site.bodies.get(path, 0) + 1
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()


def _sites_file(tmp: Path, port: int, **extra) -> Path:
    site = {"name": "example", "start_url": f"http://127.0.0.1:{port}{COL}index.html",
            "article_pattern": r"/zfxxgknb/(private/)?\d{6}/t\d+_\d+\.html?$",
            "next_page_pattern": r"/index_\d+\.html$", "attachments": ["pdf", "doc", "docx", "wps", "xls"],
            "max_pages": 5, "organization": "示例市人民政府", "delay": 0, **extra}
    import yaml
    p = tmp / "sites.yaml"
    p.write_text(yaml.safe_dump({"sites": [site]}, allow_unicode=True), encoding="utf-8")
    return p


def _log(dest: Path) -> list[dict]:
    return [json.loads(line) for line in (dest / "_crawl" / "fetch_log.jsonl").read_text().splitlines()]


@pytest.fixture
def crawled(tmp_path):
    with Site() as site:
        dest = tmp_path / "crawl"
        sites = c.load_sites(_sites_file(tmp_path, site.port))
        first = c.Crawler(dest, backoff=0.01, sleep=lambda s: None).crawl(sites)
        bodies_after_first = dict(site.bodies)
        second = c.Crawler(dest, backoff=0.01, sleep=lambda s: None).crawl(sites)
        yield dest, site, first, second, bodies_after_first


def test_reports_found_through_list_pages_articles_and_attachments(crawled):
    dest, site, first, _, _ = crawled
    files = json.loads((dest / "_crawl" / "files.json").read_text())
    kinds = {Path(rel).name: (meta["kind"], meta["article_url"]) for rel, meta in files.items()}
    assert set(kinds) == {"t20250120_101.html", "P020250121386512345678.doc", "W020240118123456.pdf",
                          "W020240119000001.docx", "t20240118_103.html", "t20210129_106.html",
                          "P020210129000001.doc", "t20250125_107.html"}
    assert kinds["t20240118_103.html"] == ("article", kinds["W020240118123456.pdf"][1])   # page and attachment
    doc = next(m for m in files.values() if m["url"].endswith("P020250121386512345678.doc"))
    assert doc["article_title"] == "示例市某局2024年政府信息公开工作年度报告"
    assert doc["article_date"] == "2025-01-21" and doc["content_source"] == "示例市某局"
    assert doc["organization"] == "示例市人民政府" and doc["referrer"].endswith("t20250121_102.html")
    for rel, meta in files.items():               # every kept file is the served body, byte for byte
        path = meta["url"].split(str(site.port), 1)[1]
        assert (dest / rel).read_bytes() == site.routes[path][1]
    assert first.files == 8


def test_every_kept_report_parses(crawled):
    dest, *_ = crawled
    files = json.loads((dest / "_crawl" / "files.json").read_text())
    for rel in files:
        p = parse_report((dest / rel).read_bytes(), rel)
        assert p.report["status"] == "parsed", (rel, p.report["problems"][:2])
        assert p.report["n_cells"] >= 43


def test_hostile_links_are_refused_and_logged_without_a_request(crawled):
    dest, site, first, _, _ = crawled
    rows = _log(dest)
    refused = {r["url"]: r["error"] for r in rows if r["outcome"] == "refused"}
    assert any("169.254.169.254" in u for u in refused)
    assert any(u.startswith("http://127.0.0.1:9/") and "not the site's" in refused[u] for u in refused)
    # the redirect out of the site was refused before following it
    assert any(r["outcome"] == "refused" and "redirect refused" in (r["error"] or "") for r in rows)
    assert any(r["outcome"] == "robots_disallowed" and "/private/" in r["url"] for r in rows)
    assert COL + "private/202501/t20250122_109.html" not in site.hits


def test_dead_links_and_5xx_are_retried_logged_and_never_stop_the_crawl(crawled):
    dest, site, first, _, _ = crawled
    rows = _log(dest)
    dead = [r for r in rows if r["url"] and r["url"].endswith("W020240118999999.pdf")]
    assert dead and dead[0]["outcome"] == "gone" and dead[0]["status"] == 404
    flaky = [r for r in rows if r["url"] and r["url"].endswith("W020240119000001.docx")][0]
    assert flaky["outcome"] == "fetched" and flaky["attempts"] == 2
    broken = [r for r in rows if r["url"] and r["url"].endswith(BROKEN)]
    assert broken[0]["outcome"] == "failed" and broken[0]["status"] == 503 and broken[0]["attempts"] == 4
    assert any(r["url"] and r["url"].endswith("t20250125_107.html") for r in rows)    # crawled on after it
    assert site.hits[COL + "202401/W020240119000001.docx"] >= 2
    assert {"url", "referrer", "status", "etag", "last_modified", "sha256", "bytes", "time", "error"} <= set(rows[0])


def test_a_second_crawl_downloads_nothing_unchanged(crawled):
    dest, site, first, second, bodies_after_first = crawled
    assert not [p for p in dest.rglob(".*") if p.is_file()]      # no temporary copy left beside a report
    assert site.bodies == bodies_after_first           # no 200 with a body the second time
    assert second.downloaded_bytes == 0 and second.outcomes.get("not_modified", 0) >= 8
    assert second.files == first.files


def test_one_request_at_a_time_per_host_with_the_delay():
    slept = []
    clock = iter(range(0, 1000)).__next__
    gate = c.HostGate(sleep=slept.append, clock=lambda: float(clock()))
    gate.done("h:80")
    gate.wait("h:80", 5.0)
    assert slept and 0 < slept[0] <= 5.0


@pytest.mark.parametrize("bad,msg", [
    ({"unknown_key": 1}, "unknown key"),
    ({"article_pattern": "("}, "not a regular expression"),
    ({"start_url": "ftp://x/"}, r"not an http\(s\) URL"),
    ({"name": "../etc"}, "name"),
    ({"attachments": "pdf"}, "attachments"),
])
def test_sites_file_is_checked_strictly(tmp_path, bad, msg):
    with pytest.raises(c.SitesError, match=msg):
        c.load_sites(_sites_file(tmp_path, 8000, **bad))


def test_policy_refuses_other_hosts_and_internal_addresses_of_a_public_site():
    import ipaddress
    import re
    site = c.Site("s", "https://www.example.gov.cn/a/index.html", re.compile("x"), re.compile("y"), ("pdf",),
                  allowed_hosts=("files.example.gov.cn",))
    addrs = {"www.example.gov.cn": ["202.96.128.86"], "files.example.gov.cn": ["10.0.0.7"], "evil.cn": ["202.96.134.133"]}
    policy = c.Policy(site, resolve=lambda h: [ipaddress.ip_address(a) for a in addrs.get(h, [])])
    policy.check("https://www.example.gov.cn/a/t1_1.html")
    for url in ("https://evil.cn/a.pdf", "https://files.example.gov.cn/a.pdf", "https://user:pw@www.example.gov.cn/",
                "file:///etc/passwd", "https://www.example.gov.cn:8443/a.pdf"):
        with pytest.raises(c.Refused):
            policy.check(url)


def test_report_paths_stay_inside_the_site_folder():
    site = c.Site("s", "http://h/", None, None, ("pdf",))
    p = c.report_path(site, "http://h/a/../../../etc/passwd?x=1")
    assert p.parts[0] == "s" and ".." not in p.parts and p.name.startswith("passwd_")
    assert c.report_path(site, "http://h/dir/").name == "index.html"


def test_page_facts_read_cms_meta_tags_links_and_tables():
    html = (SITE / "article_doc.html").read_text(encoding="utf-8")
    f = page_facts(html, "http://h/zwgk/zfxxgknb/202501/t20250121_102.html")
    assert f.title == "示例市某局2024年政府信息公开工作年度报告" and f.date == "2025-01-21" and not f.has_table
    assert f.links[0].url == "http://h/zwgk/zfxxgknb/202501/P020250121386512345678.doc"
    assert page_facts(REAL.read_text(encoding="utf-8"), "http://h/").has_table
    assert page_facts("", "http://h/").links == []


def test_cli_crawl_and_its_errors(tmp_path, capsys):
    from flows.cli import main
    with Site() as site:
        rc = main(["crawl", "--sites", str(_sites_file(tmp_path, site.port)), "--dest", str(tmp_path / "d"),
                   "--delay", "0"])
    out = capsys.readouterr()
    assert rc == 0 and "8 report file(s)" in out.out
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  - name: x\n    start_url: http://h/\n    colour: red\n", encoding="utf-8")
    assert main(["crawl", "--sites", str(bad), "--dest", str(tmp_path / "d2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key" in err and "bad.yaml" in err
