"""Intake: a submission is read as regular files only, from inside itself, with bounds; links,
FIFOs, devices, sockets and oversize files become verdicts in the result, never a hang, a crash
or host bytes in a report. `dlgrade check` the same, and its report is never written through a link."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from fakes import FakeRunner, Scenario
from toy import make_toy

from grader.assignment.spec import load_assignment
from grader.cli import main as cli
from grader.intake import submission as intake
from grader.intake.submission import Refused, list_submission, read_regular
from grader.notebook import format as nbf
from grader.pipeline.grading import GradeOptions, grade, match_notebooks

GOOD = {"toy_shapes": {"W_shape": [3, 2], "steps": [1, 10, 100]}, "toy_score": {"acc": 0.9}}
SECRET = "host-secret-7f3a: never in a report"


@pytest.fixture
def toy(tmp_path):
    sol = make_toy(tmp_path)
    secret = tmp_path / "host" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    return load_assignment(sol), tmp_path


def in_time(fn, seconds: float = 10.0):
    """fn() run in a thread that must finish within `seconds`: a FIFO or /proc file must not block."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "intake blocked"
    if "error" in box:
        raise box["error"]
    return box["value"]


def folder(tmp_path: Path, name: str = "alice", source: str = "W = np.zeros((3, 2))") -> Path:
    """A submission folder holding an honest toy notebook."""
    nb = nbformat.read(tmp_path / "exercises/toy/toy.ipynb", as_version=4)
    for cell in nb.cells:
        if nbf.grade_id(cell) == "toy_vars":
            cell.source = source
    sub = tmp_path / "class" / name
    sub.mkdir(parents=True)
    nbformat.write(nb, sub / "toy.ipynb")
    return sub


def graded(toy, submission: Path, lang: str = "en"):
    assignment, tmp_path = toy
    runner = FakeRunner(Scenario(exports=GOOD))
    result = in_time(lambda: grade(submission, assignment, runner, tmp_path / "out", GradeOptions(lang=lang)))
    assert not result.problems
    assert SECRET not in json.dumps(result.to_dict(), ensure_ascii=False)
    return result, runner


def messages(result) -> list[str]:
    return [c.message for p in result.parts for c in p.checks]


def intake_checks(result) -> dict[str, str]:
    part = next((p for p in result.parts if p.id == "submission-files"), None)
    return {c.name: c.message for c in part.checks} if part else {}


# --- the notebook itself -------------------------------------------------------------------------
def test_an_honest_folder_is_graded_and_has_no_intake_part(toy):
    result, runner = graded(toy, folder(toy[1]))
    assert result.score == result.max_score == 8 and len(runner.jobs) == 1
    assert intake_checks(result) == {}


def test_the_notebook_as_a_link_to_the_reference_solution_is_not_read(toy):
    sub = folder(toy[1])
    (sub / "toy.ipynb").unlink()
    (sub / "toy.ipynb").symlink_to(toy[1] / "solutions/toy/toy.ipynb")
    result, runner = graded(toy, sub)
    assert not runner.jobs and result.score == 0
    assert all(m == "toy.ipynb is a symbolic link: not read" for m in messages(result))
    assert result.notebooks[0]["status"] == "refused"


def test_a_renamed_link_is_not_matched_by_its_cells_either(toy):
    sub = folder(toy[1])
    (sub / "toy.ipynb").unlink()
    (sub / "mine.ipynb").symlink_to(toy[1] / "solutions/toy/toy.ipynb")
    result, runner = graded(toy, sub)
    assert not runner.jobs and result.score == 0
    assert intake_checks(result) == {"mine.ipynb": "mine.ipynb is a symbolic link: not read"}
    # and the matching, called on its own, reads no link either
    matched, unmatched = match_notebooks([sub / "mine.ipynb"], toy[0], within=sub.parent)
    assert matched == {"toy.ipynb": sub / "mine.ipynb"}  # the only candidate: graded, and refused there


