"""Give back the nbgrader identity of cells that lost it, by their content and place.

Cell metadata is fragile: VS Code and some web editors drop it, a student who deletes a cell
and types the answer into a new one leaves an unlabeled cell, and a student who copies the
cells into a fresh notebook loses every grade id. Without a grade id the answer would count as
"deleted" (nbgrader's own behaviour), so before validation the unlabeled cells are matched
against the released notebook:

- a locked cell is recognised by its source (nearly the released text, compared line by line
  with whitespace ignored); validation restores it from the release anyway;
- the recognised cells and the cells that kept their ids are anchors; an answer cell whose id
  is missing takes the unlabeled cells of its type between the anchors around it. One answer
  cell in that gap takes all of them, joined in order (they ran in that order, and the part's
  exports must come after all of them); several answer cells share them out in order, each
  unlabeled cell going to the answer cell whose released stub it resembles most.

Every recovered cell is reported, so nothing is silently re-attributed.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass

from nbformat import NotebookNode

from grader.notebook import format as nbf

LOCKED_SIMILARITY = 0.8  # how close an unlabeled cell must be to a locked cell's released text
# Real notebooks have tens of cells; matching costs cells x locked cells comparisons in the
# trusted process, so a notebook with more cells than this is taken as it is.
MAX_CELLS = 2000


@dataclass
class Recovered:
    grade_id: str
    cells: int  # how many of the student's cells it was made from
    how: str  # "content" (a locked cell's text) or "place" (an answer between recognised cells)


def _lines(source: str) -> list[str]:
    return [" ".join(line.split()) for line in source.splitlines() if line.strip()]


def similarity(a: str, b: str) -> float:
    """0..1 likeness of two sources, line by line, ignoring whitespace and blank lines."""
    la, lb = _lines(a), _lines(b)
    if not la and not lb:
        return 1.0
    return difflib.SequenceMatcher(None, la, lb, autojunk=False).ratio()


def _unlabeled(cell: NotebookNode) -> bool:
    """A cell with no grade id at all. A cell with another exercise's id did not lose its
    metadata: it belongs elsewhere, and is never taken for one of this exercise's cells."""
    return nbf.grade_id(cell) is None


def _labeled_copy(cell: NotebookNode, released: NotebookNode, source: str | None = None) -> NotebookNode:
    fixed = copy.deepcopy(cell)
    fixed.metadata["nbgrader"] = copy.deepcopy(released.metadata["nbgrader"])
    if source is not None:
        fixed.source = source
    return fixed


def recover_ids(submission: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, list[Recovered]]:
    """The submission with lost grade ids put back where they can be recognised, and what was
    recovered. A notebook that lost nothing comes back unchanged (the same object)."""
    released = [(nbf.grade_id(c), c) for c in release.cells if nbf.grade_id(c)]
    known = {gid for gid, _ in released}
    cells = list(submission.cells)
    position = {}
    for i, cell in enumerate(cells):
        gid = nbf.grade_id(cell)
        if gid in known and gid not in position:
            position[gid] = i
    if len(position) == len(known) or len(cells) > MAX_CELLS or not any(_unlabeled(c) for c in cells):
        return submission, []

    assigned: dict[int, str] = {}  # submission index -> released grade id, found by content
    recovered: list[Recovered] = []
    last = -1
    for k, (gid, rel) in enumerate(released):
        if gid in position:
            if position[gid] > last:
                last = position[gid]
            continue
        if nbf.is_solution(rel):
            continue
        # a locked cell: the most similar unlabeled cell before the next kept anchor
        nxt = min(
            (position[g] for g, _ in released[k + 1 :] if g in position and position[g] > last), default=len(cells)
        )
        best, best_i = LOCKED_SIMILARITY, None
        for i in range(last + 1, nxt):
            cell = cells[i]
            if i in assigned or not _unlabeled(cell) or cell.cell_type != rel.cell_type:
                continue
            score = similarity(cell.source, rel.source)
            if score >= best:
                best, best_i = score, i
        if best_i is not None:
            assigned[best_i] = gid
            position[gid] = best_i
            last = best_i
            recovered.append(Recovered(gid, 1, "content"))

    # answer cells: share the unlabeled cells between the anchors around each missing one
    anchors = sorted((i, gid) for gid, i in position.items())
    if not anchors:
        return submission, []  # nothing recognised: not this exercise, and nothing to place by
    merged: dict[int, tuple[str, list[int]]] = {}  # first index -> (grade id, indices joined)
    order = [gid for gid, _ in released]
    by_id = dict(released)
    for gap_start, gap_end, missing in _gaps(order, position, anchors, len(cells)):
        answers = [g for g in missing if nbf.is_solution(by_id[g])]
        if not answers:
            continue
        free = [i for i in range(gap_start, gap_end) if i not in assigned and _unlabeled(cells[i])]
        for gid, indices in _share(answers, free, cells, by_id).items():
            merged[indices[0]] = (gid, indices)
            recovered.append(Recovered(gid, len(indices), "place"))

    if not recovered:
        return submission, []
    out_cells = []
    skip: set[int] = set()
    for i, cell in enumerate(cells):
        if i in skip:
            continue
        if i in assigned:
            out_cells.append(_labeled_copy(cell, by_id[assigned[i]]))
        elif i in merged:
            gid, indices = merged[i]
            source = "\n\n".join(cells[j].source for j in indices)
            out_cells.append(_labeled_copy(cell, by_id[gid], source))
            skip.update(indices[1:])
        else:
            out_cells.append(cell)
    out = copy.copy(submission)
    out.cells = out_cells
    recovered.sort(key=lambda r: order.index(r.grade_id))
    return out, recovered


def _gaps(order, position, anchors, n_cells):
    """(start, end, missing grade ids) for each stretch of the submission between two anchors
    that should hold released cells which were not found."""
    bounds = [(-1, None)] + anchors + [(n_cells, None)]
    for (lo, lo_gid), (hi, hi_gid) in zip(bounds, bounds[1:]):
        first = order.index(lo_gid) + 1 if lo_gid else 0
        stop = order.index(hi_gid) if hi_gid else len(order)
        missing = [g for g in order[first:stop] if g not in position]
        if missing:
            yield lo + 1, hi, missing


def _share(answers, free, cells, by_id) -> dict[str, list[int]]:
    """Unlabeled cells (indices, in order) given to the answer cells of one gap, in order."""
    shares: dict[str, list[int]] = {}
    pool = list(free)
    for n, gid in enumerate(answers):
        rel = by_id[gid]
        fits = [i for i in pool if cells[i].cell_type == rel.cell_type]
        if not fits:
            continue
        later = answers[n + 1 :]
        if not any(by_id[g].cell_type == rel.cell_type for g in later):
            taken = fits  # the last answer of its type in the gap takes the rest
        else:
            # this answer takes the cells up to the one most like its stub; the rest wait
            cut = max(fits, key=lambda i: (similarity(cells[i].source, rel.source), -i))  # released stub
            taken = [i for i in fits if i <= cut]
        # a cell magic (%%bash, %%time ...) applies to its whole cell: never join other cells to
        # one; it keeps running in place unless it is all there is
        plain = [i for i in taken if not cells[i].source.lstrip().startswith("%%")]
        pool = [i for i in pool if i > taken[-1]]
        shares[gid] = plain or taken[:1]
    return shares
