"""Inline SVG plots (no scripts, no external files): confusion matrix, reliability diagram, learning curve."""

from __future__ import annotations

from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
FONT = 'font-family="system-ui,sans-serif"'


def _blend(share: float) -> str:
    """White to deep blue as share goes 0 -> 1."""
    share = min(max(share, 0.0), 1.0)
    r, g, b = (int(255 + (t - 255) * share) for t in (31, 90, 180))
    return f"#{r:02x}{g:02x}{b:02x}"


def confusion_svg(matrix: list[list[int]], labels: list[str], title: str) -> str:
    """Counts with each cell shaded by its share of the gold row (rows gold, columns predicted)."""
    cell, left, top = 58, 110, 56
    n = len(labels)
    w, h = max(left + cell * n + 10, left + 8 * len(title)), top + cell * n + 34
    out = [f'<svg class="plot confusion" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">',
           f"<title>{escape(title)}</title>",
           f'<text x="{left}" y="16" {FONT} font-size="13" font-weight="600">{escape(title)}</text>',
           f'<text x="{left + cell * n / 2}" y="36" {FONT} font-size="11" text-anchor="middle">predicted</text>']
    for j, lab in enumerate(labels):
        out.append(f'<text x="{left + cell * j + cell / 2}" y="{top - 6}" {FONT} font-size="10" text-anchor="middle">{escape(lab[:12])}</text>')
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        y = top + cell * i
        out.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4}" {FONT} font-size="10" text-anchor="end">{escape(labels[i][:14])}</text>')
        for j, v in enumerate(row):
            share = v / total
            colour = "#fff" if share > 0.55 else "#111"
            out.append(f'<rect x="{left + cell * j}" y="{y}" width="{cell}" height="{cell}" fill="{_blend(share)}" stroke="#999"/>')
            out.append(f'<text x="{left + cell * j + cell / 2}" y="{y + cell / 2 + 4}" {FONT} font-size="12" text-anchor="middle" fill="{colour}">{v}</text>')
    out.append(f'<text x="12" y="{top + cell * n / 2}" {FONT} font-size="11" transform="rotate(-90 12 {top + cell * n / 2})" text-anchor="middle">gold</text>')
    out.append("</svg>")
    return "".join(out)


def _frame(w: int, h: int, pad: int, title: str, xlabel: str, ylabel: str, xticks: list[float]) -> list[str]:
    inner_w, inner_h = w - 2 * pad, h - 2 * pad
    out = [f'<svg class="plot" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img">',
           f"<title>{escape(title)}</title>",
           f'<text x="{pad}" y="16" {FONT} font-size="13" font-weight="600">{escape(title)}</text>',
           f'<rect x="{pad}" y="{pad}" width="{inner_w}" height="{inner_h}" fill="#fafafa" stroke="#888"/>']
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = pad + inner_h * (1 - t)
        out.append(f'<line x1="{pad}" x2="{pad + inner_w}" y1="{y}" y2="{y}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{pad - 4}" y="{y + 4}" {FONT} font-size="9" text-anchor="end">{t:.2f}</text>')
    for t in xticks:
        x = pad + inner_w * t
        out.append(f'<text x="{x}" y="{pad + inner_h + 13}" {FONT} font-size="9" text-anchor="middle">{t:.2f}</text>')
    out.append(f'<text x="{pad + inner_w / 2}" y="{h - 6}" {FONT} font-size="10" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text x="11" y="{pad + inner_h / 2}" {FONT} font-size="10" text-anchor="middle" transform="rotate(-90 11 {pad + inner_h / 2})">{escape(ylabel)}</text>')
    return out


def _legend(entries: list[tuple[str, str]], x: int, y: int) -> list[str]:
    out = []
    for k, (name, colour) in enumerate(entries):
        out.append(f'<rect x="{x}" y="{y + 14 * k - 8}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y + 14 * k + 1}" {FONT} font-size="10">{escape(name)}</text>')
    return out


def reliability_svg(curves: list[tuple[str, list[dict]]], title: str) -> str:
    """Accuracy against mean confidence per bin for each named curve; the diagonal is perfect calibration."""
    w = h = 300
    pad = 42
    inner = w - 2 * pad
    out = _frame(w, h, pad, title, "confidence", "accuracy", [0.0, 0.5, 1.0])
    out.append(f'<line x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}" stroke="#888" stroke-dasharray="4 3"/>')
    entries = []
    for k, (name, bins) in enumerate(curves):
        colour = PALETTE[k % len(PALETTE)]
        pts = [(pad + inner * b["confidence"], pad + inner * (1 - b["accuracy"]), b["n"]) for b in bins if b["n"]]
        if pts:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)}"/>')
            out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{min(2 + n ** 0.5 / 2, 8):.1f}" fill="{colour}" fill-opacity="0.6"><title>{n} passages</title></circle>'
                    for x, y, n in pts]
        entries.append((name, colour))
    out += _legend(entries, pad + 6, pad + 14)
    out.append("</svg>")
    return "".join(out)


def learning_curve_svg(series: list[tuple[str, list[tuple[float, float, float, float]]]], title: str) -> str:
    """Mean macro-F1 against the share of coverage training articles, with a min-max bar per point."""
    w, h, pad = 420, 300, 42
    iw, ih = w - 2 * pad, h - 2 * pad
    out = _frame(w, h, pad, title, "share of coverage training articles", "macro-F1",
                 [0.0, 0.25, 0.5, 0.75, 1.0])
    entries = []
    for k, (name, points) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        xy = [(pad + iw * f, pad + ih * (1 - m), pad + ih * (1 - lo), pad + ih * (1 - hi)) for f, m, lo, hi in points]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in xy)}"/>')
        for x, y, ylo, yhi in xy:
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{ylo:.1f}" y2="{yhi:.1f}" stroke="{colour}" stroke-width="1"/>')
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        entries.append((name, colour))
    out += _legend(entries, pad + 6, h - pad - 14 * len(entries))
    out.append("</svg>")
    return "".join(out)
