"""A page's bytes as text: ``decode_page(data, content_type) -> str``, or :class:`NotTextError` for a binary file.

A saved or fetched page names its encoding in one of several places, and getting it wrong changes what the checker
reads: a UTF-8 page served as plain ``text/html`` (which requests decodes as ISO-8859-1) turns "50–70%" into
"50â€“70%", and a Windows-1252 file read as UTF-8 turns it into "50�70%"; neither is a range any more.  The order is
a browser's, via w3lib (Scrapy's): a byte-order mark, the HTTP charset, a ``<meta charset>`` or XML declaration;
then valid UTF-8; then UTF-8 with the odd bad byte when the text has real UTF-8 sequences in it; else
Windows-1252, what English pages saved without UTF-8 use, unless read so they are mostly accented letters (a
page in another script's encoding, which is refused rather than checked as gibberish).  Bytes no encoding can read
become U+FFFD.

A PDF, a Word file, an image or an archive (known signatures), or anything with NUL bytes and no UTF-16/32 mark, is
refused with a one-line reason: its "sentences" would be noise with numbers in them.
"""

from __future__ import annotations

from w3lib.encoding import html_to_unicode, read_bom

# Leading bytes of the binary formats a user is likeliest to hand over instead of a page.
_SIGNATURES = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP archive (or a Word, Excel or OpenDocument file)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
)
# The most a page may be, for the CLI, the upload box and pasted text alike: a clinic page is kilobytes, and the
# checker takes several seconds per MB of prose, so 8 MiB is a minute or so (a 200 MB upload, Streamlit's default
# limit, would run for half an hour).
MAX_PAGE_BYTES = 8 * 1024 * 1024
_SNIFF = 8192  # bytes looked at for NUL bytes
# Read as Windows-1252, an English (or French, German) page has a few accented letters among its letters; a page
# in an encoding of another script (GB18030, Shift JIS, KOI8-R) saved without saying so is nearly all of them.
UNREADABLE_SHARE = 0.3


class NotTextError(ValueError):
    """The bytes are not a text or HTML page; ``str()`` is the reason, one line."""


def _guess(data: bytes) -> str:
    """UTF-8 when the bytes are UTF-8 (or mostly: real multi-byte sequences beside a bad byte or two), else cp1252
    (or :class:`NotTextError` when that reads as gibberish)."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    multi = sum(ord(c) > 0x7F for c in text) - bad
    if multi and bad <= max(2, 0.05 * multi):  # UTF-8 with a stray byte; not another encoding's chance pairs
        return "utf-8"
    letters = [c for c in data[:_SNIFF * 8].decode("cp1252", errors="replace") if c.isalpha()]
    foreign = sum(ord(c) > 0x7F for c in letters)
    if foreign >= 20 and foreign > UNREADABLE_SHARE * len(letters):
        raise NotTextError("its encoding could not be told (it is not UTF-8, and read as Windows-1252 it is mostly "
                           "letters outside English): save the page as UTF-8, or paste its text")
    return "cp1252"


def decode_page(data: bytes, content_type: str | None = None) -> str:
    """``data`` as text (see the module docstring); ``content_type`` is the HTTP header, if there was one."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise NotTextError(f"looks like {what}, not a text or HTML page: save the page as HTML or paste its text")
    if read_bom(data)[0] is None and b"\x00" in data[:_SNIFF]:
        raise NotTextError("looks like a binary file (it has NUL bytes), not a text or HTML page")
    _, text = html_to_unicode(content_type, data, default_encoding="utf-8", auto_detect_fun=_guess)
    return text.removeprefix("\ufeff")
