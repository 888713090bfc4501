"""The Gradescope autograder scripts (templates/gradescope) run as Gradescope runs them, against a
simulated /autograder in a temporary folder (AUTOGRADER_ROOT, DLGRADE_PREFIX, DLGRADE_OUT): the
real /autograder and /opt are never touched.

Fast: setup.sh's steps through stand-in commands (apt-get, the interpreter, pip, dlgrade that
record their arguments), the flags run_autograder passes parsed by dlgrade's own parser, and the
results.json it writes when dlgrade fails. Slow: setup.sh with dlgrade already installed (the
project's virtualenv, DLGRADE_INSTALLED=1: no apt-get, no pip, offline) and run_autograder grading
a reference notebook for real, in bubblewrap, into Gradescope's results.json and the HTML report.

Not covered: the real apt-get and pip install of setup.sh (network, minutes; tests/test_wheel.py
installs the wheel into a fresh virtualenv instead), Ubuntu's python3.11 package itself,
Gradescope's own harness and container (whether bubblewrap may make namespaces there: if not,
`--allow-no-sandbox` grades without it and the results say so), and `dlgrade data fetch` downloading
(the cache here is already filled, so it only verifies it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from packaging.specifiers import SpecifierSet

from grader.cli import main as cli

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "templates" / "gradescope"
SCHEMA = json.loads((Path(__file__).parent / "data" / "gradescope-results.schema.json").read_text())

# A stand-in for a command: records its arguments (one JSON list per call) in $RECORD; as
# `dlgrade grade`, writes a gradescope.json unless FAKE_EXIT says it fails.
STAND_IN = """#!{python}
import json, os, sys
from pathlib import Path
with open(os.environ["RECORD"], "a") as f:
    f.write(json.dumps([Path(sys.argv[0]).name, *sys.argv[1:]]) + "\\n")
if sys.argv[1:2] == ["grade"] and not os.environ.get("FAKE_EXIT"):
    out = Path(sys.argv[sys.argv.index("--out") + 1]) / "submission"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gradescope.json").write_text(json.dumps({{"score": 1.0, "tests": []}}))
sys.exit(int(os.environ.get("FAKE_EXIT") or 0))
"""


def stand_in(folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(STAND_IN.format(python=sys.executable))
    (folder / name).chmod(0o755)


def calls(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def run(script: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPTS / script)], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture
def root(tmp_path):
    """A simulated /autograder: source/course, submission/, and the stand-ins' environment."""
    (tmp_path / "autograder" / "source" / "course").mkdir(parents=True)
    (tmp_path / "autograder" / "submission").mkdir()
    return tmp_path


def base_env(tmp_path: Path, **extra) -> dict:
    return {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RECORD": str(tmp_path / "record"),
        "AUTOGRADER_ROOT": str(tmp_path / "autograder"),
        "DLGRADE_PREFIX": str(tmp_path / "prefix"),
        "DLGRADE_OUT": str(tmp_path / "out"),
        **extra,
    }


