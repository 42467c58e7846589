"""Sources: local http.server on 127.0.0.1 serving the seeds (ETag/Last-Modified, 5xx, timeouts,
404, bounded concurrency; hostile servers: a Content-Length lie, an endless body, a drip of bytes,
Retry-After, a redirect loop) and fsspec URLs. Every server loop is bounded and stops by itself."""
import hashlib
import shutil
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from flows import publish as pub
from flows import sources as src
from flows.pipeline import RunConfig, run_plain

from paths import ROOT
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))


class Server:
    def __init__(self):
        self.files = {f"/r/{p.name}": p.read_bytes() for p in SEEDS}
        self.sent = {}        # hostile path -> body bytes written
        self.retry_after = {}  # path -> Retry-After value of the first answer (503), then 200
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
                if self.path in HOSTILE:
                    try:
                        HOSTILE[self.path](self, srv)
                    except (BrokenPipeError, ConnectionResetError):    # the client gave up: as expected
                        pass
                    return
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


def _lie(h, srv):
    """Declares 10 GB, sends at most 2 MB."""
    h.send_response(200)
    h.send_header("Content-Length", str(10 * 1024 ** 3))
    h.end_headers()
    for _ in range(32):
        h.wfile.write(bytes(65536))
        srv.sent[h.path] = srv.sent.get(h.path, 0) + 65536


def _endless(h, srv):
    """No Content-Length, a body until the connection closes (at most 4 MB)."""
    h.send_response(200)
    h.send_header("Connection", "close")
    h.end_headers()
    for _ in range(64):
        h.wfile.write(bytes(65536))


def _drip(h, srv):
    """Headers at once, then one byte every 0.1 s (at most 600 bytes: 60 s)."""
    h.send_response(200)
    h.send_header("Content-Length", "600")
    h.end_headers()
    for _ in range(600):
        h.wfile.write(b"x")
        h.wfile.flush()
        time.sleep(0.1)


def _header_drip(h, srv):
    """The status line and headers one byte every 0.1 s (at most 60 s)."""
    for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 590:
        h.wfile.write(bytes([b]))
        h.wfile.flush()
        time.sleep(0.1)


def _loop(h, srv):
    h.send_response(302)
    h.send_header("Location", "/loop")
    h.send_header("Content-Length", "0")
    h.end_headers()


def _retry_after(h, srv):
    value = srv.retry_after.pop(h.path, None)
    if value is not None:
        h.send_response(503)
        h.send_header("Retry-After", value)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return
    body = SEEDS[0].read_bytes()
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


HOSTILE = {"/lie": _lie, "/endless": _endless, "/drip": _drip, "/header-drip": _header_drip, "/loop": _loop,
           "/ra": _retry_after}


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


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
    run_plain(RunConfig(source=str(ROOT / "tests" / "fixtures" / "seeds"), dest=str(folder), quality_report=False))
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
    assert len(s["unavailable"]) == 1 and s["to_remove"] == 0
    assert {k: v for k, v in pub.digest(dest).items() if not k.startswith("quarantine")} == {
        k: v for k, v in before.items() if not k.startswith("quarantine")}
    # ... and the failure is listed, in the summary and in the quarantine, with the URL and the reason
    failing = server.url(sorted(server.files)[0])
    assert [(k["source_file"], k["reason_code"]) for k in s["skipped"]] == [(failing, "fetch_failed")]
    q = pub.load_frame(dest / "quarantine", "quarantine")
    row = q[q["source_file"] == failing].iloc[0]
    assert row["reason_code"] == "fetch_failed" and "HTTP 500" in row["reason"] and pd.isna(row["sha256"])
    # a hosted URL list works the same
    server.fail.clear()
    s = run_plain(RunConfig(source=server.url("/list.txt"), dest=str(dest), quality_report=False))
    assert s["discovered"] == 5 and not s["skipped"] and pub.digest(dest) == before   # the failure row is gone


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
    assert src.parse_url_list("一、总体情况\n", base="http://x/") is None


def test_a_single_report_file_as_the_source_is_taken_alone(tmp_path):
    """A file that is not a list of URLs is one report: sniffed, hashed and taken as a folder's file is
    (its sha256 reused when unchanged); a file of another type is listed as skipped."""
    import hashlib
    f = tmp_path / "report.txt"
    shutil.copy(SEEDS[0], f)
    assert src.classify(str(f)) == "list" and src.url_list_in(str(f)) is None
    d = src.discover(str(f), cache_dir=tmp_path / "c")
    assert [(i.source_file, i.sha256, i.size) for i in d.items] == [
        (str(f), hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_size)]
    again = src.discover(str(f), cache_dir=tmp_path / "c",
                         known={str(f): {"size": d.items[0].size, "mtime_ns": d.items[0].mtime_ns, "sha256": "cached"}})
    assert again.items[0].sha256 == "cached"
    exe = tmp_path / "tool"
    exe.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 64)
    d = src.discover(str(exe), cache_dir=tmp_path / "c")
    assert not d.items and [s.reason_code for s in d.skipped] == ["unsupported_type"]
    urls = tmp_path / "urls.txt"
    urls.write_text("# reports\nhttp://127.0.0.1:9/a.pdf\n", encoding="utf-8")
    assert src.url_list_in(str(urls)) == ["http://127.0.0.1:9/a.pdf"]


