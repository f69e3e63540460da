"""Range reads, lookups, deletion and crash leftovers of the blob store."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from discflow.archive import BlobNotFound, BlobStore, RangeNotSatisfiable, StoredImage
from discflow.errors import InvalidInput, NotFound

from .conftest import leftovers


@pytest.fixture
def stored(store: BlobStore, mixed_tree: Path) -> StoredImage:
    return store.ingest_directory(mixed_tree, volume_name="ranges")


def test_blob_is_named_by_its_sha256(store: BlobStore, stored: StoredImage) -> None:
    path = store.path_of(stored.sha256)
    sha = stored.sha256
    assert path == store.root / "blobs" / "sha256" / sha[:2] / sha[2:4] / f"{sha}.iso"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert store.exists(sha) and store.size_of(sha) == stored.size_bytes


def test_first_last_and_middle_bytes(store: BlobStore, stored: StoredImage) -> None:
    whole = store.path_of(stored.sha256).read_bytes()
    size = stored.size_bytes
    assert store.read_range(stored.sha256, 0, 1) == whole[:1]
    assert store.read_range(stored.sha256, size - 1) == whole[-1:]
    assert store.read_range(stored.sha256, 32768, 32768 + 2048) == whole[32768 : 32768 + 2048]
    assert store.read_range(stored.sha256, 32769, 32774) == b"CD001"
    assert store.read_range(stored.sha256) == whole


def test_open_range_streams_in_chunks(store: BlobStore, stored: StoredImage) -> None:
    chunks = list(store.open_range(stored.sha256, 10, 10 + 100_000, chunk_size=4096))
    assert all(len(c) <= 4096 for c in chunks)
    assert b"".join(chunks) == store.path_of(stored.sha256).read_bytes()[10:100_010]


@pytest.mark.parametrize(
    ("start", "end"), [(-1, 10), (5, 5), (10, 5), (0, "size+1"), ("size", None)]
)
def test_out_of_range_is_a_clear_error(
    store: BlobStore, stored: StoredImage, start: int | str, end: int | str | None
) -> None:
    size = stored.size_bytes

    def resolve(v: int | str | None) -> int | None:
        return {"size": size, "size+1": size + 1}.get(v, v) if isinstance(v, str) else v

    with pytest.raises(RangeNotSatisfiable, match=rf"of {size} bytes") as info:
        store.open_range(stored.sha256, resolve(start) or 0, resolve(end))
    assert info.value.size_bytes == size
    assert isinstance(info.value, InvalidInput)


def test_unknown_and_malformed_sha256(store: BlobStore) -> None:
    with pytest.raises(BlobNotFound) as info:
        store.read_range("0" * 64, 0, 1)
    assert isinstance(info.value, NotFound)
    with pytest.raises(InvalidInput, match="not a lowercase hex sha256"):
        store.path_of("../../etc/passwd")
    assert not store.exists("f" * 64)


def test_delete_removes_only_that_blob(
    store: BlobStore, stored: StoredImage, mixed_tree: Path
) -> None:
    other = store.ingest_directory(mixed_tree, volume_name="other name")
    assert store.delete(stored.sha256)
    assert not store.exists(stored.sha256) and store.exists(other.sha256)
    assert not store.delete(stored.sha256)


def test_sweep_partials_removes_crash_leftovers(store: BlobStore, stored: StoredImage) -> None:
    tmp = store.root / "tmp"
    tmp.mkdir(exist_ok=True)
    crashed = tmp / "ingest-abc.partial"
    crashed.write_bytes(b"half an image")
    fresh = tmp / "ingest-new.partial"
    fresh.write_bytes(b"someone is writing this")
    hour_ago = time.time() - 3600
    os.utime(crashed, (hour_ago, hour_ago))
    assert store.sweep_partials(older_than_seconds=600) == [crashed]
    assert store.sweep_partials() == [fresh]
    assert leftovers(store) == [store.path_of(stored.sha256)]