def test_a_link_to_a_host_file_never_puts_its_bytes_in_the_report(toy):
    sub = folder(toy[1])
    (sub / "notes.ipynb").symlink_to(toy[1] / "host/secret.txt")
    (sub / "data").symlink_to(toy[1] / "host")
    result, runner = graded(toy, sub)  # asserts the secret is nowhere in the result
    assert result.score == 8  # the honest notebook beside them is graded as usual
    assert intake_checks(result) == {
        "notes.ipynb": "notes.ipynb is a symbolic link: not read",
        "data": "data is a symbolic link: not read",
    }


def test_a_regular_file_that_is_not_json_is_not_quoted(toy):
    sub = folder(toy[1])
    (sub / "toy.ipynb").write_text(SECRET)
    result, runner = graded(toy, sub)
    assert all("not JSON (line 1, column 1)" in m for m in messages(result))


def test_a_symlinked_folder_is_not_entered(toy):
    sub = folder(toy[1])
    elsewhere = toy[1] / "host" / "stolen"
    elsewhere.mkdir()
    os.replace(sub / "toy.ipynb", elsewhere / "toy.ipynb")
    (sub / "work").symlink_to(elsewhere)
    listing = list_submission(sub)
    assert listing.notebooks == []
    assert [r.message("en") for r in listing.refused] == ["work is a symbolic link: not read"]


def test_a_top_level_link_is_refused_like_any_other(toy):
    sub = folder(toy[1])
    link = toy[1] / "class" / "mallory"
    link.symlink_to(sub)
    result, runner = graded(toy, link)
    assert not runner.jobs and result.score == 0
    assert set(messages(result)) == {"mallory is a symbolic link: not read"}
    single = toy[1] / "class" / "toy.ipynb"
    single.symlink_to(toy[1] / "solutions/toy/toy.ipynb")
    result, runner = graded(toy, single)
    assert not runner.jobs and set(messages(result)) == {"toy.ipynb is a symbolic link: not read"}
    fifo = toy[1] / "class" / "pipe"
    os.mkfifo(fifo)
    result, runner = graded(toy, fifo)
    assert not runner.jobs and set(messages(result)) == {
        "pipe is not a regular file (a pipe, socket or device): not read"
    }


def test_a_fifo_named_like_the_notebook_neither_blocks_nor_is_read(toy):
    sub = folder(toy[1])
    (sub / "toy.ipynb").unlink()
    os.mkfifo(sub / "toy.ipynb")
    result, runner = graded(toy, sub)
    assert not runner.jobs
    assert all(m == "toy.ipynb is not a regular file (a pipe, socket or device): not read" for m in messages(result))


def test_a_fifo_raced_in_after_the_listing_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "x.ipynb")
    with pytest.raises(Refused, match="not a regular file"):
        in_time(lambda: read_regular(tmp_path / "x.ipynb", 1024))


@pytest.mark.parametrize("target", ["/dev/zero", "/proc/self/environ", "/proc/kmsg", "/etc/passwd"])
def test_links_to_devices_and_proc_files_are_refused_without_opening_them(toy, target):
    sub = folder(toy[1])
    (sub / "toy.ipynb").unlink()
    (sub / "toy.ipynb").symlink_to(target)
    result, runner = graded(toy, sub)
    assert not runner.jobs and set(messages(result)) == {"toy.ipynb is a symbolic link: not read"}


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root (tar makes device nodes when root unpacks)")
def test_a_device_node_is_refused_without_opening_it(toy):
    sub = folder(toy[1])
    (sub / "toy.ipynb").unlink()
    os.mknod(sub / "toy.ipynb", 0o600 | 0o020000, os.makedev(1, 5))  # a character device: /dev/zero
    result, runner = graded(toy, sub)
    assert not runner.jobs and "is not a regular file" in messages(result)[0]
    with pytest.raises(Refused, match="not a regular file"):
        in_time(lambda: read_regular(sub / "toy.ipynb", 1024))


def test_a_socket_is_refused(toy):
    sub = folder(toy[1])
    (sub / "toy.ipynb").unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(os.fspath(sub / "toy.ipynb"))
        result, runner = graded(toy, sub)
    finally:
        server.close()
    assert not runner.jobs and "is not a regular file" in messages(result)[0]


