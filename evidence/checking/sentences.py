"""Plain text out of HTML, and sentences out of text, with offsets.

HTML.  ``html_text`` (Zyte's lxml-based extractor) gives the visible text with block elements on their own
lines (scripts and styles dropped); ``main_text`` uses ``trafilatura`` to keep only a fetched page's main
content, headings and list items as their own lines.  A bold run-in heading at the start of a paragraph
("<p><b>Quick effects</b> Ketamine is ...") is put on its own line first, so that it does not run into the
sentence.  Offsets of findings refer to the extracted text.

Sentences.  Each line is a block (a heading, a list item, a paragraph); bullets (•, -, *, 1., a)) are
stripped; a line that starts with a title-case heading and then a sentence ("Quick Effects Ketamine therapy
is ...", as pasted text often reads) is cut after the heading; ``syntok`` splits the rest into sentences
(abbreviations, decimals, initials).  ``text[s.start:s.end] == s.text`` always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MAX_HTML_CHARS = 5_000_000  # larger input is cut here before parsing


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


# --------------------------------------------------------------------------- HTML

_LOOKS_HTML = re.compile(
    r"<(?:!doctype|html|head|body|p|div|br|li|ul|ol|span|a|h[1-6]|script|style|table|section|article|strong|em)"
    r"[\s/>]", re.IGNORECASE)
_RUN_IN = {"b", "strong"}
_TERMINATORS = ".!?…"


def looks_like_html(text: str) -> bool:
    return bool(_LOOKS_HTML.search(text[:65536]))


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# Tags that only wrap other blocks.  A page that nests them past libxml2's limit of 256 levels (generated page
# builders do) had every sentence from that point on dropped, and was reported as having nothing to check.
_WRAPPERS = re.compile(r"</?(?:div|section|article|main|aside|span|font|center|header|footer|nav)\b[^>]*>", re.I)


def _parse_html(html: str):
    """(tree, whether libxml2 stopped at its depth limit), as ``html_text.parse_html`` parses."""
    import lxml.html
    from lxml import etree

    body = html.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    parser = lxml.html.HTMLParser(recover=True, encoding="utf-8")
    root = etree.fromstring(body, parser=parser)
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    if root is None:
        root = etree.fromstring(b"<html/>", parser=parser)
    return root, too_deep


def _parse(html: str):
    from lxml import etree

    try:
        tree, too_deep = _parse_html(html[:MAX_HTML_CHARS])
        if too_deep:  # libxml2 stops at 256 levels and drops the rest of the page: flatten the wrappers, retry
            tree, _ = _parse_html(_WRAPPERS.sub(" ", html[:MAX_HTML_CHARS]))
    except (etree.ParserError, ValueError):
        return None
    for el in tree.iter("p", "div", "li", "td"):
        first = el[0] if len(el) else None
        if (first is not None and isinstance(first.tag, str) and first.tag.lower() in _RUN_IN
                and not (el.text or "").strip() and (first.tail or "").strip()):
            heading = first.text_content().strip()
            if heading and len(heading) <= 80 and heading[-1] not in _TERMINATORS + ":":
                br = etree.Element("br")
                br.tail, first.tail = first.tail, None
                first.addnext(br)
    return tree


def extract_text(html: str) -> str:
    """Visible text of an HTML document, one block per line.  Offsets of findings refer to this."""
    import html_text

    tree = _parse(html)
    if tree is None:
        return ""
    try:
        return _tidy(html_text.extract_text(tree, guess_layout=True))
    except Exception:  # the extractor is tolerant, but a checker must not fail on odd input
        return ""


def main_text(html: str) -> str:
    """The main content of a web page (trafilatura), headings and list items on their own lines.

    Falls back to :func:`extract_text` when trafilatura finds no main content (very short pages).
    """
    import trafilatura
    from lxml import etree

    tree = _parse(html)
    if tree is None:
        return ""
    try:
        xml = trafilatura.extract(tree, output_format="xml", favor_recall=True, include_comments=False,
                                  include_tables=True, include_links=False, include_images=False)
    except Exception:
        xml = None
    if not xml:
        return extract_text(html)
    root = etree.fromstring(xml.encode("utf-8"))
    blocks = []
    for el in root.iter("head", "p", "item", "cell", "quote"):
        if el.getparent() is not None and el.getparent().tag in ("p", "item", "quote") and el.tag != "item":
            continue  # nested: the parent's text has it
        text = " ".join("".join(el.itertext()).split())
        if text:
            blocks.append(text)
    full = extract_text(html)
    if len(blocks) <= 1 and full.count("\n") >= 1:  # trafilatura's flat fallback for short pages
        return full
    return "\n".join(blocks)


# --------------------------------------------------------------------------- sentences

_LINE = re.compile(r"[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")
_BULLET_CHARS = "•◦▪▫‣⁃●○■□►▶▸✓✔➢➤➔→·"
_MIDLINE_BULLETS = "•◦▪▫‣⁃●○■□►▶▸➢➤"
_BULLET = re.compile(
    r"[ \t]*(?:[" + _BULLET_CHARS + r"][ \t]*|[-*–—+][ \t]+|\(?\d{1,3}[.)][ \t]+|\(?[a-zA-Z][.)][ \t]+)")
# A sentence that follows a run-in heading starts with one of these (a drug, a pronoun, a determiner, an
# opener): "Quick Effects | Ketamine therapy is ...", "Why Choose Us | Our clinic ...".
_OPENERS = {
    "ketamine", "esketamine", "spravato", "ketamine's", "it", "this", "these", "that", "the", "a", "an", "our",
    "we", "you", "your", "they", "their", "many", "most", "some", "patients", "people", "research", "studies",
    "unlike", "while", "when", "if", "for", "in", "with", "after", "during", "at", "as", "because", "although",
    "one", "there", "each", "every", "all", "both", "clinical", "recent", "ketamine-assisted", "iv", "intravenous",
}
_SMALL = {"of", "and", "for", "the", "to", "in", "a", "an", "with", "on", "or", "&", "vs", "vs.", "at", "by", "is"}
_WORD = re.compile(r"\S+")


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets into ``text`` (``text[s.start:s.end] == s.text``), in order."""
    out: list[Sentence] = []
    for line in _LINE.finditer(text):
        for seg_start, seg_end in _split_bullets(text, line.start(), line.end()):
            for a, b in _split_heading(text, seg_start, seg_end):
                _split_segment(text, a, b, out)
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


