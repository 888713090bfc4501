"""Quiz scoring: free-text answers by concept rubrics, and multiple-choice answers.

A free-text question has a `Rubric`: a list of `Concept`s, each worth points. Answers are judged
on what they say about a concept, not on whether a keyword occurs:
- a concept's `claims` (`Claim`: a subject term and a relation term in one sentence, "1x1
  convolutions reduce the channels") earn its points; naming the concept without a claim is sent
  to a person. A concept without claims counts its synonyms, or every group of an `all_of` list.
- terms are plain phrases or `re:...` regular expressions over normalised text
  (`grader.checks.textnorm`); Japanese phrases also match on lemma readings (`grader.checks.japanese`), so
  kanji, kana and inflected spellings meet.
- a rubric's `wrong_claims` (`WrongClaim`: another model's idea, a known misconception) cost
  the concept they name, or every concept.
- text the answer shares with the question (`Rubric.prompt`, a passage of about five English
  words or twelve Japanese characters, `_copied_mask`) is no evidence: a term or claim found only
  there earns nothing, whatever else the answer says.

`score_free_text` returns one CheckResult per concept. It says NEEDS_REVIEW instead of
guessing when:
- a claim or synonym is found only under a negation ("not residual", 「残差を使わない」);
- the answer is a bare list of terms, or repeats the question;
- the answer is long but earns only part of the points (it may say the right thing in words
  the rubric does not know), see `Rubric.min_chars` and `Rubric.review_band`;
- the answer is in neither Japanese nor English.
Bonus concepts can make up for missed ones, never beyond the question's points.

Multiple choice: `Choice` and `score_choice`, which reads "b", "(B)", "ｂ", "b) text", the
option's text, or several options ("a, c"). `load_rubrics` reads both kinds from JSON (schema
`dlgrade.rubrics/2`; `/1`, without claims, is still read).

Messages are in English and Japanese: every CheckResult carries `message_key` and
`message_args`; the texts are in the catalogue, `grader.i18n`.

Scoring runs in the trusted process on text of any length, so only the first
`MAX_ANSWER_CHARS` characters of an answer are read (a longer one gets a needs-review note that
says so), and every step is linear in what is read: suffixes are stripped without a
backtracking regex, the tagger makes one pass, each term keeps at most a few dozen places, and
claims and `all_of` concepts combine at most `MAX_GROUP_HITS` places per term list.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import islice, product
from pathlib import Path

from grader.checks import japanese
from grader.checks.textnorm import display_width, fold_kana, guess_language, normalize
from grader.i18n import LANGS, t
from grader.results import CheckResult, Status

__all__ = [
    "Claim",
    "Concept",
    "Rubric",
    "WrongClaim",
    "Choice",
    "RubricError",
    "score_free_text",
    "score_choice",
    "score_answer",
    "parse_choice",
    "load_rubrics",
    "NOT_ANSWERED_STUBS",
]

NOT_ANSWERED_STUBS = ("YOUR ANSWER HERE",)  # what nbgrader leaves in a released markdown cell
MAX_ANSWER_CHARS = 10_000  # read of one answer; a thorough answer is under 2,000
MAX_GROUP_HITS = 20  # places per all_of group that are combined with the other groups'


class RubricError(ValueError):
    """A rubric (file, question or concept) is malformed."""


# --------------------------------------------------------------------------- matching

_SEP = r"[\s\-_]?"  # "skip connection" also matches "skip-connection" and "skipconnection"
_LATIN_START = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    negated: bool


def _compile(synonym: str) -> re.Pattern:
    if synonym.startswith("re:"):
        return re.compile(_normalize_regex(synonym[3:]))
    norm = normalize(synonym)
    if not norm:
        raise RubricError(f"empty synonym: {synonym!r}")
    body = _SEP.join(re.escape(part) for part in re.split(r"[\s\-_]+", norm) if part)
    if _LATIN_START.match(norm):  # "res" must not match inside "pressure"
        body = r"(?<![a-z0-9])" + body
    if len(norm) <= 3 and norm.isascii():  # short words: "vgg", "td", "gap" stand alone
        body += r"(?![a-z])"
    return re.compile(body)


def _normalize_regex(pattern: str) -> str:
    """NFKC, hiragana -> katakana, and lower case outside escapes (`\\S`, `\\D` keep their
    meaning). The other steps of `normalize` are not applied: write `ー` after kana, `,` `.` for
    Japanese punctuation and `x` in `1x1`, as normalised text has them."""
    pattern = fold_kana(unicodedata.normalize("NFKC", pattern))
    return re.sub(r"\\.|[^\\]+", lambda m: m.group() if m.group()[0] == "\\" else m.group().lower(), pattern)


# Negation cues. English ones stand before the term ("not residual", "without skip
# connections") or after it ("... are not used"); Japanese ones follow it (「残差を使わない」).
_EN_NEG_WORDS = {"not", "no", "non", "without", "never", "neither", "nor", "cannot", "lacks", "lack"}
_EN_NEG_AFTER = re.compile(r"^[a-z]*\s+(?:[a-z]+\s+)?(?:is|are|was|were|do|does|did|has|have)(?:\s+not|n't|\s+never)\b")
_JA_CLAUSE_END = re.compile(r"[,.!?;:()\[\]「」]|で(?![はも])|に|の|と|から|ため|より")
_JA_NEG = re.compile(
    r"(?<!少)(?<!足り)(?<!危)(?<!だけで)(?<!だけじゃ)(?<!しか)な[いくしかけ](?!ー)"
    r"|無[いくし]|[わいせらきけれさ]ず(?!か)|ません|不要|不使用"
)
_JA_WINDOW = 12
_NOUN_TAIL = re.compile(r"^(?:[a-z0-9]*(?:[\s\-_][a-z]+)?)?(?:(?![無不])[\u30a0-\u30ff\u4e00-\u9fff]){0,10}")


def _negated_default(plain: str, start: int, end: int) -> bool:
    before = re.split(r"[,.;:!?]", plain[max(0, start - 40) : start])[-1]
    words = re.findall(r"[a-z']+", before)[-3:]
    for i, w in enumerate(words):
        if (w in _EN_NEG_WORDS or w.endswith("n't")) and words[i + 1 : i + 2] != ["only"]:
            return True
    if _EN_NEG_AFTER.match(plain[end : end + 40]):
        return True
    # Skip the rest of the noun the term heads ("residual blocks", 「残差接続」, 「モジュール」),
    # then read the predicate that follows.
    rest = _NOUN_TAIL.sub("", plain[end : end + 40], count=1)
    after = rest[:_JA_WINDOW]
    cut = _JA_CLAUSE_END.search(after)
    after = after[: cut.start()] if cut else after
    particles = [m.start() for m in re.finditer("[をがは]", after)]
    if len(particles) > 1:  # a second case particle starts another predicate's argument
        after = after[: particles[1]]
    return bool(_JA_NEG.search(after))


class _Text:
    """One answer, read once: normalised with and without kana folding (same indices), its
    Japanese lemma readings, and where its sentences end."""

    def __init__(self, plain: str, folded: str, raw: str = ""):
        self.plain, self.folded = plain, folded
        # lines as written: a bulleted list is a list even though normalising joins its lines
        self.lines = [normalize(line) for line in raw.splitlines()] if "\n" in raw else [folded]
        self.reading = (
            japanese.reading(plain) if re.search("[\u3040-\u30ff\u4e00-\u9fff]", plain) else japanese.reading("")
        )
        self.ends = [m.start() for m in _SENTENCE_END.finditer(plain)]

    def sentence(self, pos: int) -> int:
        return bisect.bisect_right(self.ends, pos)


_SENTENCE_END = re.compile(r"[!?;\n]|\.(?!\d)|->|=>|→")


class _Term:
    """A rubric phrase: matched on the normalised surface (a `re:` pattern or a phrase), and a
    Japanese phrase also on lemma readings, so that kanji, kana and inflected spellings meet."""

    def __init__(self, term: str):
        self.pattern = _compile(term)
        self.reading = "" if term.startswith("re:") else japanese.term_reading(normalize(term, fold_kana=False))

    def spans(self, text: _Text) -> list[tuple[int, int]]:
        spans = [m.span() for m in islice(self.pattern.finditer(text.folded), MAX_GROUP_HITS)]
        if len(self.reading) >= 2:
            r = text.reading
            at = r.text.find(self.reading)
            while at >= 0 and len(spans) < 2 * MAX_GROUP_HITS:
                span = r.to_text(at, at + len(self.reading))
                if span:
                    spans.append(span)
                at = r.text.find(self.reading, at + 1)
            if len(self.reading) >= 3:  # the word spelled out in kana: ざんさ, こうばいしょうしつ
                at = text.folded.find(self.reading)
                while at >= 0 and len(spans) < 3 * MAX_GROUP_HITS:
                    spans.append((at, at + len(self.reading)))
                    at = text.folded.find(self.reading, at + 1)
        return spans


def _terms(phrases: list[str]) -> list[_Term]:
    return [_Term(p) for p in phrases]


def _all_spans(terms: list[_Term], text: _Text) -> list[tuple[int, int]]:
    return [sp for term in terms for sp in term.spans(text)][:MAX_GROUP_HITS]


class Claim:
    """What an answer says about a subject: a subject term and a relation term in one sentence,
    at most `within` characters apart. No relation terms: the subject alone makes the claim.

    negated: for a known wrong claim, True when the wrong thing is the negated form
    ("there is no trade-off"). unless: terms that, in the same sentence, make it a comparison
    ("unlike ResNet, ...") rather than a claim about this question's subject.
    """

    def __init__(
        self,
        subject: list[str],
        relation: list[str] | None = None,
        within: int = 80,
        negated: bool = False,
        unless: list[str] | None = None,
    ):
        if not subject:
            raise RubricError("a claim needs subject terms")
        self.subject, self.relation = _terms(subject), _terms(relation or [])
        self.within, self.negated, self.unless = within, negated, _terms(unless or [])

    @classmethod
    def from_dict(cls, d: dict) -> Claim:
        unknown = set(d) - {"subject", "relation", "within", "negated", "unless"}
        if unknown:
            raise RubricError(f"claim: unknown keys {sorted(unknown)}")
        return cls(
            list(d["subject"]),
            list(d.get("relation", [])),
            int(d.get("within", 80)),
            bool(d.get("negated", False)),
            list(d.get("unless", [])),
        )

    def find(self, text: _Text, negated_at) -> list[_Hit]:
        subjects = _all_spans(self.subject, text)
        relations = _all_spans(self.relation, text) if self.relation else [None]
        excluded = {text.sentence(s) for s, _ in _all_spans(self.unless, text)}
        hits = []
        for (ss, se), rel in product(subjects, relations):
            sentence = text.sentence(ss)
            if sentence in excluded:
                continue
            if rel is None:
                hits.append(_Hit(ss, se, negated_at(ss, se)))
                continue
            rs, re_ = rel
            if text.sentence(rs) != sentence or max(se, re_) - min(ss, rs) > self.within:
                continue
            hits.append(_Hit(min(ss, rs), max(se, re_), negated_at(ss, se) or negated_at(rs, re_)))
        return hits


@dataclass
class Concept:
    """One idea an answer should contain.

    synonyms: phrases (normalised before matching) or `re:` regular expressions; any one counts.
    all_of: groups of synonyms that must all occur (e.g. "1x1 conv" and "dimension reduction"),
        within `within` characters of each other when that is set. Either way counts.
    negations: None for the built-in English/Japanese negation cues; [] when a negation is part
        of the idea itself (「勾配消失が起きない」); else cue phrases to look for next to a match.
    label: short name of the idea per language, shown to students instead of the synonyms.
    bonus: optional idea; its points make up for missed ones, never beyond the question's total.
    claims: what the answer must say about the idea (`Claim` or its dict form). When a concept
        has claims, only a claim earns its points; its synonyms then only name the idea, and
        naming it without a claim is sent to a person (`quiz.no_claim`).
    """

    id: str
    points: float
    synonyms: list[str] = field(default_factory=list)
    negations: list[str] | None = None
    all_of: list[list[str]] = field(default_factory=list)
    within: int | None = None
    label: dict[str, str] = field(default_factory=dict)
    hint: dict[str, str] = field(default_factory=dict)
    bonus: bool = False
    claims: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.id or self.points <= 0:
            raise RubricError(f"concept {self.id!r} needs an id and positive points")
        if not self.synonyms and not self.all_of and not self.claims:
            raise RubricError(f"concept {self.id!r} has neither synonyms, all_of groups nor claims")
        try:
            self._claims = [c if isinstance(c, Claim) else Claim.from_dict(c) for c in self.claims]
            self._terms = _terms(self.synonyms)
            self._patterns = [_compile(s) for s in self.synonyms]
            self._groups = [[_compile(s) for s in group] for group in self.all_of]
            self._cues = None if self.negations is None else [_compile(s) for s in self.negations]
        except re.error as e:
            raise RubricError(f"concept {self.id!r}: bad regular expression: {e}") from e
        if any(not g for g in self._groups):
            raise RubricError(f"concept {self.id!r} has an empty all_of group")
        self._fuzzy = [
            tuple(normalize(s).split())
            for s in self.synonyms
            if not s.startswith("re:") and re.fullmatch(r"[a-z ]{7,}", normalize(s))
        ]

    def name(self, lang: str) -> str:
        return self.label.get(lang) or self.label.get("en") or self.id.replace("_", " ")

    def find(self, folded: str, plain: str, text: _Text | None = None) -> list[_Hit]:
        """Every place the concept is named in the answer (`folded` and `plain` are its
        normalised forms with and without kana folding; they share indices)."""
        text = text or _Text(plain, folded)
        spans = [sp for term in self._terms for sp in term.spans(text)]
        spans += self._group_spans(folded)
        if not spans:
            spans = _fuzzy_spans(self._fuzzy, folded)
        return [_Hit(s, e, self._negated(folded, plain, s, e)) for s, e in spans]

    def find_claims(self, text: _Text) -> list[_Hit]:
        """Every place the answer makes one of the concept's claims."""
        negated_at = lambda s, e: self._negated(text.folded, text.plain, s, e)  # noqa: E731
        return [h for claim in self._claims for h in claim.find(text, negated_at)]

    def _group_spans(self, folded: str) -> list[tuple[int, int]]:
        if not self._groups:
            return []
        # the first places of each group only: combining every place of every group is a
        # product, as large as the answer is long to the power of the number of groups
        per_group = [[m.span() for p in g for m in p.finditer(folded)][:MAX_GROUP_HITS] for g in self._groups]
        spans = []
        for combo in product(*per_group):
            start, end = min(s for s, _ in combo), max(e for _, e in combo)
            if self.within is None or end - start <= self.within:
                spans.append((start, end))
        return spans

    def _negated(self, folded: str, plain: str, start: int, end: int) -> bool:
        if self._cues is None:
            return _negated_default(plain, start, end)
        window = folded[max(0, start - 20) : end + _JA_WINDOW]
        return any(p.search(window) for p in self._cues)


