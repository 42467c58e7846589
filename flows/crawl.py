"""Crawl government annual-report columns: list pages → article pages → report attachments.

    nianbao crawl --sites sites.yaml --dest data/crawl

A sites file (YAML, checked strictly: an unknown key is an error) names each column's first list
page and how to recognise its article and next-page links. The crawl writes, under ``dest``:

* ``<site>/<host>/<path>`` — every report found: article pages that carry a table, and attachments
  with a listed extension (``nianbao run --source dest`` reads them);
* ``_crawl/files.json`` — for each of those files: URL, site, referrer, the article's URL, title
  and date (provenance down to the cells);
* ``_crawl/fetch_log.jsonl`` — one line per request: URL, referrer, kind, outcome, HTTP status,
  ETag / Last-Modified, sha256, bytes, time, attempts, error;
* ``_crawl/http/`` — the conditional-GET cache, so a second crawl downloads nothing unchanged.

Pages are untrusted. Only the site's own host (scheme, host and port of ``start_url``) and the hosts
it lists in ``allowed_hosts`` are fetched; any other link or redirect — in particular one to a
loopback or private address the site itself is not on (a Prefect API, a cloud metadata service) —
is refused and logged before a request is sent. robots.txt is obeyed (RFC 9309: 4xx = no rules,
5xx or unreachable = stay away), one request at a time per host with ``delay`` seconds between
them, every fetch bounded by the byte cap, the per-URL deadline and retries with backoff of
``flows.sources.fetch_one``. A dead link or a 5xx is logged and never stops the crawl.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import socket
import threading
import time
import urllib.robotparser
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flows.crawled import STATE_DIR
from flows.sources import HttpCache, fetch_one

SITE_KEYS = {"name", "start_url", "article_pattern", "next_page_pattern", "attachments", "max_pages",
             "organization", "allowed_hosts", "max_articles", "delay"}
DEFAULT_DELAY = 1.0           # seconds between two requests to one host
DEFAULT_MAX_PAGES = 50
DEFAULT_MAX_ARTICLES = 1000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SitesError(ValueError):
    """The sites file is not valid; the message names the file, the site and the key."""


class Refused(Exception):
    """A URL the crawl must not request (other host, private address, robots.txt)."""

    def __init__(self, url: str, outcome: str, reason: str):
        super().__init__(reason)
        self.url, self.outcome = url, outcome


@dataclass(frozen=True)
class Site:
    name: str
    start_url: str
    article_pattern: re.Pattern
    next_page_pattern: re.Pattern
    attachments: tuple[str, ...]
    max_pages: int = DEFAULT_MAX_PAGES
    organization: str | None = None
    allowed_hosts: tuple[str, ...] = ()       # extra "host" or "host:port" attachments may live on
    max_articles: int = DEFAULT_MAX_ARTICLES
    delay: float = DEFAULT_DELAY

    @property
    def origin(self) -> str:
        return origin(self.start_url)


def origin(url: str) -> str:
    """``host:port`` of a URL, the default port filled in: the unit of trust and of politeness."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def load_sites(path: str | os.PathLike) -> list[Site]:
    """The sites of a YAML file, validated; SitesError says what is wrong and where."""
    import yaml

    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise SitesError(f"{path}: cannot read the sites file ({type(e).__name__}: {e})") from None
    if not isinstance(doc, dict) or set(doc) != {"sites"} or not isinstance(doc["sites"], list) or not doc["sites"]:
        raise SitesError(f"{path}: expected one key 'sites' holding a non-empty list")
    sites, names = [], set()
    for i, raw in enumerate(doc["sites"]):
        where = f"{path}: sites[{i}]"
        if not isinstance(raw, dict):
            raise SitesError(f"{where}: expected a mapping")
        unknown = set(raw) - SITE_KEYS
        if unknown:
            raise SitesError(f"{where}: unknown key(s) {sorted(unknown)} (allowed: {sorted(SITE_KEYS)})")
        missing = {"name", "start_url", "article_pattern", "next_page_pattern", "attachments"} - set(raw)
        if missing:
            raise SitesError(f"{where}: missing key(s) {sorted(missing)}")
        name = str(raw["name"])
        if not _NAME.match(name) or name == STATE_DIR or name in names:
            raise SitesError(f"{where}: name {name!r} must be unique, ASCII letters, digits, '_', '-', '.' "
                             "(it names the site's folder)")
        names.add(name)
        start = str(raw["start_url"])
        if urlsplit(start).scheme not in ("http", "https") or not urlsplit(start).hostname:
            raise SitesError(f"{where}: start_url {start!r} is not an http(s) URL")
        patterns = {}
        for key in ("article_pattern", "next_page_pattern"):
            try:
                patterns[key] = re.compile(str(raw[key]))
            except re.error as e:
                raise SitesError(f"{where}: {key} is not a regular expression ({e})") from None
        exts = raw["attachments"]
        if not isinstance(exts, list) or not all(isinstance(x, str) and x.isalnum() for x in exts):
            raise SitesError(f"{where}: attachments must be a list of extensions such as [pdf, doc, docx]")
        try:
            site = Site(name, start, patterns["article_pattern"], patterns["next_page_pattern"],
                        tuple(x.lower() for x in exts), int(raw.get("max_pages", DEFAULT_MAX_PAGES)),
                        raw.get("organization"), tuple(str(h).lower() for h in raw.get("allowed_hosts") or ()),
                        int(raw.get("max_articles", DEFAULT_MAX_ARTICLES)), float(raw.get("delay", DEFAULT_DELAY)))
        except (TypeError, ValueError) as e:
            raise SitesError(f"{where}: {e}") from None
        if site.max_pages < 1 or site.max_articles < 0 or site.delay < 0:
            raise SitesError(f"{where}: max_pages must be ≥ 1, max_articles and delay ≥ 0")
        sites.append(site)
    return sites


