"""Input sources (pure; no Prefect): a local folder, any fsspec URL, or a list of report URLs.

``--source`` is interpreted as:

* an existing local directory (or ``file://`` URL)  -> every file matching ``glob`` (default: every file);
* an existing local file                            -> a URL list: one URL (or path) per line, ``#`` comments;
* ``http(s)://…``                                   -> fetched; a body whose lines are all URLs is a URL
                                                       list, anything else is one report;
* any other ``scheme://…`` (``memory://``, ``s3://``, ``zip://``, …) -> an fsspec folder, read with fsspec.

Nothing is skipped in silence: a file a folder holds but nianbao does not take (hidden, a symbolic
link leaving the folder, a dangling or looping link, a FIFO, socket or device, a type nianbao cannot
read, a file it may not read) and a URL that could not be fetched is a :class:`Skipped` entry with a
reason code (``transforms.schema.DISCOVERY_REASONS``); the run lists them and publishes them in the
``quarantine`` dataset. Special files are never opened (opening a FIFO blocks): every entry is
``lstat``-ed first and only regular files are read.

HTTP(S) fetching: per-request timeouts, a total deadline per URL (``NIANBAO_URL_DEADLINE``),
bodies streamed to the cache under a byte cap (``NIANBAO_MAX_BYTES``, the limit files have),
retries with exponential backoff on 5xx / 408 / 429 / timeouts / connection errors, ``Retry-After``
honoured up to ``NIANBAO_RETRY_AFTER_MAX``, redirect loops failed at once (never retried),
conditional GET (``If-None-Match`` / ``If-Modified-Since``) from a cache under
``<dest>/.cache/http`` (written atomically), bounded concurrency (thread pool).
"""
from __future__ import annotations

import concurrent.futures as cf
import errno
import hashlib
import json
import os
import random
import re
import stat
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin

from flows import defaults
from flows.env import retry_after_max, url_deadline
from flows.manifest import Item
from transforms.read import filetypes
from transforms import schema as registry
from transforms.names import printable_name


class SourceError(ValueError):
    """A bad --source (reported as a one-line CLI error)."""


HTTP_PREFIXES = ("http://", "https://")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Skipped:
    """A file or URL the source holds that is not handed to the parser, and why."""
    source_file: str
    reason_code: str                 # one of transforms.schema.DISCOVERY_REASONS
    reason: str
    sha256: str | None = None        # when the bytes were read (hidden file, unsupported type)
    size: int | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Discovery:
    items: list[Item]
    unavailable: list[str] = field(default_factory=list)    # sources that exist but could not be read now
    errors: dict[str, str] = field(default_factory=dict)     # source -> reason
    gone: list[str] = field(default_factory=list)            # 404/410: disappeared
    http: dict[str, int] = field(default_factory=dict)       # counters: fetched, not_modified, failed
    skipped: list[Skipped] = field(default_factory=list)     # not taken, with the reason (-> quarantine)
    not_matched: int = 0                                      # files of a folder outside --glob
    withdrawn: list[str] = field(default_factory=list)       # present, but superseded: their rows go


def max_bytes() -> int:
    """The byte limit of one input (``NIANBAO_MAX_BYTES``, read as the engine reads it): the default of
    a function called without the run's (RunConfig.limits)."""
    from transforms.read.limits import Limits
    return Limits.from_env().max_bytes


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


