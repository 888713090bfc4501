"""Hostile cases at the sandbox's edges: class output names and the machine formats (CSV, Markdown, JUnit, console).

A submission is named like a class file (`index.html`, `grades.csv`), like an option
(`--no-sandbox`, which `dlgrade grade *` must grade as a submission, sandboxed), with a terminal
escape, a spreadsheet formula and a Markdown link, or shares its name with another submission
(`bob/` beside `bob.ipynb`). Each gets its own output folder and the marks its answer deserves,
and the class files are written and valid (tests/test_hostile.py checks them).
"""

from __future__ import annotations

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

SHAPES_ONLY = {SHAPES: 4, ACCURACY: 0, MODEL: 0}
# what a student can put in a message the reporters quote: a terminal escape (clear screen, red,
# an OSC 8 hyperlink), a bidi override, a formula, a Markdown link and image, HTML, a table break
# and characters XML 1.0 forbids
HOSTILE_TEXT = (
    "\\x1b[2J\\x1b[31m\\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07 \\u202e "
    '=HYPERLINK("https://evil.example","x") [click](https://evil.example) '
    "![i](https://evil.example/i.png) <img src=x onerror=alert(1)> | cell\\n\\n# heading \\x00\\x0b\\x1f"
)


@case
def out_named_index_html(h: Host) -> Case:
    return Case("out_named_index_html", FULL, vars=CORRECT, folder="index.html", status="finished")


@case
def out_named_grades_csv(h: Host) -> Case:
    return Case("out_named_grades_csv", FULL, vars=CORRECT, folder="grades.csv", status="finished")


@case
def out_named_no_sandbox(h: Host) -> Case:
    # graded with `dlgrade grade *`: the folder is a submission, and it runs sandboxed
    attack = f"""
if _readable({str(h.canary_dir / "secret.txt")!r}) or os.getuid() == 0:
    _breach("ran without the sandbox")
"""
    return Case("out_named_no_sandbox", FULL, vars=PRELUDE + attack + CORRECT, folder="--no-sandbox", status="finished")


@case
def out_named_to_attack_readers(h: Host) -> Case:
    # a terminal escape, a formula, a Markdown link and HTML in the folder's name
    name = '=HYPERLINK("evil.example","x") \x1b[2J\x1b[31m [click](javascript:alert(1)) <b>\u202e'
    return Case("out_named_to_attack_readers", FULL, vars=CORRECT, folder=name, status="finished")


@case
def out_message_to_attack_readers(h: Host) -> Case:
    # the same in the error message every report quotes; raised once the answer is defined, so
    # only the part that needs the cell to finish (the saved model) reports it
    attack = f"raise ValueError('{HOSTILE_TEXT}')\n"
    return Case(
        "out_message_to_attack_readers",
        FULL,
        vars=CORRECT + attack,
        messages={MODEL: "raised ValueError"},
        status="finished",
    )


@case
def out_bob_folder(h: Host) -> Case:
    # honest bob's folder, beside a notebook file of the same name (next case)
    return Case("out_bob_folder", FULL, vars=CORRECT, folder="bob", status="finished")


@case
def out_bob_notebook(h: Host) -> Case:
    return Case(
        "out_bob_notebook",
        SHAPES_ONLY,
        vars=UNTRAINED,
        folder="bob.ipynb",
        messages={ACCURACY: "below the pass line"},
        status="finished",
    )
