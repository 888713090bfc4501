"""Text normalisation for matching students' free-text answers (Japanese and English).

`normalize` applies Unicode NFKC (full-width ASCII -> ASCII, half-width katakana -> katakana,
circled digits -> digits) and then closes the gaps NFKC leaves for matching:

- lower case;
- `1×1`, `1 x 1`, `１ｘ１`, `1*1` -> `1x1` (multiplication between digits);
- long-vowel marks and dashes (ー ｰ − – — ‐ -): `ー` after kana, `-` elsewhere;
- `、，` -> `,`, `。．` -> `.`; `・` between kana is dropped (スキップ・コネクション), else `,`;
- markdown emphasis (`**`, `__`, `*`, `_x_`, `~~`, backticks) removed;
- spaces next to CJK characters removed (Japanese does not separate words), other runs of
  whitespace collapsed to one space;
- hiragana folded to katakana (last, and one character for one character, so that
  `normalize(t, fold_kana=False)` has the same length and indices as `normalize(t)`).

`guess_language` and `display_width` help decide when a person should look at an answer.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize", "fold_kana", "guess_language", "display_width", "is_cjk"]

_KANA = "\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe"  # hiragana, katakana, ー ヽ ヾ
_CJK = _KANA + "\u3005-\u3007\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u30fb"
_DASHES = "\u30fc\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2500\u2501\\-"

_TIMES = re.compile(r"(?<=\d)\s*[x×✕✖⨯*]\s*(?=\d)")
_EMPHASIS_RUNS = re.compile(r"\*\*|__|~~|`|\*")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![0-9a-z])_([^_\s][^_]*?)_(?![0-9a-z])")
_LONG_VOWEL = re.compile(f"(?<=[{_KANA}])[{_DASHES}]+")
_OTHER_DASH = re.compile(f"(?<![{_KANA}])[{_DASHES}]")
_DOT_IN_KANA = re.compile(f"(?<=[{_KANA}])・(?=[{_KANA}])")
_SPACE_NEAR_CJK = re.compile(f"(?<=[{_CJK}])\\s+|\\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_PUNCT = str.maketrans({"、": ",", "，": ",", "。": ".", "．": ".", "・": ",", "·": ","})
_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)} | {0x309D: 0x30FD, 0x309E: 0x30FE}


def fold_kana(text: str) -> str:
    """Hiragana -> katakana, one character for one character (たんさく -> タンサク)."""
    return text.translate(_HIRA_TO_KATA)


def normalize(text: str, *, fold_kana: bool = True) -> str:
    """Return `text` in the canonical form used to match answers against rubric synonyms.

    With `fold_kana=False` hiragana is kept (particles stay readable, e.g. for spotting
    negations); the result then has exactly the length of the folded one.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _TIMES.sub("x", text)  # before emphasis stripping: `1*1` is a product, not markup
    text = _UNDERSCORE_EMPHASIS.sub(r"\1", text)
    text = _EMPHASIS_RUNS.sub("", text)
    text = _LONG_VOWEL.sub("ー", text)  # a dash after kana is a mistyped long-vowel mark
    text = _OTHER_DASH.sub("-", text)
    text = _DOT_IN_KANA.sub("", text)  # スキップ・コネクション is one term
    text = text.translate(_PUNCT)
    text = _SPACES.sub(" ", text)
    text = _SPACE_NEAR_CJK.sub("", text).strip()
    return text.translate(_HIRA_TO_KATA) if fold_kana else text


def is_cjk(char: str) -> bool:
    """True for kana, kanji and CJK punctuation."""
    return bool(re.match(f"[{_CJK}]", char))


def display_width(text: str) -> int:
    """Width in terminal columns: CJK characters count 2, so Japanese and English answers of
    about the same content get about the same width. Spaces are not counted."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text if not c.isspace())


# Characters of simplified Chinese that Japanese writes differently (価 vs 价, 層 vs 层, ...):
# a kana-less answer containing them is Chinese, not Japanese.
_SIMPLIFIED_ONLY = set(
    "这们个说时为连习层络网术门见从问东车发经过还对关进现开没难让给实际处动态价值据构结卷积训练题减维样种"
)
_EN_WORDS = set(
    "the a an is are was were of and to in on for with by it its this that which be can uses use "
    "used using from as or not each more than so".split()
)
# Frequent function words of the Latin-script languages a student might also write in.
_OTHER_WORDS = set(
    "el la los las del que una por para con es ist und der die das den mit ein eine le les des "
    "est une dans pour avec du au il och är det som dat het een van zijn um não uma".split()
)


def guess_language(text: str) -> str:
    """'ja', 'en', 'other' (some other language), or '' (no letters to judge by).

    Kana means Japanese; kanji without kana is Japanese unless it uses simplified-Chinese
    forms; Greek letters are read as mathematics (θ, π, ε), not as a language.
    """
    kana = han = latin = other = 0
    simplified = 0
    for c in unicodedata.normalize("NFKC", text):
        if not c.isalpha():
            continue
        if re.match(f"[{_KANA}]", c):
            kana += 1
        elif re.match("[\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", c):
            han += 1
            simplified += c in _SIMPLIFIED_ONLY
        elif c.isascii():
            latin += 1
        elif "GREEK" not in unicodedata.name(c, ""):
            if "LATIN" in unicodedata.name(c, ""):
                latin += 1  # é, ü, ñ: judged by words below
            else:
                other += 1
    if kana:
        return "ja"
    if other > latin + han:
        return "other"
    if han and simplified and han >= latin / 4:
        return "other"
    if han and han >= latin / 4:
        return "ja"
    if not latin:
        return "other" if other else ""
    words = re.findall(r"[^\W\d_]+", text.lower())
    english = sum(w in _EN_WORDS for w in words)
    foreign = sum(w in _OTHER_WORDS for w in words)
    if len(words) >= 5 and foreign > english:
        return "other"
    return "en"