# --------------------------------------------------------------------------- trust

def _addresses(host: str) -> list[ipaddress._BaseAddress]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def _internal(addr) -> bool:
    return addr.is_loopback or addr.is_private or addr.is_link_local or addr.is_reserved or addr.is_unspecified


class Policy:
    """Which URLs one site's crawl may request: its own origin and listed hosts, on addresses no
    more internal than the site's own."""

    def __init__(self, site: Site, resolve=_addresses):
        self.site = site
        self.resolve = resolve
        own = resolve(urlsplit(site.start_url).hostname or "")
        self.site_internal = bool(own) and all(_internal(a) for a in own)
        self.allowed = {site.origin}
        for h in site.allowed_hosts:
            self.allowed.add(h if ":" in h else f"{h}:443")
            if ":" not in h:
                self.allowed.add(f"{h}:80")

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise Refused(url, "refused", f"not an http(s) URL: {parts.scheme or '(none)'}")
        if parts.username or parts.password:
            raise Refused(url, "refused", "URL carries credentials")
        where = origin(url)
        if where not in self.allowed:
            raise Refused(url, "refused", f"host {where} is not the site's ({self.site.origin}) nor listed "
                                          "in allowed_hosts")
        addrs = self.resolve(parts.hostname or "")
        if not addrs:
            raise Refused(url, "refused", f"host {parts.hostname} does not resolve")
        if not self.site_internal and any(_internal(a) for a in addrs):
            raise Refused(url, "refused", f"host {parts.hostname} resolves to an internal address "
                                          f"({', '.join(map(str, addrs))}) the site is not on")


# --------------------------------------------------------------------------- politeness

