"""Validity of free-text scoring: grade every answer of tests/validity/answers.py and print the
confusion matrix of the verdict each deserves (rows) against the one the scorer gave (columns).

    .venv/bin/python benchmarks/validity.py [--list]

--list also prints every answer whose verdict differs from the expected one.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from validity.answers import ANSWERS  # noqa: E402

from grader.checks.quiz import Rubric, load_rubrics  # noqa: E402
from grader.results import Status  # noqa: E402

VERDICTS = ("full", "partial", "zero", "needs-review")


def course_rubrics() -> dict[str, Rubric]:
    """Every free-text question of the course: rubrics.json and the perceptron's rubric."""
    items = {k: v for k, v in load_rubrics(ROOT / "solutions/concepts/rubrics.json").items() if isinstance(v, Rubric)}
    spec = importlib.util.spec_from_file_location("perceptron_checks", ROOT / "solutions/keras/perceptron.checks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    items[module.XOR_RUBRIC.question_id] = module.XOR_RUBRIC
    return items


def verdict(results) -> str:
    """One verdict for a question's results: any doubt is needs-review."""
    if any(r.status is Status.NEEDS_REVIEW for r in results):
        return "needs-review"
    got, full = sum(r.score for r in results), sum(r.max_score for r in results)
    if got >= full - 1e-9:
        return "full"
    return "zero" if got <= 1e-9 else "partial"


def grade_all(rubrics=None):
    from grader.checks.quiz import score_free_text

    rubrics = rubrics or course_rubrics()
    rows = []
    for qid, lang, kind, expected, text in ANSWERS:
        results = score_free_text(text, rubrics[qid], lang)
        rows.append((qid, lang, kind, expected, verdict(results), text, results))
    return rows


def matrix(rows) -> str:
    counts = Counter((r[3], r[4]) for r in rows)
    head = f"{'expected/got':>16}" + "".join(f"{v:>14}" for v in VERDICTS) + f"{'total':>8}"
    lines = [head]
    for e in VERDICTS:
        n = sum(counts[(e, g)] for g in VERDICTS)
        lines.append(f"{e:>16}" + "".join(f"{counts[(e, g)]:>14}" for g in VERDICTS) + f"{n:>8}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the answers graded otherwise than expected")
    args = parser.parse_args()
    rows = grade_all()
    print(f"{len(rows)} answers, {len({r[0] for r in rows})} questions")
    print(matrix(rows))
    from validity.answers import CORRECT_KINDS, WRONG_KINDS

    wrong_full = [r for r in rows if r[2] in WRONG_KINDS and r[4] == "full"]
    correct = [r for r in rows if r[2] in CORRECT_KINDS]
    correct_lost = [r for r in correct if r[4] in ("partial", "zero")]
    print(f"wrong, keyword-only, copied, swapped or negated answers given full marks: {len(wrong_full)}")
    print(f"correct answers below full marks and not sent to review: {len(correct_lost)} of {len(correct)}")
    print(f"correct answers sent to review: {sum(r[4] == 'needs-review' for r in correct)} of {len(correct)}")
    if args.list:
        for qid, lang, kind, expected, got, text, _ in rows:
            if expected != got:
                print(f"  {qid:26} {lang} {kind:10} expected {expected:12} got {got:12} {text[:70]}")


if __name__ == "__main__":
    main()
