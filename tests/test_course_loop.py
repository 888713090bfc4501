"""A course, end to end, through the command line as an instructor runs it, on SQLite and on
PostgreSQL: a Japanese roster -> collect (a Moodle zip for one assignment, one folder per student
id for the other, a file that matches nobody) -> grade --db in the real sandbox -> a needs-review
answer decided in the review server -> another check overridden from the shell -> a rubric
changed and the class rescored without running anything -> export for Moodle, Canvas and as CSV,
with the decisions, the rescore and a late penalty in the numbers.

Three students, two assignments: the course's concepts quizzes (a few seconds a notebook, free
text that goes to a person) and nbgrader's example ps1 imported with `dlgrade import-nbgrader`.
Each student hands in the reference, the released template or a partly right notebook."""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import nbgrader
import pytest
from postgres import postgres_server  # noqa: F401  (the session's server)
from starlette.testclient import TestClient

from grader.cli.main import main
from grader.gradebook import Gradebook
from grader.notebook import format as nbf
from grader.pipeline.execution import SandboxedRunner
from grader.web import auth, create_app

REPO = Path(__file__).resolve().parents[1]
PS1 = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide" / "source" / "ps1"
ROSTER = """学籍番号,氏名,メールアドレス
2024001,山田 太郎,yamada@example.jp
2024002,佐藤 花子,sato@example.jp
2024003,鈴木 一郎,suzuki@example.jp
"""
DUE = "2026-12-20T23:59+09:00"
PASSWORD = "correct horse battery"
CONCEPTS = ("cnn_architectures.ipynb", "reinforcement_learning.ipynb")
PROBLEMS = ("problem1.ipynb", "problem2.ipynb")

# 佐藤 hands in part right answers: a wrong letter; a ResNet answer that says the error reaches
# the shallow layers, which the rubric does not know as the vanishing gradient (the rescore adds
# it); an exploration answer without the trade-off. Both free-text answers go to a person.
SATO_GRADIENT = "誤差が浅い層まで届く"
SATO_CONCEPTS = {
    "cnn_mc_vgg_kernel_answer": "a",
    "cnn_resnet_answer": f"スキップコネクションで入力を出力に足す残差接続を使うので、{SATO_GRADIENT}。"
    "152 層のような非常に深いネットワークでも学習できる。",
    "rl_explore_exploit_answer": "探索はまだ知らない行動を試して環境の情報を集めること。"
    "利用はこれまでの経験から一番良い行動を選んで報酬を得ること。",
}
SATO_PS1 = {"squares": "def squares(n):\n    return [i * i for i in range(1, n + 1)]"}  # no ValueError for 0
TRADEOFF = "rl_explore_exploit/rl_explore_exploit: tradeoff"
GRADIENT = "cnn_resnet/resnet: vanishing_gradient"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'course' / 'course.db'}"
    return request.getfixturevalue("postgres_server").new_database()


def notebook(path: Path, answers: dict[str, str] | None = None) -> bytes:
    """The solution notebook as a student hands it in (markers stripped), some answers replaced."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.source = (answers or {}).get(nbf.grade_id(cell) or "", nbf.strip_markers(cell.source))
    return nbformat.writes(nb).encode()


def table(path: Path) -> list[list[str]]:
    """An export's rows (UTF-8 with a byte-order mark, every cell quoted)."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def by_first(rows: list[list[str]], key: str) -> dict[str, dict[str, str]]:
    header = rows[0]
    return {r[header.index(key)]: dict(zip(header, r, strict=True)) for r in rows[1:]}


