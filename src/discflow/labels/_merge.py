"""Driver-side data for printing merge fields on discs.

Invariant: the values come out in one fixed order (``MERGE_ORDER``), the order the
label design's merge fields were declared in, and never contain a line break (the
job files are line-oriented ``KEY=value`` text).

- PTBurn (Primera): the JRQ job file names the SureThing/PTPublisher design with
  ``PrintLabel=<file>`` and gives one ``MergeField=<value>`` line per merge field,
  in the design's field order (PTBurn SDK, keys PrintLabel and MergeField).
- TD Bridge (Epson Discproducer): the JDF job file names the Total Disc Maker
  design with ``LABEL=<file.tdd>`` and a merge-data text file with
  ``REPLACE_FIELD=<file>``; that file holds one ``FIELD=value`` line per field.
"""

from __future__ import annotations

from discflow.labels._errors import LabelInputError
from discflow.labels._items import DiscLabelFields

__all__ = ["MERGE_ORDER", "merge_values", "ptburn_keys", "tdbridge_keys", "tdbridge_merge_text"]

MERGE_ORDER: tuple[str, ...] = ("TITLE", "ORDER", "CUSTOMER", "COPY", "DATE")


def merge_values(fields: DiscLabelFields) -> dict[str, str]:
    """The merge fields by name, in ``MERGE_ORDER``."""
    return {
        "TITLE": fields.title,
        "ORDER": fields.order_id,
        "CUSTOMER": fields.customer,
        "COPY": fields.copy_text,
        "DATE": fields.date,
    }


def _check_path(key: str, path: str) -> str:
    if not path or "\n" in path or "\r" in path:
        raise LabelInputError(f"{key} needs one line naming the label design file")
    return path


def ptburn_keys(label_file: str, fields: DiscLabelFields) -> list[str]:
    """JRQ lines: ``PrintLabel=`` then one ``MergeField=`` per field, in order."""
    values = merge_values(fields)
    return [f"PrintLabel={_check_path('PrintLabel', label_file)}"] + [
        f"MergeField={values[name]}" for name in MERGE_ORDER
    ]


def tdbridge_keys(label_file: str, merge_file: str) -> list[str]:
    """JDF lines: ``LABEL=`` (the .tdd design) and ``REPLACE_FIELD=`` (the merge data file)."""
    return [
        f"LABEL={_check_path('LABEL', label_file)}",
        f"REPLACE_FIELD={_check_path('REPLACE_FIELD', merge_file)}",
    ]


def tdbridge_merge_text(fields: DiscLabelFields) -> str:
    """Contents of the ``REPLACE_FIELD`` file: ``FIELD=value`` lines, CRLF-terminated."""
    return "".join(f"{name}={value}\r\n" for name, value in merge_values(fields).items())
