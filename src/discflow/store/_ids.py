"""Identifiers people can read aloud, type into a mail, and print on a label."""

from __future__ import annotations

import secrets

# Crockford's base32: no I, L, O, U, so ids survive being read over the phone
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id(prefix: str, length: int = 10) -> str:
    # one read of the system's random source, not one per character: 256 is a multiple
    # of 32, so each byte's low five bits pick a symbol uniformly
    return prefix + "-" + "".join(_ALPHABET[b & 31] for b in secrets.token_bytes(length))


def new_token(prefix: str = "dft") -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"