def test_an_oversize_file_is_refused_by_its_size_before_it_is_read(toy):
    sub = folder(toy[1])
    with open(sub / "big.ipynb", "wb") as fh:
        fh.truncate(nbf.MAX_NOTEBOOK_BYTES + 1)  # sparse: reading it would take the time
    started = time.monotonic()
    result, runner = graded(toy, sub)
    assert time.monotonic() - started < 2
    assert intake_checks(result) == {"big.ipynb": "big.ipynb is 100.0 MiB; files over 100 MiB are not read"}
    assert result.score == 8


def test_a_folder_swapped_for_a_link_after_the_listing_is_refused(tmp_path):
    sub = tmp_path / "alice"
    (sub / "nested").mkdir(parents=True)
    (sub / "nested" / "a.ipynb").write_text("{}")
    listing = list_submission(sub)
    assert listing.notebooks == [sub / "nested" / "a.ipynb"]
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "a.ipynb").write_text(SECRET)
    os.rename(sub / "nested", tmp_path / "gone")
    (sub / "nested").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(Refused, match="alice/nested is a symbolic link: not read"):
        read_regular(sub / "nested" / "a.ipynb", 1024, within=listing.base)
    with pytest.raises(Refused, match="a.ipynb is a symbolic link"):  # and the file itself
        (sub / "nested").unlink()
        (sub / "nested").mkdir()
        (sub / "nested" / "a.ipynb").symlink_to(tmp_path / "elsewhere" / "a.ipynb")
        nbf.read_notebook(sub / "nested" / "a.ipynb", within=listing.base)


def test_a_hard_link_is_read_as_the_regular_file_it_is(tmp_path):
    """Kept on purpose (see grader.intake.submission): a hard link cannot be told from a regular file, and
    making one needs the right to read and write the target already."""
    (tmp_path / "alice").mkdir()
    (tmp_path / "outside.ipynb").write_text("{}")
    os.link(tmp_path / "outside.ipynb", tmp_path / "alice" / "a.ipynb")
    listing = list_submission(tmp_path / "alice")
    assert listing.notebooks == [tmp_path / "alice" / "a.ipynb"] and listing.refused == []
    assert read_regular(listing.notebooks[0], 1024, within=listing.base) == b"{}"


# --- bounds of the walk --------------------------------------------------------------------------
def test_deep_nesting_stops_at_the_depth_bound(tmp_path):
    sub = tmp_path / "alice"
    deep = sub.joinpath(*["d"] * 200)
    deep.mkdir(parents=True)
    (deep / "hidden.ipynb").write_text("{}")
    (sub / "top.ipynb").write_text("{}")
    started = time.monotonic()
    listing = in_time(lambda: list_submission(sub))
    assert time.monotonic() - started < 1
    assert listing.notebooks == [sub / "top.ipynb"]
    assert [r.message("en") for r in listing.refused] == [
        f"folders more than {intake.MAX_DEPTH} levels deep were not searched (the first: {'/'.join(['d'] * 9)})"
    ]


