"""Plain input values for labels: one mailing label item, one disc face's fields.

Invariant: instances are immutable and valid. Ids are printable ASCII that Code 128
(set B) and ZPL's ``^FD`` can carry without escaping; anything else is refused here,
at construction, with a message that says what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from discflow.domain import Address
from discflow.labels._errors import LabelInputError

__all__ = ["DiscLabelFields", "LabelItem", "check_id"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$")  # "/" separates the ids in the barcode


def check_id(kind: str, value: str) -> str:
    """Return ``value`` if it can be printed as text and as a Code 128 barcode."""
    if not _ID.match(value):
        raise LabelInputError(
            f"{kind} {value!r} cannot go on a label: use 1-40 characters of letters, digits"
            " and . _ : - (starting with a letter or digit)"
        )
    return value


@dataclass(frozen=True, slots=True)
class LabelItem:
    """One mailing label: where the parcel goes and which request it carries."""

    ship_to: Address
    order_id: str
    request_id: str
    title: str | None = None  # e.g. "Annual report 2026 (DVD-R)"
    copies: str | None = None  # e.g. "3 discs"

    def __post_init__(self) -> None:
        check_id("order id", self.order_id)
        check_id("request id", self.request_id)
        for name, text in (("title", self.title), ("copies", self.copies)):
            if text is not None and (len(text) > 120 or any(ord(c) < 32 for c in text)):
                raise LabelInputError(f"label {name} must be one line of at most 120 characters")


@dataclass(frozen=True, slots=True)
class DiscLabelFields:
    """The merge fields printed on one disc face."""

    title: str
    order_id: str
    customer: str
    copy_number: int
    copy_total: int
    date: str  # already formatted for the customer, e.g. "2026-11-25"

    def __post_init__(self) -> None:
        check_id("order id", self.order_id)
        if not self.title.strip():
            raise LabelInputError("disc label title is empty: give the content's title")
        if not 1 <= self.copy_number <= self.copy_total:
            raise LabelInputError(
                f"copy {self.copy_number} of {self.copy_total} is impossible:"
                " the copy number runs from 1 to the total"
            )
        for name, text in (("title", self.title), ("customer", self.customer), ("date", self.date)):
            if len(text) > 120 or any(ord(c) < 32 for c in text):
                raise LabelInputError(
                    f"disc label {name} must be one line of at most 120 characters"
                )

    @property
    def copy_text(self) -> str:
        return f"{self.copy_number} of {self.copy_total}"
