"""A small sample catalog for the demo: real images built from generated files.

Invariant: generation is deterministic (seeded), so the same titles always
have the same bytes and a second demo run finds them already in the archive.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from discflow import store
from discflow.archive import BlobStore
from discflow.store import Database


@dataclass(frozen=True, slots=True)
class SampleTitle:
    title: str
    description: str
    tags: tuple[str, ...]
    payload_bytes: int


SAMPLES = (
    SampleTitle(
        "Field Recordings: Dawn Chorus",
        "Birdsong recorded at first light in three forests.",
        ("audio", "nature"),
        12_000_000,
    ),
    SampleTitle(
        "Radiology Teaching Set 2026",
        "Anonymised DICOM cases with reports for residents.",
        ("medical", "dicom"),
        30_000_000,
    ),
    SampleTitle(
        "City Archive: Council Minutes 1950-1959",
        "Scanned minutes, searchable PDF.",
        ("archive", "scans"),
        8_000_000,
    ),
    SampleTitle(
        "Training Video Pack (DVD)",
        "Onboarding videos in high quality; too large for a CD.",
        ("video", "training"),
        760_000_000,
    ),
)


def _write_payload(folder: Path, sample: SampleTitle, seed: int) -> None:
    # bandit B311 is a false alarm here: sample file contents for the demo catalog
    rng = random.Random(seed)  # nosec B311
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "README.txt").write_text(
        f"{sample.title}\n\n{sample.description}\n", encoding="utf-8"
    )
    block = rng.randbytes(1 << 20)  # a repeated random block: fast to make, fine to burn
    (folder / "data").mkdir(exist_ok=True)
    left, index = sample.payload_bytes, 0
    while left > 0:
        size = min(left, 64 << 20)
        with (folder / "data" / f"part-{index:03d}.bin").open("wb") as out:
            written = 0
            while written < size:
                chunk = block[: min(len(block), size - written)]
                out.write(chunk)
                written += len(chunk)
        left -= size
        index += 1


def ensure_sample_catalog(
    database: Database, blobs: BlobStore, *, log: Callable[[str], None] = print
) -> list[str]:
    """Add the sample titles that are not in the catalog yet; returns all their ids."""
    ids = []
    for seed, sample in enumerate(SAMPLES):
        with database.transaction() as session:
            existing = store.find_by_title(session, sample.title)
            if existing is not None:
                ids.append(existing.id)
                continue
        log(f"building sample content {sample.title!r} ...")
        with tempfile.TemporaryDirectory(prefix="discflow-demo-") as scratch:
            folder = Path(scratch) / "content"
            _write_payload(folder, sample, seed)
            volume = "".join(c if c.isalnum() else "_" for c in sample.title.upper())[:32]
            stored = blobs.ingest_directory(folder, volume_name=volume)
        with database.transaction() as session:
            content = store.add_content(
                session,
                title=sample.title,
                description=sample.description,
                tags=sample.tags,
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
                volume_id=stored.volume_id,
                filesystems=list(stored.filesystems),
                actor="demo",
            )
            ids.append(content.id)
    return ids
