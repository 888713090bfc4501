"""HTML reports from `grader/reporters/templates/` (package data, so an installed wheel renders them): one self-contained page per submission and the class dashboard.
The submission's page links the feedback pages written beside it (grader.reporters.notebook_html).

Pages carry their CSS, plots (as data: URIs) and charts (inline SVG); nothing is fetched, and the
Content-Security-Policy of each page forbids fetching anything. One set of templates serves both
languages: every word comes from the message catalogue.
"""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path

import jinja2
import markupsafe

from grader import __version__
from grader.i18n import t
from grader.reporters import dashboard, notebook_html, svg
from grader.reporters.text import visible
from grader.reporters.view import grade_letter, localized, student_view
from grader.results import SCHEMA, Result, Status

TEMPLATES = Path(os.environ.get("DLGRADE_TEMPLATES", Path(__file__).resolve().parent / "templates"))


def _num(x) -> str:
    return "" if x is None else (f"{x:g}" if isinstance(x, (int, float)) else str(x))


def _mib(b) -> str:
    return "" if not b else f"{b / 2**20:.0f} MiB"


def _shown(value):
    """Every text a template prints, with control, bidi and other invisible characters shown as
    escapes (a name that reverses itself or clears the terminal of whoever `cat`s the page);
    markup the reporters built themselves (SVG) passes as it is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value, keep="\n\t")
    return value


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_shown,
    )
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    # a link to a submission's folder: percent-encoded UTF-8, which a lone surrogate would break
    env.filters["urlencode"] = lambda x: jinja2.filters.do_urlencode(_shown(x))
    env.filters["num"] = _num
    env.filters["mib"] = _mib
    env.globals.update(
        svg_curve=svg.curve,
        grade_letter=grade_letter,
        Status=Status,
        version=__version__,
        schema=SCHEMA,
    )
    return env


@functools.cache
def _reports() -> jinja2.Environment:
    """One environment for the reports, so each template is compiled once per process, not once
    per page (a class of 100 spent most of its report time compiling); environment() stays
    a fresh one for callers that add to it."""
    return environment()


def _plot_uris(result: Result, folder: Path) -> list[dict]:
    """The student's figures inlined, so the page works when copied or mailed on its own."""
    out = []
    for plot in result.plots:
        path = folder / "plots" / Path(plot["path"]).name
        try:
            data = base64.b64encode(path.read_bytes()).decode()
        except OSError:
            continue
        out.append({**plot, "uri": f"data:image/png;base64,{data}"})
    return out


def _translator(lang: str):
    return lambda key, **kw: t(key, lang, **kw)


def render_submission(
    result: Result, folder: Path, lang: str, feedback: dict[str, str] | None = None, review: dict | None = None
) -> str:
    """The student's report; `feedback`: notebook -> its feedback page beside the report, linked;
    `review`: a person's decisions and the final grade (grader.reporters.published), shown
    beside the grader's verdicts, which stay as graded."""
    shown = student_view(result, lang)
    return (
        _reports()
        .get_template("report.html.j2")
        .render(
            r=shown,
            lang=lang,
            t=_translator(lang),
            grade=grade_letter(shown.fraction),
            plots=_plot_uris(result, folder),
            legacy=[(p, c) for p in shown.parts for c in p.checks if c.kind == "legacy-api"],
            feedback=feedback or {},
            review=review,
            decisions=(review or {}).get("decisions", {}),
        )
    )


def write_submission(result: Result, folder: Path, lang: str = "en", review: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    feedback = notebook_html.write_pages(result, folder, lang)  # before the report: it links them
    # a lone surrogate in a student's answer shows as \udc80 instead of costing the page
    path.write_text(
        render_submission(result, folder, lang, feedback, review), encoding="utf-8", errors="backslashreplace"
    )
    return path


def render_class(results: list[Result], lang: str, pass_mark: float | None = None) -> str:
    shown = [localized(r, lang) for r in results]
    counts, labels = dashboard.histogram([r.fraction for r in shown])
    return (
        _reports()
        .get_template("index.html.j2")
        .render(
            results=shown,
            lang=lang,
            t=_translator(lang),
            pass_mark=pass_mark,
            stats=dashboard.summary(shown),
            histogram=svg.histogram(counts, labels, unit=t("dash.students", lang)),
            rates=dashboard.pass_rates(shown),
            failures=dashboard.frequent_failures(shown),
            review=dashboard.needs_review(shown),
            slowest=dashboard.slowest(shown),
            heaviest=dashboard.heaviest(shown),
            flags={r.submission: dashboard.flags(r) for r in shown},
        )
    )


def write_class(results: list[Result], outdir: Path, lang: str = "en", pass_mark: float | None = None) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "index.html"
    path.write_text(render_class(results, lang, pass_mark), encoding="utf-8", errors="backslashreplace")
    return path
