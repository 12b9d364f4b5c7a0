"""A paper's text for drafting an audit: plain text in any common encoding, or a PDF's text layer.

Text is decoded as UTF-8 (with or without a byte-order mark), else UTF-16 when it starts with a
UTF-16 mark, else Windows-1252 (which maps every byte, so a mis-encoded file still reads). Inline
markup some extractions carry (``<sup>2</sup>``, ``<i>n</i>``, TeX ``$n = 4$``) is dropped and
control characters other than tab and newline are removed: the text is only read, never
rendered or executed. A PDF is read with ``pypdf``; a PDF without a text layer (a scan) is an
input error.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from bayes_anlo.errors import InputError, Problem

#: Largest input read (a paper's text is well under a megabyte; a PDF a few).
MAX_BYTES = 50_000_000

_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,9}(?:\s[^<>]{0,200})?/?>")
#: "$n = 4$" (inline TeX some text extractions leave): keep the content
_INLINE_MATH = re.compile(r"\$\s*([^$\n]{1,60}?)\s*\$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


def _problem(path, reason: str) -> InputError:
    return InputError([Problem(str(path), None, None, reason)])


def decode_text(data: bytes) -> str:
    """Bytes of a text file as text (see the module docstring for the encodings tried)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def clean_text(text: str) -> str:
    """Normalise a paper's text for recognising numbers: NFC, markup tags and control characters
    removed, CR line ends made LF, non-breaking and thin spaces made spaces."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _TAG.sub("", text)
    text = _INLINE_MATH.sub(lambda m: m.group(1), text)
    text = _CONTROL.sub("", text)
    return re.sub(r"[\u00a0\u2002-\u200a\u202f]", " ", text)


def read_pdf_text(path: Path) -> str:
    """The text layer of a PDF, page after page (``pypdf``)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise _problem(path, f"cannot read the PDF: {exc}") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise _problem(path, "the PDF has no text layer (a scan?); give the text as a .txt file")
    return text


def read_paper_text(path: str | Path) -> str:
    """Read a paper (``.pdf`` or text) and return cleaned text (:func:`clean_text`)."""
    path = Path(path)
    if not path.is_file():
        raise _problem(path, "no such file")
    if path.stat().st_size > MAX_BYTES:
        raise _problem(path, f"larger than {MAX_BYTES // 1_000_000} MB; give the paper's text")
    with path.open("rb") as handle:
        head = handle.read(5)
    try:
        if head == b"%PDF-" or path.suffix.lower() == ".pdf":
            text = read_pdf_text(path)
        else:
            text = decode_text(path.read_bytes())
    except OSError as exc:
        raise _problem(path, f"cannot read: {exc.strerror or exc}") from None
    return clean_text(text)


__all__ = ["clean_text", "decode_text", "read_paper_text", "read_pdf_text"]
