"""Feedback as nbgrader gives it: each graded notebook as the grader ran it, one page beside
report.html (`<stem>.feedback.html`), each graded part's points and messages in a box after its
cells, in the report's language.

The page is made from the notebook kept after the run (grader.pipeline.feedback: the graded
code, and only the outputs of the sandbox's run, already reduced to text and checked PNG/JPEG
images). nbconvert's HTMLExporter renders its cells with the `basic` template (cells only: no
script, no MathJax, nothing from a CDN). Markdown reaches the page through nbconvert's
renderer, which passes raw HTML, so every cell's HTML is then sanitized against an allowlist
(bleach): no script, style, frame, form, SVG, MathML, meta or base element survives as markup,
no event handler or style attribute, no link but to a place in the page, no image but a PNG or
JPEG data: URI, and no class or id of the page's own (`dlg-`), so a student's text cannot pose as
the grader's box. The page carries the report's Content-Security-Policy as well.
"""

from __future__ import annotations

import re
import secrets
import threading
from pathlib import Path

import markupsafe

from grader.errors import NotANotebook
from grader.i18n import t
from grader.intake import artifacts as art
from grader.intake.submission import Refused, read_regular
from grader.reporters.text import visible
from grader.reporters.view import student_view
from grader.results import PartResult, Result

KEPT_SUFFIX = ".executed.ipynb"  # written by grader.pipeline.feedback
PAGE_SUFFIX = ".feedback.html"
MAX_KEPT_BYTES = 32 * 1024 * 1024
# The pages of one submission, together: the kept notebook is capped in characters, but its HTML
# may be several times larger (escapes, a highlighted token's span, a colour's span), so the
# cells a page shows stop at its share of this. Beside the figures, the folder stays within the
# 20 MiB of grader.intake.run_output.
MAX_PAGES_BYTES = 1024 * 1024
PAGE_OVERHEAD = 64 * 1024  # the page's head, style and the boxes above the cells
# A student's Markdown goes through nbconvert's renderer (mistune) only this far: its time grows
# faster than the text on some inputs (50,000 "[" took 30 s). Longer text shows as written.
MAX_MARKDOWN_CHARS = 5_000  # of one cell (an answer is a few hundred)
MAX_MARKDOWN_TOTAL = 20_000  # of one page; the released instructions do not count
OWN = "dlg"  # the prefix of the page's own classes and ids