# --------------------------------------------------------------------------- globs
def glob_regex(pattern: str) -> re.Pattern:
    """A ``Path.glob`` pattern as a regex over '/'-joined relative paths: ``**`` spans folders,
    ``*`` / ``?`` / ``[…]`` stay within one name."""
    out = []
    parts = [p for p in pattern.strip("/").split("/") if p not in ("", ".")] or ["**"]
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
            continue
        j, piece = 0, []
        while j < len(part):
            c = part[j]
            if c == "*":
                piece.append("[^/]*")
            elif c == "?":
                piece.append("[^/]")
            elif c == "[":
                k = j + 1 + (part[j + 1:j + 2] == "!")
                k = part.find("]", k + (part[k:k + 1] == "]"))
                if k < 0:
                    piece.append(re.escape(c))
                else:
                    body = part[j + 1:k]
                    body = "^" + body[1:] if body.startswith("!") else body
                    piece.append("[" + body.replace("\\", "\\\\") + "]")
                    j = k
            else:
                piece.append(re.escape(c))
            j += 1
        out.append("".join(piece) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z", re.S)


# --------------------------------------------------------------------------- local folder
_SPECIAL = ((stat.S_ISFIFO, "named pipe (FIFO)"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
            (stat.S_ISBLK, "block device"))


def _special_kind(mode: int) -> str:
    return next((name for test, name in _SPECIAL if test(mode)), "special file")


def _inside(real: str, root_real: str) -> bool:
    return real == root_real or real.startswith(root_real.rstrip(os.sep) + os.sep)


def read_candidate(real_path: str, limit: int | None = None) -> tuple[str, int, str | None]:
    """(sha256, size, unsupported type or None) of a regular file, read once in chunks.

    Opened non-blocking and without following a link, then checked to be a regular file, so a file
    swapped for a FIFO after it was listed cannot block the run."""
    fd = os.open(real_path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_special_kind(st.st_mode)})")
        h = hashlib.sha256()
        first = f.read(CHUNK)
        h.update(first)
        n = len(first)
        while chunk := f.read(CHUNK):
            h.update(chunk)
            n += len(chunk)
        head = first[:filetypes.HEAD_BYTES]
        members = None
        if filetypes.is_zip(head) and n <= (limit if limit is not None else max_bytes()):
            try:
                f.seek(0)
                with zipfile.ZipFile(f) as zf:
                    members = zf.namelist()
            except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
                members = None
        return h.hexdigest(), n, filetypes.unsupported_type(head, members)


@dataclass
class _Listing:
    candidates: list[tuple[str, str, os.stat_result, bool]]   # (path, path to read, stat, hidden)
    skipped: list[Skipped]
    not_matched: int


def _list_dir(rootp: Path, pattern: re.Pattern, follow_symlinks: bool, exclude: list[str]) -> _Listing:
    """Walk ``rootp`` without following links (unless asked for links leaving it) and sort every
    entry into a file to read, a skipped entry or a file outside the glob. Only lstat/stat: nothing
    is opened here."""
    root = str(rootp)
    root_real = os.path.realpath(root)
    exclude_real = [os.path.realpath(e) for e in exclude]
    cands: list[tuple[str, str, os.stat_result, bool]] = []
    skipped: list[Skipped] = []
    not_matched = 0
    visited = {root_real}
    stack = [(root, "")]

    def skip(path: str, code: str, reason: str) -> None:
        skipped.append(Skipped(printable_name(path), code, reason))

    while stack:
        dir_path, rel_dir = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            skip(dir_path, "read_error", f"folder cannot be listed: {e.strerror or e}")
            continue
        subdirs = []
        for e in entries:
            path, rel = e.path, f"{rel_dir}{e.name}"
            try:
                lst = e.stat(follow_symlinks=False)
            except OSError as exc:                  # vanished while listed
                skip(path, "read_error", f"cannot stat: {exc.strerror or exc}")
                continue
            is_dir = stat.S_ISDIR(lst.st_mode)
            if is_dir and any(_inside(os.path.realpath(path), x) for x in exclude_real):
                continue                            # the run's own output folder
            if e.name.startswith("."):
                if is_dir:
                    skip(path, "hidden", "hidden folder: not searched (names starting with '.' are skipped)")
                elif pattern.match(rel):
                    if stat.S_ISREG(lst.st_mode):
                        cands.append((path, path, lst, True))     # read for its sha256, then listed as hidden
                    else:
                        skip(path, "hidden", "hidden file: skipped (names starting with '.' are skipped)")
                continue
            if is_dir:
                subdirs.append((path, rel + "/"))
                continue
            if stat.S_ISLNK(lst.st_mode):
                try:
                    target = os.readlink(path)
                except OSError:
                    target = "?"
                try:
                    st = os.stat(path)
                except OSError as exc:
                    if not pattern.match(rel):
                        not_matched += 1
                    elif exc.errno == errno.ELOOP:
                        skip(path, "link_loop", f"symbolic link loop (→ {target}): not read")
                    else:
                        skip(path, "dangling_link", f"dangling symbolic link (→ {target}: {exc.strerror}): not read")
                    continue
                real = os.path.realpath(path)
                inside = _inside(real, root_real)
                if stat.S_ISDIR(st.st_mode):
                    if inside:
                        continue                    # its files are reached through the real folder
                    if not follow_symlinks:
                        skip(path, "link_outside_source", f"symbolic link to a folder outside the source "
                             f"(→ {target}): not followed without --follow-symlinks")
                    elif real not in visited:
                        visited.add(real)
                        subdirs.append((path, rel + "/"))
                    continue
                if not pattern.match(rel):
                    not_matched += 1
                elif not inside and not follow_symlinks:
                    skip(path, "link_outside_source", f"symbolic link to a file outside the source "
                         f"(→ {target}): not read without --follow-symlinks")
                elif stat.S_ISREG(st.st_mode):
                    cands.append((path, real, st, False))
                else:
                    skip(path, "special_file", f"symbolic link to a {_special_kind(st.st_mode)}: not read")
                continue
            if not pattern.match(rel):
                not_matched += 1
            elif stat.S_ISREG(lst.st_mode):
                cands.append((path, path, lst, False))
            else:
                skip(path, "special_file", f"{_special_kind(lst.st_mode)}: not read")
        stack.extend(reversed(subdirs))
    return _Listing(cands, skipped, not_matched)


def discover_dir(root: str, glob: str = defaults.GLOB, known: dict[str, dict] | None = None,
                 on_listed: Callable[[int], None] | None = None, *, follow_symlinks: bool = False,
                 exclude: list[str] | None = None, limit: int | None = None) -> Discovery:
    """Files under ``root``; sha256 reused from ``known`` (source -> entry) when size and mtime match.
    ``on_listed(n)`` is told how many files will be read before they are hashed. ``exclude``:
    folders not searched (the run's output, when it lies inside the source). ``limit``: the byte limit
    of one input (default :func:`max_bytes`)."""
    rootp = Path(root[len("file://"):] if root.startswith("file://") else root)
    known = known or {}
    listing = _list_dir(rootp, glob_regex(glob), follow_symlinks, exclude or [])
    if on_listed is not None:
        on_listed(len(listing.candidates))
    limit = max_bytes() if limit is None else limit
    items, skipped = [], list(listing.skipped)
    for path, real, st, hidden in listing.candidates:
        src = printable_name(path)
        k = known.get(src)
        if not hidden and k and k.get("size") == st.st_size and k.get("mtime_ns") == st.st_mtime_ns and k.get("sha256"):
            items.append(Item(src, k["sha256"], st.st_size, real, st.st_mtime_ns))   # taken before: a known type
            continue
        try:
            sha, size, unsupported = read_candidate(real, limit)
        except OSError as e:
            skipped.append(Skipped(src, "read_error", f"cannot be read: {e.strerror or e}"))
            continue
        if hidden:
            skipped.append(Skipped(src, "hidden", "hidden file: skipped (names starting with '.' are skipped)",
                                   sha, size))
        elif unsupported:
            skipped.append(Skipped(src, "unsupported_type", f"unsupported file type: {unsupported}", sha, size))
        else:
            items.append(Item(src, sha, size, real, st.st_mtime_ns))
    items.sort(key=lambda i: i.source_file.split(os.sep))         # Path order (parts), without Path objects
    skipped.sort(key=lambda s: s.source_file.split(os.sep))
    return Discovery(items, skipped=skipped, not_matched=listing.not_matched)


def discover_crawl_folder(root: str, glob: str = defaults.GLOB, known: dict[str, dict] | None = None,
                          on_listed: Callable[[int], None] | None = None, *, cache_dir=None,
                          follow_symlinks: bool = False, exclude: list[str] | None = None,
                          limit: int | None = None) -> Discovery:
    """A folder ``nianbao crawl`` wrote (flows/crawled.py): its ``_crawl/`` state is not searched,
    crawled files are published under their URLs with the crawl's context, and of an article's
    renderings of one report only the most complete is taken (the others: ``superseded``)."""
    from flows import crawled
    files = crawled.provenance(root)
    d = discover_dir(root, glob, crawled.known_by_path(root, files, known or {}), on_listed,
                     follow_symlinks=follow_symlinks, exclude=[*(exclude or []), crawled.state_dir(root)],
                     limit=limit)
    items, meta_of = crawled.apply_provenance(root, d.items)
    kept, dropped = crawled.choose(items, meta_of, cache_dir)
    d.items = kept
    for it, why in dropped:
        d.skipped.append(Skipped(it.source_file, "superseded", why, it.sha256, it.size))
        d.withdrawn.append(it.source_file)
    d.skipped.sort(key=lambda s: s.source_file.split(os.sep))
    return d


# --------------------------------------------------------------------------- fsspec
def discover_fsspec(url: str, glob: str = defaults.GLOB) -> Discovery:
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
    out, skipped = [], []
    for p in paths:
        if fs.isdir(p):
            continue
        u = fs.unstrip_protocol(p) if hasattr(fs, "unstrip_protocol") else f"{proto}://{p}"
        h, n, head = hashlib.sha256(), 0, b""
        try:
            with fs.open(p, "rb") as f:
                while chunk := f.read(CHUNK):
                    if not head:
                        head = chunk[:filetypes.HEAD_BYTES]
                    h.update(chunk)
                    n += len(chunk)
        except OSError as e:
            skipped.append(Skipped(u, "read_error", f"cannot be read: {e}"))
            continue
        rel = p[len(base):].lstrip("/")
        if any(part.startswith(".") for part in rel.split("/")):
            skipped.append(Skipped(u, "hidden", "hidden file: skipped (names starting with '.' are skipped)",
                                   h.hexdigest(), n))
            continue
        unsupported = None if filetypes.is_zip(head) else filetypes.unsupported_type(head)
        if unsupported:
            skipped.append(Skipped(u, "unsupported_type", f"unsupported file type: {unsupported}", h.hexdigest(), n))
            continue
        out.append(Item(u, h.hexdigest(), n, u))
    return Discovery(out, skipped=skipped)


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


class BodyTooLarge(Exception):
    pass


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
        return self.store_stream(url, [body], headers, limit=None)

    def store_stream(self, url: str, chunks, headers, limit: int | None,
                     check: Callable[[], None] | None = None) -> tuple[str, str, int]:
        """Write the body to the cache as it arrives (never whole in memory); raises BodyTooLarge
        past ``limit`` bytes. ``check()`` runs between chunks (the URL's deadline)."""
        bp = self.body_path(url)
        tmp = bp.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        h, n = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as f:
                for chunk in chunks:
                    n += len(chunk)
                    if limit is not None and n > limit:
                        raise BodyTooLarge(f"body larger than {limit} bytes (limit NIANBAO_MAX_BYTES): "
                                           f"download stopped")
                    h.update(chunk)
                    f.write(chunk)
                    if check is not None:
                        check()
            os.replace(tmp, bp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        sha = h.hexdigest()
        meta = {"url": url, "sha256": sha, "size": n, "etag": headers.get("etag"),
                "last_modified": headers.get("last-modified")}
        mp = self.root / f"{self._key(url)}.json"
        tmp = mp.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, mp)
        return str(bp), sha, n


RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
RETRY_AFTER_STATUSES = {429, 503}
MAX_REDIRECTS = 10


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# A total deadline per URL, enforced on every socket operation (connect, TLS, each read and write):
# httpx's timeouts bound one operation, so a server sending one byte every few seconds (headers
# included) would otherwise hold a URL for ever. The deadline of the fetch running in a thread is
# thread-local; the connection pool's reads happen in the thread that made the request.
_URL_DEADLINE = threading.local()


class DeadlineExceeded(Exception):
    pass


def _bounded(timeout: float | None) -> float | None:
    import httpcore
    end = getattr(_URL_DEADLINE, "end", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("URL deadline passed")
    return left if timeout is None else min(timeout, left)


def _deadline_transport(limits, **kw):
    """An httpx transport whose sockets obey the thread's URL deadline."""
    import httpcore
    import httpx

    class Stream(httpcore.NetworkStream):
        def __init__(self, inner):
            self._inner = inner

        def read(self, max_bytes, timeout=None):
            return self._inner.read(max_bytes, _bounded(timeout))

        def write(self, buffer, timeout=None):
            return self._inner.write(buffer, _bounded(timeout))

        def close(self):
            self._inner.close()

        def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            return Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

        def get_extra_info(self, info):
            return self._inner.get_extra_info(info)

    class Backend(httpcore.NetworkBackend):
        def __init__(self):
            self._inner = httpcore.SyncBackend()

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            return Stream(self._inner.connect_tcp(host, port, _bounded(timeout), local_address, socket_options))

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            return Stream(self._inner.connect_unix_socket(path, _bounded(timeout), socket_options))

        def sleep(self, seconds):
            self._inner.sleep(seconds)

    transport = httpx.HTTPTransport(limits=limits, **kw)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool):      # no proxy: the pool we know how to rebuild
        transport._pool = httpcore.ConnectionPool(
            ssl_context=pool._ssl_context, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=Backend())
    return transport


def fetch_one(client, url: str, cache: HttpCache, *, retries: int = 3, backoff: float = 0.5,
              sleep=time.sleep, deadline: float | None = None, limit: int | None = None,
              retry_after_cap: float | None = None) -> FetchResult:
    """One URL, within ``deadline`` seconds in all; a failure is a FetchResult with the reason, never
    an exception (one URL never stops the others)."""
    deadline = url_deadline() if deadline is None else deadline
    limit = max_bytes() if limit is None else limit
    retry_after_cap = retry_after_max() if retry_after_cap is None else retry_after_cap
    end = time.monotonic() + deadline
    _URL_DEADLINE.end = end
    try:
        return _fetch(client, url, cache, retries, backoff, sleep, end, deadline, limit, retry_after_cap)
    finally:
        _URL_DEADLINE.end = None


def _fetch(client, url, cache, retries, backoff, sleep, end, deadline, limit, retry_after_cap) -> FetchResult:
    import httpx
    meta = cache.meta(url)
    headers = {}
    if meta:
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
    over = f"over the deadline of {deadline:g} s for one URL (NIANBAO_URL_DEADLINE)"

    def check() -> None:
        if time.monotonic() > end:
            raise DeadlineExceeded(over)

    last_err, attempt = None, 0
    for attempt in range(1, retries + 2):
        wait = None
        try:
            with client.stream("GET", url, headers=headers) as r:
                if r.status_code == 304 and meta:
                    return FetchResult(url, "not_modified", str(cache.body_path(url)), meta["sha256"], meta["size"],
                                       attempts=attempt)
                if r.status_code == 200:
                    declared = r.headers.get("content-length", "").strip()
                    if declared.isdigit() and int(declared) > limit:
                        return FetchResult(url, "failed", attempts=attempt,
                                           error=f"body too large: Content-Length {declared} > {limit} bytes "
                                                 f"(limit NIANBAO_MAX_BYTES): not downloaded")
                    path, sha, size = cache.store_stream(url, r.iter_bytes(CHUNK), r.headers, limit, check)
                    return FetchResult(url, "fetched", path, sha, size, attempts=attempt)
                if r.status_code in (404, 410):
                    return FetchResult(url, "gone", error=f"HTTP {r.status_code}", attempts=attempt)
                last_err = f"HTTP {r.status_code}"
                if r.status_code not in RETRY_STATUSES:
                    break
                if r.status_code in RETRY_AFTER_STATUSES:
                    wait = parse_retry_after(r.headers.get("retry-after"))
                    if wait is not None and wait > retry_after_cap:
                        return FetchResult(url, "failed", attempts=attempt,
                                           error=f"{last_err} with Retry-After {wait:.0f} s, over the "
                                                 f"{retry_after_cap:g} s cap (NIANBAO_RETRY_AFTER_MAX)")
        except BodyTooLarge as e:
            return FetchResult(url, "failed", error=str(e), attempts=attempt)
        except DeadlineExceeded as e:
            return FetchResult(url, "failed", error=str(e), attempts=attempt)
        except httpx.TooManyRedirects:
            return FetchResult(url, "failed", attempts=attempt,
                               error=f"redirect loop or more than {MAX_REDIRECTS} redirects: not retried")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.DecodingError) as e:
            return FetchResult(url, "failed", error=f"{type(e).__name__}: {e}", attempts=attempt)
        except httpx.TimeoutException:
            if time.monotonic() >= end:
                return FetchResult(url, "failed", error=over, attempts=attempt)
            last_err = "timeout"
        except httpx.HTTPError as e:
            last_err = f"{type(e).__name__}: {e}"
        if attempt <= retries:
            if wait is None:
                wait = backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.1)
            if time.monotonic() + wait > end:
                return FetchResult(url, "failed", attempts=attempt,
                                   error=f"{last_err}; no time left to retry ({over})")
            sleep(wait)
    return FetchResult(url, "failed", error=last_err, attempts=attempt)


