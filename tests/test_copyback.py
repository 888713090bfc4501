"""Copy-back of a run's work folder on crafted trees: only the named entries come back, as
regular files and folders, within the byte, entry, depth and time budgets; the rest is named
in the report. And the trees a run leaves can always be removed."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from grader.intake.copyback import CopyLimits, clear_folder, copy_back, keep_only, remove_tree

MiB = 2**20
KEEP = ("record.json", "artifacts", "executed.ipynb")


def _tree(root: Path) -> dict[str, str]:
    """Every entry below root: 'dir', 'file:<size>', or what else it is."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            kind = (
                "dir"
                if stat.S_ISDIR(info.st_mode)
                else f"file:{info.st_size}"
                if stat.S_ISREG(info.st_mode)
                else "other"
            )
            found[str(path.relative_to(root))] = kind
    return found


def _reasons(report) -> dict[str, str]:
    return {d["path"]: d["reason"] for d in report.dropped}


@pytest.fixture
def work(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / "artifacts" / "part").mkdir(parents=True)
    (work / "record.json").write_text('{"status": "finished"}')
    (work / "artifacts" / "part" / "W.npy").write_bytes(b"\x93NUMPY" + b"0" * 100)
    (work / "executed.ipynb").write_text("{}")
    (work / "home").mkdir()
    (work / "home" / "big.bin").write_bytes(b"x" * 4096)
    (work / "submission.ipynb").write_text("{}")
    return work


def test_only_the_named_entries_come_back(work, tmp_path):
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits())
    assert _tree(tmp_path / "out") == {
        "record.json": "file:22",
        "artifacts": "dir",
        "artifacts/part": "dir",
        "artifacts/part/W.npy": "file:106",
        "executed.ipynb": "file:2",
    }
    assert report.files == 3 and report.bytes == 130 and report.dropped_count == 0 and not report.stopped


def test_links_fifos_and_sockets_never_come_back(work, tmp_path):
    art = work / "artifacts"
    (art / "shadow").symlink_to("/etc/shadow")
    (art / "part" / "b.npy").symlink_to("/etc/passwd")
    (art / "up").symlink_to("..")
    os.mkfifo(art / "fifo")
    (work / "executed.ipynb").unlink()
    (work / "executed.ipynb").symlink_to("/etc/passwd")  # a named entry that is a link
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits())
    out = tmp_path / "out"
    assert all(kind in ("dir",) or kind.startswith("file:") for kind in _tree(out).values())
    assert not any(p.is_symlink() for p in out.rglob("*"))
    assert _reasons(report) == {
        "artifacts/shadow": "link",
        "artifacts/part/b.npy": "link",
        "artifacts/up": "link",
        "artifacts/fifo": "special",
        "executed.ipynb": "link",
    }


def test_a_sparse_file_counts_its_apparent_size(work, tmp_path):
    with open(work / "artifacts" / "sparse.bin", "wb") as fh:
        fh.truncate(512 * MiB)  # almost no blocks used, 512 MiB when read
    assert os.stat(work / "artifacts" / "sparse.bin").st_blocks * 512 < MiB
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_bytes=64 * MiB))
    assert not (tmp_path / "out" / "artifacts" / "sparse.bin").exists()
    assert _reasons(report) == {"artifacts/sparse.bin": "size"} and report.dropped_bytes == 512 * MiB
    # what fits still comes back, also after the file that did not
    assert (tmp_path / "out" / "executed.ipynb").is_file() and report.files == 3


def test_the_byte_cap_holds_for_many_files_that_each_fit(work, tmp_path):
    for i in range(10):
        (work / "artifacts" / f"f{i}.bin").write_bytes(b"y" * 100_000)
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_bytes=350_000))
    copied = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert copied == report.bytes <= 350_000
    assert report.dropped_count == 7 and set(_reasons(report).values()) == {"size"}


def test_hard_links_are_copied_once(work, tmp_path):
    big = work / "artifacts" / "big.bin"
    big.write_bytes(b"z" * MiB)
    for i in range(50):
        os.link(big, work / "artifacts" / f"link{i}.bin")
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_bytes=4 * MiB))
    copies = [p for p in (tmp_path / "out" / "artifacts").iterdir() if p.is_file()]
    assert [p.name for p in copies] == ["big.bin"]
    assert report.dropped_count == 50 and set(_reasons(report).values()) == {"hard-link"}
    assert report.bytes < 2 * MiB


