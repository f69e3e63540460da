"""Text that ends up inside a device's own files: volume names and label merge values.

Invariant: a value that passes these checks can be written on one line of a
PTBurn ``.JRQ``/``.PTM``, a TD Bridge ``.JDF``/``.JCF``/merge file or a xorriso
argument without changing its meaning: no line break, no NUL, no control
character, none of the formats' separators. The agent checks at its API
boundary (422 naming the field); the server may call the same functions at
order time so a customer sees the error, not a failed job.

Limits:
- volume name: the ISO 9660 volume identifier is 32 bytes (ECMA-119 8.4.11)
  and PTBurn's ``VolumeName`` takes "up to 32 characters" (PTBurn 3 SDK
  2.1.13). Strict ISO 9660 allows only d-characters (A-Z 0-9 _); real images
  carry more, so discflow takes printable ASCII and refuses what Joliet
  forbids in names (``* / : ; ? \\``), what a ``KEY=value`` line or a Windows
  share cannot hold (``= " < > |``), control characters and outer spaces.
- merge values: neither the PTBurn SDK (``MergeField``, 2.1.40) nor the TD
  Bridge guide's pages we could read state a length for one merge value, so
  discflow keeps them to ``MERGE_VALUE_MAX`` characters (the largest field the
  PTBurn SDK bounds, the PVD ids of 2.1.29-2.1.31, is 128) and refuses CR, LF,
  NUL, TAB (the separator of the TD Bridge merge file discflow writes) and
  control, format and line-separator characters. ``=`` and ``,`` are fine: a
  ``KEY=value`` line's value runs to the end of the line.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "MERGE_KEY_PATTERN",
    "MERGE_VALUE_MAX",
    "VOLUME_NAME_MAX",
    "check_merge_key",
    "check_merge_value",
    "check_volume_name",
]

VOLUME_NAME_MAX = 32
MERGE_VALUE_MAX = 128
MERGE_KEY_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"

_VOLUME_REFUSED = frozenset('*/:;?\\="<>|')
_MERGE_KEY = re.compile(MERGE_KEY_PATTERN)
_MERGE_SEPARATORS = frozenset("\r\n\t\x00")


def check_volume_name(value: str) -> str:
    """The volume name unchanged, or ``ValueError`` saying what to fix."""
    if not value or len(value) > VOLUME_NAME_MAX:
        raise ValueError(
            f"a volume name has 1 to {VOLUME_NAME_MAX} characters (ISO 9660 volume identifier); "
            f"this one has {len(value)}"
        )
    bad = sorted({ch for ch in value if not " " <= ch <= "~" or ch in _VOLUME_REFUSED})
    if bad or value != value.strip():
        shown = ", ".join(repr(ch) for ch in bad) or "a leading or trailing space"
        raise ValueError(
            'a volume name is printable ASCII without * / : ; ? \\ = " < > | '
            f"(ISO 9660/Joliet volume identifier); refused: {shown}"
        )
    return value


def check_merge_key(key: str) -> str:
    if not _MERGE_KEY.match(key):
        raise ValueError(
            f"merge field name {key[:40]!r} must be a letter then up to 31 letters, digits or _"
        )
    return key


def check_merge_value(key: str, value: str) -> str:
    """A label merge value unchanged, or ``ValueError`` naming the field and the problem."""
    if len(value) > MERGE_VALUE_MAX:
        raise ValueError(
            f"merge field {key}: {len(value)} characters; at most {MERGE_VALUE_MAX} fit a label"
        )
    bad = sorted({ch for ch in value if ch in _MERGE_SEPARATORS or _unprintable(ch)})
    if bad:
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
        raise ValueError(
            f"merge field {key}: holds {shown}; line breaks, NUL, tabs and control characters "
            "cannot go into a device's job or merge file"
        )
    return value


def _unprintable(ch: str) -> bool:
    # Cc control, Cf format (U+200B...), Zl/Zp line/paragraph separators (U+2028/9)
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