def test_discover_dir_reports_how_many_files_it_lists_before_hashing(tmp_path, monkeypatch):
    for name in ("b.txt", "a.txt", "sub/c.txt", ".hidden/d.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    events = []
    real_read = src.read_candidate
    monkeypatch.setattr(src, "read_candidate", lambda p, *a: (events.append("hash"), real_read(p, *a))[1])
    d = src.discover_dir(str(tmp_path), on_listed=lambda n: events.append(n))
    assert events[0] == 3 and events.count("hash") == 3        # told first; hidden folders are not searched
    assert [Path(i.source_file).relative_to(tmp_path).as_posix() for i in d.items] == ["a.txt", "b.txt", "sub/c.txt"]
    assert [(Path(s.source_file).name, s.reason_code) for s in d.skipped] == [(".hidden", "hidden")]


# --------------------------------------------------------------------------- hostile servers
def test_content_length_lie_is_refused_before_the_body(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "100000")
    r = src.fetch_all([server.url("/lie")], tmp_path / "c", retries=2, backoff=0.01)[0]
    assert r.status == "failed" and r.attempts == 1
    assert "Content-Length 10737418240" in r.error and "NIANBAO_MAX_BYTES" in r.error
    assert not list((tmp_path / "c").glob("*.body")) and not list((tmp_path / "c").glob("*.tmp*"))


def test_body_without_length_stops_at_the_byte_cap(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "100000")
    r = src.fetch_all([server.url("/endless")], tmp_path / "c", retries=2, backoff=0.01)[0]
    assert r.status == "failed" and r.attempts == 1 and "larger than 100000 bytes" in r.error
    assert not list((tmp_path / "c").glob("*.body")) and not list((tmp_path / "c").glob("*.tmp*"))


@pytest.mark.parametrize("path", ["/drip", "/header-drip"])
def test_a_dripping_server_is_cut_at_the_url_deadline(server, tmp_path, monkeypatch, path):
    monkeypatch.setenv("NIANBAO_URL_DEADLINE", "1")
    r = src.fetch_all([server.url(path)], tmp_path / "c", retries=3, backoff=0.01, timeout=5)[0]
    assert r.status == "failed" and "NIANBAO_URL_DEADLINE" in r.error and r.attempts == 1, r


def test_redirect_loop_fails_at_once_without_retries(server, tmp_path):
    r = src.fetch_all([server.url("/loop")], tmp_path / "c", retries=3, backoff=0.01)[0]
    assert r.status == "failed" and "redirect" in r.error and r.attempts == 1
    assert server.hits["/loop"] == src.MAX_REDIRECTS + 1


def test_retry_after_seconds_and_date_are_honoured(server, tmp_path):
    from email.utils import formatdate
    waits = []
    server.retry_after["/ra"] = "2"
    r = src.fetch_all([server.url("/ra")], tmp_path / "c", retries=3, backoff=0.01, sleep=waits.append)[0]
    assert r.status == "fetched" and r.attempts == 2 and waits == [2.0]
    waits.clear()
    server.retry_after["/ra"] = formatdate(time.time() + 20, usegmt=True)
    r = src.fetch_all([server.url("/ra")], tmp_path / "c2", retries=3, backoff=0.01, sleep=waits.append)[0]
    assert r.status == "fetched" and len(waits) == 1 and 15 <= waits[0] <= 21


def test_retry_after_over_the_cap_fails_without_waiting(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_RETRY_AFTER_MAX", "30")
    waits = []
    server.retry_after["/ra"] = "3600"
    r = src.fetch_all([server.url("/ra")], tmp_path / "c", retries=3, sleep=waits.append)[0]
    assert r.status == "failed" and "Retry-After 3600 s" in r.error and "NIANBAO_RETRY_AFTER_MAX" in r.error
    assert waits == [] and server.hits["/ra"] == 1


def test_parse_retry_after():
    from email.utils import formatdate
    now = 1_700_000_000.0
    assert src.parse_retry_after("120", now) == 120.0
    assert src.parse_retry_after(formatdate(now + 90, usegmt=True), now) == 90.0
    assert src.parse_retry_after(formatdate(now - 90, usegmt=True), now) == 0.0
    assert src.parse_retry_after("soon", now) is None and src.parse_retry_after(None, now) is None


def test_one_hostile_url_never_stops_the_others(server, tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_MAX_BYTES", "100000")
    monkeypatch.setenv("NIANBAO_URL_DEADLINE", "1")
    good = [server.url(k) for k in sorted(server.files)[:2]]
    urls = [server.url(p) for p in ("/lie", "/drip", "/loop")] + good
    lst = tmp_path / "urls.txt"
    lst.write_text("\n".join(urls) + "\n")
    s = run_plain(RunConfig(source=str(lst), dest=str(tmp_path / "out"), quality_report=False, http_retries=1))
    assert s["discovered"] == 2 and s["parsed"] == 2
    assert sorted(k["source_file"] for k in s["skipped"]) == sorted(urls[:3])
    q = pub.load_frame(tmp_path / "out" / "quarantine", "quarantine")
    assert sorted(q["source_file"]) == sorted(urls[:3]) and set(q["reason_code"]) == {"fetch_failed"}
