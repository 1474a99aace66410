"""Small bar charts as inline SVG, drawn on the server: nothing to download, readable at a glance.

Every bar carries its number as text (not only a length) and a <title> for a tooltip; colours
are the Okabe-Ito palette, which people with the common colour-vision deficiencies can tell apart.
"""

from __future__ import annotations

import math
from html import escape

# Okabe-Ito colours.
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, GREY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#888888"
LABEL_CHARS = 56  # longer row labels are cut short (the whole label is in the tooltip)
FONT = 'font-family="system-ui, sans-serif" font-size="13"'


def nice_step(largest: float, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) that covers ``largest`` in about ``ticks`` steps."""
    if largest <= ticks:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (#rrggbb)."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "#000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#fff"


def _legend(series: list[tuple[str, str]], x: float, y: float, right: float) -> tuple[list[str], float]:
    """Colour keys from ``x``, wrapping before ``right``; returns the parts and the y below them."""
    parts, start = [], x
    for name, colour in series:
        width = 30 + 7.5 * len(name)
        if x + width > right and x > start:
            x, y = start, y + 20
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 17:.1f}" y="{y:.1f}">{escape(name)}</text>')
        x += width
    return parts, y + 14


def _svg(width: int, height: int, label: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" {FONT}><title>{escape(label)}</title>' + "".join(parts) + "</svg>"
    )


def columns(label: str, days: list[str], series: list[tuple[str, str, list[int]]], width: int = 760, height: int = 260) -> str:
    """Grouped columns, one group a day: ``series`` is (name, colour, one value a day)."""
    left, right, top, bottom = 44, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max([v for _, _, values in series for v in values] + [1])
    step = nice_step(largest)
    ceiling = step * math.ceil(largest / step)
    parts, _ = _legend([(n, c) for n, c, _ in series], left, 16, width)
    for tick in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * tick / ceiling
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{tick}</text>')
    group = plot_w / max(len(days), 1)
    bar = max(min(group * 0.8 / max(len(series), 1), 28), 1)
    label_every = max(1, math.ceil(len(days) / 10))
    for i, day in enumerate(days):
        x0 = left + i * group + (group - bar * len(series)) / 2
        for j, (name, colour, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / ceiling
            x, y = x0 + j * bar, top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(day)}: {value} {escape(name)}</title></rect>"
            )
            if value and len(days) <= 16:
                parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="11">{value}</text>')
        if i % label_every == 0:
            x = left + (i + 0.5) * group
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#555">{escape(day[5:])}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#555"/>')
    return _svg(width, height, label, parts)


def bars(label: str, rows: list[tuple[str, list[int]]], series: list[tuple[str, str]], width: int = 760) -> str:
    """Horizontal bars, one a row, stacked by ``series`` (name, colour); each row's total at its end.

    Rows are drawn largest first; a series with nothing in any row is left out of the key.
    """
    used = [i for i in range(len(series)) if any(values[i] for _, values in rows)] or list(range(len(series)))
    series = [series[i] for i in used]
    rows = sorted(((name, [values[i] for i in used]) for name, values in rows), key=lambda r: -sum(r[1]))
    label_width = min(max([len(name) for name, _ in rows] + [10]), LABEL_CHARS) * 7 + 16
    row_h = 30
    parts, top = _legend(series, label_width, 16, width)
    height = int(top + row_h * max(len(rows), 1) + 10)
    plot_w = width - label_width - 50
    largest = max([sum(values) for _, values in rows] + [1])
    if not rows:
        parts.append(f'<text x="{label_width}" y="{top + 20}" fill="#555">nothing yet</text>')
    for i, (name, values) in enumerate(rows):
        y = top + i * row_h + 5
        shown = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "\u2026"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(shown)}<title>{escape(name)}</title></text>')
        x = float(label_width)
        for (part, colour), value in zip(series, values, strict=True):
            if not value:
                continue
            w = plot_w * value / largest
            tip = f"<title>{escape(name)}: {value} {escape(part)}</title>"
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="20" fill="{colour}">{tip}</rect>')
            if w >= 22:
                ink = _ink(colour)
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 15}" text-anchor="middle" fill="{ink}" font-size="12">{value}</text>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}" font-weight="bold">{sum(values)}</text>')
    return _svg(width, height, label, parts)