def _edit_distance_at_most_1(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :] or (len(a) == len(b) and a[i + 1 :] == b[i + 1 :])


def _fuzzy_spans(phrases: list[tuple[str, ...]], folded: str) -> list[tuple[int, int]]:
    """Spans of word windows one typo away from a Latin phrase ("residul", "inseption").
    Only phrases of 7+ letters: shorter words have too many one-letter neighbours."""
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[a-z]+", folded)]
    spans = []
    for phrase in phrases:
        target, k = " ".join(phrase), len(phrase)
        for i in range(len(words) - k + 1):
            window = words[i : i + k]
            text = " ".join(w for w, _, _ in window)
            if text[0] == target[0] and _edit_distance_at_most_1(text, target):
                spans.append((window[0][1], window[-1][2]))
    return spans


# --------------------------------------------------------------------------- free text


@dataclass
class WrongClaim:
    """A claim that is wrong for this question (another model's idea, a known misconception).
    Made (with the polarity `claim.negated` asks for), it costs `concept` its points, or every
    concept when `concept` is empty."""

    id: str
    claim: Claim
    concept: str = ""
    label: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> WrongClaim:
        unknown = set(d) - {"id", "subject", "relation", "within", "negated", "unless", "concept", "label"}
        if unknown or not d.get("id"):
            raise RubricError(f"wrong claim {d.get('id')!r}: needs an id; unknown keys {sorted(unknown)}")
        claim = Claim.from_dict({k: v for k, v in d.items() if k not in ("id", "concept", "label")})
        return cls(d["id"], claim, d.get("concept", ""), d.get("label", {}))

    def find(self, text: _Text) -> _Hit | None:
        hits = self.claim.find(text, lambda s, e: _negated_default(text.plain, s, e))
        return next((h for h in hits if h.negated == self.claim.negated), None)


