"""What a student wrote, made safe for each reader: a terminal, an XML parser, a spreadsheet,
a Markdown renderer.

Submission names, check messages (which quote answers), hints, `got` values and problem
messages all reach the machine formats. Each format escapes every string it writes with the
function named for its reader here, so no field can be forgotten by a template.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Characters that move the cursor, recolour a terminal, reorder text (bidi overrides), hide
# themselves (zero-width, soft hyphen), break a line in some readers (U+2028/9), or cannot be
# encoded as UTF-8 at all (lone surrogates, which a notebook's JSON can carry as "\udc80").
_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_NONCHARACTERS = "\ufffe\uffff"  # forbidden in XML 1.0


@functools.cache
def invisible() -> re.Pattern:
    """One of the characters above (built once, from this Python's Unicode database)."""
    codes = [c for c in range(0x110000) if unicodedata.category(chr(c)) in _CATEGORIES]
    codes += [ord(c) for c in _NONCHARACTERS]
    ranges, start, prev = [], codes[0], codes[0]
    for c in sorted(codes)[1:] + [-1]:
        if c != prev + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(prev)) if prev > start else ""))
            start = c
        prev = c
    return re.compile("[" + "".join(ranges) + "]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(value, keep: str = "") -> str:
    """`value` as text in which every control, format or unencodable character is shown as an
    escape (ESC -> \\x1b, RIGHT-TO-LEFT OVERRIDE -> \\u202e); characters in `keep` (e.g. "\\n")
    stay. Japanese and every other printable script are kept as they are."""
    text = str(value)
    if keep:
        return "".join(
            part if part in keep else invisible().sub(_escape, part)
            for part in re.split(f"([{re.escape(keep)}])", text)
        )
    return invisible().sub(_escape, text)


def console(value) -> str:
    """One line for a terminal or a CI log."""
    return visible(value)


# --- XML ---------------------------------------------------------------------------------------
def xml(value) -> str:
    """Text that XML 1.0 allows (tab and newlines kept; the rest of the controls, lone
    surrogates and U+FFFE/U+FFFF shown as escapes): one such character makes a whole file invalid."""
    return visible(value, keep="\t\n")


# --- CSV ---------------------------------------------------------------------------------------
# A spreadsheet runs a cell that starts with one of these as a formula (full-width forms too:
# Excel in a Japanese locale converts them); OWASP's CSV-injection guidance: prefix a quote.
_FORMULA_START = tuple("=+-@\t\r\n" + "\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs. Numbers (-1.5) stay numbers."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:g}"
    text = str(value)
    if _NUMBER.fullmatch(text):
        return text
    text = visible(text, keep="\t\r\n")
    return "'" + text if text.startswith(_FORMULA_START) else text


# --- Markdown ------------------------------------------------------------------------------------
_MD_PUNCTUATION = re.compile(r"([!\"#$%'()*+,\-./:;=?@\[\\\]^_`{|}~])")


def markdown(value) -> str:
    """Text a Markdown renderer shows as written: one line (a table row survives), every ASCII
    punctuation mark backslash-escaped (no link, image, emphasis, table cell or autolink can
    start: `https\\://` and `www\\.` are not links), `&`, `<` and `>` as entities (no HTML)."""
    text = _MD_PUNCTUATION.sub(r"\\\1", visible(" ".join(str(value).split())))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_html(value) -> str:
    """Text inside a raw HTML block of a Markdown file (`<summary>...</summary>`), where
    Markdown is not parsed but HTML is: one line, HTML-escaped."""
    text = visible(" ".join(str(value).split()))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def markdown_code(value) -> str:
    """An inline code span: shown literally; its content cannot close it or end the line."""
    text = visible(" ".join(str(value).split())).replace("`", "'")
    return f"`{text}`" if text else ""