class Shell:
    """`dlgrade ...` in this process, its output kept (and printed, for a failing test's log)."""

    def __init__(self, db: str):
        self.db = db

    def __call__(self, *argv: str, db: bool = True, stdin: str | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.MonkeyPatch.context() as mp:
            if stdin is not None:
                mp.setattr("sys.stdin", io.StringIO(stdin))
            code = main([*argv, *(["--db", self.db] if db else [])])
        print(f"$ dlgrade {' '.join(argv)}  -> {code}\n{out.getvalue()}{err.getvalue()}")
        return code, out.getvalue(), err.getvalue()


def moodle_zip(path: Path, course: Path) -> None:
    """Moodle's "download all submissions": a folder per participant, named by full name. 佐藤 is
    1.5 days late (2 days started); 田中 is no student of the roster."""
    sol, released = course / "solutions" / "concepts", course / "exercises" / "concepts"
    handed = {
        "山田 太郎_101": ({n: notebook(sol / n) for n in CONCEPTS}, (2026, 12, 19, 10, 0, 0)),
        "佐藤 花子_102": ({n: notebook(sol / n, SATO_CONCEPTS) for n in CONCEPTS}, (2026, 12, 22, 12, 0, 0)),
        "鈴木 一郎_103": ({n: (released / n).read_bytes() for n in CONCEPTS}, (2026, 12, 20, 23, 0, 0)),
        "田中 次郎_104": ({CONCEPTS[0]: notebook(sol / CONCEPTS[0])}, (2026, 12, 20, 9, 0, 0)),
    }
    with zipfile.ZipFile(path, "w") as z:
        for who, (files, when) in handed.items():
            for name, data in files.items():
                z.writestr(zipfile.ZipInfo(f"{who}_assignsubmission_file_/{name}", when), data)


def ps1_folders(root: Path, course: Path) -> None:
    """One folder per student id: the reference, 佐藤's partly right squares, the template."""
    sol, released = course / "solutions" / "ps1", course / "exercises" / "ps1"
    for student, make in {
        "2024001": lambda n: notebook(sol / n),
        "2024002": lambda n: notebook(sol / n, SATO_PS1),
        "2024003": lambda n: (released / n).read_bytes(),
    }.items():
        (root / student).mkdir(parents=True)
        for n in PROBLEMS:
            (root / student / n).write_bytes(make(n))


def change_rubric(folder: Path) -> None:
    """After the first class: the rubric learns 佐藤's phrasing of the vanishing gradient, and the
    question on the model with the most parameters is worth 2 points."""
    path = folder / "rubrics.json"
    rubrics = json.loads(path.read_text(encoding="utf-8"))
    for q in rubrics["questions"]:
        if q["id"] == "resnet":
            next(c for c in q["concepts"] if c["id"] == "vanishing_gradient")["synonyms"].append(SATO_GRADIENT)
        if q["id"] == "cnn_mc_most_parameters":
            q["points"] = 2
    path.write_text(json.dumps(rubrics, ensure_ascii=False), encoding="utf-8")


def review_in_browser(db: str, student: str, check: str, points: str, comment: str) -> None:
    """Log in to the review server, find the check in the queue and decide it with its form."""
    with Gradebook(db) as book:
        c = TestClient(create_app(book, "en", hosts=["testserver"]), base_url="http://testserver")
        login = c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
        r = c.post("/login", data={"csrf": csrf, "name": "sato", "password": PASSWORD})
        assert r.status_code == 200 and r.url.path == "/"
        queue = c.get("/review")
        items = re.findall(r'<section class="review-item" data-student="([^"]+)" data-check="([^"]+)"', queue.text)
        assert (student, check) in items
        # free text is 佐藤's alone (the others wrote all of it or nothing); ps1's answers all wait
        assert [i for i in items if i[1].startswith(("cnn_", "rl_"))] == [("2024002", GRADIENT), ("2024002", TRADEOFF)]
        section = queue.text.split(f'data-student="{student}" data-check="{html.escape(check)}"')[1]
        section = section.split("</section>")[0]
        form = {
            k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', section)
        }
        r = c.post("/override", data={**form, "points": points, "comment": comment})
        assert r.status_code == 200 and r.url.path == "/review"
        assert f'data-student="{student}" data-check="{html.escape(check)}"' not in r.text


@pytest.mark.slow
def test_a_course_from_roster_to_the_lms(db, tmp_path, monkeypatch):
    course = tmp_path / "course"
    course.mkdir()
    monkeypatch.chdir(course)
    monkeypatch.setattr(auth, "N", 2**10)  # the real scrypt cost is for people, not for tests
    sh = Shell(db)
    started = time.monotonic()

    # the course folder: the concepts quizzes and nbgrader's ps1, released
    shutil.copytree(REPO / "solutions" / "concepts", course / "solutions" / "concepts")
    assert sh("import-nbgrader", str(PS1), "--out", "solutions/ps1", db=False)[0] == 0
    for name in ("concepts", "ps1"):
        assert sh("release", f"solutions/{name}", db=False)[0] == 0

    # roster
    (course / "roster.csv").write_text(ROSTER, encoding="utf-8")
    code, out, _ = sh("roster", "import", "roster.csv")
    assert code == 0 and "3 added" in out

    # collect: Moodle's zip for concepts, a folder per student id for ps1
    moodle_zip(course / "moodle.zip", course)
    code, out, err = sh("collect", "moodle.zip", "--assignment", "concepts", "--due", DUE)
    assert code == 1  # a file that matches nobody: listed, kept
    assert "UNMATCHED 田中 次郎_104_assignsubmission_file_: no student named 田中 次郎 in the roster" in out
    assert [line.endswith(", late") for line in out.splitlines()[:3]] == [False, True, False]  # 佐藤
    kept = list((course / "submissions" / "concepts" / "_unmatched").rglob("cnn_architectures.ipynb"))
    assert len(kept) == 1
    ps1_folders(course / "handed-ps1", course)
    assert sh("collect", "handed-ps1", "--assignment", "ps1")[0] == 0

    # grade the collected submissions in the sandbox, each run recorded
    empty = (course / "course.db").stat().st_size if db.startswith("sqlite") else 0  # schema, roster, submissions
    t0 = time.monotonic()
    for name in ("concepts", "ps1"):
        code, out, err = sh("grade", "--assignment", f"solutions/{name}", "--jobs", "2", "--quiet")
        assert code == 0, err
        assert f"{4 if name == 'concepts' else 3} graded" in out
    grading = time.monotonic() - t0
    size = (course / "course.db").stat().st_size if db.startswith("sqlite") else 0  # closed: no WAL left
    with Gradebook(db) as book:
        scores = {(s, a): (r.score, r.max_score) for s in ("2024001", "2024002", "2024003")
                  for a in ("concepts", "ps1") if (r := book.latest_run(s, a))}  # fmt: skip
        graded = len(book.latest_runs("concepts")) + len(book.latest_runs("ps1"))  # the stranger's too
    assert scores == {
        ("2024001", "concepts"): (41, 41), ("2024002", "concepts"): (38, 41), ("2024003", "concepts"): (0, 41),
        ("2024001", "ps1"): (3, 13), ("2024002", "ps1"): (2, 13), ("2024003", "ps1"): (0, 13),
    }  # fmt: skip

    # review: 佐藤's trade-off, half the points, in the review server
    assert sh("serve", "--set-password", "--user", "sato", stdin=PASSWORD + "\n")[0] == 0
    review_in_browser(db, "2024002", TRADEOFF, "0.5", "implied, never said")
    # override another check from the shell: 佐藤's letter a accepted
    code, out, _ = sh("override", "2024002", "concepts", "cnn_choice/cnn_mc_vgg_kernel", "1", "--comment", "the figure showed 1x1 too", "--who", "sato")  # fmt: skip
    assert code == 0 and "total 39.5 / 41" in out

    # rescore after the rubric changed: no sandbox, no kernel
    change_rubric(course / "solutions" / "concepts")
    with monkeypatch.context() as mp:
        for name in ("execute", "evaluate"):
            mp.setattr(SandboxedRunner, name, lambda *a, **k: pytest.fail("a rescore ran a notebook"))
        mp.setattr("grader.sandbox.bwrap.make_sandbox", lambda *a, **k: pytest.fail("a rescore made a sandbox"))
        t0 = time.monotonic()
        code, out, err = sh("rescore", "concepts", "--yes")
        rescoring = time.monotonic() - t0
    assert code == 0, err
    assert "3 gain, 0 lose, 1 unchanged" in out and "recorded 4 rescore run(s)" in out
    changes = {tuple(line.split("  ")[1:]) for line in out.splitlines() if "->" in line}
    assert changes == {
        ("2024001", "cnn_choice/cnn_mc_most_parameters", "1 -> 2"), ("2024001", "total", "41 -> 42"),
        ("2024002", "cnn_choice/cnn_mc_most_parameters", "1 -> 2"), ("2024002", GRADIENT, "0 -> 1"),
        ("2024002", "total", "39.5 -> 41.5"),  # the two decisions (+1.5) held
        ("(田中 次郎_104_assignsubmission_file_)", "cnn_choice/cnn_mc_most_parameters", "1 -> 2"),
        ("(田中 次郎_104_assignsubmission_file_)", "total", "14 -> 15"),
    }  # fmt: skip
    with Gradebook(db) as book:
        assert [r.kind for r in book.runs_of("2024002", "concepts")] == ["grade", "rescore"]
        assert {k: o.points for k, o in book.overrides_of("2024002", "concepts").items()} == {
            tuple(TRADEOFF.split("/")): 0.5,
            ("cnn_choice", "cnn_mc_vgg_kernel"): 1.0,
        }

    # final grades: 佐藤's concepts = (42 - 2 lost + 1.5 decided) less 20% for 2 days late
    code, out, _ = sh("export", "--lms", "csv", "--late-penalty", "10%/day", "--late-cap", "50%", "--out", "final.csv")
    assert code == 0 and "3 graded submission(s) still have needs-review" in out + _  # ps1's answers, undecided
    for lms in ("moodle", "canvas"):
        assert sh("export", "--lms", lms, "--out", f"{lms}.csv")[0] == 0
    final = {s: [r[k] for k in ("concepts", "concepts late deduction", "ps1", "total", "max_total")]
             for s, r in by_first(table(course / "final.csv"), "student_id").items()}  # fmt: skip
    assert final == {
        "2024001": ["42", "0", "3", "45", "55"],
        "2024002": ["33.2", "8.3", "2", "35.2", "55"],
        "2024003": ["0", "0", "0", "0", "55"],
    }
    moodle = by_first(table(course / "moodle.csv"), "ID number")
    assert [moodle[s]["concepts"] for s in ("2024001", "2024002", "2024003")] == ["42", "33.2", "0"]
    feedback = moodle["2024002"]["concepts (Feedback)"].split("<br>")
    assert feedback == ["late by 2 day(s): -20% (8.3 points)", "cnn_mc_vgg_kernel: the figure showed 1x1 too",
                        "rl_explore_exploit: tradeoff: implied, never said"]  # fmt: skip
    assert moodle["2024002"]["Full name"] == "佐藤 花子" and moodle["2024002"]["Total"] == "35.2"
    canvas = table(course / "canvas.csv")
    assert canvas[1][5:] == ["42", "13", "55"]  # Points Possible: the rescored maximum
    assert [r[2:3] + r[5:] for r in canvas[2:]] == [
        ["2024001", "42", "3", "45"],
        ["2024002", "33.2", "2", "35.2"],
        ["2024003", "0", "0", "0"],
    ]
    assert sh("publish", "concepts")[0] == 0
    report = (course / "published" / "concepts" / "2024002" / "report.html").read_text(encoding="utf-8")
    assert "33.2 / 42" in report and "8.3 points" in report and "implied, never said" in report

    total = time.monotonic() - started
    print(
        f"course loop on {db.split(':')[0]}: {total:.1f} s (grading {grading:.1f} s, rescore {rescoring:.2f} s); "
        f"{graded} graded submissions, course.db {empty / 1024:.0f} -> {size / 1024:.0f} KiB by grading"
    )


def test_the_cells_injected_into_a_notebook_older_than_cell_ids_keep_it_valid(tmp_path):
    """nbgrader's ps1 is nbformat 4.0, which has no cell ids: the grader's cells must not add one
    (the notebook handed to the sandbox was written invalid, and said so in the log)."""
    from grader.assignment.spec import NotebookSpec
    from grader.pipeline.execution import inject

    released = nbformat.read(PS1 / "problem1.ipynb", as_version=4)
    assert released.nbformat_minor < 5
    spec = NotebookSpec(name="problem1.ipynb", solution_path=tmp_path, release_path=tmp_path, parts=[])
    out = inject(released, spec, 0, tmp_path / "artifacts")
    assert out.cells[0].metadata["dlgrade"]["injected"] == "seed"
    nbformat.validate(out)  # raises on an id in a 4.0 notebook
    current = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert all("id" in c for c in inject(current, spec, 0, tmp_path / "artifacts").cells)  # 4.5: ids kept