@dataclass
class Rubric:
    """A free-text question.

    min_chars: display width (CJK characters count 2) from which an answer counts as a real
        prose answer; such an answer whose share of the points lies inside `review_band`
        (inclusive) gets its missed concepts marked NEEDS_REVIEW instead of FAIL.
    wrong_claims: `WrongClaim`s (or their dict form) that cost points when the answer makes them.
    """

    question_id: str
    concepts: list[Concept]
    min_chars: int = 60
    review_band: tuple[float, float] = (0.25, 0.5)
    prompt: dict[str, str] = field(default_factory=dict)
    wrong_claims: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self._wrong = [w if isinstance(w, WrongClaim) else WrongClaim.from_dict(w) for w in self.wrong_claims]
        if not any(not c.bonus for c in self.concepts):
            raise RubricError(f"rubric {self.question_id!r} has no (non-bonus) concept")
        ids = [c.id for c in self.concepts]
        if len(set(ids)) != len(ids):
            raise RubricError(f"rubric {self.question_id!r} repeats a concept id")
        lo, hi = self.review_band
        if not 0 <= lo <= hi <= 1:
            raise RubricError(f"rubric {self.question_id!r}: review_band must be 0 <= lo <= hi <= 1")

    @property
    def points(self) -> float:
        return sum(c.points for c in self.concepts if not c.bonus)


