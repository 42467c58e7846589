"""A crawl folder as a source (pure; no Prefect): what ``nianbao crawl`` wrote, read back as reports.

A folder holding ``_crawl/files.json`` is a crawl folder (flows/crawl.py). Its ``_crawl/`` is the
crawl's state (HTTP cache, fetch log), never reports: discovery does not search it. Every file the
crawl kept is published under its URL (``source_file``) and parsed with what the crawl learnt of it
as the engine's ``context``: the article's title and date, its ``ContentSource`` body and the
page's URL (docs/IDENTITY.md), so an attachment's cells carry the article's provenance.

One article can yield several renderings of one report: the page's own tables and an attachment
(PDF, DOC …), or two attachments. They are read, and the more complete one is published
(:func:`transforms.site_pages.completeness`); the others are listed in ``quarantine`` with reason
``superseded`` naming the one kept. The choice depends only on the files' bytes, never on batching;
it is remembered per sha256 under ``<dest>/.cache`` so an unchanged pair is not read again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from flows.manifest import Item
from transforms import schema as registry
from transforms.names import printable_name
from transforms.site_pages import completeness

STATE_DIR = "_crawl"            # the crawl's own state in the folder it writes (flows/crawl.py)
CHOICES_FILE = "crawl_completeness.json"


def provenance(root: str | os.PathLike) -> dict[str, dict]:
    """``files.json`` of a crawl folder (relative path → URL, site, article …), or {} if not a crawl."""
    p = Path(root) / STATE_DIR / "files.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def is_crawl_folder(root: str | os.PathLike) -> bool:
    return (Path(root) / STATE_DIR / "files.json").is_file()


def state_dir(root: str | os.PathLike) -> str:
    return str(Path(root) / STATE_DIR)


def context_of(meta: dict) -> dict:
    """The engine's context of a crawled file: its URL, the article's title, date and body, the
    site's owner as a place hint (it names the site, not necessarily the body of each report)."""
    ctx = {"url": meta.get("url"), "title": meta.get("article_title"),
           "publication_date": meta.get("article_date"), "organization": meta.get("content_source"),
           "site_name": meta.get("organization")}
    return {k: v for k, v in ctx.items() if v}


def known_by_path(root: str, files: dict[str, dict], known: dict[str, dict]) -> dict[str, dict]:
    """The manifest's entries (keyed by published name: the URL) keyed by local path as well, so
    discovery reuses the sha256 of an unchanged crawled file instead of reading it again."""
    out = dict(known)
    for rel, meta in files.items():
        entry = known.get(meta.get("url"))
        if entry is not None:
            out[printable_name(os.path.join(root, rel))] = {**entry, "source_file": meta.get("url")}
    return out


def apply_provenance(root: str, items: list[Item]) -> tuple[list[Item], dict[str, dict]]:
    """Items of a crawl folder renamed to their URLs, with their context; returns (items, the
    crawl's record of each item by its new source_file). A file whose bytes are not those the
    crawl kept (edited by hand) keeps its path: its URL would be a false provenance."""
    files = provenance(root)
    by_path = {printable_name(os.path.join(root, rel)): meta for rel, meta in files.items()}
    out, meta_of = [], {}
    for it in items:
        meta = by_path.get(it.source_file)
        if meta is None or not meta.get("url") or meta.get("sha256") != it.sha256:
            out.append(it)
            continue
        renamed = Item(meta["url"], it.sha256, it.size, it.local_path, it.mtime_ns, context_of(meta))
        out.append(renamed)
        meta_of[renamed.source_file] = meta
    out.sort(key=lambda i: i.source_file)
    return out, meta_of


