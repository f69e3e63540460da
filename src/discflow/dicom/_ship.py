"""Where the discs go: Media Disposition's lines as written, else the account's address.

PS3.4 S.3.2.1.1.5: Media Disposition (2200,0004) is free text saying where and to
whom the media go, "e.g. the name and address of a referring doctor, used to print
a label for an envelope". Its first line is the recipient's name, the lines after
it are the address as written, the last one the city line; it carries no
country, so ``DISCFLOW_DICOM_SHIP_COUNTRY`` says which post delivers it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from discflow.domain import Address
from discflow.errors import InvalidInput
from discflow.store import SavedAddress, User

PICK_UP = "Collect at the imaging desk"


def parse_disposition(text: str, *, country: str) -> Address | None:
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return None
    name, rest = lines[0], lines[1:]
    if not rest:
        return Address(name=name, lines=(PICK_UP,), city="-", postal_code="", country=country)
    city = rest[-1]
    street = tuple(rest[:-1][:4]) or (rest[-1],)
    return Address(name=name, lines=street, city=city, postal_code="", country=country)


def ship_to_for(session: Session, user_id: int, disposition: str, *, country: str) -> Address:
    """The order's address: the disposition when given and readable, else the account's."""
    try:
        parsed = parse_disposition(disposition, country=country)
    except InvalidInput:
        parsed = None  # e.g. a line over 120 characters: fall back rather than lose the order
    if parsed is not None:
        return parsed
    saved = session.scalar(
        select(SavedAddress).where(SavedAddress.user_id == user_id).order_by(SavedAddress.id)
    )
    if saved is not None:
        a = saved.address
        return Address(
            name=a["name"],
            lines=tuple(a["lines"]),
            city=a["city"],
            postal_code=a.get("postal_code", ""),
            country=a["country"],
            region=a.get("region"),
        )
    user = session.get(User, user_id)
    name = user.name if user is not None else "DICOM"
    return Address(name=name, lines=(PICK_UP,), city="-", postal_code="", country=country)
