"""The page in a real headless Chromium: sections in the DOM, a non-blank screenshot, no request leaving the page."""

import json
import re
import shutil
import struct
import subprocess
import zlib

import pytest

from reports.html import SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it when it can)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
         # Nothing resolves, so neither the page nor the browser's own housekeeping reaches past this machine.
         "--host-resolver-rules=MAP * ~NOTFOUND"]


def chromium(page, *args, netlog=None):
    cmd = [CHROMIUM, *FLAGS, *args] + ([f"--log-net-log={netlog}", "--net-log-capture-mode=Everything"] if netlog else [])
    return subprocess.run(cmd + [page.as_uri()], capture_output=True, text=True, timeout=120)


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def outside_requests(netlog):
    """URLs the page asked for beyond its own file: requests started with the page as initiator.

    The browser's own housekeeping requests carry the initiator 'not an origin' and are not the page's.
    """
    log = json.loads(netlog.read_text(errors="replace"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = {e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {}) and e["params"].get("initiator") != "not an origin"}
    return sorted(u for u in urls if not u.startswith(("file:", "data:")))


def test_page_renders_with_its_sections_and_requests_nothing(fast_report, tmp_path):
    _, out = fast_report
    page = out / "report.html"
    dom = chromium(page, "--dump-dom", netlog=tmp_path / "net.json")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid, title in SECTIONS:
        assert re.search(rf'<section id="{sid}"><h2>{re.escape(title.replace("?", "?"))}</h2>', dom.stdout.replace("&amp;", "&")), sid
    assert dom.stdout.count("<svg") >= 6
    assert outside_requests(tmp_path / "net.json") == []

    shot = tmp_path / "report.png"
    run = chromium(page, "--window-size=1200,2400", f"--screenshot={shot}")
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    shutil.copy(shot, out / "screenshot.png")
    width, height, bpp, rows = png_pixels(shot)
    assert (width, height) == (1200, 2400)
    # A rendered report is mostly white with text, tables and coloured plots: many colours, a fair share of ink.
    sample = [row[i:i + 3] for row in rows[::8] for i in range(0, len(row), 8 * bpp)]
    ink = sum(px != b"\xff\xff\xff" for px in sample) / len(sample)
    assert 0.03 < ink < 0.9 and len(set(sample)) > 50


def test_the_request_check_catches_an_outside_request(tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/pixel.png"><p>leak</p></body></html>')
    run = chromium(page, "--dump-dom", netlog=tmp_path / "net.json")
    assert run.returncode == 0
    assert outside_requests(tmp_path / "net.json") == ["http://127.0.0.1:9/pixel.png"]
