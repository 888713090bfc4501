"""dlgrade as instructors and Gradescope install it: the wheel built from a clean copy of the
sources holds every file of the package, and installed with its dependencies into a fresh
virtualenv it grades a notebook for real (bubblewrap) and renders every report from a folder
outside the checkout, with the checkout nowhere on its path.

Measured here (2 cores): building the wheel takes 2-4 s, the fresh virtualenv with every
dependency (tensorflow-cpu included, from the local wheel cache) 50 s on an idle machine and up
to 100 s on a busy one, grading the notebook 4-8 s; the whole test 80-120 s.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import grader

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
# the cheapest notebook to grade (no TensorFlow), with what its course folder needs
COURSE = (
    "solutions/concepts/cnn_architectures.ipynb",
    "solutions/concepts/cnn_architectures.checks.py",
    "solutions/concepts/rubrics.json",
    "exercises/concepts/cnn_architectures.ipynb",
)


def run(argv, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kw)
    assert done.returncode == 0, f"{argv}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def sources(tmp_path: Path) -> tuple[Path, set[str]]:
    """A copy of what the wheel is built from, as the working tree has it (tracked files and new
    ones, nothing ignored: no build/ folder of an earlier build), and the package's files."""
    listed = run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z", "--", "grader", "pyproject.toml", "README.md"],
        cwd=REPO,
    ).stdout
    src = tmp_path / "src"
    package = set()
    for rel in filter(None, listed.split("\0")):
        if not (REPO / rel).is_file():  # deleted in the working tree
            continue
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, src / rel)
        if rel.startswith("grader/"):
            package.add(rel)
    return src, package


def test_the_wheel_installed_in_a_fresh_virtualenv_grades_and_renders_outside_the_checkout(tmp_path):
    src, package = sources(tmp_path)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(src)]
    )
    wheel = next(tmp_path.glob("dlgrade-*.whl"))
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("grader/")}
    assert package <= shipped, f"not in the wheel: {sorted(package - shipped)}"  # templates, schemas, data

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", str(wheel)])

    elsewhere = tmp_path / "elsewhere"
    course, submission = elsewhere / "course", elsewhere / "class" / "alice"
    for rel in COURSE:
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, course / rel)
    submission.mkdir(parents=True)
    shutil.copy(REPO / COURSE[0], submission)
    from grader.datasets import cache_root

    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DLGRADE_CACHE": str(cache_root()),  # the filled data cache, read only
        "DLGRADE_LANG": "ja",
    }

    def dlgrade(*args) -> subprocess.CompletedProcess:
        return run([str(venv / "bin" / "dlgrade"), *args], cwd=elsewhere, env=env)

    assert dlgrade("--version").stdout.strip() == f"dlgrade {grader.__version__}"
    where = run([str(venv / "bin" / "python"), "-c", "import grader; print(grader.__file__)"], cwd=elsewhere, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel, not the checkout

    dlgrade(
        "grade",
        "class/alice",
        "--assignment",
        "course/solutions/concepts",
        "--out",
        "out",
        "--format",
        "all",
        "--quiet",
    )
    out = elsewhere / "out"
    result = json.loads((out / "alice" / "result.json").read_text())
    assert result["score"] == result["max_score"] == 14, result["problems"]
    assert (
        result["sandbox"]["name"] == ("warm" if os.geteuid() == 0 else "bubblewrap") and result["sandbox"]["isolated"]
    )
    assert "VGG の特徴" in (out / "alice" / "report.html").read_text()  # the wheel's templates, in Japanese
    assert (out / "alice" / "gradescope.json").is_file()
    for name in ("index.html", "junit.xml", "grades.csv", "summary.md"):
        assert (out / name).is_file(), name

    rendered = dlgrade("report", "out", "--lang", "en", "--format", "all")
    assert "1 submissions re-rendered in en" in rendered.stdout
    assert "Features of VGG" in (out / "alice" / "report.html").read_text()
    assert not [p for p in venv.rglob("*.pth") if str(REPO) in p.read_text()]  # nothing leads back here

    # the gradebook: a new course.db made by the wheel's own Alembic migrations, with its dependencies
    (elsewhere / "roster.csv").write_bytes("学籍番号,氏名\n2024001,山田 太郎\n".encode("cp932"))
    assert "追加 1 人" in dlgrade("roster", "import", "roster.csv").stdout
    assert "山田 太郎" in dlgrade("roster", "list").stdout and (elsewhere / "course.db").is_file()
    # the review server: its templates and style sheet from the wheel, a login stored by its migration
    login = run([str(venv / "bin" / "dlgrade"), "serve", "--set-password", "--user", "sato", "--lang", "en"],
                cwd=elsewhere, env=env, input="a good password\n")  # fmt: skip
    assert "password set for sato" in login.stdout
    pages = "from grader.web.app import environment; print(len([environment().get_template(n) for n in ('grid.html.j2', 'student.html.j2', 'review.html.j2', 'base.css.j2')]))"
    assert run([str(venv / "bin" / "python"), "-c", pages], cwd=elsewhere, env=env).stdout.strip() == "4"