def test_many_entries_stop_at_the_entry_bound_and_top_notebooks_come_first(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_ENTRIES", 300)
    sub = tmp_path / "alice"
    (sub / "junk").mkdir(parents=True)
    for i in range(1000):
        (sub / "junk" / f"{i}.txt").touch()
    (sub / "toy.ipynb").write_text("{}")
    listing = list_submission(sub)
    assert listing.notebooks == [sub / "toy.ipynb"]  # breadth first: the top is listed before junk/
    assert [r.key for r in listing.refused] == ["intake.too_many_entries"]


def test_many_notebooks_and_many_links_are_bounded_and_counted(toy, monkeypatch):
    sub = folder(toy[1])
    for i in range(intake.MAX_NOTEBOOKS + 5):
        (sub / f"extra{i:03}.ipynb").write_text("{}")
    for i in range(intake.MAX_REPORTED + 7):
        (sub / f"link{i:03}").symlink_to("/etc/passwd")
    listing = list_submission(sub)
    assert len(listing.notebooks) == intake.MAX_NOTEBOOKS
    assert len(listing.refused) == intake.MAX_REPORTED
    assert listing.more_refused == 8  # 7 links and the too-many-notebooks note past the first 20


def test_notebooks_nearest_the_top_are_kept_within_the_byte_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_TOTAL_BYTES", 1000)
    sub = tmp_path / "alice"
    (sub / "a" / "b").mkdir(parents=True)
    (sub / "a" / "b" / "0.ipynb").write_text("x" * 10)
    (sub / "a" / "junk.ipynb").write_text("x" * 900)
    (sub / "z.ipynb").write_text("x" * 300)
    (sub / "toy.ipynb").write_text("x" * 600)
    listing = list_submission(sub)
    assert listing.notebooks == [sub / "a" / "b" / "0.ipynb", sub / "toy.ipynb", sub / "z.ipynb"]
    assert [r.message("en") for r in listing.refused] == [
        "1 notebook(s) were not read, a/junk.ipynb first: one submission is read up to 16 notebooks and 0 MiB"
    ]


def test_checkpoints_git_and_macosx_folders_are_skipped(tmp_path):
    sub = tmp_path / "alice"
    for skipped in (".ipynb_checkpoints", ".git", "__MACOSX"):
        (sub / skipped).mkdir(parents=True)
        (sub / skipped / "toy.ipynb").write_text("{}")
        (sub / skipped / "link").symlink_to("/etc")
    (sub / "toy.ipynb").write_text("{}")
    listing = list_submission(sub)
    assert listing.notebooks == [sub / "toy.ipynb"] and listing.refused == []


def test_the_intake_part_is_worded_in_japanese_too(toy):
    sub = folder(toy[1])
    (sub / "notes.ipynb").symlink_to("/etc/passwd")
    result, _ = graded(toy, sub, lang="ja")
    assert intake_checks(result) == {"notes.ipynb": "notes.ipynb はシンボリックリンクのため読み込みませんでした"}
    part = next(p for p in result.parts if p.id == "submission-files")
    assert part.title == "提出されたファイル" and part.max_score == 0


def test_every_intake_key_is_in_both_languages():
    from grader.i18n import CATALOG

    keys = [k for k in CATALOG if k.startswith("intake.")]
    assert len(keys) >= 10
    assert all(CATALOG[k].get("en") and CATALOG[k].get("ja") for k in keys)


# --- dlgrade check -------------------------------------------------------------------------------
def test_dlgrade_check_refuses_a_symlinked_notebook_before_running_anything(toy, capsys):
    _, tmp_path = toy
    link = tmp_path / "mine.ipynb"
    link.symlink_to(tmp_path / "solutions/toy/toy.ipynb")
    code = in_time(lambda: cli.main(["check", str(link), "--assignment", str(tmp_path / "solutions/toy")]))
    assert code == 2 and "mine.ipynb is a symbolic link: not read" in capsys.readouterr().err
    assert not (tmp_path / "dlgrade-check").exists()
    os.mkfifo(tmp_path / "fifo.ipynb")
    code = in_time(lambda: cli.main(["check", str(tmp_path / "fifo.ipynb"), "--lang", "ja"]))
    assert code == 2 and "fifo.ipynb は通常のファイルではありません" in capsys.readouterr().err


def test_dlgrade_check_never_writes_its_report_through_a_planted_link(toy, capsys):
    _, tmp_path = toy
    sub = folder(tmp_path)
    target = tmp_path / "host" / "victim"
    target.mkdir()
    (sub / "dlgrade-check").symlink_to(target)
    args = ["check", str(sub / "toy.ipynb"), "--assignment", str(tmp_path / "solutions/toy")]
    assert in_time(lambda: cli.main(args)) == 2
    assert f"{sub / 'dlgrade-check'} is a link, or not a regular file or folder" in capsys.readouterr().err
    (sub / "dlgrade-check").unlink()
    (sub / "dlgrade-check" / "toy" / "plots").mkdir(parents=True)
    (sub / "dlgrade-check" / "toy" / "report.html").symlink_to(target / "report.html")
    assert in_time(lambda: cli.main(args)) == 2
    assert f"{sub / 'dlgrade-check/toy/report.html'} is a link" in capsys.readouterr().err
    assert list(target.iterdir()) == []
