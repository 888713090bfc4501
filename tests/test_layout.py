"""The layout keeps its promises: the folders name the pipeline and the trust boundary, the code
that runs inside the sandbox imports nothing trusted, the command line is a leaf, and the
subpackages form layers without cycles (import-linter's contracts in pyproject.toml)."""

import ast
import subprocess
import sys
from pathlib import Path

import grader.checks
from grader.checks import core

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "4 kept, 0 broken" in run.stdout


def test_every_public_check_is_importable_from_grader_checks():
    tree = ast.parse(Path(core.__file__).read_text())
    public = {
        n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")
    }
    assert public <= set(grader.checks.__all__), sorted(public - set(grader.checks.__all__))


def test_the_top_folder_holds_only_the_pipelines_stages_and_shared_models():
    modules = {p.stem for p in (REPO / "grader").glob("*.py")}
    assert modules == {"__init__", "errors", "i18n", "results"}
    packages = {p.name for p in (REPO / "grader").iterdir() if (p / "__init__.py").exists()}
    assert packages == {
        "notebook",
        "assignment",
        "pipeline",
        "sandbox",
        "intake",
        "inside",
        "checks",
        "datasets",
        "reporters",
        "gradebook",
        "web",
        "cli",
    }
