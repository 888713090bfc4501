"""A Markdown summary for a CI job page: `<outdir>/summary.md` (`dlgrade grade --ci` also
appends it to $GITHUB_STEP_SUMMARY). Rendered from `grader/reporters/templates/summary.md.j2`.

Every field a student controls (names, titles, messages that quote answers, hints) goes through
a filter of `text`: `cell` (Markdown shown as written: no link, image, HTML or table break),
`html` (inside the `<summary>` HTML block) or `code` (an inline code span).
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from grader.i18n import t
from grader.reporters import text
from grader.reporters.html import TEMPLATES
from grader.reporters.view import grade_letter, student_view
from grader.results import Result

cell = text.markdown  # one line, shown as written, safe in a table cell


def render_class(results: list[Result], lang: str = "en", pass_mark: float | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["html"] = text.markdown_html
    env.filters["code"] = text.markdown_code
    env.filters["num"] = lambda x: f"{x:g}"
    env.filters["pct"] = lambda x: f"{100 * x:.0f}%"
    return env.get_template("summary.md.j2").render(
        results=[student_view(r, lang) for r in results],
        t=lambda key, **kw: t(key, lang, **kw),
        pass_mark=pass_mark,
        grade_letter=grade_letter,
    )


def write_class(results: list[Result], outdir: Path, lang: str = "en", pass_mark: float | None = None) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "summary.md"
    path.write_text(render_class(results, lang, pass_mark), encoding="utf-8", errors="backslashreplace")
    return path