def _considered(answer) -> str:
    """The part of an answer that is read: its first MAX_ANSWER_CHARS characters."""
    return answer[:MAX_ANSWER_CHARS] if isinstance(answer, str) else ""


def _strip_stub(answer: str | None) -> str:
    text = answer or ""
    for stub in NOT_ANSWERED_STUBS:
        text = re.sub(re.escape(stub), " ", text, flags=re.IGNORECASE)
    return text


def _excerpt(plain: str, hit: _Hit, margin: int = 8) -> str:
    return plain[max(0, hit.start - margin) : hit.end + margin].strip()


def score_free_text(answer: str | None, rubric: Rubric, lang: str = "en") -> list[CheckResult]:
    """Score `answer` against `rubric`: one CheckResult per concept, named
    "<question id>: <concept id>"."""
    full_length = len(answer) if isinstance(answer, str) else 0
    answer = _considered(answer)
    plain = normalize(_strip_stub(answer), fold_kana=False)
    folded = normalize(plain)
    if not re.search(r"\w", folded):
        return [_concept_result(rubric, c, Status.FAIL, 0.0, "quiz.not_answered", lang) for c in rubric.concepts]
    results = _scored_concepts(rubric, answer, plain, folded, lang)
    if full_length > MAX_ANSWER_CHARS:
        results.append(_truncated_note(rubric.question_id, full_length, lang))
    return results