def test_the_scripts_are_bash_without_syntax_errors_and_executable():
    for name in ("setup.sh", "run_autograder"):
        assert os.access(SCRIPTS / name, os.X_OK), name
        check = subprocess.run(["bash", "-n", str(SCRIPTS / name)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_setup_installs_dlgrade_with_a_python_it_supports_then_fetches_the_data(root):
    stand_in(root / "bin", "apt-get")
    stand_in(root / "bin", "python3.11")
    stand_in(root / "prefix" / "bin", "pip")
    stand_in(root / "prefix" / "bin", "dlgrade")
    done = run("setup.sh", base_env(root), cwd=root / "autograder")
    assert done.returncode == 0, done.stderr
    made = calls(root / "record")
    course, prefix = str(root / "autograder" / "source" / "course"), str(root / "prefix")
    install = next(c for c in made if c[:2] == ["apt-get", "install"])
    assert {"python3.11", "python3.11-venv", "bubblewrap"} <= set(install)
    assert ["python3.11", "-m", "venv", prefix] in made
    assert ["pip", "install", course] in made  # a wheel of the course repository, not editable
    assert made[-2:] == [["dlgrade", "--version"], ["dlgrade", "data", "fetch"]]
    # the interpreter setup.sh installs is one dlgrade supports (Gradescope's Ubuntu 22.04 has 3.10)
    requires = re.search(r'requires-python = "([^"]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert "3.11" in SpecifierSet(requires) and "3.10" not in SpecifierSet(requires)


def test_setup_with_dlgrade_installed_runs_no_apt_get_and_no_pip(root):
    stand_in(root / "bin", "apt-get")
    stand_in(root / "prefix" / "bin", "dlgrade")
    done = run("setup.sh", base_env(root, DLGRADE_INSTALLED="1"), cwd=root / "autograder")
    assert done.returncode == 0, done.stderr
    assert calls(root / "record") == [["dlgrade", "--version"], ["dlgrade", "data", "fetch"]]


def test_run_autograder_passes_flags_dlgrade_has_and_copies_its_results(root):
    stand_in(root / "prefix" / "bin", "dlgrade")
    done = run("run_autograder", base_env(root, ASSIGNMENT="concepts"), cwd=root / "autograder")
    assert done.returncode == 0, done.stderr
    [grade] = calls(root / "record")
    args = cli.build_parser().parse_args(cli.paths_not_options(grade[1:]))  # exits 2 on a wrong flag
    assert args.submissions == [str(root / "autograder" / "submission")]
    assert args.assignment == str(root / "autograder" / "source" / "course" / "solutions" / "concepts")
    assert {"gradescope", "html", "json"} <= set(args.format.split(",")) and args.allow_no_sandbox
    assert args.out == str(root / "out") and args.lang == "ja"
    results = json.loads((root / "autograder" / "results" / "results.json").read_text())
    assert results == {"score": 1.0, "tests": []}


def test_run_autograder_tells_the_student_when_dlgrade_fails(root):
    stand_in(root / "prefix" / "bin", "dlgrade")
    stale = root / "out" / "submission" / "gradescope.json"  # an earlier run's: never copied
    stale.parent.mkdir(parents=True)
    stale.write_text('{"score": 100}')
    for lang, words in (
        ("en", ["exit 3", "not a mistake in your notebook"]),
        ("ja", ["終了コード 3", "誤りではありません"]),
    ):
        env = base_env(root, FAKE_EXIT="3", DLGRADE_REPORT_LANG=lang)
        done = run("run_autograder", env, cwd=root / "autograder")
        assert done.returncode == 0, done.stderr
        results = json.loads((root / "autograder" / "results" / "results.json").read_text())
        jsonschema.validate(results, SCHEMA)
        assert results["score"] == 0 and all(w in results["output"] for w in words), results


@pytest.mark.slow
def test_gradescope_grades_a_submission_in_a_simulated_autograder_root(root):
    """setup.sh, then run_autograder as Gradescope runs them (cwd /autograder), with dlgrade of
    this checkout's virtualenv (Python 3.11, what setup.sh installs): a reference notebook graded
    for real, in bubblewrap, into a results.json of Gradescope's shape and the HTML report."""
    from grader.datasets import cache_root

    course = root / "autograder" / "source" / "course"
    for rel in (
        "solutions/concepts/cnn_architectures.ipynb",
        "solutions/concepts/cnn_architectures.checks.py",
        "solutions/concepts/rubrics.json",
        "exercises/concepts/cnn_architectures.ipynb",
    ):
        (course / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, course / rel)
    shutil.copy(REPO / "solutions/concepts/cnn_architectures.ipynb", root / "autograder" / "submission")
    env = base_env(
        root,
        DLGRADE_PREFIX=sys.prefix,
        DLGRADE_INSTALLED="1",
        DLGRADE_CACHE=str(cache_root()),  # filled already: `data fetch` only verifies it
        ASSIGNMENT="concepts",
        DLGRADE_REPORT_LANG="en",
    )
    real = {p: p.exists() for p in (Path("/autograder"), Path("/opt/dlgrade"))}
    setup = run("setup.sh", env, cwd=root / "autograder")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert re.search(r"^dlgrade \d+\.\d+\.\d+$", setup.stdout, re.M) and "verified" in setup.stdout
    graded = run("run_autograder", env, cwd=root / "autograder")
    assert graded.returncode == 0, graded.stderr
    results = json.loads((root / "autograder" / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 14 and sum(t["max_score"] for t in results["tests"]) == 14, results
    assert all(t["status"] == "passed" for t in results["tests"])
    names = [t["name"] for t in results["tests"]]
    assert len(set(names)) == len(names)
    report = root / "out" / "submission" / "report.html"
    assert report.is_file() and "Features of VGG" in report.read_text()
    record = json.loads((root / "out" / "submission" / "result.json").read_text())
    assert (
        record["sandbox"]["name"] == ("warm" if os.geteuid() == 0 else "bubblewrap") and record["sandbox"]["isolated"]
    )
    assert {p: p.exists() for p in real} == real  # the real /autograder and /opt untouched