TAGS = frozenset(
    "a abbr b blockquote br caption code dd del details div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i "
    "img kbd li mark ol p pre q s samp small span strike strong sub summary sup table tbody td tfoot th thead "
    "tr tt u ul var".split()
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
NBCONVERT_CLASSES = frozenset(
    "cell border-box-sizing code_cell text_cell rendered input output output_wrapper output_area output_subarea "
    "output_stream output_stdout output_stderr output_text output_error output_png output_jpeg output_execute_result "
    "prompt input_prompt output_prompt inner_cell input_area text_cell_render rendered_html anchor-link highlight "
    "unconfined".split()
)
CLASS = re.compile(r"(?:ansi-[a-z-]+|hl-[a-z0-9-]+|[a-z][a-z0-9]{0,2})\Z")  # colours, lexers, pygments tokens
DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg);base64,[A-Za-z0-9+/]+={0,2}\Z")
RUN_NOTES = {  # how a code cell's run ended, when that is not visible from its outputs
    "not-run": "feedback.run_not_run",
    "running": "feedback.run_stopped",
    "timeout": "feedback.run_timeout",
    "dead": "feedback.run_dead",
}
# nbconvert's basic template, with a marker before each cell, so that each cell's HTML is
# sanitized on its own and the page can put boxes between cells.
CELLS_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block any_cell -%}{{ resources.dlgrade_marker }}{{ super() }}{%- endblock any_cell -%}
"""


def page_name(notebook: str) -> str:
    return f"{notebook.removesuffix('.ipynb')}{PAGE_SUFFIX}"


def kept_name(notebook: str) -> str:
    return f"{notebook.removesuffix('.ipynb')}{KEPT_SUFFIX}"


def _allowed(tag: str, name: str, value: str) -> bool:
    if name == "class":  # nbconvert's, pygments' and colours' only: never the page's own
        return all(w in NBCONVERT_CLASSES or CLASS.match(w) and not w.startswith(OWN) for w in value.split())
    if name == "href":
        return tag == "a" and value.startswith("#") and not value[1:].startswith(OWN)
    if name == "src":
        return tag == "img" and bool(DATA_IMAGE.match(value))
    if name == "id":
        return tag in HEADINGS and not value.startswith(OWN)
    if name in ("colspan", "rowspan"):
        return tag in ("td", "th") and value.isdigit()
    if name in ("width", "height"):
        return tag == "img" and value.isdigit()
    return name in ("alt", "title")


_local = threading.local()  # an exporter and a cleaner per thread: neither is meant to be shared


def _tools():
    if not hasattr(_local, "exporter"):
        import bleach
        import jinja2
        from nbconvert import HTMLExporter
        from traitlets.config import Config

        _local.exporter = HTMLExporter(
            config=Config(),  # no configuration file is read: nothing can switch on execution
            template_name="basic",
            template_file="dlgrade-cells.j2",
            extra_loaders=[jinja2.DictLoader({"dlgrade-cells.j2": CELLS_TEMPLATE})],
            embed_images=False,  # never read an image path from disk into the page
            preprocessors=[],
            # nbconvert's own bleach pass over highlighted code: every cell is sanitized below
            # anyway, and on large code it doubled the time
            filters={"clean_html": lambda html: html},
        )
        _local.cleaner = bleach.Cleaner(
            tags=TAGS, attributes=_allowed, protocols={"data"}, strip=False, strip_comments=True
        )
    return _local.exporter, _local.cleaner


def sanitize(html: str) -> str:
    """`html` with only allowlisted elements and attributes; the rest shows as escaped text."""
    return _tools()[1].clean(html)


class _NoAttachments(dict):
    """Markdown attachments are not kept: a reference to one renders as an image without a
    source (nbconvert would raise for a missing one)."""

    def __contains__(self, name) -> bool:
        return True

    def __missing__(self, name):
        return {"text/plain": ""}


def cells_html(kept: dict) -> list[str]:
    """Each cell of the kept notebook as sanitized HTML (raw cells as ""; the page shows their text)."""
    import nbformat

    exporter, cleaner = _tools()
    nb = nbformat.from_dict(kept)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell["attachments"] = _NoAttachments()
        elif cell.cell_type == "raw":
            cell.source = ""
            cell.metadata = {}
    marker = f"dlgrade-cell-{secrets.token_hex(16)}"
    body, _ = exporter.from_notebook_node(nb, resources={"dlgrade_marker": marker})
    chunks = body.split(marker)[1:]
    if len(chunks) != len(nb.cells):
        raise ValueError(f"nbconvert gave {len(chunks)} cells for {len(nb.cells)}")
    return [cleaner.clean(chunk) for chunk in chunks]


def read_kept(path: Path) -> dict | None:
    """The kept notebook at `path`, or None when there is none."""
    try:
        data = art.parse_json(read_regular(path, MAX_KEPT_BYTES), path.name)
    except (Refused, OSError):
        return None
    except (NotANotebook, art.UnsafeArtifact) as exc:
        raise ValueError(f"{path.name}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError(f"{path.name} is not a kept notebook")
    return data


def _notes(entries, lang: str) -> list[str]:
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str) and entry["key"].startswith("feedback."):
            args = entry.get("args") if isinstance(entry.get("args"), dict) else {}
            out.append(t(entry["key"], lang, **args))
    return out


_TOKEN = re.compile(r"\w+|[^\w\s]")
_ESCAPED = re.compile(r"[<>&\"']")


def _html_size(text: str, per_token: int = 0) -> int:
    """About how large `text` becomes as HTML: escapes and colour spans, and with `per_token`
    a highlighted token's span (about 24 bytes)."""
    size = len(text) + 5 * len(_ESCAPED.findall(text)) + 40 * text.count("\x1b")
    return size + per_token * len(_TOKEN.findall(text)) if per_token else size


def estimate(cell: dict) -> int:
    """About how many bytes of HTML a kept cell becomes, read before nbconvert and the sanitizer
    see it: their time goes with the HTML's size, and a page stops at its limit anyway."""
    source = cell.get("source", "") if isinstance(cell.get("source"), str) else ""
    size = 500 + _html_size(source, 26 if cell.get("cell_type") == "code" else 0)
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        texts = [out.get("text", ""), data.get("text/plain", ""), *out.get("traceback", [])]
        size += 300 + sum(_html_size(x) for x in texts if isinstance(x, str))
        size += sum(len(v) for k, v in data.items() if k.startswith("image/") and isinstance(v, str))
    return size


def _shown_text(text, keep: str = "\n\t") -> str:
    """Invisible and control characters as escapes (a bidi override reorders code it is in)."""
    return visible(text.replace("\r\n", "\n"), keep=keep) if isinstance(text, str) else ""


def _for_page(cells: list[dict], alt: str) -> list[dict]:
    """The cells as the page shows them: texts with their invisible characters shown, figures
    described in the reader's language (`alt`), and a student's Markdown past the renderer's
    limits as raw text, with a note."""
    out, left = [], MAX_MARKDOWN_TOTAL
    for cell in cells:
        meta = cell.get("metadata", {})
        info = meta.get("dlgrade", {})
        cell = {**cell, "source": _shown_text(cell.get("source"))}
        if cell.get("cell_type") == "code":
            cell["outputs"] = [_shown_output(o, alt) for o in cell.get("outputs", [])]
        elif cell.get("cell_type") == "markdown" and not info.get("released"):
            left -= len(cell["source"])
            if len(cell["source"]) > MAX_MARKDOWN_CHARS or left < 0:
                notes = [*info.get("notes", []), {"key": "feedback.markdown_as_text", "args": {}}]
                cell.update(cell_type="raw", metadata={**meta, "dlgrade": {**info, "notes": notes}})
        out.append(cell)
    return out