def _load_choices(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return doc if doc.get("parser_version") == registry.PARSER_VERSION else {}
    except (OSError, ValueError, AttributeError):
        return {}


def _facts(item: Item, cache: dict) -> dict:
    """Completeness and identity of one candidate, read once per sha256 and parser version."""
    hit = cache.get(item.sha256)
    if hit is not None:
        return hit
    from flows.batch import read_bytes
    from transforms.read.limits import Unreadable
    from transforms.engine import parse_report
    try:
        report = parse_report(read_bytes(item.local_path), item.source_file, item.context).report
    except (Unreadable, OSError, Exception) as e:      # the engine promises not to raise; never trust it
        report = {"status": "unreadable", "problems": [f"{type(e).__name__}: {e}"]}
    facts = {"key": list(completeness(report)), "status": report.get("status"),
             "report_year": report.get("report_year"), "organization_id": report.get("organization_id"),
             "tables_complete": len(report.get("tables_complete") or []), "n_cells": report.get("n_cells") or 0,
             "n_flagged": report.get("n_flagged") or 0}
    cache[item.sha256] = facts
    return facts


def _same_report(a: dict, b: dict) -> bool:
    """Two renderings of one report: no year or body they print disagrees (an article may also carry
    two bodies' reports, which are not alternatives)."""
    for k in ("report_year", "organization_id"):
        if a.get(k) is not None and b.get(k) is not None and a[k] != b[k]:
            return False
    return True


def choose(items: list[Item], meta_of: dict[str, dict], cache_dir: str | os.PathLike | None
           ) -> tuple[list[Item], list[tuple[Item, str]]]:
    """Keep, per article, the most complete rendering of its report; returns (items kept,
    [(superseded item, reason)]). Ties go to the article page (read without conversion), then to
    the smaller URL, so the choice is the same whatever the order or batching."""
    groups: dict[str, list[Item]] = {}
    for it in items:
        article = (meta_of.get(it.source_file) or {}).get("article_url")
        if article:
            groups.setdefault(article, []).append(it)
    groups = {a: g for a, g in groups.items() if len({i.sha256 for i in g}) > 1}
    if not groups:
        return items, []
    cache_path = Path(cache_dir).parent / CHOICES_FILE if cache_dir else None
    cache = _load_choices(cache_path).get("facts", {}) if cache_path else {}
    dropped: dict[str, tuple[Item, str]] = {}
    for article in sorted(groups):
        cands = sorted(groups[article], key=lambda i: i.source_file)
        facts = {i.source_file: _facts(i, cache) for i in cands}

        def rank(i: Item):
            is_page = (meta_of.get(i.source_file) or {}).get("kind") == "article"
            return (tuple(facts[i.source_file]["key"]), is_page)

        best = max(cands, key=rank)      # the first of equals: the smallest URL
        win = facts[best.source_file]
        if win["status"] != "parsed":
            continue                     # nothing readable: each file keeps its own quarantine reason
        for i in cands:
            f = facts[i.source_file]
            if i is best or i.sha256 == best.sha256 or not _same_report(f, win):
                continue
            dropped[i.source_file] = (i, (
                f"superseded by {best.source_file}, a more complete rendering of the same article's report "
                f"({article}): complete statutory tables {win['tables_complete']} vs {f['tables_complete']}, "
                f"cells {win['n_cells']} vs {f['n_cells']}, flagged cells {win['n_flagged']} vs {f['n_flagged']}"
                + ("" if f["status"] == "parsed" else "; this file was not readable")))
    if cache_path is not None:
        try:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_path.with_name(f".{CHOICES_FILE}.tmp{os.getpid()}")
            tmp.write_text(json.dumps({"parser_version": registry.PARSER_VERSION, "facts": cache}), encoding="utf-8")
            os.replace(tmp, cache_path)
        except OSError:
            pass                         # a cache: the choice is made again next time
    return [i for i in items if i.source_file not in dropped], [dropped[k] for k in sorted(dropped)]


def fetch_log_rows(root: str | os.PathLike) -> list[dict] | None:
    """The crawl folder's fetch log as rows of the ``fetch_log`` dataset (file order), or None when
    the folder has none. A line that is not a whole record (a crawl killed mid-write) is skipped."""
    path = Path(root) / STATE_DIR / "fetch_log.jsonl"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    names = registry.column_names("fetch_log")
    rows = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if (isinstance(rec, dict) and rec.get("crawl_id") and rec.get("time") and rec.get("site")
                and rec.get("outcome") in registry.FETCH_OUTCOMES and rec.get("kind") in registry.FETCH_KINDS):
            rows.append({n: rec.get(n) for n in names})
    return rows


def fetch_log_digest(rows: list[dict]) -> str:
    """sha256 of the rows: whether the published log is the folder's."""
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(r, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return h.hexdigest()
