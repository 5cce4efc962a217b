"""SEG-Y rev 2 stanzas: the ``((Organization: Name))`` lines of extended headers and trailers.

The standard's stanza header is ``((`` organisation ``:`` name ``))``; writers vary in case
and spacing (``((  seg: endTEXt  ))``) and in the encoding of the 3200-byte record (EBCDIC
or ASCII), so matching ignores all three.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["END_TEXT_STANZA", "is_end_text", "stanza_texts", "starts_stanza"]

#: The canonical form of the stanza closing the extended textual headers.
END_TEXT_STANZA = "((SEG: EndText))"
_END_TEXT = re.compile(r"\(\(\s*seg\s*:\s*end\s*text\s*\)\)", re.IGNORECASE)
_STANZA_START = re.compile(r"\s*\(\(\s*[^():]+:[^()]*\)\)")


def stanza_texts(block: bytes) -> tuple[str, str]:
    """The record decoded both ways: ``(ebcdic, ascii)`` (ASCII read as Latin-1)."""
    return codecs.decode(block, "cp037"), block.decode("latin-1")


def is_end_text(block: bytes) -> bool:
    """Whether a 3200-byte record holds the ``((SEG: EndText))`` stanza, in either encoding."""
    return any(_END_TEXT.search(text) for text in stanza_texts(block))


def starts_stanza(block: bytes) -> bool:
    """Whether a record begins with a stanza header ``((Org: Name))`` (a trailer's first record)."""
    return any(_STANZA_START.match(text) for text in stanza_texts(block))