class HostGate:
    """One request at a time per host, ``delay`` seconds apart (shared by the sites on one host)."""

    def __init__(self, sleep=time.sleep, clock=time.monotonic):
        self.sleep, self.clock = sleep, clock
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def lock(self, host: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(host, threading.Lock())

    def wait(self, host: str, delay: float) -> None:
        last = self._last.get(host)
        if last is not None:
            pause = last + delay - self.clock()
            if pause > 0:
                self.sleep(pause)

    def done(self, host: str) -> None:
        self._last[host] = self.clock()


# --------------------------------------------------------------------------- files

def report_path(site: Site, url: str) -> Path:
    """Where a fetched report is kept: ``<site>/<host_port>/<path>`` with every segment made safe
    (no '..', no separators, bounded length); a query string becomes a short hash in the name."""
    parts = urlsplit(url)
    segs = [s for s in unquote(parts.path).split("/") if s not in ("", ".", "..")]
    if not segs or parts.path.endswith("/"):
        segs.append("index.html")
    safe = [re.sub(r"[\x00-\x1f/\\:*?\"<>|]", "_", s)[:100].lstrip(".") or "_" for s in segs]
    if parts.query:
        stem, dot, ext = safe[-1].rpartition(".")
        tag = hashlib.sha256(parts.query.encode()).hexdigest()[:10]
        safe[-1] = f"{stem}_{tag}.{ext}" if dot else f"{safe[-1]}_{tag}"
    return Path(site.name, origin(url).replace(":", "_"), *safe)


def _place(body: str, dest: Path) -> None:
    """The cached body at ``dest`` (a hard link when possible), replaced atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        if os.path.samefile(body, dest):
            return                 # already that body (a rename between two links of one file does nothing)
    except OSError:
        pass
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    try:
        os.link(body, tmp)
    except OSError:
        import shutil
        shutil.copyfile(body, tmp)
    os.replace(tmp, dest)


@dataclass
class CrawlSummary:
    crawl_id: str
    outcomes: dict[str, int] = field(default_factory=dict)   # fetched, not_modified, failed, refused …
    files: int = 0                                          # reports kept under dest
    downloaded_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


# --------------------------------------------------------------------------- the crawl

class Crawler:
    """Crawls sites into ``dest``; see the module docstring. ``client_factory(policy)`` makes the HTTP
    client of one site (tests inject theirs); ``resolve`` maps a host to its addresses. ``deadline``,
    ``limit`` and ``retry_after_cap``: as for ``flows.sources.fetch_one`` (a run's, RunConfig; default
    from the environment)."""

    def __init__(self, dest: str | os.PathLike, *, retries: int = 3, backoff: float = 0.5, timeout: float = 10.0,
                 sleep=time.sleep, clock=time.monotonic, resolve=_addresses, delay: float | None = None,
                 client_factory=None, deadline: float | None = None, limit: int | None = None,
                 retry_after_cap: float | None = None):
        self.dest = Path(dest)
        self.state = self.dest / STATE_DIR
        self.cache = HttpCache(self.state / "http")
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.sleep, self.resolve, self.delay = sleep, resolve, delay
        self.fetching = dict(deadline=deadline, limit=limit, retry_after_cap=retry_after_cap)
        self.hosts = HostGate(sleep, clock)
        self.client_factory = client_factory or self._client
        self._log_lock = threading.Lock()
        self._files: dict[str, dict] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def _client(self, policy: Policy):
        from flows.sources import make_client

        client = make_client(self.timeout, concurrency=1)
        # every request, redirects included, is checked against the site's policy before it is sent
        client.event_hooks = {"request": [lambda request: policy.check(str(request.url))]}
        return client

    # -- public
    def crawl(self, sites: list[Site], workers: int = 4) -> CrawlSummary:
        stamp = dt.datetime.now(dt.timezone.utc)
        summary = CrawlSummary(stamp.strftime("%Y%m%dT%H%M%SZ"))
        self.state.mkdir(parents=True, exist_ok=True)
        self._files = self._load_files()
        self._log = open(self.state / "fetch_log.jsonl", "a", encoding="utf-8")
        try:
            with cf.ThreadPoolExecutor(max_workers=max(1, min(workers, len(sites)))) as pool:
                futs = {pool.submit(self._crawl_site, s, summary): s for s in sites}
                for fut in cf.as_completed(futs):
                    try:
                        fut.result()
                    except Exception as e:          # one site's crawl never stops the others
                        self._log_row(futs[fut], futs[fut].start_url, "list", None, "site_failed", summary,
                                      error=f"the site's crawl broke off: {type(e).__name__}: {e}")
        finally:
            self._log.close()
            self._save_files()
        summary.files = sum(1 for rel in self._files if (self.dest / rel).exists())
        return summary

    # -- one site
    def _crawl_site(self, site: Site, summary: CrawlSummary) -> None:
        policy = Policy(site, self.resolve)
        with self.client_factory(policy) as client:
            fetch = lambda url, kind, referrer: self._fetch(client, policy, site, url, kind, referrer, summary)  # noqa: E731
            from transforms.site_pages import extension, page_facts

            pages, queued, articles = 0, [site.start_url], []
            seen_pages, seen_articles = {site.start_url}, set()
            direct: list[tuple[str, str]] = []
            while queued and pages < site.max_pages:
                page_url = queued.pop(0)
                res = fetch(page_url, "list", None)
                pages += 1
                if res is None:
                    continue
                facts = page_facts(_text(res.path), page_url)
                for link in facts.links:
                    if site.article_pattern.search(link.url) and link.url not in seen_articles:
                        seen_articles.add(link.url)
                        articles.append((link.url, page_url))
                    elif site.next_page_pattern.search(link.url) and link.url not in seen_pages:
                        seen_pages.add(link.url)
                        queued.append(link.url)
                    elif extension(link.url) in site.attachments:
                        direct.append((link.url, page_url))
            for url, ref in articles[:site.max_articles]:
                res = fetch(url, "article", ref)
                if res is None:
                    continue
                facts = page_facts(_text(res.path), url)
                article = {"article_url": url, "article_title": facts.title, "article_date": facts.date,
                           "content_source": facts.meta.get("ContentSource")}
                if facts.has_table:
                    self._keep(site, url, res, "article", ref, article)
                for link in facts.links:
                    if extension(link.url) in site.attachments:
                        att = fetch(link.url, "attachment", url)
                        if att is not None:
                            self._keep(site, link.url, att, "attachment", url,
                                       {**article, "link_text": link.text})
            for url, ref in direct:
                att = fetch(url, "attachment", ref)
                if att is not None:
                    self._keep(site, url, att, "attachment", ref, {"article_url": None})
            if len(articles) > site.max_articles:
                self._log_row(site, None, "article", None, "skipped_max_articles", summary,
                              error=f"{len(articles) - site.max_articles} article(s) over max_articles")

    def _keep(self, site: Site, url: str, res, kind: str, referrer: str | None, article: dict) -> None:
        rel = report_path(site, url)
        _place(res.path, self.dest / rel)
        self._files[rel.as_posix()] = {"url": url, "site": site.name, "kind": kind, "referrer": referrer,
                                       "organization": site.organization, "sha256": res.sha256, **article}

    def _robots_allows(self, client, policy: Policy, site: Site, url: str, summary) -> bool:
        host = origin(url)
        if host not in self._robots:
            parts = urlsplit(url)
            robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
            res = self._request(client, policy, site, robots_url, "robots", None, summary, robots=True)
            parser = urllib.robotparser.RobotFileParser()
            if res is not None and res.status in ("fetched", "not_modified"):
                parser.parse(_text(res.path).splitlines())
            elif res is not None and res.status == "gone":
                parser.parse([])                       # 404/410: no rules
            else:
                parser.disallow_all = True             # unreachable or 5xx: stay away (RFC 9309)
            self._robots[host] = parser
        return self._robots[host].can_fetch("nianbao", url)

    def _fetch(self, client, policy: Policy, site: Site, url: str, kind: str, referrer: str | None, summary):
        try:
            policy.check(url)
        except Refused as r:
            self._log_row(site, url, kind, referrer, r.outcome, summary, error=str(r))
            return None
        if not self._robots_allows(client, policy, site, url, summary):
            self._log_row(site, url, kind, referrer, "robots_disallowed", summary, error="disallowed by robots.txt")
            return None
        return self._request(client, policy, site, url, kind, referrer, summary)

    def _request(self, client, policy, site, url, kind, referrer, summary, robots: bool = False):
        host = origin(url)
        delay = self.delay if self.delay is not None else site.delay
        t0 = time.monotonic()
        with self.hosts.lock(host):
            self.hosts.wait(host, delay)
            try:
                res = fetch_one(client, url, self.cache, retries=self.retries, backoff=self.backoff,
                                sleep=self.sleep, **self.fetching)
            except Refused as r:                      # a redirect to a host the policy forbids
                self.hosts.done(host)
                self._log_row(site, url, kind, referrer, r.outcome, summary,
                              error=f"redirect refused: {r.url}: {r}")
                return None
            finally:
                self.hosts.done(host)
        meta = self.cache.meta(url) or {}
        status = {"fetched": 200, "not_modified": 304}.get(res.status)
        if status is None and res.error and res.error.startswith("HTTP "):
            status = int(res.error.split()[1]) if res.error.split()[1].isdigit() else None
        if res.status == "fetched":
            summary.downloaded_bytes += res.size or 0
        self._log_row(site, url, kind, referrer, res.status, summary, status=status, etag=meta.get("etag"),
                      last_modified=meta.get("last_modified"), sha256=res.sha256, size=res.size,
                      seconds=round(time.monotonic() - t0, 3), attempts=res.attempts, error=res.error)
        if res.status in ("fetched", "not_modified"):
            return res
        return res if robots else None

    # -- state
    def _log_row(self, site: Site, url, kind, referrer, outcome, summary, **kw) -> None:
        summary.count(outcome)
        if outcome in ("failed", "refused", "site_failed") and url:
            summary.errors.append(f"{url}: {kw.get('error')}")
        row = {"crawl_id": summary.crawl_id, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "site": site.name, "url": url, "referrer": referrer, "kind": kind, "outcome": outcome,
               "status": kw.get("status"), "etag": kw.get("etag"), "last_modified": kw.get("last_modified"),
               "sha256": kw.get("sha256"), "bytes": kw.get("size"), "seconds": kw.get("seconds"),
               "attempts": kw.get("attempts"), "error": kw.get("error")}
        with self._log_lock:
            self._log.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._log.flush()

    def _load_files(self) -> dict[str, dict]:
        p = self.state / "files.json"
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save_files(self) -> None:
        p = self.state / "files.json"
        tmp = p.with_name(f".files.json.tmp{os.getpid()}")
        tmp.write_text(json.dumps(dict(sorted(self._files.items())), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, p)


def _text(path: str) -> str:
    """A fetched page as text (pages are small; the HTML reader's charset rules decide)."""
    from transforms.read.charsets import decode
    try:
        return decode(Path(path).read_bytes())[0]
    except Exception:
        return ""