def make_client(timeout: float = 10.0, concurrency: int = 8):
    import httpx
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=MAX_REDIRECTS,
                        trust_env=False, limits=limits, transport=_deadline_transport(limits),
                        headers={"User-Agent": "nianbao/0.1 (+https://github.com/nianbao)"})


def fetch_all(urls: list[str], cache_dir: str | os.PathLike, *, concurrency: int = 8, timeout: float = 10.0,
              retries: int = 3, backoff: float = 0.5, progress=None, sleep=time.sleep,
              deadline: float | None = None, limit: int | None = None,
              retry_after_cap: float | None = None) -> list[FetchResult]:
    """Every URL (``concurrency`` at a time); ``deadline``, ``limit``, ``retry_after_cap`` as for
    :func:`fetch_one` (the run's, RunConfig; defaults from the environment)."""
    cache = HttpCache(cache_dir)
    results: dict[str, FetchResult] = {}
    limit = max_bytes() if limit is None else limit
    cap = retry_after_max() if retry_after_cap is None else retry_after_cap
    with make_client(timeout, concurrency) as client, cf.ThreadPoolExecutor(max_workers=concurrency) as pool:
        futs = {pool.submit(fetch_one, client, u, cache, retries=retries, backoff=backoff, sleep=sleep,
                            deadline=deadline, limit=limit, retry_after_cap=cap): u for u in urls}
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


