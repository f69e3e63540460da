"""JPEG thumbnails of the images for the IHE_PDI web content (IHE RAD TF-3 4.47.4.1.2).

Invariants: a thumbnail is made from uncompressed pixel data only (the instance on
the disc stays as sent; the JPEG is a rendering beside it, "non-DICOM" content);
the first frame is scaled to 8 bits from its own minimum and maximum (a simple
window, documented as such), at most 128 pixels on its longer side; names are
ISO 9660 level-1 (``IMG00001.JPG``); an instance that has no pixel data or cannot
be rendered simply has no thumbnail.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

_log = logging.getLogger("discflow.dicom")
_SIZE = 128


def _frame(ds: Dataset) -> Image.Image | None:
    if "PixelData" not in ds:
        return None
    try:
        pixels = np.asarray(ds.pixel_array, dtype=np.float64)
    except Exception:  # no handler for this syntax, or broken pixel data
        return None
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if frames > 1:
        pixels = pixels[0]
    if samples == 1 and pixels.ndim != 2:
        return None
    low, high = float(pixels.min()), float(pixels.max())
    scaled = (pixels - low) * (255.0 / (high - low)) if high > low else pixels * 0
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        scaled = 255.0 - scaled
    image = Image.fromarray(scaled.clip(0, 255).astype(np.uint8))
    return image.convert("RGB") if samples == 3 else image.convert("L")


def write_thumbnails(members: Sequence[Dataset], folder: Path) -> dict[str, str]:
    """SOP Instance UID -> thumbnail file name in ``folder`` (for the XHTML page)."""
    made: dict[str, str] = {}
    for index, ds in enumerate(members, start=1):
        image = _frame(ds)
        if image is None:
            continue
        image.thumbnail((_SIZE, _SIZE))
        name = f"IMG{index:05d}.JPG"
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        (folder / name).write_bytes(buffer.getvalue())
        made[str(ds.SOPInstanceUID)] = name
    return made