def test_too_many_files_stop_the_copy_and_say_so(work, tmp_path):
    many = work / "artifacts" / "many"
    many.mkdir()
    for i in range(300):
        (many / f"{i:04d}").write_bytes(b"")
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_files=50))
    assert sum(1 for _ in (tmp_path / "out").rglob("*")) <= 50
    assert report.stopped == "files" and report.dropped[-1]["reason"] == "files"


def test_deep_folders_are_cut_and_removable(work, tmp_path):
    deep = work / "artifacts"
    fd = os.open(deep, os.O_RDONLY)
    for _ in range(1100):  # past PATH_MAX (5500 characters) and Python's recursion limit
        os.mkdir("dddd", dir_fd=fd)
        child = os.open("dddd", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_depth=8))
    assert "depth" in _reasons(report).values()
    assert max(len(p.relative_to(tmp_path / "out").parts) for p in (tmp_path / "out").rglob("*")) <= 9
    remove_tree(work)
    assert not work.exists()


def test_a_wide_tree_is_removed_in_linear_time(tmp_path):
    root = tmp_path / "wide"
    for i in range(200):
        (root / f"d{i}" / "e").mkdir(parents=True)
        (root / f"d{i}" / "e" / "f").write_text("x")
    (root / "link").symlink_to("/etc")
    (root / "d0" / "locked").mkdir()
    (root / "d0" / "locked").chmod(0)
    remove_tree(root)
    assert not root.exists() and Path("/etc/passwd").exists()


def test_the_time_limit_stops_a_long_copy(work, tmp_path):
    (work / "artifacts" / "big.bin").write_bytes(b"w" * (8 * MiB))
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_seconds=0.0))
    assert report.stopped == "time" and report.files == 0
    assert not any(p.is_file() for p in (tmp_path / "out").rglob("*"))  # no half-copied file


def test_a_fifo_swapped_in_does_not_block(work, tmp_path, monkeypatch):
    """A name that was a file when looked at and is a FIFO when opened is refused at once."""
    import grader.intake.copyback as cb

    real_stat = os.stat
    target = work / "artifacts" / "swap"
    target.write_bytes(b"data")

    def stat_then_swap(name, *args, **kwargs):
        info = real_stat(name, *args, **kwargs)
        if name == "swap":
            os.unlink(target)
            os.mkfifo(target)
        return info

    monkeypatch.setattr(cb.os, "stat", stat_then_swap)
    done = threading.Event()
    result = {}

    def run():
        result["report"] = copy_back(work, tmp_path / "out", KEEP, CopyLimits())
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "the copy blocked on a FIFO"
    assert _reasons(result["report"])["artifacts/swap"] in ("special", "unreadable")


def test_keep_only_leaves_the_selection_in_place(work):
    (work / "artifacts" / "leak").symlink_to("/etc/shadow")
    report = keep_only(work, KEEP, CopyLimits())
    assert sorted(p.name for p in work.iterdir()) == ["artifacts", "executed.ipynb", "record.json"]
    assert not (work / "artifacts" / "leak").is_symlink()
    assert report.dropped_count == 1
    assert [p.name for p in work.parent.iterdir() if p.name.startswith(".dlgrade")] == []


def test_keep_none_copies_everything_under_the_same_rules(work, tmp_path):
    (work / "home" / "link").symlink_to("/etc/shadow")
    report = copy_back(work, tmp_path / "out", None, CopyLimits())
    assert (tmp_path / "out" / "home" / "big.bin").read_bytes() == b"x" * 4096
    assert _reasons(report) == {"home/link": "link"}


def test_names_must_be_plain(work, tmp_path):
    with pytest.raises(ValueError):
        copy_back(work, tmp_path / "out", ["../etc"], CopyLimits())


def test_clear_folder_keeps_the_folder(work):
    clear_folder(work)
    assert work.is_dir() and list(work.iterdir()) == []


def test_copy_is_fast_on_an_honest_tree(work, tmp_path):
    for i in range(200):
        (work / "artifacts" / "part" / f"a{i}.npy").write_bytes(b"0" * 10_000)
    started = time.monotonic()
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits())
    assert report.files == 203 and report.dropped_count == 0
    assert time.monotonic() - started < 3.0  # about 0.05 s; slack for a loaded machine


# --- what stays in a submission's output folder --------------------------------------------
def _toy_grade(tmp_path: Path, runner, **options):
    import nbformat
    from toy import make_toy

    from grader.assignment.spec import load_assignment
    from grader.pipeline.grading import GradeOptions, grade

    assignment = load_assignment(make_toy(tmp_path))
    sub = tmp_path / "subs" / "toy.ipynb"
    sub.parent.mkdir()
    nbformat.write(nbformat.read(tmp_path / "exercises/toy/toy.ipynb", as_version=4), sub)
    return grade(sub, assignment, runner, tmp_path / "out", GradeOptions(**options))


