"""What the bubblewrap sandbox adds to starting a process: median wall time of `true` and of
`python -c pass`, plain and sandboxed, and of a whole `BubblewrapSandbox.run` (work folder
handed over, cgroup made and removed, output collected).

    python benchmarks/sandbox_startup.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.sandbox.base import Limits
from grader.sandbox.bwrap import BubblewrapSandbox


def median_ms(fn, runs: int) -> float:
    fn()  # warm the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    sandbox = BubblewrapSandbox()
    limits = Limits()
    work = Path(tempfile.mkdtemp(prefix="dlgrade-bench-"))
    os.chmod(work, 0o755)

    def plain(argv):
        return lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)

    def wrapped(argv):
        def go():
            cmd, fds = sandbox.command(argv, workdir=work, ro_paths=[], limits=limits)
            try:
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, pass_fds=fds, cwd=work)
            finally:
                for fd in fds:
                    os.close(fd)

        return go

    def full_run(argv):
        def go():
            out = sandbox.run(argv, workdir=work, ro_paths=[], env={}, limits=limits, timeout_s=60)
            assert out.returncode == 0, out.stderr_tail

        return go

    true, python = ["/usr/bin/true"], [sys.executable, "-c", "pass"]
    rows = [
        ("true", plain(true)),
        ("bwrap + setpriv: true", wrapped(true)),
        ("BubblewrapSandbox.run: true", full_run(true)),
        ("python -c pass", plain(python)),
        ("bwrap + setpriv: python -c pass", wrapped(python)),
        ("BubblewrapSandbox.run: python -c pass", full_run(python)),
    ]
    try:
        print(f"median of {args.runs} runs, mode={sandbox.mode}")
        for label, fn in rows:
            print(f"  {label:<40} {median_ms(fn, args.runs):8.1f} ms")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
