"""Input sources (pure; no Prefect): a local folder, any fsspec URL, or a list of report URLs.

``--source`` is interpreted as:

* an existing local directory (or ``file://`` URL)  -> every file matching ``glob`` (default ``**/*.txt``);
* an existing local file                            -> a URL list: one URL (or path) per line, ``#`` comments;
* ``http(s)://…``                                   -> fetched; a body whose lines are all URLs is a URL
                                                       list, anything else is one report;
* any other ``scheme://…`` (``memory://``, ``s3://``, ``zip://``, …) -> an fsspec folder, read with fsspec.

HTTP(S) fetching: per-request timeouts, retries with exponential backoff on 5xx / 408 / 429 /
timeouts / connection errors, conditional GET (``If-None-Match`` / ``If-Modified-Since``) from a
cache under ``<dest>/.cache/http`` (written atomically), bounded concurrency (thread pool).
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import random
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from urllib.parse import urljoin

from flows import defaults
from flows.manifest import Item
from transforms.names import printable_name


class SourceError(ValueError):
    """A bad --source (reported as a one-line CLI error)."""


HTTP_PREFIXES = ("http://", "https://")


@dataclass
class Discovery:
    items: list[Item]
    unavailable: list[str] = field(default_factory=list)    # sources that exist but could not be read now
    errors: dict[str, str] = field(default_factory=dict)     # source -> reason
    gone: list[str] = field(default_factory=list)            # 404/410: disappeared
    http: dict[str, int] = field(default_factory=dict)       # counters: fetched, not_modified, failed


def sha256_file(path: str | os.PathLike, bufsize: int = 1 << 20) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def classify(source: str) -> str:
    if source.startswith(HTTP_PREFIXES):
        return "http"
    if source.startswith("file://"):
        source = source[len("file://"):]
    elif "://" in source:
        return "fsspec"
    p = Path(source)
    if p.is_dir():
        return "dir"
    if p.is_file():
        return "list"
    raise SourceError(f"source not found: {source}")


# --------------------------------------------------------------------------- local folder
def discover_dir(root: str, glob: str = defaults.GLOB, known: dict[str, dict] | None = None,
                 on_listed: Callable[[int], None] | None = None) -> list[Item]:
    """Files under ``root``; sha256 reused from ``known`` (source -> entry) when size and mtime match.
    ``on_listed(n)`` is told how many paths matched before they are hashed."""
    rootp = Path(root[len("file://"):] if root.startswith("file://") else root)
    known = known or {}
    out = []
    paths = sorted(rootp.glob(glob), key=attrgetter("parts"))     # Path order, without Path.__lt__
    if on_listed is not None:
        on_listed(len(paths))
    for p in paths:
        try:
            st = p.stat()
        except OSError:                  # vanished, or a broken link
            continue
        if not stat.S_ISREG(st.st_mode) or any(part.startswith(".") for part in p.relative_to(rootp).parts):
            continue
        src = str(p)
        name = printable_name(src)       # undecodable bytes escaped; the file is read from src
        k = known.get(name)
        if k and k.get("size") == st.st_size and k.get("mtime_ns") == st.st_mtime_ns and k.get("sha256"):
            sha = k["sha256"]
        else:
            sha, _ = sha256_file(p)
        out.append(Item(name, sha, st.st_size, src, st.st_mtime_ns))
    return out


# --------------------------------------------------------------------------- fsspec
def discover_fsspec(url: str, glob: str = defaults.GLOB) -> list[Item]:
    import fsspec
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as e:
        raise SourceError(f"cannot open {url}: {e}") from None
    proto = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    base = path.rstrip("/")
    try:
        paths = sorted(fs.glob(f"{base}/{glob}"))
    except FileNotFoundError:
        raise SourceError(f"source not found: {url}") from None
    if not paths and not fs.exists(base):
        raise SourceError(f"source not found: {url}")
    out = []
    for p in paths:
        if fs.isdir(p):
            continue
        data = fs.cat_file(p)
        u = fs.unstrip_protocol(p) if hasattr(fs, "unstrip_protocol") else f"{proto}://{p}"
        out.append(Item(u, hashlib.sha256(data).hexdigest(), len(data), u))
    return out


# --------------------------------------------------------------------------- HTTP
@dataclass
class FetchResult:
    url: str
    status: str               # fetched | not_modified | gone | failed
    path: str | None = None   # cached body
    sha256: str | None = None
    size: int | None = None
    error: str | None = None
    attempts: int = 0


class HttpCache:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _key(self, url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()[:32]

    def body_path(self, url: str) -> Path:
        return self.root / f"{self._key(url)}.body"

    def meta(self, url: str) -> dict | None:
        p = self.root / f"{self._key(url)}.json"
        if not p.exists() or not self.body_path(url).exists():
            return None
        try:
            return json.loads(p.read_text())
        except ValueError:
            return None

    def store(self, url: str, body: bytes, headers) -> tuple[str, str, int]:
        sha = hashlib.sha256(body).hexdigest()
        bp = self.body_path(url)
        tmp = bp.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(body)
        os.replace(tmp, bp)
        meta = {"url": url, "sha256": sha, "size": len(body), "etag": headers.get("etag"),
                "last_modified": headers.get("last-modified")}
        mp = self.root / f"{self._key(url)}.json"
        tmp = mp.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, mp)
        return str(bp), sha, len(body)


RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


def fetch_one(client, url: str, cache: HttpCache, *, retries: int = 3, backoff: float = 0.5,
              sleep=time.sleep) -> FetchResult:
    import httpx
    meta = cache.meta(url)
    headers = {}
    if meta:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    last_err = None
    for attempt in range(1, retries + 2):
        try:
            r = client.get(url, headers=headers)
            if r.status_code == 304 and meta:
                return FetchResult(url, "not_modified", str(cache.body_path(url)), meta["sha256"], meta["size"],
                                   attempts=attempt)
            if r.status_code == 200:
                path, sha, size = cache.store(url, r.content, r.headers)
                return FetchResult(url, "fetched", path, sha, size, attempts=attempt)
            if r.status_code in (404, 410):
                return FetchResult(url, "gone", error=f"HTTP {r.status_code}", attempts=attempt)
            last_err = f"HTTP {r.status_code}"
            if r.status_code not in RETRY_STATUSES:
                break
        except httpx.TimeoutException:
            last_err = "timeout"
        except httpx.HTTPError as e:
            last_err = f"{type(e).__name__}: {e}"
        if attempt <= retries:
            sleep(backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.1))
    return FetchResult(url, "failed", error=last_err, attempts=attempt)


def make_client(timeout: float = 10.0, concurrency: int = 8):
    import httpx
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True, trust_env=False,
                        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
                        headers={"User-Agent": "nianbao/0.1 (+https://github.com/nianbao)"})


def fetch_all(urls: list[str], cache_dir: str | os.PathLike, *, concurrency: int = 8, timeout: float = 10.0,
              retries: int = 3, backoff: float = 0.5, progress=None) -> list[FetchResult]:
    cache = HttpCache(cache_dir)
    results: dict[str, FetchResult] = {}
    with make_client(timeout, concurrency) as client, cf.ThreadPoolExecutor(max_workers=concurrency) as pool:
        futs = {pool.submit(fetch_one, client, u, cache, retries=retries, backoff=backoff): u for u in urls}
        for f in cf.as_completed(futs):
            results[futs[f]] = f.result()
            if progress:
                progress(1)
    return [results[u] for u in urls]


def parse_url_list(text: str, base: str | None = None) -> list[str] | None:
    """URLs of a list file, or None if the text is not a URL list."""
    urls = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(HTTP_PREFIXES):
            urls.append(line)
        elif (base and base.startswith(HTTP_PREFIXES) and line.isascii() and " " not in line
              and "\t" not in line and ("/" in line or "." in line) and len(line) < 500):
            urls.append(urljoin(base, line))
        else:
            return None
    return list(dict.fromkeys(urls))


def discover_urls(urls: list[str], cache_dir, **kw) -> Discovery:
    local = [u for u in urls if not u.startswith(HTTP_PREFIXES)]
    remote = [u for u in urls if u.startswith(HTTP_PREFIXES)]
    items, d = [], Discovery([])
    for u in local:
        p = Path(u[len("file://"):] if u.startswith("file://") else u)
        if p.is_file():
            sha, size = sha256_file(p)
            items.append(Item(str(p), sha, size, str(p)))
        else:
            d.errors[u] = "not found"
            d.gone.append(u)
    counts = {"fetched": 0, "not_modified": 0, "gone": 0, "failed": 0}
    for r in fetch_all(remote, cache_dir, **kw):
        counts[r.status] += 1
        if r.status in ("fetched", "not_modified"):
            items.append(Item(r.url, r.sha256, r.size, r.path))
        elif r.status == "gone":
            d.gone.append(r.url)
            d.errors[r.url] = r.error
        else:
            d.unavailable.append(r.url)
            d.errors[r.url] = r.error
    d.items = items
    d.http = counts
    return d


def discover(source: str, *, cache_dir: str | os.PathLike, glob: str = defaults.GLOB,
             known: dict[str, dict] | None = None, concurrency: int = 8, timeout: float = 10.0,
             retries: int = 3, backoff: float = 0.5, progress=None,
             on_listed: Callable[[int], None] | None = None) -> Discovery:
    kind = classify(source)
    if kind == "dir":
        return Discovery(discover_dir(source, glob, known, on_listed))
    if kind == "fsspec":
        return Discovery(discover_fsspec(source, glob))
    kw = dict(concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff, progress=progress)
    if kind == "list":
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise SourceError(f"{source} is a file but not a UTF-8 list of URLs") from None
        urls = parse_url_list(text)
        if urls is None:
            raise SourceError(f"{source} is not a directory or a list of URLs (one per line)")
        return discover_urls(urls, cache_dir, **kw)
    # http(s): a hosted URL list or a single report
    res = fetch_all([source], cache_dir, concurrency=1, timeout=timeout, retries=retries, backoff=backoff)[0]
    if res.status not in ("fetched", "not_modified"):
        raise SourceError(f"cannot fetch {source}: {res.error}")
    body = Path(res.path).read_bytes()
    try:
        urls = parse_url_list(body.decode("utf-8-sig"), base=source)
    except UnicodeDecodeError:
        urls = None
    if urls:
        return discover_urls(urls, cache_dir, **kw)
    return Discovery([Item(source, res.sha256, res.size, res.path)],
                     http={"fetched": int(res.status == "fetched"), "not_modified": int(res.status == "not_modified")})