def url_list_in(path: str, limit: int | None = None) -> list[str] | None:
    """The URLs of a local file that lists them, one per line; None for any other file (a report).
    A file over ``limit`` (default NIANBAO_MAX_BYTES) is not read as a list."""
    p = Path(path[len("file://"):] if path.startswith("file://") else path)
    try:
        if p.stat().st_size > (max_bytes() if limit is None else limit):
            return None
        text = p.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError):
        return None
    urls = parse_url_list(text)
    return urls or None


def discover_file(path: str, known: dict[str, dict] | None = None, limit: int | None = None) -> Discovery:
    """One report file given as the source, taken as a file of a folder is: its type sniffed from its
    bytes (listed as skipped when it is not a report format), its sha256 reused when unchanged."""
    local = path[len("file://"):] if path.startswith("file://") else path
    src = printable_name(local)
    real = os.path.realpath(local)
    try:
        st = os.stat(real)
        k = (known or {}).get(src)
        if k and k.get("size") == st.st_size and k.get("mtime_ns") == st.st_mtime_ns and k.get("sha256"):
            return Discovery([Item(src, k["sha256"], st.st_size, real, st.st_mtime_ns)])
        sha, size, unsupported = read_candidate(real, max_bytes() if limit is None else limit)
    except OSError as e:
        return Discovery([], skipped=[Skipped(src, "read_error", f"cannot be read: {e.strerror or e}")])
    if unsupported:
        return Discovery([], skipped=[Skipped(src, "unsupported_type", f"unsupported file type: {unsupported}",
                                              sha, size)])
    return Discovery([Item(src, sha, size, real, st.st_mtime_ns)])


