"""Collecting an LMS export: Moodle's and Canvas's names and one folder per student id, matched to
a Japanese roster; hostile archives refused entry by entry with nothing written outside the
submissions folder; `dlgrade grade --db` recording every run; the gradebook part on SQLite and
on a real PostgreSQL server (tests/postgres.py). One slow test grades a collected Moodle zip."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from postgres import postgres_server  # noqa: F401  (the session's server)

from grader.cli import main as cli
from grader.gradebook import Gradebook, RosterRow, read_roster
from grader.gradebook.collect import collect, latest_submissions, roster_keys
from grader.gradebook.models import Run, Submission
from grader.intake import lms
from grader.intake.lms import open_export
from grader.intake.submission import Refused
from grader.results import CheckResult, PartResult, Result, Status

REPO = Path(__file__).resolve().parents[1]
NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
JST = timezone(timedelta(hours=9))
ROSTER = [
    RosterRow("2024001", "山田 太郎", None),
    RosterRow("2024002", "佐藤　花子", None),  # a full-width space, as Japanese Excel keeps it
    RosterRow("2024003", "John Doe", None),
    RosterRow("2024004", "鈴木 一郎", None),
    RosterRow("2024005", "鈴木 一郎", None),  # the same name twice: never matched by name
]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'course.db'}"
    return request.getfixturevalue("postgres_server").new_database()


def make_zip(path: Path, entries: dict, when=(2026, 12, 20, 23, 0, 0)) -> Path:
    """A zip of name -> bytes (or ZipInfo-ready (bytes, mode)); every entry dated `when` (DOS time)."""
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, when)
            if isinstance(data, tuple):
                data, mode = data
                info.external_attr = mode << 16
            z.writestr(info, data)
    return path


def raw_names(path: Path, swaps: dict[bytes, bytes]) -> None:
    """Put raw bytes into a zip's names (both headers) with flag bit 11 unset, as Japanese
    Windows writes cp932: each placeholder is ASCII of the same length."""
    data = path.read_bytes()
    for placeholder, raw in swaps.items():
        assert len(placeholder) == len(raw) and data.count(placeholder) == 2
        data = data.replace(placeholder, raw)
    path.write_bytes(data)


def tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# --- reading exports (no database) -----------------------------------------------------------


def test_moodle_folders_and_flat_files_japanese_names_and_onlinetext(tmp_path):
    export = make_zip(tmp_path / "moodle.zip", {
        "山田 太郎_101_assignsubmission_file_/cnn.ipynb": NB,
        "山田 太郎_101_assignsubmission_file_/data/x.csv": b"1,2\n",
        "山田 太郎_101_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
        "John Doe_102_assignsubmission_file_cnn.ipynb": NB,  # "download in folders" off
        "John Doe_102_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>",
        "__MACOSX/._x": b"", "山田 太郎_101_assignsubmission_file_/.DS_Store": b"",
    })  # fmt: skip
    with open_export(export, JST) as ex:
        entries = {e.ref: e for e in ex.entries}
        assert set(entries) == {"山田 太郎_101_assignsubmission_file_", "John Doe_102_assignsubmission_file_"}
        yamada = entries["山田 太郎_101_assignsubmission_file_"]
        assert (yamada.source, yamada.name, yamada.lms_id, yamada.late) == ("moodle", "山田 太郎", "101", None)
        assert set(yamada.files) == {"cnn.ipynb", "data/x.csv"}
        assert yamada.submitted_at == datetime(2026, 12, 20, 23, 0, tzinfo=JST)  # DOS time, in the due date's zone
        assert set(entries["John Doe_102_assignsubmission_file_"].files) == {"cnn.ipynb"}
        assert [k for k, _ in ex.skipped] == ["collect.skipped_plugin"] * 2
        assert ex.read(yamada.files["cnn.ipynb"]) == NB


def test_canvas_names_late_marker_and_text_entries(tmp_path):
    export = make_zip(tmp_path / "canvas.zip", {
        "yamadataro_12345_67890_cnn.ipynb": NB,
        "yamadataro_12345_67891_helper.py": b"x = 1\n",
        "doe_john_late_222_333_cnn-1.ipynb": NB,  # Canvas renames a resubmitted file
        "late_444_555_cnn.ipynb": NB,  # anonymous grading: no name, the marker only
        "satohanako_666_text.html": b"<p>hi</p>",
    })  # fmt: skip
    with open_export(export) as ex:
        entries = {e.lms_id: e for e in ex.entries}
    assert (entries["12345"].name, entries["12345"].late, set(entries["12345"].files)) == (
        "yamadataro", False, {"cnn.ipynb", "helper.py"})  # fmt: skip
    assert (entries["222"].name, entries["222"].late, list(entries["222"].files)) == ("doe_john", True, ["cnn-1.ipynb"])
    assert (entries["444"].name, entries["444"].late) == (None, True)
    assert [k for k, _ in ex.skipped] == ["collect.skipped_text"]


def test_folders_per_student_id_in_a_wrapper_folder_with_file_times(tmp_path):
    root = tmp_path / "export" / "hw1 submissions"
    for student in ("2024001", "２０２４００３"):  # full-width digits read as the id
        (root / student / "sub").mkdir(parents=True)
        (root / student / "sub" / "cnn.ipynb").write_bytes(NB)
    os.utime(root / "2024001" / "sub" / "cnn.ipynb", (1_800_000_000, 1_800_000_000))
    (root / "2024001" / "link.ipynb").symlink_to("/etc/passwd")
    with open_export(tmp_path / "export") as ex:
        entries = {e.student_id: e for e in ex.entries}
        assert set(entries) == {"2024001", "2024003"}
        assert entries["2024001"].source == "folder" and list(entries["2024001"].files) == ["sub/cnn.ipynb"]
        assert entries["2024001"].submitted_at == datetime.fromtimestamp(1_800_000_000, UTC)
        assert [r.key for r in ex.refused] == ["intake.symlink"]  # named, never followed


def test_one_students_folder_of_folders_is_not_taken_for_a_wrapper(tmp_path):
    export = make_zip(tmp_path / "one.zip", {"2024001/a/x.ipynb": NB, "2024001/b/y.ipynb": NB})
    with open_export(export, ids=frozenset({"2024001"})) as ex:
        assert [(e.student_id, sorted(e.files)) for e in ex.entries] == [("2024001", ["a/x.ipynb", "b/y.ipynb"])]


def test_cp932_names_without_the_utf8_flag_and_undecodable_ones(tmp_path):
    export = make_zip(tmp_path / "win.zip", {"AAAA_101_assignsubmission_file_/QQQQ.ipynb": NB, "ZZ.ipynb": NB})
    raw_names(export, {b"AAAA": "山田".encode("cp932"), b"QQQQ": "課題".encode("cp932"), b"ZZ": b"\x81 "})
    with open_export(export) as ex:
        assert [(e.name, list(e.files)) for e in ex.entries] == [("山田", ["課題.ipynb"])]
        assert [r.key for r in ex.refused] == ["collect.bad_name"]


def test_hostile_entries_are_refused_one_by_one_with_a_message(tmp_path):
    export = make_zip(tmp_path / "evil.zip", {
        "../../etc/cron.d/x": b"evil",
        "/etc/passwd": b"evil",
        "C:\\Windows\\x.ipynb": b"evil",
        "2024001/..\\..\\up.ipynb": b"evil",
        "2024001/link.ipynb": ("/etc/shadow", 0o120777),
        "2024001/fifo": (b"", 0o010644),
        "2024001/cnn.ipynb": NB,
        "2024001/Cnn.ipynb": NB + b" ",  # the same name on a case-insensitive disk: kept as "Cnn (2).ipynb"
        "2024001/bell\x07.ipynb": NB,
        "2024001/" + "d/" * 40 + "deep.ipynb": NB,
    })  # fmt: skip
    with open_export(export) as ex:
        keys = sorted(r.key for r in ex.refused)
        assert keys == sorted(["collect.climbs_out", "collect.absolute", "collect.absolute", "collect.climbs_out",
                               "intake.symlink", "intake.not_regular", "collect.control_in_name", "intake.too_deep"])  # fmt: skip
        (entry,) = ex.entries
        assert sorted(entry.files) == ["Cnn.ipynb", "cnn (2).ipynb"]  # equal times: the later entry is the newer
        assert [k for k, _ in entry.notes] == ["collect.renamed"]
        member = next(iter(entry.files.values()))
        member.size -= 1  # an entry whose data is longer than its header says
        with pytest.raises(Refused) as caught:
            ex.read(member)
        assert caught.value.key == "collect.size_lies"


def test_encrypted_corrupt_and_overlong_entries_and_the_extended_timestamp(tmp_path):
    export = tmp_path / "odd.zip"
    stamp = 1_800_000_000
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("2024001/locked.ipynb", NB)  # marked encrypted below: there is no password to give
        z.writestr("2024001/" + "長" * 90 + ".ipynb", NB)  # 270 bytes of UTF-8: no disk takes the name
        z.writestr("2024001/corrupt.ipynb", b"CORRUPTME" + NB)
        timed = zipfile.ZipInfo("2024001/cnn.ipynb", (2026, 1, 1, 0, 0, 0))
        timed.extra = struct.pack("<HHBi", 0x5455, 5, 1, stamp)  # Info-ZIP's UTC mtime beside the DOS time
        z.writestr(timed, NB)
    data = bytearray(export.read_bytes().replace(b"CORRUPTME", b"CORRUPTED", 1))  # the data: its CRC fails
    at = data.find(b"PK\x01\x02")  # the central directory, whose flags zipfile reads
    while at >= 0:
        if data[at + 46 : at + 46 + struct.unpack_from("<H", data, at + 28)[0]] == b"2024001/locked.ipynb":
            data[at + 8] |= 0x1
        at = data.find(b"PK\x01\x02", at + 1)
    export.write_bytes(bytes(data))
    with open_export(export) as ex:
        assert sorted(r.key for r in ex.refused) == ["collect.encrypted", "collect.name_too_long"]
        files = ex.entries[0].files
        assert files["cnn.ipynb"].mtime == datetime.fromtimestamp(stamp, UTC)
        with pytest.raises(Refused) as caught:
            ex.read(files["corrupt.ipynb"])
        assert caught.value.key == "collect.bad_entry"


def test_a_folder_unpacked_from_a_cp932_zip_keeps_its_japanese_names(tmp_path):
    student = tmp_path / "export" / "2024001"
    student.mkdir(parents=True)
    (student / os.fsdecode("課題.ipynb".encode("cp932"))).write_bytes(NB)  # unzip writes the raw bytes
    with open_export(tmp_path / "export") as ex:
        assert list(ex.entries[0].files) == ["課題.ipynb"] and ex.read(ex.entries[0].files["課題.ipynb"]) == NB


def test_nfd_names_become_nfc_and_clash_with_their_nfc_twin(tmp_path):
    nfd = "2024001/\u30ce\u30fc\u30c8\u3099.ipynb"  # ド as ト + combining mark, as macOS writes it
    export = make_zip(tmp_path / "mac.zip", {nfd: NB, "2024001/\u30ce\u30fc\u30c9.ipynb": NB + b" "})
    with open_export(export) as ex:
        assert sorted(ex.entries[0].files) == ["ノード (2).ipynb", "ノード.ipynb"]


def test_zip_bombs_are_refused_before_any_data_is_read(tmp_path, monkeypatch):
    many = make_zip(tmp_path / "many.zip", {f"2024001/{i}.ipynb": b"" for i in range(30)})
    monkeypatch.setattr(lms, "MAX_ENTRIES", 20)
    with pytest.raises(Refused) as caught:
        open_export(many)
    assert caught.value.key == "collect.too_many_entries"
    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"2024001/{i}.ipynb", b"\0" * 2**20)  # 3 MiB in a few KiB
    assert big.stat().st_size < 50_000
    monkeypatch.setattr(lms, "MAX_EXPORT_BYTES", 2 * 2**20)
    with pytest.raises(Refused) as caught:
        open_export(big)
    assert caught.value.key == "collect.too_big"
    monkeypatch.setattr(lms, "MAX_EXPORT_BYTES", 2**30)
    monkeypatch.setattr(lms, "MAX_FILE_BYTES", 2**19)
    with open_export(big) as ex:
        assert [r.key for r in ex.refused] == ["intake.too_large"] * 3 and not ex.entries
    (tmp_path / "notes.txt").write_text("not a zip")
    with pytest.raises(Refused) as caught:
        open_export(tmp_path / "notes.txt")
    assert caught.value.key == "collect.not_an_export"


def test_roster_names_match_in_any_word_order_without_spaces_or_width():
    assert "山田太郎" in roster_keys("山田 太郎") and "太郎山田" in roster_keys("山田　太郎")
    assert "doejohn" in roster_keys("John Doe") and "johndoe" in roster_keys("JOHN  DOE")


# --- collecting into the gradebook (SQLite and PostgreSQL) -------------------------------------


def test_collect_matches_keeps_and_records_every_entry(db_url, tmp_path):
    export = make_zip(tmp_path / "moodle.zip", {
        "太郎 山田_101_assignsubmission_file_/cnn.ipynb": NB,  # Moodle shows "given family"
        "佐藤 花子_102_assignsubmission_file_/cnn.ipynb": NB + b" ",
        "2024003 Doe_103_assignsubmission_file_/cnn.ipynb": NB + b"  ",  # the student number in the name
        "鈴木 一郎_104_assignsubmission_file_/cnn.ipynb": NB + b"   ",  # two students have this name
        "Nobody_105_assignsubmission_file_/cnn.ipynb": NB + b"    ",
        "../escape.ipynb": b"evil",
    })  # fmt: skip
    root = tmp_path / "course" / "submissions"
    with Gradebook(db_url) as book:
        book.import_roster(ROSTER)
        book.add_assignment("concepts", due_at=datetime(2026, 12, 20, 22, 59, tzinfo=JST))
        with open_export(export, JST) as ex:
            report = collect(book, ex, "concepts", root)
        got = {c.entry.name: (c.student, c.how, c.why and c.why[0], c.late) for c in report.collected}
        assert got == {
            "太郎 山田": ("2024001", "name", None, True),  # 23:00 JST, after 22:59 JST
            "佐藤 花子": ("2024002", "name", None, True),
            "2024003 Doe": ("2024003", "id", None, True),
            "鈴木 一郎": (None, "", "collect.ambiguous", True),
            "Nobody": (None, "", "collect.no_such_name", True),
        }
        assert [r.key for r in report.refused] == ["collect.climbs_out"]
        assert not (tmp_path / "escape.ipynb").exists() and not (tmp_path / "course" / "escape.ipynb").exists()
        kept = tree(root / "concepts")
        assert {p.split("/")[0] for p in kept} == {"2024001", "2024002", "2024003", "_unmatched"}
        assert not [p for p in kept if ".tmp" in p]
        with book._read() as s:
            rows = {r.source_ref: r for r in s.query(Submission)}
        yamada = rows["太郎 山田_101_assignsubmission_file_"]
        assert (yamada.student_id, yamada.source, yamada.late) == ("2024001", "moodle", True)
        assert yamada.submitted_at == datetime(2026, 12, 20, 14, 0, tzinfo=UTC)
        assert (Path(yamada.path) / "cnn.ipynb").read_bytes() == NB and yamada.files[0]["path"] == "cnn.ipynb"
        unmatched = [r for r in rows.values() if r.student_id is None]
        assert len(unmatched) == 2 and all(Path(r.path, "cnn.ipynb").is_file() for r in unmatched)  # never dropped
        # the same export again: the same submissions, nothing copied twice
        with open_export(export, JST) as ex:
            again = collect(book, ex, "concepts", root)
        assert [c.submission for c in again.collected] == [c.submission for c in report.collected]
        assert not any(c.new for c in again.collected) and tree(root / "concepts") == kept


def test_one_student_twice_keeps_both_and_the_newer_is_the_latest(db_url, tmp_path):
    export = tmp_path / "mixed.zip"
    with zipfile.ZipFile(export, "w") as z:  # Canvas keeps a Japanese name's letters: "山田, 太郎" -> 山田太郎
        z.writestr(zipfile.ZipInfo("山田太郎_1_10_cnn.ipynb", (2026, 12, 19, 10, 0, 0)), NB)
        z.writestr(zipfile.ZipInfo("山田 太郎_7_assignsubmission_file_/cnn.ipynb", (2026, 12, 18, 10, 0, 0)), NB + b" ")
    with Gradebook(db_url) as book:
        book.import_roster(ROSTER)
        with open_export(export, JST) as ex:
            report = collect(book, ex, "concepts", tmp_path / "submissions")
        assert [c.entry.source for c in report.twice["2024001"]] == ["moodle", "canvas"]  # oldest first
        (latest,) = latest_submissions(book, "concepts")
        assert latest.source == "canvas" and latest.id == report.twice["2024001"][-1].submission


def test_a_students_files_past_the_limit_are_refused_not_the_rest(db_url, tmp_path, monkeypatch):
    monkeypatch.setattr("grader.gradebook.collect.MAX_STUDENT_BYTES", 3 * len(NB))
    export = make_zip(tmp_path / "big.zip", {f"2024001/{i}.ipynb": NB for i in range(5)} | {"2024003/a.ipynb": NB})
    with Gradebook(db_url) as book:
        book.import_roster(ROSTER)
        with open_export(export) as ex:
            report = collect(book, ex, "concepts", tmp_path / "submissions")
        assert [r.key for r in report.refused] == ["collect.student_too_big"]
        assert {c.student: len(list(c.path.iterdir())) for c in report.collected} == {"2024001": 3, "2024003": 1}


def test_a_canvas_user_id_in_the_roster_matches_whatever_the_name(db_url, tmp_path):
    """Canvas may write a Japanese student's name in romaji: its user id, given in the roster's
    canvas_id column, decides; a later roster without the column keeps the ids known."""
    roster = tmp_path / "roster.csv"
    roster.write_bytes("学籍番号,氏名,canvas_id\n2024001,山田 太郎,５５５１\n2024002,佐藤 花子,\n".encode("cp932"))
    rows = read_roster(roster)
    assert [(r.id, r.lms_id) for r in rows] == [("2024001", "5551"), ("2024002", None)]
    export = make_zip(tmp_path / "canvas.zip", {"yamadataro_5551_1_cnn.ipynb": NB, "satohanako_7_2_cnn.ipynb": NB})
    with Gradebook(db_url) as book:
        book.import_roster(rows)
        book.import_roster([RosterRow("2024001", "山田 太郎", None)])  # no lms_id column this time
        with open_export(export) as ex:
            report = collect(book, ex, "concepts", tmp_path / "submissions")
        assert {c.entry.lms_id: (c.student, c.how) for c in report.collected} == {
            "5551": ("2024001", "lms_id"),
            "7": (None, ""),  # romaji, no id: unmatched, kept
        }


def fake_result(name: str, points: float) -> Result:
    check = CheckResult("c", Status.PASS if points else Status.FAIL, points, 1.0, message="m", message_key="pass")
    return Result(name, "concepts", parts=[PartResult.from_checks("p", "P", [check], notebook="cnn.ipynb")])


def test_grade_db_records_each_run_into_a_new_folder_beside_the_gradebook(db_url, tmp_path, monkeypatch, capsys):
    """grade --db with no paths grades each student's latest collected submission and every
    unmatched one; a second grading is a new folder and new runs; nothing earlier is changed."""
    monkeypatch.chdir(tmp_path)  # PostgreSQL: the course's folder is the current one
    export = make_zip(tmp_path / "moodle.zip", {
        "山田 太郎_1_assignsubmission_file_/cnn.ipynb": NB,
        "John Doe_2_assignsubmission_file_/cnn.ipynb": NB + b" ",
        "Nobody_3_assignsubmission_file_/cnn.ipynb": NB + b"  ",
    })  # fmt: skip
    with Gradebook(db_url) as book:
        book.import_roster(ROSTER)
    assert cli.main(["collect", str(export), "--assignment", "concepts", "--db", db_url]) == 1  # one unmatched
    assert "UNMATCHED Nobody_3_assignsubmission_file_" in capsys.readouterr().out
    graded = []

    def grade_class(submissions, assignment, runner, outdir, options, jobs, on_done, names=None):
        assert options.keep_scoring  # a run in the gradebook can be rescored
        results = [fake_result(names[p], 1.0 if "20" in names[p] else 0.0) for p in submissions]
        for n, r in enumerate(results, 1):
            (outdir / r.submission).mkdir(parents=True, exist_ok=True)
            on_done(r, n, len(results), 1.0)
        graded.append(sorted(names.values()))
        return results

    monkeypatch.setattr(cli, "_sandbox", lambda *a: type("S", (), {"name": "fake"})())
    monkeypatch.setattr("grader.pipeline.grading.require_data", lambda *a: None)
    monkeypatch.setattr("grader.assignment.spec.load_assignment", lambda path: None)
    monkeypatch.setattr("grader.pipeline.scheduler.grade_class", grade_class)
    assignment = tmp_path / "solutions" / "concepts"
    argv = ["grade", "--assignment", str(assignment), "--db", db_url, "--format", "json", "--quiet"]
    assert cli.main(argv) == 0
    assert "3 run(s) recorded" in capsys.readouterr().out
    assert cli.main(argv) == 0
    with Gradebook(db_url) as book:
        unmatched = [s.id for s in latest_submissions(book, "concepts") if s.student_id is None]
        assert graded == [["2024001", "2024003", f"unmatched-{unmatched[0]}"]] * 2
        with book._read() as s:
            runs = list(s.query(Run).order_by(Run.id))
        assert len(runs) == 6 and len({r.result_path for r in runs}) == 6  # never overwritten
        first = Path(runs[0].result_path)
        assert first.name == "result.json" and first.parent.parent.parent.name == "concepts"
        assert first.parent.parent.parent.parent.name == "graded"
        assert json.loads(first.read_text())["submission"] == first.parent.name
        assert [r.score for r in book.runs_of("2024001", "concepts")] == [1.0, 1.0]
        # a path given with --db: recorded as the student its name says (or unmatched)
        folder = tmp_path / "2024003"
        folder.mkdir()
        (folder / "cnn.ipynb").write_bytes(b'{"other": 1}')
        monkeypatch.setattr(
            "grader.pipeline.scheduler.grade_class",
            lambda subs, *a, on_done, **k: [on_done(fake_result("2024003", 0.5), 1, 1, 1.0)] and [],
        )
        assert cli.main(["grade", str(folder), *argv[1:], "--out", str(tmp_path / "out")]) == 0
        runs = book.runs_of("2024003", "concepts")
        assert [r.score for r in runs] == [1.0, 1.0, 0.5] and runs[-1].submission.path == str(folder)
    # without --db, paths and --out are needed as before
    assert cli.main(["grade", "--assignment", str(assignment), "--out", "x"]) == 2


def test_collect_command_refuses_a_bad_due_date_and_a_zip_bomb(tmp_path, monkeypatch, capsys):
    export = make_zip(tmp_path / "many.zip", {f"2024001/{i}.ipynb": b"" for i in range(30)})
    db = str(tmp_path / "course.db")
    assert cli.main(["collect", str(export), "--assignment", "a", "--db", db, "--due", "2026-12-20"]) == 2
    assert "give a date, a time and a zone" in capsys.readouterr().err
    monkeypatch.setattr(lms, "MAX_ENTRIES", 20)
    assert cli.main(["collect", str(export), "--assignment", "a", "--db", db, "--lang", "ja"]) == 2
    assert "何も取り込んでいません" in capsys.readouterr().err
    assert not (tmp_path / "submissions").exists()


# --- end to end --------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_moodle_zip_of_two_students_collected_and_graded_into_the_gradebook(tmp_path, monkeypatch, capsys):
    """roster -> collect a Moodle zip -> grade the collected submissions (concepts' cheapest
    notebook, for real, in the sandbox) -> two runs recorded, pointing at their result.json."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "roster.csv").write_bytes("学籍番号,氏名\n2024001,山田 太郎\n2024002,佐藤 花子\n".encode("cp932"))
    solution = (REPO / "solutions/concepts/cnn_architectures.ipynb").read_bytes()
    exercise = (REPO / "exercises/concepts/cnn_architectures.ipynb").read_bytes()
    export = make_zip(tmp_path / "moodle.zip", {
        "山田 太郎_11_assignsubmission_file_/cnn_architectures.ipynb": solution,
        "佐藤 花子_12_assignsubmission_file_/cnn_architectures.ipynb": exercise,
    })  # fmt: skip
    assert cli.main(["roster", "import", "roster.csv"]) == 0
    assert cli.main(["collect", str(export), "--assignment", "concepts", "--due", "2026-12-21T00:00+09:00"]) == 0
    argv = ["grade", "--assignment", str(REPO / "solutions/concepts"), "--db", "course.db", "--jobs", "2"]
    assert cli.main([*argv, "--format", "json,html"]) == 0
    with Gradebook(f"sqlite:///{tmp_path / 'course.db'}") as book:
        yamada, sato = book.latest_run("2024001", "concepts"), book.latest_run("2024002", "concepts")
        cnn = lambda run: sum(v.points for v in run.verdicts if v.part.startswith("cnn"))
        cnn_max = sum(v.max_points for v in yamada.verdicts if v.part.startswith("cnn"))
        assert cnn_max > 0 and cnn(yamada) == cnn_max and cnn(sato) < cnn_max
        assert not yamada.submission.late
        for run in (yamada, sato):
            path = Path(run.result_path)
            assert path.is_file() and path.parent.name == run.submission.student_id
            assert json.loads(path.read_text())["score"] == run.score