def _shown_output(out: dict, alt: str) -> dict:
    keep = "\n\t\x1b"  # colours stay: nbconvert renders them
    out = dict(out)
    if "data" in out:  # else nbconvert writes an English "No description has been provided"
        out["metadata"] = {mime: {"alt": alt} for mime in ("image/png", "image/jpeg")}
    for key in ("text", "ename", "evalue"):
        if key in out:
            out[key] = _shown_text(out[key], keep)
    if "traceback" in out:
        out["traceback"] = [_shown_text(line, keep) for line in out["traceback"]]
    if "text/plain" in out.get("data", {}):
        out["data"] = {**out["data"], "text/plain": _shown_text(out["data"]["text/plain"], keep)}
    return out


def render(kept: dict, result: Result, lang: str, max_bytes: int = MAX_PAGES_BYTES, back: str = "report.html") -> str:
    """The feedback page of one kept notebook; cells that would take it over `max_bytes` are
    left out, named on the page, and their parts' boxes shown at its top. `back` is where its
    "back to the report" link goes: the report beside it, or the review server's page."""
    from pygments.formatters import HtmlFormatter

    from grader.reporters.html import environment

    shown = student_view(result, lang)
    meta = kept.get("metadata", {}).get("dlgrade", {})
    notebook = str(meta.get("notebook", ""))
    parts: dict[str, PartResult] = {p.id: p for p in shown.parts if p.notebook == notebook}
    placed: set[str] = set()
    cells = []
    ran = bool(meta.get("ran"))
    kept = {**kept, "cells": _for_page(kept["cells"], t("report.plots", lang))}
    room = max_bytes - PAGE_OVERHEAD
    total = len(kept["cells"])
    fits = 0  # the cells that fit by estimate; only they are rendered
    for cell in kept["cells"]:
        room -= estimate(cell)
        if room < 0:
            break
        fits += 1
    room = max_bytes - PAGE_OVERHEAD
    for cell, html in zip(kept["cells"], cells_html({**kept, "cells": kept["cells"][:fits]})):
        info = cell.get("metadata", {}).get("dlgrade", {})
        text = cell.get("source", "") if cell.get("cell_type") == "raw" else ""
        room -= len(html) + 2 * len(text)
        if room < 0:  # the estimate was short: the measure decides
            break
        notes = _notes(info.get("notes"), lang)
        if ran and cell.get("cell_type") == "code" and info.get("run") in RUN_NOTES:
            notes.insert(0, t(RUN_NOTES[info["run"]], lang))
        boxes = [parts[p] for p in info.get("boxes", []) if p in parts and p not in placed]
        placed |= {p.id for p in boxes}
        cells.append(
            {
                "kind": cell.get("cell_type"),
                "html": markupsafe.Markup(html),
                "text": text,
                "parts": [parts[p] for p in info.get("parts", []) if p in parts],
                "notes": notes,
                "boxes": boxes,
            }
        )
    here = [p for p in parts.values() if p.id not in placed]
    return (
        environment()
        .get_template("feedback.html.j2")
        .render(
            r=shown,
            lang=lang,
            t=lambda key, **kw: t(key, lang, **kw),
            notebook=notebook,
            back=back,
            ran=ran,
            page_notes=_notes(meta.get("notes"), lang)
            + ([t("feedback.page_cut", lang, count=total - len(cells))] if len(cells) < total else []),
            cells=cells,
            unplaced=here,
            score=sum(p.score for p in parts.values()),
            max_score=sum(p.max_score for p in parts.values()),
            code_css=markupsafe.Markup(HtmlFormatter(style="default").get_style_defs(".highlight")),
        )
    )


def write_pages(result: Result, folder: Path, lang: str) -> dict[str, str]:
    """One page per notebook of `result` whose kept copy is in `folder`: notebook -> page file
    name. A page that cannot be made is a problem of the result; the report is still written."""
    pages: dict[str, str] = {}
    kept_names = [str(e.get("name", "")) for e in result.notebooks]
    share = MAX_PAGES_BYTES // max(1, sum((folder / kept_name(n)).is_file() for n in kept_names if n))
    for entry in result.notebooks:
        name = str(entry.get("name", ""))
        if not name or Path(name).name != name:
            continue
        path = folder / page_name(name)
        try:
            kept = read_kept(folder / kept_name(name))
            if kept is None:
                path.unlink(missing_ok=True)  # an earlier grading's page: this one has none
                continue
            path.write_text(render(kept, result, lang, share), encoding="utf-8", errors="backslashreplace")
            pages[name] = path.name
        except Exception as exc:  # a dlgrade bug: the report still goes out, and says so
            result.problems.append(
                {"kind": "report", "message": f"feedback page of {name}: {type(exc).__name__}: {exc}"}
            )
    return pages
