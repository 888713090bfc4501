"""The gradebook: roster import, submissions, every run kept with its verdicts, overrides beside
them, migrations from an older database, two writers at once; each on SQLite and on a real
PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import postgres
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from postgres import postgres_server  # noqa: F401  (the session's server)

from grader.cli.main import main
from grader.gradebook import Gradebook, GradebookError, RosterError, RosterRow, read_roster
from grader.gradebook.database import head_revision, make_engine, migrate
from grader.gradebook.models import Base, Override, Run, Submission, Verdict
from grader.gradebook.roster import decode, parse_roster
from grader.results import CheckResult, PartResult, Result, Status

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A new, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'course.db'}"
    return request.getfixturevalue("postgres_server").new_database()


def mnist_result(student: str, accuracy: float = 0.91, review: bool = False) -> Result:
    """A result shaped like a graded mnist_tf notebook: shapes, accuracy, a free-text answer."""
    shapes = [
        CheckResult(n, Status.PASS, 1.0, 1.0, message=f"{n} has shape {s}", message_key="shape.ok",
                    expected=s, got=s, message_args={"name": n, "expected": s, "got": s})
        for n, s in (("x", [None, 784]), ("d", [None, 10]), ("W", [784, 10]), ("b", [10]))
    ]  # fmt: skip
    ok = accuracy >= 0.87
    acc = CheckResult("holdout accuracy", Status.PASS if ok else Status.FAIL, 6.0 if ok else 0.0, 6.0,
                      message=f"accuracy on data you never saw: {accuracy}", message_key="accuracy.ok" if ok else "accuracy.low",
                      expected=">= 0.87", got=accuracy, message_args={"got": accuracy, "threshold": ">= 0.87", "mean": 0.89})  # fmt: skip
    why = CheckResult("why softmax", Status.NEEDS_REVIEW if review else Status.PASS, 0.0 if review else 2.0, 2.0,
                      message="確率の和が 1 になるように", message_key="quiz.unsure" if review else "quiz.ok")  # fmt: skip
    parts = [
        PartResult.from_checks("mnist1_shapes", "Placeholders and variables", shapes, notebook="mnist_1layer.ipynb",
                               titles={"en": "Placeholders and variables", "ja": "プレースホルダーと変数"}),
        PartResult.from_checks("mnist1_accuracy", "Trained model's accuracy", [acc], notebook="mnist_1layer.ipynb",
                               curves={"test accuracy": [round(0.3 + i * 0.006, 4) for i in 100 * [1]]}),
        PartResult.from_checks("mnist1_quiz", "Softmax", [why], notebook="mnist_1layer.ipynb"),
    ]  # fmt: skip
    return Result(
        student, "mnist_tf", parts=parts,
        timings={"notebooks": {"mnist_1layer.ipynb": {"kernel_start_s": 0.6, "student_cells_s": 2.4, "score_s": 0.02}}, "total_s": 10.5},
        resources={"wall_s": 10.5, "cpu_s": 9.2, "peak_memory_bytes": 723554304},
        sandbox={"name": "bubblewrap", "isolated": True, "limits": {"cell_timeout_s": 20, "memory_bytes": 1610612736}, "caveats": []},
        notebooks=[{"name": "mnist_1layer.ipynb", "file": "mnist_1layer.ipynb", "status": "finished"}],
        plots=[{"notebook": "mnist_1layer", "cell": "mnist1_plot", "path": "mnist_1layer-1.png"}],
        metrics={"mnist1_holdout_accuracy": accuracy},
    )  # fmt: skip


def roster(book: Gradebook, *ids: str) -> None:
    book.import_roster([RosterRow(i, f"学生 {i}", f"{i}@example.ac.jp") for i in ids])


# --- the roster file -------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "shift_jis", "utf-16"])
def test_a_roster_reads_in_every_encoding_japanese_excel_writes(tmp_path, encoding):
    path = tmp_path / "roster.csv"
    path.write_bytes("学籍番号,氏名,メールアドレス\r\n2024001,山田 太郎,yamada@example.ac.jp\r\n".encode(encoding))
    assert read_roster(path) == [RosterRow("2024001", "山田 太郎", "yamada@example.ac.jp", 2)]


def test_roster_headers_tabs_full_width_ids_and_split_names():
    rows = parse_roster("Student ID\tFull Name\tE-mail\n2024001\tTaro Yamada\t\n")
    assert rows == [RosterRow("2024001", "Taro Yamada", None, 2)]
    rows = parse_roster("学籍番号,姓,名,Ｅメール\n２０２４００２,佐藤,花子,sato@example.ac.jp\n\n")
    assert rows == [RosterRow("2024002", "佐藤 花子", "sato@example.ac.jp", 2)]
    rows = parse_roster("ID number,First name,Last name\nb123,Hanako,Sato\n")
    assert [r.name for r in rows] == ["Hanako Sato"]


def test_every_problem_of_a_roster_is_named_with_its_line():
    text = '学籍番号,氏名,メール\n1,A,a@x.jp\n2,B,not-an-email\n1,C,\n,D,\n"3","E\nF",\n3,G,g@x\n4,,\n'
    with pytest.raises(RosterError) as caught:
        parse_roster(text)
    problems = caught.value.problems
    assert ("roster.bad_email", {"line": 3, "id": "2", "email": "not-an-email"}) in problems
    assert ("roster.empty_id", {"line": 5}) in problems
    assert ("roster.duplicate", {"id": "1", "lines": "2, 4"}) in problems
    assert ("roster.duplicate", {"id": "3", "lines": "6, 8"}) in problems  # a quoted cell spans lines 6-7
    assert ("roster.bad_email", {"line": 8, "id": "3", "email": "g@x"}) in problems
    assert ("roster.empty_name", {"line": 9, "id": "4"}) in problems
    assert "line 3" in caught.value.message("en") and "3 行目" in caught.value.message("ja")
    with pytest.raises(RosterError) as caught:
        parse_roster(
            'id,name,email\n"20\n24",A,\n2024 1,B,\n' + "9" * 65 + ',C,\n5,"Eve\u202egnp.exe",\n6,F,"f\x01@x.jp"\n'
        )
    assert [key for key, _ in caught.value.problems] == ["roster.bad_id"] * 3 + ["roster.bad_name", "roster.bad_email"]
    assert caught.value.problems[0][1]["line"] == 2 and caught.value.problems[3][1]["line"] == 6
    with pytest.raises(RosterError) as caught:
        parse_roster("番号,名前\n1,A\n")
    assert caught.value.problems[0][0] == "roster.header"
    with pytest.raises(RosterError) as caught:
        decode(b"id,name\n1," + b"\x81 ")  # neither UTF-8 nor cp932
    assert caught.value.problems == [("roster.encoding", {})]


def test_roster_import_and_list_from_the_command_line(db_url, tmp_path, capsys):
    first = tmp_path / "roster.csv"
    first.write_bytes(
        "学籍番号,氏名,メール\n2024001,山田 太郎,yamada@example.ac.jp\n2024002,佐藤 花子,\n".encode("cp932")
    )
    assert main(["roster", "import", str(first), "--db", db_url, "--lang", "ja"]) == 0
    assert "追加 2 人" in capsys.readouterr().out
    again = tmp_path / "again.csv"
    again.write_text("student_id,name,email\n2024001,山田 太郎,taro@example.ac.jp\n2024003,Ito Ken,ito@example.ac.jp\n")
    assert main(["roster", "import", str(again), "--db", db_url, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "2024001: email yamada@example.ac.jp -> taro@example.ac.jp" in out
    assert "1 added, 1 updated, 0 unchanged; 3 students" in out
    assert "not in this file and were kept: 2024002" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("student_id,name,email\n2024009,New,\n2024009,Twice,\n")
    assert main(["roster", "import", str(bad), "--db", db_url, "--lang", "en"]) == 2
    assert "student id 2024009 is on more than one line: lines 2, 3" in capsys.readouterr().err
    assert main(["roster", "import", str(tmp_path / "missing.csv"), "--db", db_url]) == 2
    assert "cannot read the roster" in capsys.readouterr().err
    assert main(["roster", "list", "--db", db_url]) == 0
    listed = capsys.readouterr().out
    assert "佐藤 花子" in listed and "2024009" not in listed and listed.count("\n") == 3  # nothing of bad.csv


def test_a_file_path_is_a_sqlite_database_and_course_db_the_default(tmp_path, monkeypatch, capsys):
    from grader.gradebook import database_url

    monkeypatch.chdir(tmp_path)
    assert database_url(None) == f"sqlite:///{tmp_path / 'course.db'}"
    assert database_url("other.db") == f"sqlite:///{tmp_path / 'other.db'}"
    assert main(["roster", "list"]) == 0 and (tmp_path / "course.db").is_file()
    with pytest.raises(GradebookError, match="not in memory"):
        Gradebook("sqlite://")
    for wrong in (
        f"sqlite:///{tmp_path}/no/such/folder/course.db",
        "nosuchdb://x/y",
        "postgresql://:pw@/x?host=/nonexistent",
    ):
        assert main(["roster", "list", "--db", wrong]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cannot open the gradebook") and "pw" not in err


# --- submissions, runs, overrides --------------------------------------------------------------


def test_every_run_is_kept_with_its_verdicts(db_url):
    with Gradebook(db_url) as book:
        roster(book, "2024001", "2024002")
        book.add_assignment("mnist_tf", due_at=DUE)
        sub = book.record_submission("2024001", "mnist_tf", {"mnist_1layer.ipynb": NOTEBOOK}, submitted_at=DUE)
        first = book.record_run(mnist_result("2024001", 0.80, review=True), sub, options={"seed": 0})
        second = book.record_run(mnist_result("2024001", 0.91), sub, options={"seed": 1}, result_path="/out/2024001")
        runs = book.runs_of("2024001", "mnist_tf")
        assert [r.id for r in runs] == [first, second] and book.latest_run("2024001", "mnist_tf").id == second
        old, new = runs
        assert (old.score, old.max_score, old.status) == (4.0, 12.0, "fail")  # the worst of its checks
        assert (new.score, new.status, new.result_path) == (12.0, "pass", "/out/2024001")
        assert old.options_digest != new.options_digest and old.dlgrade_version
        assert [(v.part, v.check, v.status, v.points) for v in old.verdicts][-2:] == [
            ("mnist1_accuracy", "holdout accuracy", "fail", 0.0),
            ("mnist1_quiz", "why softmax", "needs-review", 0.0),
        ]
        assert Result.from_dict(old.result).to_dict() == mnist_result("2024001", 0.80, review=True).to_dict()
        assert book.runs_of("2024002", "mnist_tf") == [] and book.latest_run("2024002", "mnist_tf") is None
        # the review queue is a query over columns
        with book._read() as s:
            queue = s.execute(sa.select(Verdict.check).where(Verdict.status == "needs-review")).scalars().all()
        assert queue == ["why softmax"]


def test_the_same_files_are_one_submission_and_lateness_follows_the_due_date(db_url):
    with Gradebook(db_url) as book:
        roster(book, "2024001")
        book.add_assignment("mnist_tf", due_at=DUE)
        files = {"mnist_1layer.ipynb": NOTEBOOK, "data/extra.txt": "日本語".encode()}
        on_time = book.record_submission("2024001", "mnist_tf", files, submitted_at=DUE, source="moodle")
        assert book.record_submission("2024001", "mnist_tf", dict(reversed(files.items()))) == on_time
        late = book.record_submission(
            "2024001", "mnist_tf", {"mnist_1layer.ipynb": NOTEBOOK + b" "},
            submitted_at=DUE.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")) + timedelta(minutes=1),
        )  # fmt: skip
        unmatched = book.record_submission(None, "mnist_tf", {"x.ipynb": NOTEBOOK}, source_ref="Nobody_99_file_")
        assert len({on_time, late, unmatched}) == 3
        with book._read() as s:
            rows = {r.id: r for r in s.scalars(sa.select(Submission))}
        assert rows[on_time].late is False and rows[late].late is True
        assert rows[on_time].submitted_at == DUE and rows[on_time].submitted_at.tzinfo is not None
        assert rows[on_time].source == "moodle" and [f["path"] for f in rows[on_time].files] == sorted(files)
        assert rows[unmatched].student_id is None
        with pytest.raises(GradebookError, match="no student 2024999"):
            book.record_submission("2024999", "mnist_tf", files)


def test_an_override_stays_beside_the_verdict_and_survives_a_regrade(db_url):
    with Gradebook(db_url) as book:
        roster(book, "2024001")
        sub = book.record_submission("2024001", "mnist_tf", {"mnist_1layer.ipynb": NOTEBOOK})
        run = book.record_run(mnist_result("2024001", review=True), sub)
        book.override("2024001", "mnist_tf", "mnist1_quiz", "why softmax", 1.5, comment="半分正解", author="sato")
        regrade = book.record_run(mnist_result("2024001", review=True), sub, kind="rescore", based_on=run)
        current = book.overrides_of("2024001", "mnist_tf")[("mnist1_quiz", "why softmax")]
        assert (current.points, current.comment, current.author, current.run_id) == (1.5, "半分正解", "sato", run)
        verdict = book.latest_run("2024001", "mnist_tf").verdicts[-1]
        assert (verdict.status, verdict.points) == ("needs-review", 0.0)  # the grader's word, unchanged
        book.override("2024001", "mnist_tf", "mnist1_quiz", "why softmax", None, comment="back", author="ito")
        current = book.overrides_of("2024001", "mnist_tf")[("mnist1_quiz", "why softmax")]
        assert current.points is None and current.run_id == regrade
        assert book.count(Override) == 2  # every decision kept
        with pytest.raises(GradebookError, match="no check mnist1_quiz/why relu"):
            book.override("2024001", "mnist_tf", "mnist1_quiz", "why relu", 1, author="sato")
        with pytest.raises(GradebookError, match="give 0 to 2"):
            book.override("2024001", "mnist_tf", "mnist1_quiz", "why softmax", 3, author="sato")


def test_references_hold_on_sqlite_as_on_postgresql(db_url):
    """Foreign keys are on in every connection (SQLite's are off unless asked for)."""
    with Gradebook(db_url) as book, pytest.raises(sa.exc.IntegrityError), book._write.begin() as s:
        s.add(Verdict(run_id=999, position=0, part="p", check="c", status="pass", points=1, max_points=1))


# --- migrations --------------------------------------------------------------------------------


def test_the_migrations_build_exactly_the_models(db_url):
    Gradebook(db_url).close()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()


def test_a_database_of_an_older_version_is_migrated_with_nothing_lost(db_url):
    migrate(db_url, "0001")  # the first release's schema: no overrides, no late policy
    engine = make_engine(db_url)
    old = sa.MetaData()
    old.reflect(engine)
    assert "overrides" not in old.tables and "late_policy" not in old.tables["assignments"].c
    t = datetime(2026, 11, 30, 12, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(old.tables["students"].insert(), [{"id": "2024001", "name": "山田 太郎", "email": None,
                                                        "created_at": t, "updated_at": t}])  # fmt: skip
        conn.execute(old.tables["assignments"].insert(), [{"id": 1, "name": "mnist_tf", "due_at": t, "created_at": t}])
        conn.execute(old.tables["submissions"].insert(), [{"id": 1, "assignment_id": 1, "student_id": "2024001",
            "content_hash": "ab" * 32, "files": [{"path": "a.ipynb"}], "late": False, "source": "moodle",
            "source_ref": "山田 太郎_123_assignsubmission_file_", "recorded_at": t}])  # fmt: skip
        conn.execute(old.tables["runs"].insert(), [{"id": 7, "submission_id": 1, "kind": "grade", "graded_at": t,
            "dlgrade_version": "0.0.9", "options": {"seed": 0}, "options_digest": "x", "score": 3.0,
            "max_score": 4.0, "status": "fail", "result": {"schema": "dlgrade.result/1"}}])  # fmt: skip
        conn.execute(old.tables["verdicts"].insert(), [{"run_id": 7, "position": 0, "part": "p", "check": "c",
            "status": "fail", "points": 0.0, "max_points": 1.0, "kind": "check", "hidden": False, "message": "m",
            "message_key": "value.wrong"}])  # fmt: skip
    engine.dispose()
    with Gradebook(db_url) as book:  # opening migrates
        [run] = book.runs_of("2024001", "mnist_tf")
        assert (run.id, run.score, run.options, run.result, run.graded_at) == (
            7, 3.0, {"seed": 0}, {"schema": "dlgrade.result/1"}, t.replace(tzinfo=UTC))  # fmt: skip
        assert [(v.check, v.message_key) for v in run.verdicts] == [("c", "value.wrong")]
        assert run.submission.source_ref == "山田 太郎_123_assignsubmission_file_"
        assert [s.name for s in book.students()] == ["山田 太郎"]
        assert book.add_assignment("mnist_tf").due_at == t.replace(tzinfo=UTC)
        assert book.add_assignment("mnist_tf").late_policy is None
        book.override("2024001", "mnist_tf", "p", "c", 1.0, author="sato")  # the new table works
        assert book.count(Run) == 1 and book.count(Verdict) == 1


def test_a_database_of_a_newer_dlgrade_is_refused_untouched(db_url):
    Gradebook(db_url).close()
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(GradebookError, match="newer dlgrade"):
        Gradebook(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999_future"
    engine.dispose()


# --- two writers -------------------------------------------------------------------------------

RUNS_EACH = 15


def _writer(url: str, name: str, start) -> None:
    start.wait(timeout=30)
    with Gradebook(url) as book:  # both migrate the new database at once
        roster(book, "2024001")
        for i in range(RUNS_EACH):
            sub = book.record_submission("2024001", "mnist_tf", {"mnist_1layer.ipynb": NOTEBOOK})
            book.record_run(mnist_result("2024001", 0.9), sub, options={"writer": name, "i": i})


def test_two_processes_recording_at_once_lose_no_run(db_url):
    fork = multiprocessing.get_context("fork")
    start = fork.Barrier(2)
    writers = [fork.Process(target=_writer, args=(db_url, name, start)) for name in ("a", "b")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0]
    with Gradebook(db_url) as book:
        runs = book.runs_of("2024001", "mnist_tf")
        assert len(runs) == 2 * RUNS_EACH and len({r.submission_id for r in runs}) == 1
        assert sorted((r.options["writer"], r.options["i"]) for r in runs) == sorted(
            (w, i) for w in "ab" for i in range(RUNS_EACH)
        )
        assert book.count(Verdict) == 2 * RUNS_EACH * 6


# --- the PostgreSQL fixture --------------------------------------------------------------------


def test_without_postgresql_the_fixture_fails_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(postgres.glob, "glob", lambda pattern: [])
    assert postgres.server_bin() is None
    with pytest.raises(pytest.fail.Exception, match="run scripts/setup.sh"):
        postgres.require_server_bin()


def test_the_server_runs_unprivileged_on_a_socket_only(postgres_server):
    engine = make_engine(postgres_server.url().replace("+psycopg", ""))  # postgresql:// means psycopg 3
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar() == ""
    engine.dispose()
    owner = Path(postgres_server.data).stat().st_uid
    assert owner != 0


def test_what_a_student_wrote_is_stored_whatever_it_holds(db_url):
    """NUL, lone surrogates, NaN and numpy values reach a result from a student's notebook;
    PostgreSQL refuses the first three in text and JSONB, and no JSON holds the last."""
    import numpy as np

    weird = "a\x00b\udc80c"
    check = CheckResult("x" * 500 + weird, Status.FAIL, 0.0, 1.0, message=f"got {weird}", got=[weird, np.float32(0.5)],
                        expected=float("nan"), message_args={"got": np.int64(3), weird: float("inf")})  # fmt: skip
    part = PartResult.from_checks("p" * 300, "T", [check], curves={"loss": [1.0, float("nan"), float("-inf")]})
    with Gradebook(db_url) as book:
        roster(book, "2024001")
        sub = book.record_submission("2024001", "a" * 300, {weird + ".ipynb": NOTEBOOK}, source_ref=weird)
        book.record_run(Result("2024001", "a", parts=[part]), sub)
        [run] = book.runs_of("2024001", "a" * 300)
        [verdict] = run.verdicts
    assert verdict.check == "x" * 500 + "a\ufffdb\ufffdc" and verdict.message == "got a\ufffdb\ufffdc"
    stored = run.result["parts"][0]
    assert stored["checks"][0]["got"] == ["a\ufffdb\ufffdc", 0.5] and stored["checks"][0]["expected"] is None
    assert stored["checks"][0]["message_args"] == {"got": 3, "a\ufffdb\ufffdc": None}
    assert (
        stored["curves"] == {"loss": [1.0, None, None]} and run.submission.files[0]["path"] == "a\ufffdb\ufffdc.ipynb"
    )
