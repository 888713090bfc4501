"""Console progress while a class is graded: a bar, the submissions in hand, and time left.

On a terminal one line is redrawn every second; in a log (CI) one line is printed per finished
submission; `quiet` prints nothing. Which submissions are in hand is known without hooks into
the scheduler: its pool starts submissions in the order given, `jobs` at a time.

Submission names are shown through `text.console`: a name holding a terminal escape (ESC, a C1
control, a bidi override) prints as `\x1b...`, never as a command to the terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from grader.reporters.text import console


class Progress:
    def __init__(self, names: list[str], jobs: int, quiet: bool = False, stream: TextIO | None = None):
        self.names, self.jobs, self.quiet = list(names), max(1, jobs), quiet
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done: list[str] = []
        self.last = ""
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        self.started = time.monotonic()
        if self.tty and not self.quiet:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join()
            print(file=self.stream, flush=True)  # leave the last bar on its own line

    def in_hand(self) -> list[str]:
        waiting = [n for n in self.names if n not in self.done]
        return waiting[: self.jobs]

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        total, n = len(self.names), len(self.done)
        width = 24
        filled = round(width * n / total) if total else width
        left = f"about {elapsed / n * (total - n):.0f}s left" if n else "estimating time left"
        hand = ", ".join(console(name) for name in self.in_hand())
        text = f"[{'#' * filled}{'-' * (width - filled)}] {n}/{total}  {elapsed:.0f}s, {left}"
        if hand:
            text += f"  grading: {hand}"
        if self.last:
            text += f"  last: {self.last}"
        return text

    def __call__(self, result, done: int, total: int, elapsed: float) -> None:
        """The scheduler's `on_done` callback."""
        with self._lock:
            self.done.append(result.submission)
            self.last = f"{console(result.submission)} {result.score:g}/{result.max_score:g}"
            if self.quiet:
                return
            if self.tty:
                self._draw()
            else:
                print(self.line(), file=self.stream, flush=True)

    def _draw(self) -> None:
        columns = 120
        print("\r" + self.line()[:columns].ljust(columns), end="", file=self.stream, flush=True)

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                self._draw()