def _truncated_note(question_id: str, length: int, lang: str) -> CheckResult:
    """Worth nothing by itself; says that a person reads what the grader did not."""
    args = {"question": question_id, "length": length, "limit": MAX_ANSWER_CHARS}
    return CheckResult(
        name=f"{question_id}: length",
        status=Status.NEEDS_REVIEW,
        score=0.0,
        max_score=0.0,
        message=t("quiz.truncated", lang, **args),
        message_key="quiz.truncated",
        message_args=args,
    )


def _scored_concepts(rubric: Rubric, answer: str, plain: str, folded: str, lang: str) -> list[CheckResult]:
    text = _Text(plain, folded, _strip_stub(answer))
    doubt = _doubt(rubric, text)
    if doubt:  # no points, and a person reads it
        return [
            _concept_result(rubric, c, Status.PASS, 0.0, "quiz.bonus_missed", lang)
            if c.bonus
            else _concept_result(rubric, c, Status.NEEDS_REVIEW, 0.0, doubt, lang)
            for c in rubric.concepts
        ]
    hits, claim_hits = {}, {}
    copied = _copied_mask(rubric, folded)  # text the question has too is no evidence of a claim
    for c in rubric.concepts:
        hits[c.id] = _own_words(c.find(folded, plain, text), copied, folded)
        claim_hits[c.id] = _own_words(c.find_claims(text), copied, folded) if c._claims else []
    found, negated, unclaimed = set(), set(), set()
    for c in rubric.concepts:
        named = hits[c.id] + claim_hits[c.id]
        if c._claims:
            if any(not h.negated for h in claim_hits[c.id]):
                found.add(c.id)
            elif claim_hits[c.id]:
                negated.add(c.id)
            elif any(not h.negated for h in hits[c.id]):
                unclaimed.add(c.id)
            elif hits[c.id]:
                negated.add(c.id)
        elif any(not h.negated for h in named):
            found.add(c.id)
        elif named:
            negated.add(c.id)
    wrong: dict[str, tuple[WrongClaim, _Hit]] = {}
    for w in rubric._wrong:
        hit = w.find(text)
        if hit:
            for c in rubric.concepts:
                if not c.bonus and (not w.concept or w.concept == c.id):
                    wrong.setdefault(c.id, (w, hit))
    found -= set(wrong)

    core = sum(c.points for c in rubric.concepts if not c.bonus and c.id in found)
    room = rubric.points - core
    bonus_score: dict[str, float] = {}
    for c in rubric.concepts:
        if c.bonus and c.id in found and not wrong:
            bonus_score[c.id] = min(c.points, room)
            room -= bonus_score[c.id]
    share = (core + sum(bonus_score.values())) / rubric.points

    language = guess_language(answer or "")
    if language == "other":
        unsure_key = "quiz.review_language"
    elif (
        not wrong
        and display_width(folded) >= rubric.min_chars
        and rubric.review_band[0] <= share <= rubric.review_band[1]
        and share < 1
    ):
        unsure_key = "quiz.review_coverage"
    else:
        unsure_key = ""

    results = []
    for c in rubric.concepts:
        every = hits[c.id] + claim_hits[c.id]
        first = next((h for h in claim_hits[c.id] if not h.negated), None) or next(
            (h for h in every if not h.negated), every[0] if every else None
        )
        got = _excerpt(plain, first) if first else None
        if c.bonus:
            key = "quiz.bonus_found" if c.id in bonus_score else "quiz.bonus_missed"
            results.append(_concept_result(rubric, c, Status.PASS, bonus_score.get(c.id, 0.0), key, lang, got))
        elif c.id in wrong:
            w, hit = wrong[c.id]
            extra = {
                "wrong": w.id,
                "wrong_en": w.label.get("en", w.id),
                "wrong_ja": w.label.get("ja") or w.label.get("en", w.id),
            }
            results.append(
                _concept_result(rubric, c, Status.FAIL, 0.0, "quiz.wrong_claim", lang, _excerpt(plain, hit), extra)
            )
        elif c.id in found:
            results.append(_concept_result(rubric, c, Status.PASS, c.points, "quiz.found", lang, got))
        elif c.id in negated:
            results.append(_concept_result(rubric, c, Status.NEEDS_REVIEW, 0.0, "quiz.negated", lang, got))
        elif c.id in unclaimed:
            results.append(_concept_result(rubric, c, Status.NEEDS_REVIEW, 0.0, "quiz.no_claim", lang, got))
        elif unsure_key:
            results.append(_concept_result(rubric, c, Status.NEEDS_REVIEW, 0.0, unsure_key, lang))
        else:
            results.append(_concept_result(rubric, c, Status.FAIL, 0.0, "quiz.missed", lang))
    return results


