"""Hostile cases at the sandbox's edges: what the trusted process reads before a notebook runs (links, FIFOs, devices, sizes).

Each case plants entries in its submission folder after the notebook is written (git, tar and zip
all keep symbolic links; tar makes FIFOs). Intake reads regular files only, from inside the
submission, and names what it refused in the part `submission-files` (0 points).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hostile.cases import (  # noqa: F401
    ACCURACY,
    CORRECT,
    FULL,
    MODEL,
    NOTEBOOK,
    NOTHING,
    PRELUDE,
    SHAPES,
    UNTRAINED,
    Case,
    Host,
    case,
)

FILES = "submission-files"  # the part that lists what intake did not read
LINK = "is a symbolic link: not read"


def _replace_notebook_with_link(target: Path):
    def plant(folder: Path, host: Host) -> None:
        (folder / NOTEBOOK).unlink()
        (folder / NOTEBOOK).symlink_to(target)

    return plant


@case
def intake_link_to_solution(h: Host) -> Case:
    # the notebook is a link to the reference solution: graded, it would score full marks
    return Case(
        "intake_link_to_solution",
        NOTHING,
        vars=CORRECT,
        plant=_replace_notebook_with_link(h.solutions_dir / NOTEBOOK),
        messages={SHAPES: LINK, ACCURACY: LINK},
        status="refused",
    )


@case
def intake_link_to_host_file(h: Host) -> Case:
    # read as a notebook, a host file's first bytes would reach the report in the parse error
    return Case(
        "intake_link_to_host_file",
        NOTHING,
        vars=CORRECT,
        plant=_replace_notebook_with_link(h.canary_dir / "secret.txt"),
        messages={SHAPES: LINK, ACCURACY: LINK},
        status="refused",
    )


@case
def intake_fifo_notebook(h: Host) -> Case:
    # a FIFO named like the notebook: opening it to read blocks until a writer comes (never)
    def plant(folder: Path, host: Host) -> None:
        (folder / NOTEBOOK).unlink()
        os.mkfifo(folder / NOTEBOOK)

    return Case(
        "intake_fifo_notebook",
        NOTHING,
        vars=CORRECT,
        plant=plant,
        messages={SHAPES: "not a regular file", ACCURACY: "not a regular file"},
        status="refused",
    )


@case
def intake_linked_folder(h: Host) -> Case:
    # the student's own (untrained) answer, renamed, and a linked folder holding the reference
    # solution under the exercise's name, which a name match would prefer
    def plant(folder: Path, host: Host) -> None:
        (folder / NOTEBOOK).rename(folder / "my_answer.ipynb")
        (folder / "reference").symlink_to(host.solutions_dir)

    return Case(
        "intake_linked_folder",
        {SHAPES: 4, ACCURACY: 0, MODEL: 0, FILES: 0},
        vars=UNTRAINED,
        plant=plant,
        messages={ACCURACY: "below the pass line", FILES: "reference " + LINK},
        status="finished",
    )


@case
def intake_junk_beside_the_notebook(h: Host) -> Case:
    # an honest notebook beside a second notebook linked to a host file, a FIFO, a link to a
    # blocking /proc file and a sparse file over the size cap: the answer keeps its marks
    def plant(folder: Path, host: Host) -> None:
        (folder / "notes.ipynb").symlink_to(host.canary_dir / "secret.txt")
        os.mkfifo(folder / "pipe.ipynb")
        (folder / "kmsg.ipynb").symlink_to("/proc/kmsg")
        with open(folder / "big.ipynb", "wb") as fh:
            fh.truncate(101 * 2**20)
        (folder / "sub").mkdir()
        (folder / "sub" / "shadow.ipynb").symlink_to("/etc/shadow")

    return Case(
        "intake_junk_beside_the_notebook",
        {**FULL, FILES: 0},
        vars=CORRECT,
        plant=plant,
        messages={FILES: "notes.ipynb " + LINK},
        status="finished",
    )


@case
def intake_top_level_link(h: Host) -> Case:
    # the submission itself is a link (a class folder unpacked from an LMS zip keeps it)
    def plant(folder: Path, host: Host) -> None:
        shutil.rmtree(folder)
        folder.symlink_to(host.solutions_dir)

    return Case(
        "intake_top_level_link",
        NOTHING,
        vars=CORRECT,
        plant=plant,
        messages={SHAPES: "intake_top_level_link " + LINK},
        status="refused",
    )
