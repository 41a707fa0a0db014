"""Plain text out of HTML, and sentences out of text, with offsets.

Sentences.  HTML is first reduced to text with the stdlib ``html.parser`` (``<script>``/``<style>``
dropped, block tags become line breaks); offsets are then into that extracted text (see
:func:`extract_text`), for plain text into the original input, so that
``text[f.start:f.end] == f.sentence``.  Line breaks and bullets (•, -, *, 1., 1), a)) are sentence
boundaries, as are . ! ? … followed by a space and a capital, digit or quote (not after common
abbreviations or initials).

Linear time: the splitter is a single pass and stray "<" are escaped before the stdlib HTML parser
sees them (it is quadratic on "<p <p <p ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


# --------------------------------------------------------------------------- HTML

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "option", "p", "pre", "section", "summary", "table", "td", "th", "title", "tr",
    "ul", "body", "html", "head", "button", "label",
}
_DROP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "object"}
_SPACES = re.compile(r"\s+")
_LOOKS_HTML = re.compile(
    r"<(?:!doctype|html|head|body|p|div|br|li|ul|ol|span|a|h[1-6]|script|style|table|section|article|strong|em)"
    r"[\s/>]", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in _DROP_TAGS:
            self.dropping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(_SPACES.sub(" ", data))


def looks_like_html(text: str) -> bool:
    return bool(_LOOKS_HTML.search(text[:65536]))


def _escape_stray_brackets(html: str) -> str:
    """Escape every "<" that has no ">" before the next "<" (it cannot open a tag).

    The stdlib parser rescans to the end of the input for each unterminated "<p <p <p ...": quadratic.
    After this linear pass every remaining "<" reaches its ">" before the next "<".
    """
    if "<" not in html:
        return html
    out = []
    next_gt = next_lt = len(html)
    for i in range(len(html) - 1, -1, -1):
        ch = html[i]
        if ch == "<":
            out.append("<" if next_gt < next_lt else "&lt;")
            next_lt = i
        else:
            if ch == ">":
                next_gt = i
            out.append(ch)
    return "".join(reversed(out))


def extract_text(html: str) -> str:
    """Visible text of an HTML document; block elements end lines.  Offsets of findings refer to this."""
    parser = _TextExtractor()
    try:
        parser.feed(_escape_stray_brackets(html))
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # the parser is tolerant, but a checker must not fail: drop what looks like tags
        text = re.sub(r"<[^<>]*>", "\n", html)
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- sentences

_LINE = re.compile(r"[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
_BULLET_CHARS = "•◦▪▫‣⁃●○■□►▶▸✓✔➢➤➔→·"
_MIDLINE_BULLETS = "•◦▪▫‣⁃●○■□►▶▸➢➤"
_BULLET = re.compile(
    r"[ \t]*(?:[" + _BULLET_CHARS + r"][ \t]*|[-*–—+][ \t]+|\(?\d{1,3}[.)][ \t]+|\(?[a-zA-Z][.)][ \t]+)")
_TERMINATORS = ".!?…。！？"
_CLOSERS = "\"'”’)]»"
_OPENERS = "\"'“‘([«¿¡"
_ABBREVIATIONS = {
    "e.g", "i.e", "eg", "ie", "dr", "mr", "mrs", "ms", "prof", "vs", "approx", "inc", "no", "fig", "figs",
    "st", "jr", "sr", "u.s", "u.k", "etc.al", "al", "ca", "cf", "mt", "dept", "est", "vol", "p", "pp", "min",
    "max", "mg", "ml", "hr", "hrs", "wk", "wks", "yr", "yrs", "nos", "op", "ref", "sec",
}


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets into ``text`` (``text[s.start:s.end] == s.text``), in order."""
    out: list[Sentence] = []
    for line in _LINE.finditer(text):
        segments = _split_bullets(text, line.start(), line.end())
        for seg_start, seg_end in segments:
            _split_segment(text, seg_start, seg_end, out)
    return out


def _split_bullets(text: str, start: int, end: int) -> list[tuple[int, int]]:
    m = _BULLET.match(text, start, end)
    if m and m.end() < end:
        start = m.end()
    spans = []
    seg = start
    for i in range(start, end):
        if text[i] in _MIDLINE_BULLETS:
            spans.append((seg, i))
            seg = i + 1
    spans.append((seg, end))
    return spans


def _split_segment(text: str, start: int, end: int, out: list[Sentence]) -> None:
    seg = start
    i = start
    while i < end:
        ch = text[i]
        if ch not in _TERMINATORS:
            i += 1
            continue
        j = i + 1
        while j < end and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
            j += 1
        if j >= end:
            break
        if not text[j].isspace():
            i = j
            continue
        k = j
        while k < end and text[k].isspace():
            k += 1
        if k >= end:
            break
        nxt = text[k]
        boundary = nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or nxt in _MIDLINE_BULLETS or not nxt.isalpha()
        if boundary and ch == "." and _abbreviation_before(text, seg, i):
            boundary = False
        if boundary:
            _emit(text, seg, j, out)
            seg = k
        i = k
    _emit(text, seg, end, out)


def _abbreviation_before(text: str, seg: int, dot: int) -> bool:
    k = dot
    while k > seg and (text[k - 1].isalpha() or text[k - 1] == "."):
        k -= 1
        if dot - k > 12:
            return False
    if k > seg and text[k - 1].isalnum():
        return False  # "1960s." ends a sentence
    word = text[k:dot].lower()
    return (len(word) == 1 and word.isalpha()) or word in _ABBREVIATIONS


def _emit(text: str, start: int, end: int, out: list[Sentence]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if (end > start and any(c.isalnum() for c in text[start:min(end, start + 200)])) or (
            end - start > 200 and any(c.isalnum() for c in text[start:end])):
        out.append(Sentence(text[start:end], start, end))