_LIST_ITEM = re.compile(r"[,/\n・;]|->|=>|→|\.(?!\d)")
_EN_VERBS = set(
    "is are was were be been being can cannot could will would does do did has have had uses use used "
    "make makes let lets gives give means mean depends depend takes take learns learn updates update "
    "reduces reduce adds add avoids avoid allows allow helps help needs need must should may might "
    "isn't aren't doesn't don't can't won't".split()
)


def _doubt(rubric: Rubric, text: _Text) -> str:
    """Why the answer cannot be scored on its claims: it is a bare list of terms (two or more
    items, none of them a sentence), or it repeats the question. '' when it can be."""
    if _is_term_list(text):
        return "quiz.keywords_only"
    if _copies_prompt(rubric, text.folded):
        return "quiz.copied_question"
    return ""


def _is_term_list(text: _Text) -> bool:
    if guess_language(text.plain) == "other":
        return False  # sent to a person by the language check
    items = [
        i.strip()
        for line in text.lines  # a bracket is part of its term: "Q(s,a)"
        for i in _LIST_ITEM.split(re.sub(r"\([^()]{0,40}\)", " ", line))
        if re.search(r"\w", i)
    ]
    if len(items) < 2:
        return False
    if text.reading.pos and _says_something(text.reading):
        return False
    words = [re.findall(r"[a-z']+", i) for i in items]
    if any(len(ws) > 1 and any(w in _EN_VERBS for w in ws) for ws in words):  # "update" alone is a term
        return False
    if any(len(ws) > 4 for ws in words):  # a sentence whose verb the list above does not know
        return False
    if any(re.search("[\u3040-\u30ff\u4e00-\u9fff]", i) for i in items) and not japanese.available():
        return False  # no morphology to tell a Japanese list from a sentence
    return True


def _says_something(r: japanese.Reading) -> bool:
    """A predicate, or case particles that relate terms (「1x1 convで次元削減」); a bare list of
    nouns joined by の or と says nothing about them."""
    if japanese.has_predicate(r):
        return True
    return any(
        p == "助詞"
        and r.text[r.starts[i] : (r.starts[i + 1] if i + 1 < len(r.starts) else len(r.text))]
        in {"ヲ", "ガ", "デ", "ニ", "ハ", "モ", "カラ", "ヨリ"}
        for i, p in enumerate(r.pos)
    )


def _bigrams(text: str) -> set[str]:
    chars = re.sub(r"[\W_]+", "", text)[:2000]
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def _copies_prompt(rubric: Rubric, folded: str) -> bool:
    """Most of the answer is the question's own text (in either language): its character pairs,
    or its letters and digits, which lie in passages copied from the question (`_copied_mask`)."""
    answer = _bigrams(folded)
    if len(answer) < 3:
        return False
    for prompt in rubric.prompt.values():
        asked = _bigrams(normalize(prompt))
        if asked and len(answer & asked) >= 0.8 * len(answer):
            return True
    mask = _copied_mask(rubric, folded)
    if mask is None:
        return False
    letters = [i for i, ch in enumerate(folded) if ch.isalnum()]
    return sum(mask[i] for i in letters) >= 0.8 * len(letters)


# A copied passage: letters and digits in a row that the question's text has in the same order,
# weighing at least COPIED_WEIGHT, a Japanese character counting 2 (about 5 English words or 12
# Japanese characters): more than naming a term the question names, as an answer may.
COPIED_WEIGHT = 30


def _skeleton(text: str) -> tuple[str, list[int]]:
    """The letters and digits of `text` (spaces, punctuation and markup dropped, so that small
    edits do not hide a copy) and where each one stands in `text`."""
    at = [i for i, ch in enumerate(text) if ch.isalnum()]
    return "".join(text[i] for i in at), at


def _copied_mask(rubric: Rubric, folded: str) -> bytearray | None:
    """Per character of the answer, 1 inside a passage copied from the question's text
    (`Rubric.prompt`, either language); None when there is none. From each letter, the longest
    run that a prompt also has; each start begins from the previous run less one letter, so the
    look-ups are linear in the answer."""
    asked = [_skeleton(normalize(p))[0][:2000] for p in rubric.prompt.values()]
    if not any(asked):
        return None
    chars, at = _skeleton(folded)
    weight = [0]
    for ch in chars:
        weight.append(weight[-1] + (2 if ord(ch) >= 0x3000 else 1))
    mask, found, run = bytearray(len(folded)), False, 0
    for i in range(len(chars)):
        run = max(run - 1, 0)
        while i + run < len(chars) and any(chars[i : i + run + 1] in a for a in asked):
            run += 1
        if weight[i + run] - weight[i] >= COPIED_WEIGHT:
            found = True
            for k in range(i, i + run):
                mask[at[k]] = 1
    return mask if found else None


