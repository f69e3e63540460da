"""Address block formatting per destination country.

Invariant: the format of each country is data (``FORMATS``), written in the
%-notation of Google's libaddressinput (%N name, %A street lines, %C city,
%S region, %Z postcode, %n new line); fields listed in ``upper`` are upper-cased
as that country's post asks. A country line (upper-case English name) is added
only when the parcel crosses a border, i.e. when the destination differs from
the sender's country. Empty fields never leave blank lines or stray commas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from discflow.domain import Address

__all__ = ["COUNTRY_NAMES", "FORMATS", "CountryFormat", "format_address"]


@dataclass(frozen=True, slots=True)
class CountryFormat:
    fmt: str
    upper: str = ""  # field letters to upper-case
    latin_fmt: str | None = None  # used when the address is written in Latin script


_DEFAULT = CountryFormat("%N%n%A%n%C %S %Z")

FORMATS: dict[str, CountryFormat] = {
    "US": CountryFormat("%N%n%A%n%C, %S %Z", upper="CS"),
    "CA": CountryFormat("%N%n%A%n%C %S %Z", upper="CSZ"),
    "AU": CountryFormat("%N%n%A%n%C %S %Z", upper="CS"),
    "GB": CountryFormat("%N%n%A%n%C%n%Z", upper="CZ"),
    "IE": CountryFormat("%N%n%A%n%C%n%S%n%Z", upper="Z"),
    "DE": CountryFormat("%N%n%A%n%Z %C"),
    "AT": CountryFormat("%N%n%A%n%Z %C"),
    "CH": CountryFormat("%N%n%A%n%Z %C"),
    "NL": CountryFormat("%N%n%A%n%Z %C"),
    "BE": CountryFormat("%N%n%A%n%Z %C"),
    "DK": CountryFormat("%N%n%A%n%Z %C"),
    "SE": CountryFormat("%N%n%A%n%Z %C", upper="C"),
    "NO": CountryFormat("%N%n%A%n%Z %C"),
    "PL": CountryFormat("%N%n%A%n%Z %C"),
    "FR": CountryFormat("%N%n%A%n%Z %C", upper="C"),
    "ES": CountryFormat("%N%n%A%n%Z %C %S", upper="CS"),
    "IT": CountryFormat("%N%n%A%n%Z %C %S", upper="CS"),
    "BR": CountryFormat("%N%n%A%n%C-%S%n%Z", upper="CS"),
    "RU": CountryFormat("%N%n%A%n%C%n%S%n%Z", upper="C"),
    "UA": CountryFormat("%N%n%A%n%C%n%S%n%Z", upper="C"),
    "IN": CountryFormat("%N%n%A%n%C %Z%n%S", upper="C"),
    # Japanese script: postcode first with the postal mark, then prefecture, city,
    # street, and the addressee last; Latin script: the reverse, as abroad.
    "JP": CountryFormat("〒%Z%n%S%C%n%A%n%N", upper="", latin_fmt="%N%n%A%n%C, %S%n%Z"),
    "CN": CountryFormat("%Z%n%S%C%n%A%n%N", latin_fmt="%N%n%A%n%C%n%S, %Z"),
    "KR": CountryFormat("%S %C%n%A%n%N%n%Z", latin_fmt="%N%n%A%n%C%n%S%n%Z"),
}

COUNTRY_NAMES: dict[str, str] = {
    "US": "UNITED STATES", "CA": "CANADA", "AU": "AUSTRALIA", "GB": "UNITED KINGDOM",
    "IE": "IRELAND", "DE": "GERMANY", "AT": "AUSTRIA", "CH": "SWITZERLAND",
    "NL": "NETHERLANDS", "BE": "BELGIUM", "DK": "DENMARK", "SE": "SWEDEN", "NO": "NORWAY",
    "PL": "POLAND", "FR": "FRANCE", "ES": "SPAIN", "IT": "ITALY", "BR": "BRAZIL",
    "RU": "RUSSIAN FEDERATION", "UA": "UKRAINE", "IN": "INDIA", "JP": "JAPAN", "CN": "CHINA",
    "KR": "KOREA, REPUBLIC OF", "MX": "MEXICO", "NZ": "NEW ZEALAND", "PT": "PORTUGAL",
    "FI": "FINLAND", "CZ": "CZECHIA", "GR": "GREECE", "IL": "ISRAEL", "ZA": "SOUTH AFRICA",
}  # fmt: skip

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SPACES = re.compile(r"\s+")


def _fields(address: Address, upper: str) -> dict[str, str]:
    values = {
        "N": address.name,
        "C": address.city,
        "S": address.region or "",
        "Z": address.postal_code,
    }
    return {k: (v.upper() if k in upper else v).strip() for k, v in values.items()}


def _render_line(template: str, fields: dict[str, str]) -> str:
    # The literal before a field belongs to it: an empty region drops its ", " and an
    # empty postcode its "〒", so no line ends up as "City, " or a lone postal mark.
    out = ""
    pending = ""
    for piece in re.split(r"(%[NCSZ])", template):
        if not piece.startswith("%"):
            pending += piece
            continue
        value = fields[piece[1]]
        if not value:
            pending = ""
            continue
        if out or pending.strip(" ,-"):
            out += pending
        out += value
        pending = ""
    return _SPACES.sub(" ", out).strip()


def format_address(address: Address, *, sender_country: str = "US") -> tuple[str, ...]:
    """The lines of the address block, top to bottom, as the destination's post expects."""
    spec = FORMATS.get(address.country, _DEFAULT)
    everything = " ".join([address.name, *address.lines, address.city, address.region or ""])
    fmt = spec.fmt
    if spec.latin_fmt is not None and not _CJK.search(everything):
        fmt = spec.latin_fmt
    fields = _fields(address, spec.upper)
    street = [line.strip() for line in address.lines if line.strip()]
    lines: list[str] = []
    for template in fmt.split("%n"):
        if template == "%A":
            lines.extend(street)
            continue
        line = _render_line(template, fields)
        if line:
            lines.append(line)
    if address.country != sender_country.upper():
        lines.append(COUNTRY_NAMES.get(address.country, address.country))
    return tuple(lines)
