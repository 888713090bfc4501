"""Validity of free-text scoring on every free-text question of the course: answers written as
different students would (tests/validity/answers.py), each with the verdict it deserves.

No wrong, keyword-only, copied, swapped or negated answer gets full marks; at most 1 in 20
correct answers is below full marks without being sent to a person (needs-review)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest
from validity.answers import ANSWERS, CORRECT_KINDS, WRONG_KINDS

ROOT = Path(__file__).resolve().parent.parent


def _benchmark():
    spec = importlib.util.spec_from_file_location("validity_benchmark", ROOT / "benchmarks" / "validity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark()
RUBRICS = BENCH.course_rubrics()


@pytest.fixture(scope="module")
def graded():
    return BENCH.grade_all(RUBRICS)


def test_every_free_text_question_has_ten_answers_per_language_of_every_kind():
    counts = Counter((q, lang) for q, lang, *_ in ANSWERS)
    for qid in RUBRICS:
        for lang in ("ja", "en"):
            assert counts[(qid, lang)] >= 10, (qid, lang)
            kinds = {k for q, language, k, *_ in ANSWERS if q == qid and language == lang}
            assert kinds >= CORRECT_KINDS | WRONG_KINDS | {"partial"}, (qid, lang, kinds)
    assert {q for q, *_ in ANSWERS} == set(RUBRICS)


def test_no_wrong_or_keyword_only_answer_gets_full_marks(graded):
    bad = [(q, lang, kind, text) for q, lang, kind, _, got, text, _ in graded if kind in WRONG_KINDS and got == "full"]
    assert bad == []


def test_correct_answers_are_full_or_sent_to_review(graded):
    correct = [row for row in graded if row[2] in CORRECT_KINDS]
    lost = [(q, lang, got, text) for q, lang, _, _, got, text, _ in correct if got in ("partial", "zero")]
    assert len(lost) * 20 <= len(correct), lost
    assert sum(row[4] == "full" for row in correct) >= 0.9 * len(correct)


def test_keyword_lists_and_copied_questions_go_to_review_with_the_reason(graded):
    for q, lang, kind, _, got, text, results in graded:
        if kind in ("keywords", "copied"):
            assert got == "needs-review", (q, lang, text)
            key = "quiz.keywords_only" if kind == "keywords" else "quiz.copied_question"
            assert {r.message_key for r in results if r.max_score} == {key}, (q, lang, text)


def test_confusion_matrix_prints_every_verdict(graded):
    printed = BENCH.matrix(graded)
    for verdict in BENCH.VERDICTS:
        assert verdict in printed
