"""Value objects shared by every part: addresses, order lines, resource records.

Invariant: instances are immutable and valid; constructors refuse bad input
with ``InvalidInput`` whose message says what to change.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from discflow.domain._media import MediaType, describe_size, media_type
from discflow.errors import InvalidInput

MAX_COPIES = 1000
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# control (Cc: C0, DEL, C1 such as U+0085), format (Cf: U+200B..U+200F, U+2060, bidi
# overrides, U+FEFF), line/paragraph separators (Zl U+2028, Zp U+2029), surrogates,
# private use and unassigned: no label font draws them, and some break the lines of a
# job file or a label command
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def unprintable(text: str) -> str:
    """The characters of ``text`` no label can print, as ``U+XXXX`` codes (empty: none)."""
    seen = dict.fromkeys(
        f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) in _UNPRINTABLE
    )
    return ", ".join(seen)


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address to ship discs to."""

    name: str
    lines: tuple[str, ...]
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    region: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("ship_to.name is empty: give the recipient's name")
        if not self.lines or not any(line.strip() for line in self.lines):
            raise InvalidInput("ship_to.lines is empty: give at least the street line")
        if len(self.lines) > 4:
            raise InvalidInput("ship_to.lines has more than 4 lines: a label holds at most 4")
        if not self.city.strip():
            raise InvalidInput("ship_to.city is empty")
        if not _COUNTRY.match(self.country):
            raise InvalidInput(
                f"ship_to.country {self.country!r} is not a two-letter ISO code"
                " such as 'US' or 'DE'"
            )
        for part in (self.name, self.city, self.postal_code, self.region or "", *self.lines):
            if len(part) > 120:
                raise InvalidInput(f"address field {part[:20]!r}... is over 120 characters")
            bad = unprintable(part)
            if bad:
                raise InvalidInput(
                    f"address field {part[:20]!r} holds characters no label can print ({bad}):"
                    " remove them (line breaks go between ship_to.lines, not inside one)"
                )


def check_copies(copies: int) -> int:
    if not 1 <= copies <= MAX_COPIES:
        raise InvalidInput(f"copies must be between 1 and {MAX_COPIES}, got {copies}")
    return copies


def check_fits(*, content_id: str, size_bytes: int, media: MediaType) -> None:
    """Refuse a content that does not fit the chosen media, saying both sizes."""
    if not media.fits(size_bytes):
        raise InvalidInput(
            f"content {content_id!r} is {describe_size(size_bytes)}; "
            f"{media.name} holds {describe_size(media.capacity_bytes)}"
        )


def check_sha256(value: str) -> str:
    if not _SHA256.match(value):
        raise InvalidInput(f"{value!r} is not a lowercase hex sha256 (64 characters)")
    return value


@dataclass(frozen=True, slots=True)
class RequestLine:
    """What a customer asks for: copies of one content on one media type."""

    content_id: str
    media: MediaType
    copies: int

    @classmethod
    def parse(cls, content_id: str, media: str, copies: int) -> RequestLine:
        return cls(content_id, media_type(media), check_copies(copies))


@dataclass(frozen=True, slots=True)
class CacheEntry:
    sha256: str
    size_bytes: int
    last_used: float  # unix seconds


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def check_device_address(text: str) -> str:
    """An agent's address as ``http(s)://host[:port]``, normalised; anything else is refused.

    No path, query, user or control character (the address goes into every request
    the dispatcher makes), and no link-local, multicast or unspecified address (a
    link-local one is a cloud metadata service, not a disc publisher)."""
    shown = repr(text[:80])
    hint = "give the agent's URL as http://host:port, e.g. http://10.0.0.7:8101"
    if not text or len(text) > 200 or unprintable(text) or any(ch.isspace() for ch in text):
        raise InvalidInput(f"device address {shown} has spaces or control characters: {hint}")
    scheme, sep, rest = text.partition("://")
    rest = rest.rstrip("/")
    if scheme.lower() not in ("http", "https") or not sep:
        raise InvalidInput(f"device address {shown} is not an http(s) URL: {hint}")
    if any(ch in rest for ch in "/?#@\\"):
        raise InvalidInput(f"device address {shown} may hold only a host and a port: {hint}")
    host, port = rest, ""
    if rest.startswith("["):
        host, _, after = rest[1:].partition("]")
        if after and not after.startswith(":"):
            raise InvalidInput(f"device address {shown} has a malformed IPv6 host: {hint}")
        port = after[1:]
    elif ":" in rest:
        host, _, port = rest.rpartition(":")
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise InvalidInput(f"device address {shown} has no valid port (1-65535): {hint}")
    _check_host(host.lower(), shown, hint)
    return f"{scheme.lower()}://{rest.lower()}"


def _check_host(host: str, shown: str, hint: str) -> None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        # a numeric last label is no DNS name: it is an IPv4 address in a form
        # (2852039166, 0xa9fea9fe, 0251.0376.0251.0376) that inet_aton would resolve
        numeric = labels[-1].isdigit() or labels[-1].startswith("0x")
        if numeric or not host.isascii() or not all(_HOST_LABEL.match(p) for p in labels):
            raise InvalidInput(f"device address {shown} has no valid host name: {hint}") from None
        return
    mapped = getattr(address, "ipv4_mapped", None) or address
    if mapped.is_link_local or mapped.is_multicast or mapped.is_unspecified:
        raise InvalidInput(
            f"device address {shown} is a link-local, multicast or unspecified address,"
            f" never a disc publisher's agent: {hint}"
        )