def test_a_later_export_without_due_is_read_in_the_zone_the_due_date_was_given_in(db_url, tmp_path, monkeypatch):
    """A resubmission collected later without --due: its zip's local times are read in the
    course's zone (the due date's), not this machine's, so it is neither shifted nor late."""
    import time

    monkeypatch.setenv("TZ", "UTC")  # a grading server in UTC, a course in JST
    time.tzset()
    try:
        _collect_twice(db_url, tmp_path, monkeypatch)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def _collect_twice(db_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Gradebook(db_url) as book:
        book.import_roster(ROSTER)
    name = "山田 太郎_1_assignsubmission_file_/cnn.ipynb"
    first = make_zip(tmp_path / "first.zip", {name: NB}, when=(2026, 12, 20, 22, 0, 0))
    again = make_zip(tmp_path / "again.zip", {name: NB + b" "}, when=(2026, 12, 20, 23, 30, 0))
    due = ["--due", "2026-12-21T00:00+09:00"]
    assert cli.main(["collect", str(first), "--assignment", "concepts", "--db", db_url, *due]) == 0
    assert cli.main(["collect", str(again), "--assignment", "concepts", "--db", db_url]) == 0
    with Gradebook(db_url) as book:
        latest = latest_submissions(book, "concepts")[0]
    assert latest.submitted_at == datetime(2026, 12, 20, 23, 30, tzinfo=JST) and latest.late is False
