"""Decode a fetched page the way a browser would, whatever charset a Chinese site uses.

BOM first, then the Content-Type charset, then ``<meta>`` / the XML declaration in the first
:data:`SNIFF_BYTES`, then detection; gb2312 and gbk are read as gb18030, their superset,
because sites declare gb2312 and use GBK characters (names such as 喆 or 堃).
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

SNIFF_BYTES = 2048  # where <meta charset> and the XML declaration are looked for

# WHATWG encoding labels Python does not know, and the supersets browsers decode with.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
_LABELS = {
    "x-gbk": "gbk",
    "gb_2312": "gb2312",
    "gb_2312-80": "gb2312",
    "csgb2312": "gb2312",
    "chinese": "gb2312",
    "iso-ir-58": "gb2312",
    "csiso58gb231280": "gb2312",
    "x-user-defined": "cp1252",
    "unicode-1-1-utf-8": "utf-8",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([\w.:+-]+)["']""", re.IGNORECASE
)


def _codec(label: str | None) -> str | None:
    """The Python codec to decode a declared charset with; None for an unknown label."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _LABELS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def decode(body: bytes, content_type: str | None) -> str:
    """The text of a page as a browser would read it; never raises.

    In order: a byte-order mark (it outranks the header, as in browsers: a server's default
    charset is often wrong, a BOM never), the ``charset`` of the Content-Type header, a
    ``<meta charset>`` / ``<meta http-equiv content="...; charset=...">`` or the XML
    declaration in the first :data:`SNIFF_BYTES` bytes, strict UTF-8, then charset detection.
    A declared charset is trusted even if some bytes do not fit (they become U+FFFD).
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    declared = None
    if content_type:
        header = _HEADER_CHARSET.search(content_type)
        declared = _codec(header.group(1)) if header else None
    if declared is None:
        head = body[:SNIFF_BYTES]
        sniffed = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
        if sniffed:
            declared = _codec(sniffed.group(1).decode("ascii", errors="replace"))
            # An ASCII-compatible document cannot really be UTF-16/32 (browsers read UTF-8).
            if declared is not None and declared.startswith(("utf-16", "utf-32")):
                declared = "utf-8"
    if declared is not None:
        return body.decode(declared, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = from_bytes(body).best()
    detected = _codec(guess.encoding) if guess is not None else None
    return body.decode(detected or "utf-8", errors="replace")
