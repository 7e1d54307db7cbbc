"""Stage 1, CSV: which code page a CSV that is not UTF-8 was saved in.

Excel saves "CSV" in the machine's code page: Windows-1252 on Windows, Mac Roman for "CSV
(Macintosh)", code page 850 for "CSV (MS-DOS)". The same byte is a different letter in each
(0x8E: `Ž`, `é`, `Ä`), and a wrong guess garbles every accented letter without a word. The
letters of European languages give the answer: decoded in the right code page, a byte between
lowercase letters is a common lowercase accented letter (`Café`), in a wrong one it is a symbol
or an uppercase letter (`CafŽ`, `Caf‚`). Each candidate is scored on every such byte of the file
(a detector library would do the same with larger tables; three code pages do not need one).

A file that is UTF-8 but for a few lines (a row pasted from an older file) has no single
encoding: it is refused, naming the first line that is not UTF-8.
"""

from __future__ import annotations

import re

from ..errors import FileUnusable

CANDIDATES = ("cp1252", "mac_roman", "cp850")  # in this order when the scores tie
NAMES = {"cp1252": "Windows-1252", "mac_roman": "Mac Roman (Excel's 'CSV (Macintosh)')",
         "cp850": "code page 850 (Excel's 'CSV (MS-DOS)')", "latin-1": "Latin-1"}
COMMON = set("éèêëàâäáãåçîïíìôöóòõúùûüñÿæœøßÉÈÊÀÂÄÁÇÎÍÔÖÓÚÙÛÜÑÆŒØ")
PUNCTUATION = set("“”‘’„«»–—…€•°£§©®™")
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_IN_CONTEXT = re.compile(rb"([A-Za-z]?)([\x80-\xff])(?=([A-Za-z]?))")
# Five bytes have no letter in Windows-1252; Latin-1 gives them one rather than fail.
_UNDEFINED_1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


def single_byte_encoding(path, handle) -> str:
    """The code page of a CSV that is not UTF-8 (`handle`: the file, binary, at its start)."""
    scores = dict.fromkeys(CANDIDATES, 0)
    sequences = high = 0
    first_bad = None
    newlines = 0
    undefined = False
    while chunk := handle.read(1 << 22):
        sequences += len(_UTF8_SEQUENCE.findall(chunk))
        stray = _UTF8_SEQUENCE.sub(b"", chunk)
        high += sum(1 for b in stray if b >= 0x80)
        if first_bad is None:
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                first_bad = newlines + chunk.count(b"\n", 0, exc.start) + 1
        newlines += chunk.count(b"\n")
        undefined = undefined or any(b in chunk for b in _UNDEFINED_1252)
        for before, byte, after in _HIGH_IN_CONTEXT.findall(stray):
            for encoding in CANDIDATES:
                scores[encoding] += _score(byte.decode(encoding, "replace"), before, after)
    if sequences >= 2 and sequences * 2 >= high:
        raise FileUnusable(path, f"line {first_bad}: bytes that are not UTF-8, although the rest of the file is "
                                 "UTF-8 (text pasted from another file or program?). Retype the accented letters "
                                 "on that line, or open the file in Excel and save it as 'CSV UTF-8'")
    best = max(CANDIDATES, key=lambda e: scores[e])  # the first of equals wins: Windows-1252
    if best == "cp1252" and undefined:
        return "latin-1"
    return best


def _score(char: str, before: bytes, after: bytes) -> int:
    """How likely `char` is between the ASCII letters around it (empty: none there): accented
    letters stand inside or at the end of words, in the case of their neighbours; quotation
    marks open and close words; dashes, the euro sign and bullets stand alone."""
    if before and after:
        place = "inside"
    elif before:
        place = "end"
    elif after:
        place = "start"
    else:
        place = "alone"
    if char in COMMON:
        if place == "alone":
            return 1 if char in "àÀ" else -1  # French `à` is a word of its own
        neighbour = before or after
        case_fits = neighbour.islower() == char.islower() or (place == "start" and char.isupper())
        return (2 if place != "start" else 1) if case_fits else 0
    if char in PUNCTUATION:
        fits = {"inside": "’", "start": "“‘«„", "end": "”’»…", "alone": "–—€•…°£§©®™«»"}[place]
        return 2 if char in fits else -1
    return 0 if char.isalpha() else -1


def describe(encoding: str | None) -> str | None:
    """How the summary names a code page other than UTF-8 (None: UTF-8, nothing to say)."""
    if not encoding or encoding.startswith("utf-8"):
        return None
    return NAMES.get(encoding, encoding)
