"""How a value from a file or a server is shown on one terminal line."""

from __future__ import annotations

import re

# Characters that move the cursor, clear the screen, ring the bell or break the line when
# printed: a cell's value shown on the terminal gets them as visible escapes instead (ESC is
# one of them; a title's line break shows as \x0a, so one row stays one line).
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text, limit: int = 300) -> str:
    """Text from a file or a server, made safe and short for one terminal line."""
    text = str(text)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                            else f"\\u{ord(m.group()):04x}", text)
