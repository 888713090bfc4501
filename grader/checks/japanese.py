"""Japanese morphology for free-text scoring: readings of lemmas, so that kanji, katakana and
hiragana spellings of a word, and its inflections, meet (残差 / ざんさ, 減らす / 減らして / 減らさない).

Uses fugashi with the unidic-lite dictionary (both ship as wheels; nothing is downloaded at run
time). The tagger is loaded once per process, on first use. Without fugashi every function
degrades to "no reading" and scoring falls back to surface matching.

Work is linear in the text: one tagger pass, one walk over its tokens.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import lru_cache

from grader.checks.textnorm import fold_kana

__all__ = ["Reading", "reading", "term_reading", "has_predicate", "available"]

_PREDICATE_POS = {"動詞", "形容詞", "助動詞"}


@lru_cache(maxsize=1)
def _tagger():
    try:
        import fugashi

        return fugashi.Tagger()
    except Exception:  # no package or no dictionary: surface matching only
        return None


def available() -> bool:
    return _tagger() is not None


def _token_reading(word) -> str:
    feature = word.feature
    form = getattr(feature, "lForm", None)
    surface = fold_kana(word.surface)
    if (
        not form
        or form == "*"
        or not surface
        or not any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in surface)
    ):
        return surface  # Latin words, digits, symbols: as written
    return form


@dataclass
class Reading:
    """The lemma readings of a text's tokens, run together, with where each token starts in the
    reading (`starts`) and in the text (`spans`)."""

    text: str
    starts: list[int]
    spans: list[tuple[int, int]]
    pos: list[str]

    def to_text(self, start: int, end: int) -> tuple[int, int] | None:
        """The text span of the reading span [start, end), when it starts on a token."""
        i = bisect.bisect_left(self.starts, start)
        if i >= len(self.starts) or self.starts[i] != start:
            return None
        j = max(i, bisect.bisect_right(self.starts, end - 1) - 1)
        return self.spans[i][0], self.spans[j][1]


_EMPTY = Reading("", [], [], [])


def reading(text: str) -> Reading:
    """Tokenise `text` (normalised, kana not folded) once."""
    tagger = _tagger()
    if tagger is None or not text:
        return _EMPTY
    parts, starts, spans, pos = [], [], [], []
    at = length = 0
    for word in tagger(text):
        surface = word.surface
        found = text.find(surface, at, at + len(surface) + 64)  # only spaces lie between tokens
        if found < 0 or not surface:
            continue
        at = found + len(surface)
        piece = _token_reading(word)
        starts.append(length)
        spans.append((found, at))
        pos.append(word.feature.pos1 or "")
        parts.append(piece)
        length += len(piece)
    return Reading("".join(parts), starts, spans, pos)


@lru_cache(maxsize=4096)
def term_reading(term: str) -> str:
    """The reading a rubric term is matched by ('' when it has no Japanese in it)."""
    if not any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" for c in term):
        return ""
    return reading(term).text


def has_predicate(r: Reading) -> bool:
    """A verb, adjective or auxiliary: the text says something, it is not only a list of nouns."""
    return any(p in _PREDICATE_POS for p in r.pos)