def discover_urls(urls: list[str], cache_dir, **kw) -> Discovery:
    """``kw``: as for :func:`fetch_all` (``limit`` also bounds the local files' ZIP listing)."""
    local = [u for u in urls if not u.startswith(HTTP_PREFIXES)]
    remote = [u for u in urls if u.startswith(HTTP_PREFIXES)]
    items, d = [], Discovery([])
    for u in local:
        p = Path(u[len("file://"):] if u.startswith("file://") else u)
        try:
            st = os.stat(p)
        except OSError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            try:
                sha, size, _ = read_candidate(os.path.realpath(p), kw.get("limit"))
            except OSError as e:
                d.errors[u] = f"cannot be read: {e.strerror or e}"
                d.skipped.append(Skipped(u, "read_error", d.errors[u]))
                continue
            items.append(Item(str(p), sha, size, str(p)))
        else:
            d.errors[u] = "not found" if st is None else f"not a regular file ({_special_kind(st.st_mode)})"
            d.gone.append(u)
            d.skipped.append(Skipped(u, "fetch_failed" if st is None else "special_file", d.errors[u]))
    counts = {"fetched": 0, "not_modified": 0, "gone": 0, "failed": 0}
    for r in fetch_all(remote, cache_dir, **kw):
        counts[r.status] += 1
        if r.status in ("fetched", "not_modified"):
            items.append(Item(r.url, r.sha256, r.size, r.path))
            continue
        if r.status == "gone":
            d.gone.append(r.url)
        else:
            d.unavailable.append(r.url)
        d.errors[r.url] = r.error
        d.skipped.append(Skipped(r.url, "fetch_failed", f"download failed: {r.error}"))
    d.items = items
    d.http = counts
    return d


