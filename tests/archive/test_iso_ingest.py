"""Ingest of existing image files: real images pass, anything else is refused cleanly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discflow.archive import BlobStore, IngestError

from .conftest import leftovers, tree_files


@pytest.fixture
def xorriso_iso(tmp_path: Path, mixed_tree: Path) -> Path:
    """An image made by an independent producer (xorriso), not by discflow."""
    image = tmp_path / "made-by-xorriso.iso"
    subprocess.run(
        [
            "xorriso",
            "-outdev",
            f"stdio:{image}",
            "-volid",
            "FROMXORRISO",
            "-joliet",
            "on",
            "-map",
            str(mixed_tree),
            "/",
        ],
        capture_output=True,
        check=True,
    )
    return image


def test_iso_made_by_xorriso_is_stored(
    store: BlobStore, xorriso_iso: Path, mixed_tree: Path
) -> None:
    seen: list[tuple[int, int]] = []
    stored = store.ingest_iso(xorriso_iso, progress=lambda d, t: seen.append((d, t)))
    assert stored.created
    assert stored.volume_id == "FROMXORRISO"
    assert stored.file_count == len(tree_files(mixed_tree))
    assert {"iso9660", "rockridge", "joliet"} <= set(stored.filesystems)
    blob = store.path_of(stored.sha256)
    assert blob.read_bytes() == xorriso_iso.read_bytes()
    assert seen[-1] == (xorriso_iso.stat().st_size, xorriso_iso.stat().st_size)
    again = store.ingest_iso(xorriso_iso)
    assert not again.created and again.sha256 == stored.sha256
    assert leftovers(store) == [blob]


def test_udf_bridge_image_is_stored(store: BlobStore, mixed_tree: Path, tmp_path: Path) -> None:
    built = store.ingest_directory(mixed_tree, volume_name="udf", udf=True)
    copy = tmp_path / "copy.iso"
    copy.write_bytes(store.path_of(built.sha256).read_bytes())
    store.delete(built.sha256)
    stored = store.ingest_iso(copy)
    assert stored.sha256 == built.sha256 and "udf" in stored.filesystems


def refuse(store: BlobStore, path: Path, match: str) -> None:
    with pytest.raises(IngestError, match=match):
        store.ingest_iso(path)
    assert leftovers(store) == []


def test_pdf_is_refused_saying_it_is_a_pdf(store: BlobStore, tmp_path: Path) -> None:
    pdf = tmp_path / "manual.iso"
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 100_000)
    refuse(store, pdf, r"manual.iso is a PDF document; expected an ISO 9660 image")


def test_empty_file_is_refused(store: BlobStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty.iso"
    empty.write_bytes(b"")
    refuse(store, empty, "is an empty file")


def test_directory_given_as_iso_is_refused(store: BlobStore, tmp_path: Path) -> None:
    refuse(store, tmp_path, "is not a file")


def test_iso_truncated_in_file_data_is_refused(
    store: BlobStore, xorriso_iso: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.iso"
    data = xorriso_iso.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    refuse(store, cut, "truncated")


def test_iso_truncated_after_descriptors_is_refused(
    store: BlobStore, xorriso_iso: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.iso"
    cut.write_bytes(xorriso_iso.read_bytes()[: 18 * 2048])
    refuse(store, cut, "(truncated|damaged)")


def test_exception_from_progress_midway_leaves_nothing(store: BlobStore, xorriso_iso: Path) -> None:
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.ingest_iso(xorriso_iso, progress=interrupt)
    assert leftovers(store) == []


@pytest.fixture
def discflow_image(tmp_path: Path, mixed_tree: Path) -> bytes:
    base = BlobStore(tmp_path / "base")
    return base.path_of(base.ingest_directory(mixed_tree, volume_name="base").sha256).read_bytes()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_or_truncated_bytes_are_refused_cleanly(
    data: st.DataObject, store: BlobStore, tmp_path: Path, discflow_image: bytes
) -> None:
    # discflow's own images end with their last file: any cut loses real data.
    # (xorriso pads its images, and cutting only padding leaves a valid image.)
    image = discflow_image
    choice = data.draw(st.sampled_from(["random", "truncated", "corrupted"]))
    if choice == "random":
        blob = data.draw(st.binary(max_size=40_000))
    elif choice == "truncated":
        blob = image[: data.draw(st.integers(0, len(image) - 1))]
    else:
        # Keep the "CD001" signature but scramble the descriptor that follows it.
        at = data.draw(st.integers(16 * 2048 + 6, 17 * 2048 - 1))
        garbage = data.draw(st.binary(min_size=1, max_size=200))
        blob = image[:at] + garbage + image[at + len(garbage) :]
        blob = blob[: data.draw(st.integers(17 * 2048, 40 * 2048))]
    path = tmp_path / "fuzz.iso"
    path.write_bytes(blob)
    with pytest.raises(IngestError):
        store.ingest_iso(path)
    assert leftovers(store) == []
