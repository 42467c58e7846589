"""Sources: local http.server on 127.0.0.1 serving the seeds (ETag/Last-Modified, 5xx, timeouts,
404, bounded concurrency) and fsspec URLs."""
import hashlib
import shutil
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from flows import publish as pub
from flows import sources as src
from flows.pipeline import RunConfig, run_plain

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "data" / "raw").glob("*.txt"))


class Server:
    def __init__(self):
        self.files = {f"/r/{p.name}": p.read_bytes() for p in SEEDS}
        self.fail = {}        # path -> number of 503s still to send (-1: always 500)
        self.slow = set()     # paths that hang longer than the client timeout
        self.hits, self.not_modified, self.active, self.max_active = {}, 0, 0, 0
        self.lock = threading.Lock()
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with srv.lock:
                    srv.hits[self.path] = srv.hits.get(self.path, 0) + 1
                    srv.active += 1
                    srv.max_active = max(srv.max_active, srv.active)
                try:
                    time.sleep(0.02)       # the request is "active" while it works, not while the
                finally:                   # reply is on its way (the client may already send the next)
                    with srv.lock:
                        srv.active -= 1
                self._get()

            def _get(self):
                if self.path in srv.slow:
                    time.sleep(1.5)
                n = srv.fail.get(self.path, 0)
                if n:
                    srv.fail[self.path] = n - 1 if n > 0 else n
                    self.send_response(503 if n > 0 else 500)
                    self.end_headers()
                    return
                if self.path == "/list.txt":
                    body = "\n".join(f"http://127.0.0.1:{srv.port}{k}" for k in sorted(srv.files)).encode()
                elif self.path in srv.files:
                    body = srv.files[self.path]
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                if self.headers.get("If-None-Match") == etag:
                    srv.not_modified += 1
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(0, usegmt=True))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


@pytest.fixture(autouse=True)
def _no_gx(monkeypatch):
    monkeypatch.setenv("NIANBAO_GATE", "off")


def test_conditional_get_and_bounded_concurrency(server, tmp_path):
    urls = [server.url(k) for k in sorted(server.files)]
    r1 = src.fetch_all(urls, tmp_path / "c", concurrency=2, timeout=5)
    assert [r.status for r in r1] == ["fetched"] * 5
    assert server.max_active <= 2
    assert {r.sha256 for r in r1} == {hashlib.sha256(p.read_bytes()).hexdigest() for p in SEEDS}
    r2 = src.fetch_all(urls, tmp_path / "c", concurrency=2, timeout=5)
    assert [r.status for r in r2] == ["not_modified"] * 5 and server.not_modified == 5


def test_retries_on_5xx_then_success(server, tmp_path):
    k = sorted(server.files)[0]
    server.fail[k] = 2
    r = src.fetch_all([server.url(k)], tmp_path / "c", retries=3, backoff=0.01)[0]
    assert r.status == "fetched" and r.attempts == 3 and server.hits[k] == 3


def test_persistent_5xx_timeout_and_404(server, tmp_path):
    ks = sorted(server.files)
    server.fail[ks[0]] = -1
    server.slow.add(ks[1])
    res = src.fetch_all([server.url(ks[0]), server.url(ks[1]), server.url("/r/missing.txt")], tmp_path / "c",
                        retries=1, backoff=0.01, timeout=0.3)
    assert [r.status for r in res] == ["failed", "failed", "gone"]
    assert res[0].error == "HTTP 500" and res[0].attempts == 2
    assert res[1].error == "timeout"


def test_url_list_run_equals_folder_run_and_keeps_unreachable(server, tmp_path):
    lst = tmp_path / "urls.txt"
    lst.write_text("# seeds\n" + "\n".join(server.url(k) for k in sorted(server.files)) + "\n")
    dest = tmp_path / "out"
    s = run_plain(RunConfig(source=str(lst), dest=str(dest), quality_report=False, http_retries=1))
    assert s["discovered"] == 5 and s["http"]["fetched"] == 5
    folder = tmp_path / "folder"
    run_plain(RunConfig(source=str(ROOT / "data" / "raw"), dest=str(folder), quality_report=False))
    a = pub.read_table(dest / "applications", "applications").drop(["source_file"])
    b = pub.read_table(folder / "applications", "applications").drop(["source_file"])
    assert a.equals(b)
    # second run: every file answers 304, nothing to do
    s = run_plain(RunConfig(source=str(lst), dest=str(dest), quality_report=False))
    assert s["noop"] and s["http"]["not_modified"] == 5
    # a server error on one URL (even with --prune) keeps its published rows
    before = pub.digest(dest)
    server.fail[sorted(server.files)[0]] = -1
    s = run_plain(RunConfig(source=str(lst), dest=str(dest), quality_report=False, prune=True,
                            http_retries=1))
    assert s["noop"] and len(s["unavailable"]) == 1 and pub.digest(dest) == before
    # a hosted URL list works the same
    server.fail.clear()
    s = run_plain(RunConfig(source=server.url("/list.txt"), dest=str(dest), quality_report=False))
    assert s["noop"] and s["discovered"] == 5


def test_fsspec_memory_source(tmp_path):
    import fsspec
    fs = fsspec.filesystem("memory")
    for p in SEEDS[:2]:
        fs.pipe(f"/nianbao-test/{p.name}", p.read_bytes())
    s = run_plain(RunConfig(source="memory://nianbao-test", dest=str(tmp_path / "o"), quality_report=False))
    assert s["discovered"] == 2 and s["parsed"] + s["quarantined"] == 2


def test_classify_and_bad_sources(tmp_path):
    assert src.classify(str(tmp_path)) == "dir"
    with pytest.raises(src.SourceError):
        src.classify(str(tmp_path / "nope"))
    f = tmp_path / "report.txt"
    shutil.copy(SEEDS[0], f)
    with pytest.raises(src.SourceError, match="not a directory or a list of URLs"):
        src.discover(str(f), cache_dir=tmp_path / "c")
    assert src.parse_url_list("一、总体情况\n", base="http://x/") is None


def test_discover_dir_reports_how_many_files_it_lists_before_hashing(tmp_path, monkeypatch):
    for name in ("b.txt", "a.txt", "sub/c.txt", ".hidden/d.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    events = []
    real_hash = src.sha256_file
    monkeypatch.setattr(src, "sha256_file", lambda p: (events.append("hash"), real_hash(p))[1])
    items = src.discover_dir(str(tmp_path), on_listed=lambda n: events.append(n))
    assert events[0] == 4 and events.count("hash") == 3        # told first; hidden folders are skipped
    assert [Path(i.source_file).relative_to(tmp_path).as_posix() for i in items] == ["a.txt", "b.txt", "sub/c.txt"]
