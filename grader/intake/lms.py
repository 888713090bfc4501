"""Intake: read the submissions an LMS exports (a zip, or the folder it was unpacked into) and
say whose each one is by its name, without trusting anything in it.

Layouts, told apart per top-level entry, so one export may mix them:

    Moodle "download all submissions"   Full Name_12345_assignsubmission_file_/notebook.ipynb
                                        (or flat: Full Name_12345_assignsubmission_file_notebook.ipynb)
                                        12345 is the participant id of this assignment, not a user id;
                                        onlinetext and other plugins' entries are skipped with a note
    Canvas "download submissions"       sortablename_[late_]12345_67890_notebook.ipynb
                                        (12345 the Canvas user id, 67890 the file's; `late`: Canvas
                                        judged it late); `..._text.html` / `_link.html` skipped
    one folder (or file) per student    2024001/notebook.ipynb, 2024001.ipynb

An archive is hostile until read: entries are listed from the zip's directory and refused one by
one, each with a message, never written anywhere by this module: an absolute path or one with
`..`, a link or device entry, an encrypted one, a name that is neither UTF-8 nor cp932 (a zip made
on Japanese Windows leaves flag bit 11 unset and writes cp932), one over the per-file limit or
whose data is longer than its header says. A whole archive with more than MAX_ENTRIES entries or
more than MAX_EXPORT_BYTES declared is refused before any data is read (a zip bomb). Data is read
entry by entry, bounded, when the caller stores it. A folder is walked without following links,
bounded like a submission (grader.intake.submission).

Names are NFC (macOS writes NFD); two files of one student whose names differ only in case or
normalisation keep both: the newer keeps the name, the older gets " (2)" before its suffix.
Times: a zip entry's extended timestamp (UTC) when it has one, else its DOS time read in the zone
the caller gives (the due date's); a folder's files their mtime.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from grader.intake.submission import (
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_NOTEBOOK_BYTES,
    MAX_TOTAL_BYTES,
    SKIP_DIRS,
    Refused,
    _open_dir,
    read_regular,
)

MAX_FILE_BYTES = MAX_NOTEBOOK_BYTES  # one file of a student
MAX_STUDENT_BYTES = MAX_TOTAL_BYTES  # one student's files together
MAX_EXPORT_BYTES = 4 * 2**30  # a whole export, as its zip declares it (a class of 300 is well under)
JUNK = re.compile(r"(\.DS_Store|Thumbs\.db|desktop\.ini|\._.*)\Z", re.IGNORECASE)  # what OSes add to a zip

MOODLE = re.compile(r"(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)\Z", re.S)
CANVAS = re.compile(r"(?:(?P<name>.*?)_)?(?:(?P<late>late)_)?(?P<id>\d+)_(?P<file_id>\d+)_(?P<file>.+)\Z", re.S | re.I)
CANVAS_TEXT = re.compile(r"(?:(?P<name>.*?)_)?(?:late_)?(?P<id>\d+)_(?:text|link)\.html\Z", re.S | re.I)


@dataclass
class Member:
    """One file of the export: its path as decoded, split into checked components."""

    name: str  # as in the export, for messages
    parts: tuple[str, ...]
    size: int
    mtime: datetime | None
    ref: object  # the ZipInfo, or the file's path


@dataclass
class Entry:
    """What one student handed in, as the export names it."""

    source: str  # moodle, canvas, folder
    ref: str  # its name in the export (Moodle's folder prefix, Canvas's name and id, the folder)
    name: str | None = None  # the student's name as the LMS wrote it
    lms_id: str | None = None  # Moodle's participant id, Canvas's user id
    student_id: str | None = None  # a per-student folder's name
    late: bool | None = None  # Canvas's marker; None: judged against the due date
    files: dict[str, Member] = field(default_factory=dict)  # path in the student's folder -> member
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def submitted_at(self) -> datetime | None:
        times = [m.mtime for m in self.files.values() if m.mtime is not None]
        return max(times) if times else None


@dataclass
class Export:
    path: Path
    entries: list[Entry] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    skipped: list[tuple[str, dict]] = field(default_factory=list)  # entries that are not submissions
    _zip: zipfile.ZipFile | None = None

    def read(self, member: Member) -> bytes:
        """The member's bytes, at most its size (a zip entry longer than its header is refused)."""
        if self._zip is None:
            return read_regular(member.ref, MAX_FILE_BYTES, within=self.path)
        try:
            with self._zip.open(member.ref) as f:
                data = f.read(member.size + 1)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
            raise Refused("collect.bad_entry", name=member.name, reason=str(exc) or type(exc).__name__) from None
        if len(data) > member.size:
            raise Refused("collect.size_lies", name=member.name, size=member.size)
        return data

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Export:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_export(path: Path, zone: tzinfo | None = None, ids: frozenset[str] = frozenset()) -> Export:
    """The export at `path` (a zip or a folder), listed and grouped by student (`ids`: the
    roster's, so that one student's folder is never taken for a wrapper). Raises Refused when
    the whole export cannot be read (not a zip or folder, a zip bomb)."""
    path = Path(os.path.abspath(path))
    export = Export(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise Refused("intake.unreadable", name=str(path), reason=exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        members = _folder_members(path, export)
    elif stat.S_ISREG(info.st_mode) and zipfile.is_zipfile(path):
        try:
            export._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise Refused("collect.bad_zip", name=path.name, reason=str(exc)) from None
        members = _zip_members(export._zip, export, zone)
    else:
        raise Refused("collect.not_an_export", name=str(path))
    export.entries = group(members, export, ids)
    return export


# --- a zip ---------------------------------------------------------------------------------------


def _zip_members(zf: zipfile.ZipFile, export: Export, zone: tzinfo | None) -> list[Member]:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        zf.close()
        raise Refused("collect.too_many_entries", name=export.path.name, count=len(infos), most=MAX_ENTRIES)
    declared = sum(i.file_size for i in infos)
    if declared > MAX_EXPORT_BYTES:
        zf.close()
        raise Refused("collect.too_big", name=export.path.name, size=f"{declared / 2**30:.1f}",
                      limit=f"{MAX_EXPORT_BYTES / 2**30:g}")  # fmt: skip
    members = []
    for info in infos:
        name = _zip_name(info)
        if name is None:
            export.refused.append(Refused("collect.bad_name", name=info.filename.encode("cp437", "replace").hex()))
            continue
        mode = info.external_attr >> 16
        if info.is_dir() or stat.S_ISDIR(mode):
            continue
        try:
            parts = _parts(name)
        except Refused as exc:
            export.refused.append(exc)
            continue
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # a link (its target is its data), a device, a FIFO
            export.refused.append(Refused("intake.symlink" if stat.S_ISLNK(mode) else "intake.not_regular", name=name))
        elif info.flag_bits & 0x1:
            export.refused.append(Refused("collect.encrypted", name=name))
        elif info.file_size > MAX_FILE_BYTES:
            export.refused.append(_too_large(name, info.file_size))
        elif parts:
            members.append(Member(name, parts, info.file_size, _zip_time(info, zone), info))
    return members


def _zip_name(info: zipfile.ZipInfo) -> str | None:
    """The entry's name: UTF-8 when flag bit 11 says so; else its bytes as UTF-8 if they are
    (tools that forget the flag), else cp932 (Japanese Windows); None when neither."""
    if info.flag_bits & 0x800:
        return info.filename
    return _decode_name(info.filename.encode("cp437"))  # zipfile decoded the bytes as cp437: undo it


def _decode_name(raw: bytes) -> str | None:
    """A file name's bytes as UTF-8 when they are, else as cp932 (Japanese Windows); None when neither."""
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return None


def _zip_time(info: zipfile.ZipInfo, zone: tzinfo | None) -> datetime | None:
    """The extended timestamp (0x5455, UTC) when present, else the DOS time in `zone`."""
    extra = info.extra
    while len(extra) >= 4:
        kind, size = struct.unpack("<HH", extra[:4])
        body, extra = extra[4 : 4 + size], extra[4 + size :]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            return datetime.fromtimestamp(struct.unpack("<i", body[1:5])[0], UTC)
    try:
        local = datetime(*info.date_time)
    except ValueError:
        return None
    return local.replace(tzinfo=zone) if zone is not None else local.astimezone()


# --- a folder ------------------------------------------------------------------------------------


def _folder_members(root: Path, export: Export) -> list[Member]:
    """Every regular file below `root`, breadth first, no link followed, bounded."""
    members, queue, seen, total = [], [()], 0, 0
    while queue:
        rel = queue.pop(0)
        try:
            fd = _open_dir(root.parent, (root.name, *rel))
        except Refused as exc:
            export.refused.append(exc)
            continue
        try:
            with os.scandir(fd) as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    seen += 1
                    if seen > MAX_ENTRIES:
                        raise Refused("collect.too_many_entries", name=root.name, count=seen, most=MAX_ENTRIES)
                    raw = (*rel, entry.name)
                    shown = "/".join(raw)
                    name = _fs_name(shown)
                    if name is None:
                        export.refused.append(Refused("collect.bad_name", name=os.fsencode(shown).hex()))
                        continue
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(info.st_mode):
                        if len(raw) > MAX_DEPTH + 1:
                            export.refused.append(Refused("intake.too_deep", name=name, depth=MAX_DEPTH))
                        elif entry.name not in SKIP_DIRS:
                            queue.append(raw)
                    elif not stat.S_ISREG(info.st_mode):
                        kind = "intake.symlink" if stat.S_ISLNK(info.st_mode) else "intake.not_regular"
                        export.refused.append(Refused(kind, name=name))
                    elif info.st_size > MAX_FILE_BYTES:
                        export.refused.append(_too_large(name, info.st_size))
                    else:
                        total += info.st_size
                        if total > MAX_EXPORT_BYTES:
                            raise Refused("collect.too_big", name=root.name, size=f"{total / 2**30:.1f}",
                                          limit=f"{MAX_EXPORT_BYTES / 2**30:g}")  # fmt: skip
                        members.append(Member(name, _parts(name), info.st_size,
                                              datetime.fromtimestamp(info.st_mtime, UTC), root.joinpath(*raw)))  # fmt: skip
        finally:
            os.close(fd)
    return members


def _fs_name(name: str) -> str | None:
    """A file name as the folder holds it: bytes that are not UTF-8 (unzip of a cp932 zip) read as cp932."""
    return _decode_name(os.fsencode(name))


# --- names ---------------------------------------------------------------------------------------


def _parts(name: str) -> tuple[str, ...]:
    """The components of an entry's path, NFC; refused: absolute, `..`, a control character."""
    text = name.replace("\\", "/")  # zips made on Windows may use either
    if text.startswith("/") or re.match(r"[A-Za-z]:", text):
        raise Refused("collect.absolute", name=name)
    parts = tuple(unicodedata.normalize("NFC", p) for p in text.split("/") if p not in ("", "."))
    if ".." in parts:
        raise Refused("collect.climbs_out", name=name)
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise Refused("collect.control_in_name", name=name.encode("unicode_escape").decode("ascii"))
    if any(len(p.encode("utf-8")) > 255 for p in parts):
        raise Refused("collect.name_too_long", name=name[:80])
    if len(parts) > MAX_DEPTH + 3:  # a wrapper folder, the student's folder, then as deep as a submission
        raise Refused("intake.too_deep", name=name[:200], depth=MAX_DEPTH)
    return parts


def _skippable(parts: tuple[str, ...]) -> bool:
    return any(p in SKIP_DIRS for p in parts[:-1]) or bool(JUNK.match(parts[-1]))


def _strip_wrapper(members: list[Member], ids: frozenset[str]) -> list[Member]:
    """An export unpacked into, or zipped from, one folder of its own: look inside it."""
    while members and all(len(m.parts) > 1 for m in members) and len({m.parts[0] for m in members}) == 1:
        top = members[0].parts[0]
        if MOODLE.match(top) or unicodedata.normalize("NFKC", top).strip() in ids or not _is_wrapper(top, members):
            break
        members = [Member(m.name, m.parts[1:], m.size, m.mtime, m.ref) for m in members]
    return members


def _is_wrapper(top: str, members: list[Member]) -> bool:
    """One top folder holding the layouts, not one student's folder of notebooks: Moodle's or
    Canvas's names inside, or two folders or more."""
    folders = {m.parts[1] for m in members if len(m.parts) > 2}
    return len(folders) > 1 or any(MOODLE.match(m.parts[1]) or CANVAS.match(m.parts[1]) for m in members)


def group(members: list[Member], export: Export, ids: frozenset[str] = frozenset()) -> list[Entry]:
    """The members grouped into entries, one per student of the export, by their names."""
    entries: dict[tuple, Entry] = {}
    for m in _strip_wrapper([m for m in members if not _skippable(m.parts)], ids):
        top, rest = m.parts[0], m.parts[1:]
        moodle = MOODLE.match(top)
        if moodle and (rest or moodle["file"]):
            plugin = moodle["plugin"]
            if plugin != "file":
                export.skipped.append(("collect.skipped_plugin", {"name": m.name, "plugin": plugin}))
                continue
            prefix = top[: moodle.start("plugin")] + "file_"
            key, path = ("moodle", prefix), "/".join(rest) if rest else moodle["file"]
            entry = entries.setdefault(key, Entry("moodle", prefix, name=moodle["name"], lms_id=moodle["id"]))
        elif not rest and CANVAS_TEXT.match(top):
            export.skipped.append(("collect.skipped_text", {"name": m.name}))
            continue
        elif not rest and (canvas := CANVAS.match(top)):
            name, late = canvas["name"], bool(canvas["late"])
            if name and name.lower() == "late" and not late:  # anonymous grading: no name, only the marker
                name, late = None, True
            key, path = ("canvas", canvas["id"]), canvas["file"]
            ref = top[: canvas.start("file")]
            entry = entries.setdefault(key, Entry("canvas", ref, name=name or None, lms_id=canvas["id"], late=late))
            entry.late = entry.late or late
        else:  # a folder (or a file) named by the student id
            student = unicodedata.normalize("NFKC", Path(top).stem if not rest else top).strip()
            key, path = ("folder", student), "/".join(rest) if rest else top
            entry = entries.setdefault(key, Entry("folder", top, student_id=student))
        _add(entry, path, m)
    return list(entries.values())


def _add(entry: Entry, path: str, member: Member) -> None:
    """Add a file; a name that one file system would store as another's (case, normalisation)
    is kept beside it: the newer file keeps the name, the older is renamed `name (2).ext`."""
    same = next((p for p in entry.files if p.casefold() == path.casefold()), None)
    if same is None:
        entry.files[path] = member
        return
    earliest = datetime.min.replace(tzinfo=UTC)
    pair = sorted(((same, entry.files.pop(same)), (path, member)), key=lambda pm: pm[1].mtime or earliest)
    (old_path, older), (new_path, newer) = pair  # equal times: the later in the archive is the newer
    entry.files[new_path] = newer
    stem, dot, suffix = old_path.rpartition(".") if "." in Path(old_path).name else (old_path, "", "")
    n = 2
    while (renamed := f"{stem} ({n}){dot}{suffix}").casefold() in {p.casefold() for p in entry.files}:
        n += 1
    entry.files[renamed] = older
    entry.notes.append(("collect.renamed", {"name": older.name, "renamed": renamed}))


def _too_large(name: str, size: int) -> Refused:
    return Refused("intake.too_large", name=name, size=f"{size / 2**20:.1f}", limit=f"{MAX_FILE_BYTES / 2**20:g}")