def _own_words(hits: list, mask: bytearray | None, folded: str) -> list:
    """The hits that are not wholly inside passages copied from the question: naming what the
    question names, or repeating its words, says nothing the student knows."""
    if mask is None:
        return hits
    own = []
    for h in hits:
        letters = [i for i in range(h.start, min(h.end, len(mask))) if folded[i].isalnum()]
        if not letters or not all(mask[i] for i in letters):
            own.append(h)
    return own


def _concept_result(
    rubric: Rubric,
    c: Concept,
    status: Status,
    score: float,
    key: str,
    lang: str,
    got: str | None = None,
    extra: dict | None = None,
) -> CheckResult:
    args = {
        "question": rubric.question_id,
        "concept": c.id,
        "concept_en": c.name("en"),
        "concept_ja": c.name("ja"),
        "got": got or "",
        **(extra or {}),
    }
    hints = {}  # in every language, so that a report re-renders the hint with the message
    if status is not Status.PASS:
        hints = {lang_: c.hint.get(lang_) or c.hint.get("en") or t("quiz.hint", lang_, **args) for lang_ in LANGS}
    return CheckResult(
        name=f"{rubric.question_id}: {c.id}",
        status=status,
        score=round(score, 6),
        max_score=0.0 if c.bonus else c.points,
        message=t(key, lang, **args),
        got=got,
        hint=hints.get(lang, ""),
        hints=hints,
        message_key=key,
        message_args=args,
    )


# --------------------------------------------------------------------------- multiple choice


@dataclass
class Choice:
    """A multiple-choice question: option key -> option text; one or several correct keys."""

    question_id: str
    options: dict[str, str]
    correct: set[str] | str
    points: float = 1.0
    prompt: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.correct, str):
            self.correct = {self.correct}
        self.correct = set(self.correct)
        if not self.options or not self.correct or not self.correct <= set(self.options):
            raise RubricError(f"choice {self.question_id!r}: correct keys must be among its options")
        if self.points <= 0:
            raise RubricError(f"choice {self.question_id!r} needs positive points")
        keys = [normalize(k) for k in self.options]
        if len(set(keys)) != len(keys) or not all(keys):
            raise RubricError(f"choice {self.question_id!r}: option keys clash after normalisation")

    @property
    def multiple(self) -> bool:
        return len(self.correct) > 1


_PREFIX = re.compile(r"^(?:answer|ans|答エ|答|解答|正解)\s*(?:ハ|:|=)?\s*")


def _strip_suffix(text: str) -> str:
    """Drop a closing "です" / "だ" and the dots and marks after it: what the regex
    `\\s*(?:デス|ダ)?\\s*[.!]*$` removes, without its quadratic backtracking on a long run."""
    text = text.rstrip(".!").rstrip()
    for word in ("デス", "ダ"):
        if text.endswith(word):
            return text[: -len(word)].rstrip()
    return text


_LIST_SEP = r"(?:\s*(?:,|/|&|\+|;|\band\b|ト|オヨビ|及ビ)\s*|\s+)"


def parse_choice(answer: str | None, choice: Choice) -> set[str] | None:
    """The option keys `answer` picks: an empty set when unanswered, None when unreadable.

    Reads "b", "B", "(b)", "ｂ", "b) text", "答えはb", the option's own text, and for
    questions with several correct options "a, c", "a and c", "a・c" or "ac".
    """
    text = _strip_suffix(_PREFIX.sub("", normalize(_strip_stub(_considered(answer))))).replace(")(", ") (")
    if not re.search(r"\w", text):
        return set()
    by_norm = {normalize(k): k for k in choice.options}
    texts = {normalize(v).rstrip("."): k for k, v in choice.options.items()}
    if text in texts:
        return {texts[text]}
    key = "|".join(re.escape(k) for k in sorted(by_norm, key=len, reverse=True))
    tokens = [re.fullmatch(rf"[(\[「]?\s*({key})\s*[)\]」]?", p) for p in re.split(_LIST_SEP, text) if p]
    if tokens and all(tokens):
        return {by_norm[m.group(1)] for m in tokens}
    # "b) its text" or "(a) text, (c) text": keys marked by a bracket, dot or colon
    marker = re.compile(rf"(?:^|(?<=[\s,;/]))[(\[]?({key})[)\].:]\s*")
    marks = list(marker.finditer(text))
    if marks and marks[0].start() == 0:
        picked = set()
        for m, nxt in zip(marks, marks[1:] + [None]):
            rest = text[m.end() : nxt.start() if nxt else len(text)].strip(" ,;/")
            k = by_norm[m.group(1)]
            if rest in texts and texts[rest] != k:
                return None  # the letter says one option, the text another
            picked.add(k)
        return picked
    pieces = [p.strip() for p in re.split(r"\s*[,;/]\s*", text)]
    if len(pieces) > 1 and all(p in texts for p in pieces):
        return {texts[p] for p in pieces}
    if (
        choice.multiple
        and all(len(k) == 1 for k in by_norm)
        and re.fullmatch(f"[{''.join(map(re.escape, by_norm))}]{{2,}}", text)
    ):
        return {by_norm[ch] for ch in text}
    return None


