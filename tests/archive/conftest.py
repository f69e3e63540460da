"""Shared fixtures: a store in tmp_path, a mixed tree, and xorriso as independent reader."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from discflow.archive import BlobStore

# Names that stress ISO 9660 mangling, Joliet and Rock Ridge.
CAFE = "Café"
RESUME = "naïve résumé.txt"
JAPANESE = "日本語のファイル名.txt"


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "archive")


@pytest.fixture
def mixed_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / CAFE).mkdir(parents=True)
    (root / CAFE / RESUME).write_text("résumé contents\n", encoding="utf-8")
    (root / JAPANESE).write_text("こんにちは\n", encoding="utf-8")
    (root / "empty.dat").write_bytes(b"")
    (root / "docs" / "nested" / "deeper").mkdir(parents=True)
    (root / "docs" / "nested" / "deeper" / "notes.md").write_text("# notes\n")
    # Two names that collide once upper-cased for ISO 9660.
    (root / "docs" / "Readme.txt").write_text("upper\n")
    (root / "docs" / "readme.txt").write_text("lower\n")
    (root / "big.bin").write_bytes(os.urandom(1_300_000))
    (root / "a very long file name that exceeds every ISO 9660 limit by far.text").write_text(
        "long\n"
    )
    return root


def tree_files(root: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every regular file under root."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def leftovers(store: BlobStore) -> list[Path]:
    """Every file anywhere under the store's root."""
    if not store.root.exists():
        return []
    return sorted(p for p in store.root.rglob("*") if p.is_file() or p.is_symlink())


def xorriso_find(image: Path) -> list[str]:
    """Paths in the image as xorriso (Rock Ridge view) lists them."""
    run = subprocess.run(
        ["xorriso", "-indev", f"stdio:{image}", "-find", "/"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line[1:-1] for line in run.stdout.splitlines() if line.startswith("'")]


def xorriso_extract(image: Path, out: Path) -> None:
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", f"stdio:{image}", "-extract", "/", str(out)],
        capture_output=True,
        check=True,
    )
