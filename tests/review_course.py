"""A small course in a gradebook for the review server's tests: three students with real
results of an MNIST-shaped assignment, one of whom wrote a free-text answer that the rubric
sends to a person, and one whose name and answer are hostile HTML."""

from __future__ import annotations

import copy
from functools import cache

from grader.checks import quiz
from grader.gradebook import Gradebook, RosterRow
from grader.results import PartResult, Result
from grader.web import auth

RUBRIC = quiz.Rubric(
    "resnet",
    [
        quiz.Concept(
            "skip", 2.0, ["skip connection", "residual"], label={"en": "skip connections", "ja": "スキップ接続"}
        ),
        quiz.Concept("vanish", 2.0, ["vanishing gradient"], label={"en": "vanishing gradients", "ja": "勾配消失"}),
    ],
)
NEGATED = "It uses skip connections. The vanishing gradient problem is not a problem."
GOOD = "ResNet uses skip connections, so that deep networks avoid the vanishing gradient."
HOSTILE = "<script>alert(1)</script> uses skip connections. The vanishing gradient is not <b>bold</b>."
STUDENTS = {"2024001": "山田 太郎", "2024002": "Sato Hanako", "2024003": "<img src=x onerror=alert(2)>"}
ANSWERS = {"2024001": NEGATED, "2024002": GOOD, "2024003": HOSTILE}
PASSWORD = "correct horse battery"


def result_of(student: str, answer: str) -> Result:
    return copy.deepcopy(_result_of(student, answer))


@cache
def _result_of(student: str, answer: str) -> Result:
    from test_gradebook import mnist_result

    r = mnist_result(student)
    checks = quiz.score_free_text(answer, RUBRIC, "en")
    r.parts[2] = PartResult.from_checks("resnet_quiz", "Why ResNet", checks, notebook="mnist_1layer.ipynb")
    return r


def fill(book: Gradebook, students=STUDENTS, answers=ANSWERS) -> None:
    book.import_roster([RosterRow(i, name, None) for i, name in students.items()])
    for student in students:
        sub = book.record_submission(student, "mnist_tf", {"mnist_1layer.ipynb": student.encode()})
        book.record_run(result_of(student, answers[student]), sub, options={"seed": 0})
    auth.set_password(book, "sato", PASSWORD)