def _split_heading(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut "Quick Effects Ketamine therapy is fast." after a leading title-case run (see ``_OPENERS``)."""
    words = []
    for m in _WORD.finditer(text, start, min(end, start + 200)):
        words.append((m.start(), m.end(), m.group()))
        if len(words) > 12:
            break
    run = 0  # title-case words at the start, small words allowed inside
    for _, _, w in words:
        core = w.strip("()\"'“”‘’")
        if core[:1].isupper() or (run and core.lower() in _SMALL):
            run += 1
            if core[-1:] in _TERMINATORS + ":,;":
                return [(start, end)]
        else:
            break
    # the run's last word opens the sentence; the heading is what precedes it (2+ words, the next word lower)
    if run < 3 or run >= len(words) or not words[run][2][:1].islower():
        return [(start, end)]
    opener = words[run - 1][2].lower().strip("()\"'“”‘’")
    if opener not in _OPENERS or words[run - 2][2].lower() in _SMALL:
        return [(start, end)]
    if text[end - 1:end] not in _TERMINATORS:  # the rest must read as a sentence
        return [(start, end)]
    return [(start, words[run - 2][1]), (words[run - 1][0], end)]


def _split_segment(text: str, start: int, end: int, out: list[Sentence]) -> None:
    segment = text[start:end]
    if not segment.strip():
        return
    if not _MAY_SPLIT.search(segment.rstrip().rstrip(_SYNTOK_TERMINALS)):  # nothing to split at: one sentence
        _emit(text, start, end, out)
        return
    spans = list(_syntok_spans(segment))
    if not spans:
        _emit(text, start, end, out)
        return
    # syntok may skip leading or trailing characters; keep them with the neighbouring sentence
    spans[0] = (0, spans[0][1])
    spans[-1] = (spans[-1][0], len(segment))
    # a phone number's area code is not a sentence: "Call (555) 010-2340 or book ..." had split after "(555)"
    merged = [spans[0]]
    for a, b in spans[1:]:
        if _AREA_CODE_END.search(segment[merged[-1][0]:a].rstrip()) and segment[a:b].lstrip()[:1].isdigit():
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    spans = merged
    for (a, _), (b, _) in zip(spans, [*spans[1:], (len(segment), 0)], strict=True):
        _emit(text, start + a, start + b, out)


_AREA_CODE_END = re.compile(r"\(\d{2,5}\)$")
# What syntok can split a sentence at: its terminals and opening brackets (syntok/_segmentation_states.py).
# A segment with none of them before its closing run is one sentence, and syntok (slow) is not asked.
_SYNTOK_TERMINALS = ".!?;\u203c\u203d\u2047\u2048\u2049\u3002\ufe52\ufe57\uff01\uff0e\uff1f\uff61\u2026"
_SYNTOK_OPENING = "([{\uff5f\uff5b\uff3b\uff08\ufe5d\ufe5b\ufe59\ufd3e\u301a\u3018\u2985\u2983\u2329"
_MAY_SPLIT = re.compile("[" + re.escape(_SYNTOK_TERMINALS + _SYNTOK_OPENING) + "]")


@lru_cache(maxsize=4096)  # pages repeat their blocks (menus, footers, a pasted page twice)
def _syntok_spans(segment: str) -> tuple[tuple[int, int], ...]:
    from syntok import segmenter

    try:
        spans = []
        for paragraph in segmenter.analyze(segment):
            for sentence in paragraph:
                if sentence:
                    first, last = sentence[0], sentence[-1]
                    spans.append((first.offset - len(first.spacing), last.offset + len(last.value)))
        return tuple(sorted(spans))
    except Exception:  # a checker must not fail on odd text: the line is one sentence
        return ()


def _emit(text: str, start: int, end: int, out: list[Sentence]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start and any(c.isalnum() for c in text[start:min(end, start + 400)]):
        out.append(Sentence(text[start:end], start, end))
