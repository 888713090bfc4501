"""`dlgrade grade ... --db URL`: every graded submission and its run recorded in the gradebook
(the files, result.json and reports, are written as without it), and `dlgrade grade --assignment
solutions/NAME --db URL` with no paths: the latest collected submission of each student of NAME,
and every unmatched one, graded into a new folder beside the gradebook.

A run is a new row every time, pointing at its result.json; the default output folder is new
for every grading (`graded/<assignment>/<UTC time>/`), so a run's files are never overwritten
either. A submission given by path is the collected one kept there, else recorded from its
notebooks: the student whose id is its name, or no student (unmatched).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from grader.cli.collect import course_folder
from grader.errors import DlgradeError


class Recorder:
    def __init__(self, url: str, assignment_dir: Path, options: dict):
        from grader.gradebook import Gradebook
        from grader.pipeline.cache import folder_digest

        self.url, self.book = url, Gradebook(url)
        self.assignment = assignment_dir.resolve().name
        self.digest = folder_digest(assignment_dir)
        self.options = options
        self.roster = {s.id for s in self.book.students()}
        self.ids: dict[Path, int] = {}  # collected folders -> their submission
        self.paths: dict[str, Path] = {}  # output name -> the submission's path
        self.recorded, self.failed = 0, []

    def collected(self) -> tuple[list[Path], dict[Path, str]]:
        """The paths of the latest collected submissions and their output names (the student id)."""
        from grader.gradebook.collect import latest_submissions
        from grader.pipeline.scheduler import safe_name

        paths, names = [], {}
        for sub in latest_submissions(self.book, self.assignment):
            path = Path(sub.path)
            self.ids[path] = sub.id
            names[path] = safe_name(sub.student_id) if sub.student_id else f"unmatched-{sub.id}"
            paths.append(path)
        return paths, names

    def record(self, result, path: Path, outdir: Path) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from grader.gradebook import GradebookError

        folder = outdir.resolve() / result.submission
        result_json = folder / "result.json"
        try:
            submission = self.ids.get(path) or self._submission(path, result.submission)
            self.book.record_run(
                result,
                submission,
                options=self.options,
                assignment_digest=self.digest,
                result_path=str(result_json if result_json.exists() else folder),
            )
            self.recorded += 1
        except (GradebookError, SQLAlchemyError, OSError) as exc:
            self.failed.append((result.submission, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))

    def _submission(self, path: Path, name: str) -> int:
        from grader.gradebook.collect import submission_at
        from grader.intake.submission import MAX_NOTEBOOK_BYTES, Refused, list_submission, read_regular

        found = submission_at(self.book, self.assignment, path)
        if found is not None:
            return found
        listing = list_submission(path)
        files, times = {}, []
        for nb in listing.notebooks:
            try:
                files[nb.name if listing.single else nb.relative_to(os.path.abspath(path)).as_posix()] = read_regular(
                    nb, MAX_NOTEBOOK_BYTES, within=listing.base
                )
                times.append(datetime.fromtimestamp(os.lstat(nb).st_mtime, UTC))
            except (Refused, OSError):  # the result says why it was not graded
                continue
        return self.book.record_submission(
            name if name in self.roster else None,
            self.assignment,
            files,
            submitted_at=max(times) if times else None,
            source="folder",
            source_ref=str(path),
            path=os.path.abspath(path),
        )

    def report(self, lang: str) -> int:
        """Say what was recorded and what was not; CANNOT when a run could not be recorded."""
        from grader.cli import exits
        from grader.gradebook.database import shown_url
        from grader.i18n import t
        from grader.reporters.text import console

        for name, reason in self.failed:
            print(console(t("gradebook.record_failed", lang, name=name, reason=reason)), file=sys.stderr)
        print(t("gradebook.recorded", lang, count=self.recorded, db=console(shown_url(self.url))))
        self.close()
        return exits.CANNOT if self.failed else exits.OK

    def close(self) -> None:
        self.book.close()


def default_out(url: str, assignment: str) -> Path:
    """A new folder for this grading: graded/<assignment>/<UTC time>/ beside the gradebook."""
    from grader.gradebook.collect import folder_name

    base = course_folder(url) / "graded" / folder_name(assignment)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out, n = base / stamp, 1
    while out.exists():
        n += 1
        out = base / f"{stamp}-{n}"
    return out


def open_recorder(args) -> tuple[Recorder, dict[Path, str] | None]:
    """The recorder of `grade --db`; with no submission paths, they become the collected ones."""
    from grader.gradebook import database_url
    from grader.gradebook.database import shown_url
    from grader.i18n import t

    url = database_url(args.db)
    recorder = Recorder(url, Path(args.assignment), {"seed": args.seed, "lang": args.lang})
    names = None
    if not args.submissions:
        paths, names = recorder.collected()
        if not paths:
            recorder.close()
            raise DlgradeError(
                t("gradebook.nothing_collected", args.lang, assignment=recorder.assignment, db=shown_url(url))
            )
        args.submissions = [str(p) for p in paths]
    if not args.out:
        args.out = str(default_out(url, recorder.assignment))
    return recorder, names
