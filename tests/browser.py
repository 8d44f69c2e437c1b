"""Headless Chromium for the map tests: DOM after JavaScript ran, screenshots, PNG pixels.

Runs Debian's ``/usr/bin/chromium`` (or ``$COVGAP_CHROMIUM``) with no network use of its
own (``--disable-background-networking`` etc.; the pages under test are offline anyway)
and a virtual-time budget, so timers run to completion quickly and deterministically.
A missing Chromium is an error, never a skip: the Makefile installs it.

``instrumented_copy`` writes a copy of a page with test scripts around it: one first in
``<head>`` (before any page script: it hooks ``alert``/``confirm``/``prompt`` and records
JavaScript errors into ``<html data-test-*>``) and one at the very end (after the page's
own scripts), for driving the page like a user would (real mouse events).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import numpy as np

CHROMIUM = os.environ.get("COVGAP_CHROMIUM", "/usr/bin/chromium")

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)

#: Hooks installed before any page script: dialogs and errors are recorded, not shown.
GUARD_JS = """
(function () {
  var root = document.documentElement;
  root.dataset.testAlerts = '0';
  root.dataset.testErrors = '[]';
  function bump(kind, msg) {
    root.dataset.testAlerts = String(Number(root.dataset.testAlerts) + 1);
    root.dataset.testLastAlert = kind + ': ' + String(msg);
  }
  window.alert = function (m) { bump('alert', m); };
  window.confirm = function (m) { bump('confirm', m); return false; };
  window.prompt = function (m) { bump('prompt', m); return null; };
  window.addEventListener('error', function (e) {
    var list = JSON.parse(root.dataset.testErrors);
    list.push(String(e.message || e.type));
    root.dataset.testErrors = JSON.stringify(list);
  }, true);
})();
"""


class BrowserError(RuntimeError):
    """Chromium is missing or failed."""


def chromium() -> str:
    """Path of the Chromium binary; a clear error when it is absent."""
    path = shutil.which(CHROMIUM) if not os.path.isabs(CHROMIUM) else CHROMIUM
    if not path or not os.access(path, os.X_OK):
        raise BrowserError(
            f"Chromium not found at {CHROMIUM}: the map tests need a real browser "
            "(install it with `apt-get install chromium`, as the Makefile does, or set "
            "COVGAP_CHROMIUM); these tests are not skipped"
        )
    return path


def _run(args: list[str], *, timeout_s: float) -> subprocess.CompletedProcess[bytes]:
    with tempfile.TemporaryDirectory(prefix="covgap-chromium-") as profile:
        cmd = [chromium(), *_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"Chromium timed out after {timeout_s} s: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace")[-2000:]
        raise BrowserError(f"Chromium exited with {proc.returncode}: {tail}")
    return proc


def _url(page: Path, fragment: str = "") -> str:
    return Path(page).resolve().as_uri() + (f"#{fragment}" if fragment else "")


def dump_dom(
    page: Path,
    *,
    budget_ms: int = 8000,
    window: tuple[int, int] = (1200, 800),
    timeout_s: float = 120.0,
    fragment: str = "",
) -> str:
    """The page's DOM, serialised after its scripts ran for ``budget_ms`` of virtual time
    (``fragment``: the address's ``#…`` part, e.g. ``"week=0"``)."""
    proc = _run(
        [
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={window[0]},{window[1]}",
            "--dump-dom",
            _url(page, fragment),
        ],
        timeout_s=timeout_s,
    )
    return proc.stdout.decode("utf-8")


_CONSOLE = re.compile(r':CONSOLE(?:\(\d+\)|:\d+)?\] "(.*)", source: (.*)$')


def dump_dom_and_console(
    page: Path,
    *,
    budget_ms: int = 8000,
    window: tuple[int, int] = (1200, 800),
    timeout_s: float = 120.0,
    fragment: str = "",
) -> tuple[str, list[str]]:
    """Like :func:`dump_dom`, plus every console message the page produced (errors,
    warnings, logs, Content-Security-Policy violations, failed loads), read from Chromium's
    own log; works for pages whose policy forbids the test hooks of
    :func:`instrumented_copy`."""
    proc = _run(
        [
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={window[0]},{window[1]}",
            "--dump-dom",
            _url(page, fragment),
        ],
        timeout_s=timeout_s,
    )
    messages = []
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        match = _CONSOLE.search(line)
        if match:
            messages.append(f"{match.group(1)} ({match.group(2)})")
    return proc.stdout.decode("utf-8"), messages


def screenshot(
    page: Path,
    png_path: Path,
    *,
    budget_ms: int = 8000,
    window: tuple[int, int] = (1200, 800),
    timeout_s: float = 120.0,
    fragment: str = "",
) -> Path:
    """A PNG screenshot of the page after ``budget_ms`` of virtual time."""
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={png_path}",
            _url(page, fragment),
        ],
        timeout_s=timeout_s,
    )
    if not png_path.exists() or png_path.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no screenshot to {png_path}")
    return png_path