def score_choice(answer: str | None, choice: Choice, lang: str = "en", reveal: bool = False) -> CheckResult:
    """Score a multiple-choice answer: all correct options and no other for the points.
    The expected answer is shown only with `reveal=True`."""
    picked = parse_choice(answer, choice)
    expected = ", ".join(sorted(choice.correct))
    args = {
        "question": choice.question_id,
        "got": _considered(answer)[:200].strip()[:60],
        "options": ", ".join(choice.options),
    }
    hints = {}
    if picked is None:
        status, score, key = Status.NEEDS_REVIEW, 0.0, "quiz.choice_unreadable"
    elif not picked:
        status, score, key = Status.FAIL, 0.0, "quiz.not_answered"
    elif picked == choice.correct:
        status, score, key = Status.PASS, choice.points, "quiz.choice_correct"
    else:
        status, score = Status.FAIL, 0.0
        key = "quiz.choice_wrong_reveal" if reveal else "quiz.choice_wrong"
        if choice.multiple and len(picked) == 1:
            hints = {lang_: t("quiz.choice_hint_multi", lang_) for lang_ in LANGS}
    if reveal:
        args["expected"] = expected
    return CheckResult(
        name=choice.question_id,
        status=status,
        score=score,
        max_score=choice.points,
        message=t(key, lang, **args),
        expected=sorted(choice.correct) if reveal else None,
        got=sorted(picked) if picked else None,
        hint=hints.get(lang, ""),
        hints=hints,
        message_key=key,
        message_args=args,
    )


def score_answer(
    answer: str | None, item: Rubric | Choice, lang: str = "en", reveal: bool = False
) -> list[CheckResult]:
    """Score one answer against whichever kind of question `item` is."""
    if isinstance(item, Choice):
        return [score_choice(answer, item, lang, reveal)]
    return score_free_text(answer, item, lang)


# --------------------------------------------------------------------------- loading

_CONCEPT_KEYS = {"id", "points", "synonyms", "negations", "all_of", "within", "label", "hint", "bonus", "claims"}
SCHEMAS = ("dlgrade.rubrics/1", "dlgrade.rubrics/2")  # /2 adds claims and wrong_claims; /1 is still read


def load_rubrics(path: str | Path) -> dict[str, Rubric | Choice]:
    """Read a rubric file: `{"questions": [{"id", "type": "free_text" | "choice", ...}]}`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RubricError(f"{path}: cannot read rubrics: {e}") from e
    if data.get("schema", SCHEMAS[0]) not in SCHEMAS:
        raise RubricError(f"{path}: unknown schema {data.get('schema')!r} (known: {', '.join(SCHEMAS)})")
    items: dict[str, Rubric | Choice] = {}
    for q in data.get("questions", []):
        qid = q.get("id", "")
        if not qid or qid in items:
            raise RubricError(f"{path}: question id missing or repeated: {qid!r}")
        try:
            items[qid] = _question_from_dict(q)
        except (KeyError, TypeError) as e:
            raise RubricError(f"{path}: question {qid!r} is malformed: {e!r}") from e
    return items


def _question_from_dict(q: dict) -> Rubric | Choice:
    kind = q.get("type")
    if kind == "choice":
        return Choice(
            question_id=q["id"],
            options=dict(q["options"]),
            correct=q["correct"] if isinstance(q["correct"], str) else set(q["correct"]),
            points=float(q.get("points", 1.0)),
            prompt=q.get("prompt", {}),
        )
    if kind == "free_text":
        concepts = []
        for c in q["concepts"]:
            unknown = set(c) - _CONCEPT_KEYS
            if unknown:
                raise RubricError(f"question {q['id']!r}, concept {c.get('id')!r}: unknown keys {sorted(unknown)}")
            concepts.append(Concept(**{**c, "points": float(c["points"])}))
        return Rubric(
            question_id=q["id"],
            concepts=concepts,
            min_chars=int(q.get("min_chars", 60)),
            review_band=tuple(q.get("review_band", (0.25, 0.5))),
            prompt=q.get("prompt", {}),
            wrong_claims=list(q.get("wrong_claims", [])),
        )
    raise RubricError(f"question {q.get('id')!r}: type must be 'free_text' or 'choice', not {kind!r}")
