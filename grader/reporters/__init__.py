"""Reporters: interchangeable consumers of Results (HTML, JSON, ...).

Each reporter module offers `write_submission(result, folder, lang)` and/or
`write_class(results, outdir, lang)`; `REPORTERS` names them for the CLI.
"""
from . import html, json_report

REPORTERS = {"json": json_report, "html": html}

__all__ = ["REPORTERS", "html", "json_report"]