class _Leaving:
    """A runner whose copy-back refused some entries, as the real sandbox reports them."""

    def __init__(self, dropped: list[dict], count: int):
        from fakes import FakeRunner, Scenario

        self.inner = FakeRunner(Scenario())
        self.copied = {
            "files": 3,
            "bytes": 100,
            "seconds": 0.01,
            "dropped": dropped,
            "dropped_count": count,
            "dropped_bytes": 512 * MiB,
            "stopped": "",
        }

    def execute(self, job):
        outcome = self.inner.execute(job)
        outcome.process.copy_back = self.copied
        return outcome

    def evaluate(self, *args):
        return self.inner.evaluate(*args)


def test_work_folders_go_after_grading_unless_kept(tmp_path):
    from fakes import FakeRunner, Scenario

    _toy_grade(tmp_path / "a", FakeRunner(Scenario()))
    # only the notebook kept for its feedback page (grader.pipeline.feedback) stays; what its
    # checks read is kept only for a grading recorded in a gradebook (tests/test_rescore.py)
    assert sorted(p.name for p in (tmp_path / "a" / "out" / "toy").iterdir()) == ["toy.executed.ipynb"]
    _toy_grade(tmp_path / "b", FakeRunner(Scenario()), keep_work=True)
    assert (tmp_path / "b" / "out" / "toy" / "work" / "toy" / "record.json").is_file()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_what_was_not_kept_is_said_in_the_result(tmp_path, lang):
    dropped = [
        {"path": "artifacts/shadow", "reason": "link", "bytes": 0},
        {"path": "artifacts/sparse.bin", "reason": "size", "bytes": 512 * MiB},
        {"path": "artifacts/links/h1", "reason": "hard-link", "bytes": 0},
        {"path": "artifacts/fifo", "reason": "special", "bytes": 0},
    ]
    result = _toy_grade(tmp_path, _Leaving(dropped, 40), lang=lang)
    part = next(p for p in result.parts if p.id == "toy-output")
    assert part.score == part.max_score == 0
    keys = [c.message_key for c in part.checks]
    assert keys == ["output.link", "output.size", "output.hard_link", "output.special", "output.more"]
    assert all(c.message and "{" not in c.message for c in part.checks)
    assert "512.0 MiB" in part.checks[1].message and "36" in part.checks[-1].message
    assert set(part.titles) == {"en", "ja"}
    # a clean run adds no such part
    from fakes import FakeRunner, Scenario

    clean = _toy_grade(tmp_path / "clean", FakeRunner(Scenario()), lang=lang)
    assert not [p for p in clean.parts if p.id.endswith("-output")]


def test_figures_share_the_output_budget(tmp_path):
    import base64

    import nbformat

    from grader.pipeline.grading import extract_plots

    png = b"\x89PNG\r\n\x1a\n" + b"p" * 100_000
    nb = nbformat.v4.new_notebook()
    for _ in range(6):
        cell = nbformat.v4.new_code_cell("plot()")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()})]
        nb.cells.append(cell)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    plots, over = extract_plots(path, tmp_path / "plots", "nb", budget=350_000)
    assert len(plots) == 3 and over == 3
    assert sum(p.stat().st_size for p in (tmp_path / "plots").iterdir()) <= 350_000


def test_keep_work_is_an_option_of_grade_and_check():
    from grader.cli.main import build_parser

    parser = build_parser()
    assert parser.parse_args(["grade", "s", "--assignment", "a", "--out", "o", "--keep-work"]).keep_work
    assert not parser.parse_args(["grade", "s", "--assignment", "a", "--out", "o"]).keep_work
    assert parser.parse_args(["check", "nb.ipynb", "--keep-work"]).keep_work


def test_a_hard_linked_file_too_large_is_counted_once(work, tmp_path):
    big = work / "artifacts" / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 * MiB)  # sparse: 64 MiB apparent, nothing on disk
    for i in range(20):
        os.link(big, work / "artifacts" / f"link{i}.bin")
    report = copy_back(work, tmp_path / "out", KEEP, CopyLimits(max_bytes=4 * MiB))
    assert not list((tmp_path / "out" / "artifacts").glob("*.bin"))
    # one file of 64 MiB was left out, not 21 of them
    assert report.dropped_bytes == 64 * MiB and report.dropped_count == 21
