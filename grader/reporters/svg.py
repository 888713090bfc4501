"""Inline SVG charts (no scripts, no fonts, nothing fetched): training curves and a histogram."""

from __future__ import annotations

from html import escape


def curve(values: list[float], width: int = 320, height: int = 120, label: str = "") -> str:
    """A line chart of one curve (loss or accuracy per step/epoch); '' with fewer than 2 points."""
    values = [float(v) for v in values if v == v]  # drop NaN: a gap says more than a crash
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    left, right, top, bottom = 40, 6, 8, 16
    step = (width - left - right) / (len(values) - 1)
    points = " ".join(
        f"{left + i * step:.1f},{top + (hi - v) / span * (height - top - bottom):.1f}" for i, v in enumerate(values)
    )
    return (
        f'<svg class="curve" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}">'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#9ca3af"/>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#9ca3af"/>'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{points}"/>'
        f'<text x="{left - 3}" y="{top + 8}" font-size="10" text-anchor="end">{hi:.4g}</text>'
        f'<text x="{left - 3}" y="{height - bottom}" font-size="10" text-anchor="end">{lo:.4g}</text>'
        f'<text x="{left}" y="{height - 3}" font-size="10">1</text>'
        f'<text x="{width - right}" y="{height - 3}" font-size="10" text-anchor="end">{len(values)}</text>'
        "</svg>"
    )


def histogram(counts: list[int], labels: list[str], width: int = 480, height: int = 180, unit: str = "") -> str:
    """Vertical bars, one per bin, with the count above each bar and the bin's label below."""
    if not counts:
        return ""
    top, bottom, gap = 16, 20, 4
    peak = max(counts) or 1
    bar = (width - gap) / len(counts) - gap
    parts = [
        f'<svg class="histogram" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(unit)}">'
    ]
    for i, (n, label) in enumerate(zip(counts, labels)):
        h = (height - top - bottom) * n / peak
        x = gap + i * (bar + gap)
        y = height - bottom - h
        parts.append(
            f"<g><title>{escape(label)}: {n}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#2563eb"/>'
            f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle">{n if n else ""}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{height - 6}" font-size="9" text-anchor="middle">{escape(label)}</text></g>'
        )
    parts.append(f'<line x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#9ca3af"/></svg>')
    return "".join(parts)
