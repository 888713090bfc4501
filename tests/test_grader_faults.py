"""A fault in dlgrade (a check that raises) is not the student's fault: it has its own status,
the report says so in both languages, and the dashboard and JUnit count it apart from the
students' failures."""

import xml.etree.ElementTree as ET

from fakes import FakeRunner, Scenario
from test_grading_unit import GOOD, submit
from toy import make_toy

from grader.assignment.spec import load_assignment
from grader.pipeline.grading import GradeOptions, grade
from grader.reporters import dashboard, html, junit
from grader.results import Status

BUGGY = """
from grader.checks import Custom
PARTS.append(Part(id="toy_bug", title={"en": "Bug", "ja": "バグ"}, cells=["toy_vars"],
                  exports={"steps2": "steps"},
                  checks=[Custom("buggy check", 2, fn=lambda ctx: {}["no such key"], uses=("steps2",))]))
"""


def _graded(tmp_path, lang="en", wrong=False, name="toy.ipynb"):
    sol = make_toy(tmp_path)
    checks = sol / "toy.checks.py"
    checks.write_text(checks.read_text() + BUGGY)
    exports = {**GOOD, "toy_bug": {"steps2": [1, 10, 100]}}
    if wrong:
        exports = {**exports, "toy_shapes": {**GOOD["toy_shapes"], "W_shape": [2, 3]}}
    return grade(
        submit(tmp_path, name=name),
        load_assignment(sol),
        FakeRunner(Scenario(exports=exports)),
        tmp_path / "out",
        GradeOptions(lang=lang),
    )


def test_a_check_that_raises_is_the_graders_fault_in_both_languages(tmp_path):
    result = _graded(tmp_path)
    bug = next(c for p in result.parts for c in p.checks if c.name == "buggy check")
    assert bug.status is Status.GRADER_ERROR and bug.score == 0
    assert bug.message.startswith("our fault, not yours") and "KeyError" in bug.message
    assert next(p for p in result.parts if p.id == "toy_bug").status is Status.GRADER_ERROR
    assert [p["kind"] for p in result.problems] == ["grader"]
    ja = _graded(tmp_path / "ja", lang="ja")
    assert (
        "あなたの誤りではありません" in next(c for p in ja.parts for c in p.checks if c.name == "buggy check").message
    )


def test_the_dashboard_and_junit_count_grader_faults_apart(tmp_path):
    faulty, wrong = _graded(tmp_path / "a", name="a.ipynb"), _graded(tmp_path / "b", wrong=True, name="b.ipynb")
    failures = dashboard.frequent_failures([faulty, wrong])
    assert failures and all("buggy check" not in f.checks for f in failures)  # the student's own failure only
    assert dashboard.flags(faulty)["grader_faults"] == 1
    page = html.render_class([faulty, wrong], "en")
    assert 'id="grader-faults"' in page and "2 submissions have 2 checks" in page
    suite = ET.fromstring(junit.render_class([faulty], "en")).find("testsuite")
    case = next(c for c in suite.iter("testcase") if c.get("name") == "buggy check")
    assert case.find("error").get("type") == "grader"