def print_to_pdf(
    page: Path, pdf_path: Path, *, budget_ms: int = 4000, timeout_s: float = 120.0
) -> Path:
    """Print the page to PDF as Chromium's print dialog would (print stylesheet applied,
    no header/footer)."""
    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            f"--virtual-time-budget={budget_ms}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_path}",
            _url(page),
        ],
        timeout_s=timeout_s,
    )
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no PDF to {pdf_path}")
    return pdf_path


def pdf_page_count(pdf_path: Path) -> int:
    """Pages of a PDF Chromium wrote (its ``/Type /Page`` objects)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", Path(pdf_path).read_bytes()))


def instrumented_copy(page: Path, out_dir: Path, *, tail_js: str = "") -> Path:
    """A copy of ``page`` in ``out_dir`` with :data:`GUARD_JS` first in ``<head>`` and
    ``tail_js`` after everything else. The original file is not modified."""
    text = Path(page).read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    if head is None:
        raise ValueError(f"{page}: no <head>")
    text = text[: head.end()] + f"<script>{GUARD_JS}</script>" + text[head.end() :]
    if tail_js:
        end = text.lower().rfind("</html>")
        if end < 0:
            raise ValueError(f"{page}: no </html>")
        text = text[:end] + f"<script>{tail_js}</script>\n" + text[end:]
    out = Path(out_dir) / f"instrumented-{Path(page).name}"
    out.write_text(text, encoding="utf-8")
    return out


# --------------------------------------------------------------------------- DOM reading


class _Collector(HTMLParser):
    """Collects the elements with a given class: their attributes, inner text and inner HTML."""

    _VOID: ClassVar[frozenset[str]] = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "source",
            "track",
            "wbr",
        ]
    )

    def __init__(self, css_class: str) -> None:
        super().__init__(convert_charrefs=True)
        self.css_class = css_class
        self.found: list[dict[str, object]] = []
        self._open: list[tuple[dict[str, object], int]] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        for item, _ in self._open:
            item["html"] = str(item["html"]) + raw  # type: ignore[operator]
        if tag in self._VOID:
            return
        self._depth += 1
        classes = (dict(attrs).get("class") or "").split()
        if self.css_class in classes:
            new: dict[str, object] = {"tag": tag, "attrs": dict(attrs), "text": "", "html": ""}
            self.found.append(new)
            self._open.append((new, self._depth))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._VOID:
            return
        while self._open and self._open[-1][1] == self._depth:
            self._open.pop()
        for item, _ in self._open:
            item["html"] = str(item["html"]) + f"</{tag}>"
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        for item, _ in self._open:
            item["text"] = str(item["text"]) + data
            item["html"] = str(item["html"]) + html.escape(data, quote=False)


def elements_by_class(dom: str, css_class: str) -> list[dict[str, object]]:
    """Elements of ``dom`` with ``css_class``: ``{"tag", "attrs", "text", "html"}`` each
    (``text`` is the decoded text content, ``html`` the inner HTML with text re-escaped)."""
    parser = _Collector(css_class)
    parser.feed(dom)
    parser.close()
    return parser.found


def element_attrs(dom: str, tag: str) -> dict[str, str]:
    """Attributes (decoded) of the first ``<tag …>`` in ``dom``."""
    match = re.search(rf"<{tag}\b([^>]*)>", dom, re.IGNORECASE)
    if match is None:
        return {}
    return {k: html.unescape(v) for k, v in re.findall(r'([\w:-]+)="([^"]*)"', match.group(1))}


# --------------------------------------------------------------------------- PNG reading


def read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) to an
    ``(height, width, channels)`` uint8 array (stdlib zlib + numpy, no imaging library)."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat = 8, []
    width = height = channels = 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width = int.from_bytes(body[0:4], "big")
            height = int.from_bytes(body[4:8], "big")
            depth, colour, interlace = body[8], body[9], body[12]
            if depth != 8 or colour not in (2, 6) or interlace != 0:
                raise ValueError(f"{path}: unsupported PNG (depth {depth}, colour type {colour})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    stride = width * channels
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        ftype, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 1:  # Sub: running sum per channel
            cur = line.reshape(width, channels).cumsum(axis=0).reshape(-1) % 256
        elif ftype == 2:  # Up
            cur = (line + prev) % 256
        elif ftype in (3, 4):  # Average, Paeth: sequential along the row
            cur = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                a = cur[x - channels] if x >= channels else 0
                b = prev[x]
                if ftype == 3:
                    cur[x] = (line[x] + (a + b) // 2) % 256
                else:
                    c = prev[x - channels] if x >= channels else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                    cur[x] = (line[x] + pred) % 256
        else:
            raise ValueError(f"{path}: bad PNG filter type {ftype}")
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels)


def colour_pixels(image: np.ndarray, hex_colour: str, *, tolerance: int = 12) -> int:
    """Pixels within ``tolerance`` (per channel) of ``#RRGGBB``."""
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    diff = np.abs(image[..., :3].astype(np.int16) - target)
    return int((diff <= tolerance).all(axis=-1).sum())
