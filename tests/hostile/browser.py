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


class Browser:
    """A headless Chromium driven over the DevTools protocol (websockets, no other dependency): opens
    pages, clicks at an element's position with real mouse events, evaluates expressions.

        with Browser(profile) as b:
            b.open(page_url); b.click("#option2"); b.eval("document.title")
    """

    def __init__(self, profile: Path, size: tuple[int, int] = (1300, 1800)):
        self.profile, self.size = Path(profile), size
        self.proc = None
        self.ws = None
        self.session = None
        self._id = 0

    def __enter__(self):
        import time
        from websockets.sync.client import connect

        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen([chromium(), *_flags(self.profile)[:-1], "--remote-debugging-port=0",
                                      f"--window-size={self.size[0]},{self.size[1]}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        self.ws = connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30)
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        return self

    def __exit__(self, *exc):
        try:
            if self.ws is not None:
                self.ws.close()
        finally:
            if self.proc is not None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()

    def _send(self, method: str, params: dict | None = None, session: str | None = None, wait_event: str | None = None):
        import json

        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        result, seen_event = None, wait_event is None
        while result is None or not seen_event:
            m = json.loads(self.ws.recv(timeout=60))
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                result = m.get("result", {})
            elif wait_event and m.get("method") == wait_event:
                seen_event = True
        return result

    def send(self, method: str, params: dict | None = None, wait_event: str | None = None):
        return self._send(method, params, self.session, wait_event)

    def open(self, url: str) -> None:
        """Navigate and wait for the load event (scripts with `defer` have run by then)."""
        self.send("Page.navigate", {"url": url}, wait_event="Page.loadEventFired")

    def eval(self, expression: str):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def click(self, selector: str, navigates: bool = False) -> None:
        """A real mouse click (pressed + released) at the centre of the first element matching selector (of
        its first line box: a wrapped link's bounding box may be centred between its lines); `navigates`:
        wait for the page it opens to load."""
        import json

        box = self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
                        " e.scrollIntoView({block: 'center'}); const r = e.getClientRects()[0] || e.getBoundingClientRect();"
                        " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
        if box is None:
            raise AssertionError(f"nothing to click: {selector}")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left",
                                                   "clickCount": 1},
                      wait_event="Page.loadEventFired" if navigates and kind == "mouseReleased" else None)

    def select(self, selector: str, value: str) -> None:
        """Choose an option of a <select> as a user would (value set, `change` fired)."""
        import json

        ok = self.eval(f"(() => {{ const s = document.querySelector({json.dumps(selector)}); if (!s) return false;"
                       f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change', {{bubbles: true}}));"
                       " return s.value === " + json.dumps(value) + "; })()")
        if not ok:
            raise AssertionError(f"no option {value!r} in {selector}")

    def screenshot(self, png: Path) -> None:
        import base64

        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        Path(png).write_bytes(base64.b64decode(data))


__all__ = ["Browser", "chromium", "executed_pages", "loaded_page", "screenshot", "dump_dom"]
