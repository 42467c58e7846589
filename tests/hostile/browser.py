"""Open nianbao's pages in a real browser (headless Chromium) and see whether hostile text ran.

Every payload of corpus.PAYLOADS sets `data-pwned` on <body> when it executes; `loaded_body` returns
the <body> attributes after the page loaded (DOM dumped by Chromium, scripts and event handlers run).
Escaping can only be trusted where a browser parses it: a regex over the file cannot tell a tag
from its escaped text in every context.
"""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from hostile.corpus import PWNED


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _flags(profile: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", f"--user-data-dir={profile}", "--virtual-time-budget=3000"]


class _Body(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs: dict | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "body" and self.attrs is None:
            self.attrs = dict(attrs)
        for name, value in attrs:
            if name in ("href", "src", "action", "formaction", "srcdoc", "data") and value:
                self.hrefs.append(value)


def dump_dom(page: Path, profile: Path, timeout: float = 60) -> str:
    out = subprocess.run([chromium(), *_flags(profile), "--dump-dom", page.resolve().as_uri()],
                         capture_output=True, timeout=timeout)
    return out.stdout.decode("utf-8", "replace")


def loaded_page(page: Path, profile: Path) -> tuple[dict, list[str]]:
    """(<body> attributes, every link-like attribute value) of the page as Chromium left it."""
    p = _Body()
    p.feed(dump_dom(page, profile))
    if p.attrs is None:
        raise AssertionError(f"Chromium returned no DOM for {page}")
    return p.attrs, p.hrefs


def screenshot(page: Path, png: Path, profile: Path, size: str = "1300,2000") -> None:
    subprocess.run([chromium(), *_flags(profile), "--hide-scrollbars", f"--window-size={size}",
                    f"--screenshot={png}", page.resolve().as_uri()], capture_output=True, timeout=120)


def executed_pages(root: Path, profile: Path) -> dict[str, str]:
    """page -> what ran, for every .html under root where a payload ran or a script URL is live."""
    bad = {}
    for page in sorted(Path(root).rglob("*.html")):
        if page.is_symlink():
            continue
        attrs, links = loaded_page(page, profile)
        if PWNED in attrs:
            bad[str(page)] = f"<body {PWNED}={attrs[PWNED]!r}>"
        live = [u for u in links if "".join(u.split()).lower().startswith(("javascript:", "data:", "vbscript:"))]
        if live:
            bad.setdefault(str(page), f"script URL {live[0][:80]!r}")
    return bad


__all__ = ["chromium", "executed_pages", "loaded_page", "screenshot", "dump_dom"]
