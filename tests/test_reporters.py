"""Reporters: every format from the same Results, hidden checks never leaking, both languages."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from classroom import SECRET, graded_class, sample_results, write_plots

from grader import reporters
from grader.reporters import csv_report, dashboard, gradescope, html, json_report, junit, markdown
from grader.reporters.names import unique
from grader.reporters.progress import Progress
from grader.reporters.view import grade_letter, message, student_view
from grader.results import CheckResult, PartResult, Result, Status


@pytest.fixture
def results():
    return sample_results()


def by_name(results, name) -> Result:
    return next(r for r in results if r.submission == name)


# --- what a student may see --------------------------------------------------------------------


def test_student_view_strips_hidden_checks_details(results):
    bob = student_view(by_name(results, "bob"), "en")
    hidden = next(c for p in bob.parts for c in p.checks if c.hidden)
    assert (hidden.message, hidden.expected, hidden.got, hidden.hint, hidden.message_args) == ("", None, None, "", {})
    assert hidden.status == Status.FAIL and hidden.max_score == 1.0
    raw = next(c for p in by_name(results, "bob").parts for c in p.checks if c.hidden)
    assert SECRET in raw.message  # the instructor's record keeps it


def test_messages_re_rendered_in_the_readers_language(results):
    b = next(c for c in by_name(results, "bob").parts[0].checks if c.name == "b")
    assert message(b, "ja") == "b の形状が [1] になっています。期待される形状は [10] です"
    assert message(b, "en") == b.message
    odd = CheckResult(
        "x", Status.FAIL, 0, 1, message="as graded", message_key="shape.wrong", message_args={"name": "x"}
    )
    assert message(odd, "ja") == "as graded"  # arguments missing: keep the graded text, never "{got}"
    unknown = CheckResult("x", Status.FAIL, 0, 1, message="as graded", message_key="not.in.catalogue")
    assert message(unknown, "ja") == "as graded"


@pytest.mark.parametrize("fraction, letter", [(1.0, "A"), (0.9, "A"), (0.85, "B"), (0.7, "C"), (0.6, "D"), (0.59, "F")])
def test_grade_letters(fraction, letter):
    assert grade_letter(fraction) == letter


# --- student report ----------------------------------------------------------------------------


def test_student_report_shows_what_matters(results, tmp_path):
    write_plots(tmp_path, results)
    page = html.write_submission(by_name(results, "alice"), tmp_path / "alice", "en").read_text()
    assert "5 / 5" in page and '<span class="grade grade-A"' in page
    assert 'id="legacy"' in page and "keras.Input(shape=...)" in page
    table_of_checks = page.split('id="legacy"')[0]
    assert "legacy-api/placeholder" not in table_of_checks  # old-API notes are apart from mistakes
    assert "data:image/png;base64," in page and '<svg class="curve"' in page
    assert "no-sandbox" not in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page


def test_student_report_hides_hidden_checks_and_escapes(results, tmp_path):
    bob = html.render_submission(by_name(results, "bob"), tmp_path, "en")
    assert SECRET not in bob
    assert "hidden check: only the result and the points are shown" in bob
    assert "b has shape [1], expected [10]" in bob and "one bias per class" in bob
    carol = html.render_submission(by_name(results, "carol"), tmp_path, "en")
    assert "<script>alert" not in carol and "&lt;script&gt;alert" in carol
    assert 'id="no-sandbox"' in carol  # graded without a sandbox: said plainly
    assert "The sandbox stopped your notebook here: memory limit of 3 GiB reached" in carol
    assert "KeyError" in carol  # grader problem shown, apart


def test_student_report_in_japanese_from_the_same_template(results, tmp_path):
    page = html.render_submission(by_name(results, "bob"), tmp_path, "ja")
    assert '<html lang="ja">' in page and "採点レポート" in page
    assert "b の形状が [1] になっています" in page  # re-rendered from message_key
    assert "要確認" in page


def test_broken_submissions_render(results, tmp_path):
    eve = html.render_submission(by_name(results, "eve"), tmp_path, "ja")
    assert "ノートブックとして読み込めません" in eve
    frank = html.render_submission(by_name(results, "frank"), tmp_path, "en")
    assert "other.ipynb is not a notebook of this exercise" in frank


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_numbers(results):
    counts, labels = dashboard.histogram([r.fraction for r in results])
    assert counts[9] == 1 and counts[2] == 1 and counts[0] == 3 and sum(counts) == 5
    rates = {(r.part, r.check): r for r in dashboard.pass_rates(results)}
    assert (rates[("Shapes", "b")].passed, rates[("Shapes", "b")].total) == (1, 4)
    assert all(not name.startswith("legacy-api") for _, name in rates)
    failures = dashboard.frequent_failures(results)
    raised = next(f for f in failures if "raised AttributeError" in f.message)
    assert raised.who == ["carol"] and set(raised.checks) == {"W", "b", "secret shape", "why softmax"}
    assert raised.count == 1  # one cell raising is one mistake, not four
    invalid = [f for f in failures if "not a Jupyter notebook" in f.message]
    assert len(invalid) == 1 and invalid[0].part == "sample.ipynb" and len(invalid[0].checks) == 4
    review = dashboard.needs_review(results)
    assert [(r["submission"], r["got"]) for r in review] == [("bob", "確率にするため")]
    assert [r.submission for r in dashboard.slowest(results)] == ["bob", "alice", "carol"]
    assert [r.submission for r in dashboard.heaviest(results)] == ["bob", "alice"]


def test_dashboard_page(results, tmp_path):
    page = html.write_class(results, tmp_path, "en", pass_mark=0.6).read_text()
    for r in results:
        assert f'href="{r.submission}/report.html"' in page
    assert '<svg class="histogram"' in page and 'id="class"' in page and "th.sortable" in page
    assert "1 to review" in page and "grader problem" in page
    assert "1 submission(s) were graded WITHOUT a sandbox" in page
    assert "確率にするため" in page  # the answer to review is shown to the instructor
    assert "<script>alert" not in page
    ja = html.render_class(results, "ja")
    assert "得点分布" in ja and "確認が必要な解答" in ja


# --- machine formats ---------------------------------------------------------------------------


def test_junit_parses_back(results, tmp_path):
    root = ET.parse(junit.write_class(results, tmp_path, "en")).getroot()
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    bob = suites["bob"]
    assert (bob.get("tests"), bob.get("failures"), bob.get("errors"), bob.get("skipped")) == ("4", "2", "0", "1")
    failure = bob.find("testcase[@name='b']/failure")
    assert "expected: [10]" in failure.text and "got: [1]" in failure.text and "one bias per class" in failure.text
    assert bob.find("testcase[@name='why softmax']/skipped") is not None
    carol = suites["carol"]
    assert carol.find("testcase[@classname='carol.dlgrade']/error").get("type") == "grader"
    assert carol.find("testcase[@name='W']/error") is not None
    assert "legacy-api" not in {c.get("name") for c in suites["alice"].iter("testcase")}
    assert "tf.placeholder" in suites["alice"].find("system-out").text
    assert SECRET not in ET.tostring(root, encoding="unicode")
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))


def test_gradescope_parses_back(results, tmp_path):
    doc = json.loads(gradescope.write_submission(by_name(results, "bob"), tmp_path, "en").read_text())
    assert doc["score"] == 1.0 and doc["execution_time"] == 30
    assert sum(t["score"] for t in doc["tests"]) == doc["score"]
    names = {t["name"]: t for t in doc["tests"]}
    assert names["Shapes: b"]["status"] == "failed" and "expected: [10]" in names["Shapes: b"]["output"]
    assert names["Shapes: W"]["status"] == "passed"
    assert names["Shapes: secret shape"]["output"] == "hidden check: only the result and the points are shown"
    assert all(t["visibility"] in ("visible", "hidden", "after_due_date", "after_published") for t in doc["tests"])
    assert SECRET not in json.dumps(doc)
    carol = gradescope.render(by_name(results, "carol"), "en")
    assert "WITHOUT a sandbox" in carol["output"] and "memory limit" in carol["output"]


DATA = Path(__file__).parent / "data"


def _two_notebooks() -> Result:
    """Two notebooks whose parts share a title and check names (as mnist_1layer and mnist_3layer
    do), a check name twice in one part, two grader problems of one kind, a time in microseconds."""

    def part(part_id, notebook):
        checks = [
            CheckResult("x", Status.PASS, 1.0, 1.0),
            CheckResult("W", Status.FAIL, 0.0, 1.0),
            CheckResult("W", Status.PASS, 0.5, 1.0),
        ]
        return PartResult.from_checks(part_id, "Placeholders and variables", checks, notebook=notebook)

    return Result(
        "alice",
        "mnist_tf",
        parts=[part("mnist1_shapes", "mnist_1layer.ipynb"), part("mnist3_shapes", "mnist_3layer.ipynb")],
        problems=[{"kind": "grader", "message": "a"}, {"kind": "grader", "message": "b"}],
        resources={"wall_s": 3.141592},
    )


def test_junit_validates_against_the_junit_10_schema(results, tmp_path):
    import xmlschema

    by_name(results, "bob").resources["wall_s"] = 12345678.9
    path = junit.write_class([*results, _two_notebooks()], tmp_path, "ja")
    xmlschema.XMLSchema10(DATA / "junit-10.xsd").validate(str(path))  # raises, naming the element
    for suite in ET.parse(path).getroot().findall("testsuite"):
        cases = [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")]
        assert len(set(cases)) == len(cases), suite.get("name")
        points = {p.get("name") for p in suite.find("properties")}
        assert all(f"points:{c}.{n}" in points for c, n in cases if not c.endswith(".dlgrade"))
    alice = ET.parse(path).getroot().find("testsuite[@name='alice'][@time='3.142']")
    assert [c.get("name") for c in alice.findall("testcase[@classname='alice.mnist1_shapes']")] == ["x", "W", "W (2)"]
    assert alice.find("properties/property[@name='points:alice.mnist1_shapes.W (2)']").get("value") == "0.5/1"
    assert [c.get("name") for c in alice.findall("testcase[@classname='alice.dlgrade']")] == ["grader", "grader (2)"]


def test_gradescope_test_names_are_unique_across_notebooks(results):
    validator = jsonschema.Draft202012Validator(json.loads((DATA / "gradescope-results.schema.json").read_text()))
    doc = gradescope.render(_two_notebooks(), "en")
    validator.validate(doc)
    names = [t["name"] for t in doc["tests"]]
    assert len(set(names)) == len(names)
    assert names[:3] == [
        "mnist_1layer: Placeholders and variables: x",
        "mnist_1layer: Placeholders and variables: W",
        "mnist_1layer: Placeholders and variables: W (2)",
    ]
    assert "mnist_3layer: Placeholders and variables: x" in names
    for result in results:  # one notebook: no notebook name in front
        validator.validate(shown := gradescope.render(result, "ja"))
        assert not any(t["name"].startswith("sample:") for t in shown["tests"])


def test_unique_names_number_repeats_within_their_group_only():
    assert unique([("", "a"), ("", "a"), ("", "a (2)"), ("", "a")]) == ["a", "a (3)", "a (2)", "a (4)"]
    assert unique([("g1", "a"), ("g2", "a")]) == ["a", "a"]


def test_csv_gradebook(results, tmp_path):
    path = csv_report.write_class(results, tmp_path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert list(rows[0]) == [
        "submission",
        "assignment",
        "shapes",
        "quiz",
        "total",
        "max_score",
        "percent",
        "grade",
        "needs_review",
        "problems",
        "isolated",
    ]
    bob = next(r for r in rows if r["submission"] == "bob")
    assert (bob["shapes"], bob["quiz"], bob["total"], bob["percent"], bob["grade"], bob["needs_review"]) == (
        "1",
        "0",
        "1",
        "20.0",
        "F",
        "1",
    )
    frank = next(r for r in rows if r["submission"] == "frank")
    assert frank["quiz"] == ""  # a part the result lacks stays empty
    assert next(r for r in rows if r["submission"] == "carol")["isolated"] == "false"


def test_markdown_summary(results, tmp_path):
    text = markdown.write_class(results, tmp_path, "en", pass_mark=0.6).read_text()
    assert "| alice | 5 / 5 | 100% | A | ✅ at or over the pass mark |" in text
    assert "| bob | 1 / 5 | 20% | F | ❌ under the pass mark |" in text
    assert "<script>" not in text and "&lt;script&gt;alert" in text and "\\|pipe" in text
    assert SECRET not in text
    assert "Graded WITHOUT a sandbox" in text


def test_json_round_trip_and_schema(results, tmp_path):
    for r in results:
        doc = json.loads(json_report.write_submission(r, tmp_path / r.submission).read_text())
        json_report.validate(doc)
        assert json_report.read(tmp_path / r.submission / "result.json").to_dict() == doc
    bad = results[0].to_dict()
    bad["parts"][0]["checks"][0]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        json_report.validate(bad)
    extra = {**results[0].to_dict(), "undocumented": 1}
    with pytest.raises(jsonschema.ValidationError):
        json_report.validate(extra)


def test_formats_registry(results, tmp_path):
    assert reporters.parse_formats("html, junit,html") == ["html", "junit"]
    assert reporters.parse_formats("all") == list(reporters.REPORTERS)
    with pytest.raises(ValueError, match="pdf"):
        reporters.parse_formats("html,pdf")
    written = reporters.write_submission(results[0], tmp_path, ["html", "json", "gradescope", "csv"], "en")
    assert sorted(p.name for p in written) == ["gradescope.json", "report.html", "result.json"]
    written = reporters.write_class(results, tmp_path, ["html", "json", "junit", "csv", "markdown"], "en")
    assert sorted(p.name for p in written) == ["grades.csv", "index.html", "junit.xml", "summary.md"]


# --- progress ----------------------------------------------------------------------------------


def test_progress_in_a_log_names_work_in_hand_and_time_left(results):
    out = io.StringIO()
    progress = Progress(["alice", "bob", "carol", "dave"], jobs=2, stream=out)
    with progress:
        progress(by_name(results, "bob"), 1, 4, 10.0)
    line = out.getvalue().strip()
    assert "1/4" in line and "grading: alice, carol" in line and "left" in line and "last: bob 1/5" in line
    quiet = io.StringIO()
    with Progress(["alice"], jobs=1, quiet=True, stream=quiet) as p:
        p(by_name(results, "alice"), 1, 1, 1.0)
    assert quiet.getvalue() == ""


# --- the real class ----------------------------------------------------------------------------


@pytest.mark.slow
def test_every_real_result_validates_against_the_schema():
    graded = graded_class()
    paths = sorted(graded.outdir.glob("*/result.json"))
    assert {p.parent.name for p in paths} == {"alice", "bob", "carol", "dave", "eve", "frank"}
    for path in paths:
        json_report.validate(json.loads(path.read_text()))


def test_a_cell_that_raised_is_one_failure_however_many_checks_it_fed():
    from grader.results import CheckResult, PartResult, Result, Status

    def raised(key: str) -> Result:
        checks = [
            CheckResult(
                name=n,
                status=Status.FAIL,
                score=0,
                max_score=1,
                message="your cell raised",
                message_key=key,
                message_args={"cell": "mlp_model"},
            )
            for n in ("layers", "loss", "acc")
        ]
        result = Result(submission=key, assignment="a")
        result.parts = [PartResult.from_checks("p", "Part", checks)]
        return result

    for key in ("cell_raised", "cell_raised.locked", "cell_raised.old_api"):
        failures = dashboard.frequent_failures([raised(key)])
        assert len(failures) == 1 and failures[0].checks == ["layers", "loss", "acc"], key
