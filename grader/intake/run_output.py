"""What stays of a run in a submission's output folder, and what the result says was left out.

After grading, `<out>/<submission>/` keeps only what the reports show: result.json, the reports
and the student's figures (`plots/`, also inlined in report.html). The work folders (`work/`,
`eval/`) are removed unless the instructor keeps them (`dlgrade grade --keep-work`), and the
figures share a byte budget that keeps the whole folder under `GradeOptions.max_output_bytes`.
Entries that the copy-back refused (links, FIFOs, hard links, files over its cap, ...) and
figures over the budget become a 0-point part of the result, in the student's language.
"""

from __future__ import annotations

from pathlib import Path

from grader.i18n import t
from grader.intake.copyback import CopyLimits, remove_tree
from grader.results import CheckResult, PartResult, Status

# Figures are written twice (PNG files, and base64 in report.html, 4/3 of their size): 3/8 of
# the budget for them leaves 1/8 for result.json and the reports' text.
PLOT_SHARE = 3 / 8


def plot_budget(max_output_bytes: int, plots_dir: Path) -> int:
    """Bytes of figures still allowed in the submission folder (other notebooks' count too)."""
    used = sum(p.stat().st_size for p in plots_dir.glob("*.png")) if plots_dir.is_dir() else 0
    return max(0, int(max_output_bytes * PLOT_SHARE) - used)


def discard_work(sub_dir: Path, stem: str) -> None:
    """Remove one notebook's work and evaluation folders, and their parents once empty."""
    for kind in ("work", "eval"):
        try:
            remove_tree(sub_dir / kind / stem)
            (sub_dir / kind).rmdir()
        except OSError:  # absent, or another notebook's folder is still there; a folder that
            pass  # cannot go now goes when the next grading of this notebook starts afresh


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def output_part(
    stem: str, notebook: str, copied: dict, limits: dict, plots_dropped: int, max_output_bytes: int, lang: str
) -> PartResult | None:
    """A 0-point part naming what of the run was not kept, or None when everything was."""
    checks = []

    def add(key: str, **args) -> None:
        checks.append(
            CheckResult(
                name=str(args.get("name", key)),
                status=Status.FAIL,
                score=0.0,
                max_score=0.0,
                message=t(key, lang, **args),
                message_key=key,
                message_args=args,
            )
        )

    caps = {
        "size": _mib(limits.get("copy_back_bytes", 0)),
        "files": limits.get("copy_back_files", 0),
        "time": limits.get("copy_back_s", 0),
        "depth": CopyLimits.max_depth,
    }
    for entry in copied.get("dropped", []):
        reason = str(entry.get("reason", "unreadable")).replace("-", "_")
        add(
            f"output.{reason}",
            name=str(entry.get("path", ""))[:200],
            size=_mib(entry.get("bytes", 0)),
            limit=caps.get(reason, ""),
        )
    more = copied.get("dropped_count", 0) - len(copied.get("dropped", []))
    if more > 0:
        add("output.more", count=more, size=_mib(copied.get("dropped_bytes", 0)))
    if plots_dropped:
        add("output.plots", count=plots_dropped, limit=_mib(int(max_output_bytes * PLOT_SHARE)))
    if not checks:
        return None
    titles = {lang_: t("output.title", lang_, name=notebook) for lang_ in ("en", "ja")}
    return PartResult.from_checks(
        f"{stem}-output", titles.get(lang, titles["en"]), checks, notebook=notebook, titles=titles
    )
