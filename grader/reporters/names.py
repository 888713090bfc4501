"""Test names for the formats whose readers know a test by its name (Gradescope, JUnit).

Two tests with one name would be merged or one of them hidden by the reader: the same part
title in two notebooks ("Placeholders and variables" in mnist_1layer and mnist_3layer), two
checks of one name in a part, two grader problems of one kind. `unique` keeps the first and
numbers the others."""

from __future__ import annotations


def unique(labels: list[tuple[str, str]]) -> list[str]:
    """(group, name) pairs -> names unique within their group, in order: a repeated name
    becomes "name (2)", "name (3)"..., never a name that another pair has as its own."""
    originals, used, out = set(labels), set(), []
    for group, name in labels:
        label, n = name, 1
        while (group, label) in used or (label != name and (group, label) in originals):
            n += 1
            label = f"{name} ({n})"
        used.add((group, label))
        out.append(label)
    return out
