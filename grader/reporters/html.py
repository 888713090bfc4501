"""HTML reports from `templates/`: one self-contained page per submission and the class index.

Pages carry their CSS, plots (as data: URIs) and curves (inline SVG); nothing is fetched.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

import jinja2

from ..i18n import t
from ..results import Result, Status

TEMPLATES = Path(os.environ.get("DLGRADE_TEMPLATES", Path(__file__).resolve().parents[2] / "templates"))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    env.filters["num"] = lambda x: "" if x is None else (f"{x:g}" if isinstance(x, (int, float)) else x)
    env.filters["mib"] = lambda b: "" if not b else f"{b / 2**20:.0f} MiB"
    env.globals["svg_curve"] = svg_curve
    return env


def svg_curve(values: list[float], width: int = 320, height: int = 120) -> str:
    """A small line chart as inline SVG (no scripts, no network)."""
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = (width - 10) / (len(values) - 1)
    points = " ".join(
        f"{5 + i * step:.1f},{height - 15 - (v - lo) / span * (height - 30):.1f}" for i, v in enumerate(values)
    )
    return (
        f'<svg class="curve" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="2" points="{points}"/>'
        f'<text x="5" y="12" font-size="10">{hi:.4g}</text>'
        f'<text x="5" y="{height - 2}" font-size="10">{lo:.4g}</text></svg>'
    )


def grade_letter(fraction: float) -> str:
    for cut, letter in ((0.9, "A"), (0.8, "B"), (0.7, "C"), (0.6, "D")):
        if fraction >= cut:
            return letter
    return "F"


def _plot_uris(result: Result, folder: Path) -> list[dict]:
    out = []
    for plot in result.plots:
        path = folder / "plots" / plot["path"]
        try:
            data = base64.b64encode(path.read_bytes()).decode()
        except OSError:
            continue
        out.append({**plot, "uri": f"data:image/png;base64,{data}"})
    return out


def render_submission(result: Result, folder: Path, lang: str) -> str:
    template = environment().get_template("report.html.j2")
    return template.render(
        r=result,
        lang=lang,
        t=lambda key, **kw: t(key, lang, **kw),
        grade=grade_letter(result.fraction),
        plots=_plot_uris(result, folder),
        Status=Status,
    )


def write_submission(result: Result, folder: Path, lang: str = "en") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(render_submission(result, folder, lang))
    return path


def write_class(results: list[Result], outdir: Path, lang: str = "en") -> Path:
    template = environment().get_template("index.html.j2")
    path = outdir / "index.html"
    outdir.mkdir(parents=True, exist_ok=True)
    path.write_text(
        template.render(
            results=results,
            lang=lang,
            t=lambda key, **kw: t(key, lang, **kw),
            grade_letter=grade_letter,
        )
    )
    return path
