"""Directory ingest, read back by an independent reader (Debian's xorriso) and by pycdlib."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pycdlib
import pytest

from discflow.archive import UDF_FILE_THRESHOLD, BlobStore, IngestError, plan_filesystems

from .conftest import CAFE, JAPANESE, RESUME, leftovers, tree_files, xorriso_extract, xorriso_find


def test_xorriso_reads_back_same_names_and_bytes(
    store: BlobStore, mixed_tree: Path, tmp_path: Path
) -> None:
    stored = store.ingest_directory(mixed_tree, volume_name="Mixed Tree")
    image = store.path_of(stored.sha256)
    assert image.stat().st_size == stored.size_bytes
    assert stored.filesystems == ("iso9660", "joliet", "rockridge")
    assert stored.volume_id == "MIXED_TREE"
    assert stored.file_count == 8

    expected = tree_files(mixed_tree)
    listed = set(xorriso_find(image))
    assert {"/" + name for name in expected} <= listed
    assert f"/{CAFE}/{RESUME}" in listed and f"/{JAPANESE}" in listed

    out = tmp_path / "extracted"
    xorriso_extract(image, out)
    assert tree_files(out) == expected


def test_iso9660_names_are_unique_and_legal(store: BlobStore, mixed_tree: Path) -> None:
    stored = store.ingest_directory(mixed_tree, volume_name="names")
    iso = pycdlib.PyCdlib()
    iso.open(str(store.path_of(stored.sha256)))
    try:
        names = {
            c.file_identifier().decode()
            for c in iso.list_children(iso_path="/DOCS")
            if not (c.is_dot() or c.is_dotdot())
        }
        # Readme.txt and readme.txt both map to README.TXT; one gets a suffix.
        assert names == {"NESTED", "README.TXT;1", "README_1.TXT;1"}
        root = [c.file_identifier().decode() for c in iso.list_children(iso_path="/")]
        assert "CAFE" in root
        assert all(len(n.split(";")[0]) <= 31 for n in root)
        joliet = {name for _, _, files in iso.walk(joliet_path="/") for name in files}
        assert RESUME in joliet and JAPANESE in joliet
    finally:
        iso.close()


def test_same_tree_gives_same_sha256_and_one_blob(
    store: BlobStore, mixed_tree: Path, tmp_path: Path
) -> None:
    first = store.ingest_directory(mixed_tree, volume_name="again")
    # Cross a second boundary: a build stamped with the clock would now differ.
    time.sleep(1.1)
    other = BlobStore(tmp_path / "other-archive").ingest_directory(mixed_tree, volume_name="again")
    second = store.ingest_directory(mixed_tree, volume_name="again")
    assert first.created and not second.created
    assert first.sha256 == second.sha256 == other.sha256
    assert leftovers(store) == [store.path_of(first.sha256)]


def test_changed_file_changes_sha256(store: BlobStore, mixed_tree: Path) -> None:
    first = store.ingest_directory(mixed_tree, volume_name="v")
    (mixed_tree / "empty.dat").write_bytes(b"x")
    assert store.ingest_directory(mixed_tree, volume_name="v").sha256 != first.sha256


def test_progress_reaches_total_and_never_goes_back(store: BlobStore, mixed_tree: Path) -> None:
    calls: list[tuple[int, int]] = []
    stored = store.ingest_directory(
        mixed_tree, volume_name="p", progress=lambda d, t: calls.append((d, t))
    )
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert calls[-1] == (2 * stored.size_bytes, 2 * stored.size_bytes)


def test_exception_from_progress_midway_leaves_nothing(store: BlobStore, mixed_tree: Path) -> None:
    class Stop(Exception):
        pass

    def stop_halfway(done: int, total: int) -> None:
        if done > total // 4:
            raise Stop

    with pytest.raises(Stop):
        store.ingest_directory(mixed_tree, volume_name="x", progress=stop_halfway)
    assert leftovers(store) == []


def test_forced_udf_image_reads_back_with_pycdlib(store: BlobStore, mixed_tree: Path) -> None:
    stored = store.ingest_directory(mixed_tree, volume_name="udf", udf=True)
    assert stored.filesystems == ("iso9660", "joliet", "rockridge", "udf")
    iso = pycdlib.PyCdlib()
    iso.open(str(store.path_of(stored.sha256)))
    try:
        assert iso.has_udf()
        for rel, data in tree_files(mixed_tree).items():
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, udf_path="/" + rel)
            assert out.getvalue() == data, rel
    finally:
        iso.close()
    assert store.inspect(stored.sha256).filesystems == stored.filesystems


@pytest.mark.parametrize(
    ("largest", "udf", "expected_udf"),
    [
        (0, None, False),
        (UDF_FILE_THRESHOLD - 1, None, False),
        (UDF_FILE_THRESHOLD, None, True),
        (50 * 1024**3, None, True),
        (10, True, True),
    ],
)
def test_udf_is_chosen_from_4_gib_on(largest: int, udf: bool | None, expected_udf: bool) -> None:
    assert ("udf" in plan_filesystems(largest, udf=udf)) is expected_udf


def test_refusing_udf_for_a_huge_file_says_why() -> None:
    with pytest.raises(IngestError, match="needs UDF"):
        plan_filesystems(UDF_FILE_THRESHOLD + 1, udf=False)


def test_huge_sparse_file_selects_udf_without_writing(tmp_path: Path) -> None:
    # A sparse file reports > 4 GiB without using disk; only the scan runs.
    from discflow.archive._tree import scan_tree

    root = tmp_path / "huge"
    root.mkdir()
    with (root / "movie.mkv").open("wb") as fp:
        fp.truncate(UDF_FILE_THRESHOLD + 1)
    plan = scan_tree(root)
    assert plan.largest_file is not None
    assert "udf" in plan_filesystems(plan.largest_file.size)


def test_internal_symlink_is_kept_as_rock_ridge_link(
    store: BlobStore, mixed_tree: Path, tmp_path: Path
) -> None:
    os.symlink(f"{CAFE}/{RESUME}", mixed_tree / "shortcut")
    stored = store.ingest_directory(mixed_tree, volume_name="links")
    out = tmp_path / "out"
    xorriso_extract(store.path_of(stored.sha256), out)
    assert os.readlink(out / "shortcut") == f"{CAFE}/{RESUME}"
    assert (out / "shortcut").read_text(encoding="utf-8") == "résumé contents\n"