def discover(source: str, *, cache_dir: str | os.PathLike, glob: str = defaults.GLOB,
             known: dict[str, dict] | None = None, concurrency: int = 8, timeout: float = 10.0,
             retries: int = 3, backoff: float = 0.5, progress=None,
             on_listed: Callable[[int], None] | None = None, follow_symlinks: bool = False,
             exclude: list[str] | None = None, limit: int | None = None, deadline: float | None = None,
             retry_after_cap: float | None = None) -> Discovery:
    """The report files of ``source``. ``limit`` (bytes of one input), ``deadline`` (seconds for one URL in
    all) and ``retry_after_cap`` (longest Retry-After waited for): the run's (RunConfig), else read from
    the environment where they are used."""
    kind = classify(source)
    if kind == "dir":
        root = source[len("file://"):] if source.startswith("file://") else source
        from flows import crawled
        if not crawled.is_crawl_folder(root):
            return discover_dir(source, glob, known, on_listed, follow_symlinks=follow_symlinks, exclude=exclude,
                                limit=limit)
        return discover_crawl_folder(root, glob, known, on_listed, cache_dir=cache_dir,
                                     follow_symlinks=follow_symlinks, exclude=exclude, limit=limit)
    if kind == "fsspec":
        return discover_fsspec(source, glob)
    fetching = dict(deadline=deadline, limit=limit, retry_after_cap=retry_after_cap)
    kw = dict(concurrency=concurrency, timeout=timeout, retries=retries, backoff=backoff, progress=progress,
              **fetching)
    if kind == "list":
        urls = url_list_in(source, limit)
        if urls is None:                 # not a list of URLs: the file is a report
            return discover_file(source, known, limit)
        return discover_urls(urls, cache_dir, **kw)
    # http(s): a hosted URL list or a single report
    res = fetch_all([source], cache_dir, concurrency=1, timeout=timeout, retries=retries, backoff=backoff,
                    **fetching)[0]
    if res.status not in ("fetched", "not_modified"):
        raise SourceError(f"cannot fetch {source}: {res.error}")
    with open(res.path, "rb") as f:       # at most NIANBAO_MAX_BYTES (the download was capped)
        body = f.read()
    try:
        urls = parse_url_list(body.decode("utf-8-sig"), base=source)
    except UnicodeDecodeError:
        urls = None
    if urls:
        return discover_urls(urls, cache_dir, **kw)
    return Discovery([Item(source, res.sha256, res.size, res.path)],
                     http={"fetched": int(res.status == "fetched"), "not_modified": int(res.status == "not_modified")})


def quarantine_rows(skipped: list[dict]) -> list[dict]:
    """Quarantine records (the registry's quarantine dataset) of the skipped entries. A file whose
    bytes were not read (a FIFO, a link leaving the source, a failed download) has no sha256: its
    report_id is the sha256 of its name, so that the row still has a key."""
    rows = []
    for s in skipped:
        sha = s.get("sha256")
        rid = sha or hashlib.sha256(("unread:" + s["source_file"]).encode("utf-8", "backslashreplace")).hexdigest()
        rows.append({"report_id": rid, "sha256": sha, "source_file": s["source_file"], "file_size": s.get("size"),
                     "reason_code": s["reason_code"], "reason": s["reason"], "problems": [s["reason"]],
                     "encoding": None, "parser_version": registry.PARSER_VERSION})
    return rows
