"""Every refused directory says what was wrong, and leaves nothing in the store."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from discflow.archive import BlobStore, IngestError

from .conftest import leftovers


def refuse(store: BlobStore, root: Path, match: str) -> None:
    with pytest.raises(IngestError, match=match):
        store.ingest_directory(root, volume_name="refused")
    assert leftovers(store) == []


def test_empty_folder_is_refused(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    refuse(store, tmp_path / "empty", "holds no files")


def test_folder_of_empty_folders_is_refused(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "hollow" / "a" / "b").mkdir(parents=True)
    refuse(store, tmp_path / "hollow", "holds no files")


def test_a_file_instead_of_a_folder_is_refused(store: BlobStore, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    refuse(store, tmp_path / "f.txt", "is not a folder")


def test_absolute_symlink_outside_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    os.symlink("/etc/passwd", mixed_tree / "docs" / "passwd")
    refuse(store, mixed_tree, r"'docs/passwd' is a symlink to '/etc/passwd', outside the folder")


def test_relative_symlink_escaping_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    os.symlink("../../../secret", mixed_tree / "docs" / "nested" / "up")
    refuse(store, mixed_tree, r"'docs/nested/up' is a symlink to '../../../secret'")


def test_symlink_is_never_followed(store: BlobStore, mixed_tree: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink("../secret.txt", mixed_tree / "leak")
    refuse(store, mixed_tree, "outside the folder")


@pytest.mark.parametrize("name", ["..\\..\\evil.txt", "dir\\file.txt"])
def test_path_traversal_in_a_name_is_refused(store: BlobStore, mixed_tree: Path, name: str) -> None:
    (mixed_tree / "docs" / name).write_text("x")
    refuse(store, mixed_tree, "path traversal")


def test_name_with_control_character_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    (mixed_tree / "bad\x07name").write_text("x")
    refuse(store, mixed_tree, "control characters")


def test_name_not_utf8_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    with open(os.fsencode(mixed_tree) + b"/latin1-\xe9.txt", "wb") as fp:
        fp.write(b"x")
    refuse(store, mixed_tree, "not valid UTF-8")


def test_fifo_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    os.mkfifo(mixed_tree / "docs" / "pipe")
    refuse(store, mixed_tree, r"'docs/pipe' is a named pipe \(FIFO\)")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # AF_UNIX paths are limited to 108 bytes; pytest's tmp_path may be longer.
    path = Path(tempfile.mkdtemp(prefix="dfa-"))
    yield path
    shutil.rmtree(path)


def test_socket_is_refused(store: BlobStore, short_dir: Path) -> None:
    (short_dir / "ok.txt").write_text("fine")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(short_dir / "sock"))
        refuse(store, short_dir, "'sock' is a socket")


def test_device_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    os.mknod(mixed_tree / "null", 0o600 | 0o020000, os.makedev(1, 3))
    refuse(store, mixed_tree, "'null' is a character device")


def test_bad_volume_name_is_refused(store: BlobStore, mixed_tree: Path) -> None:
    with pytest.raises(IngestError, match="volume name"):
        store.ingest_directory(mixed_tree, volume_name="  ")
    with pytest.raises(IngestError, match="no letters or digits"):
        store.ingest_directory(mixed_tree, volume_name="日本")
    assert leftovers(store) == []


_CHILD = """
import sys
from pathlib import Path
from discflow.archive import BlobStore, IngestError
try:
    BlobStore(Path(sys.argv[1])).ingest_directory(Path(sys.argv[2]), volume_name="u")
except IngestError as exc:
    print(exc)
    sys.exit(3)
"""


def test_unreadable_file_is_refused_naming_it(short_dir: Path) -> None:
    tree = short_dir / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "fine.txt").write_text("fine")
    secret = tree / "sub" / "locked.txt"
    secret.write_text("no")
    secret.chmod(0o000)
    store_root = short_dir / "store"
    store_root.mkdir()
    cmd = [sys.executable, "-c", _CHILD, str(store_root), str(tree)]
    if os.geteuid() == 0:
        # Root reads anything: drop the capabilities that bypass file permissions.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux setpriv")
        caps = "-dac_override,-dac_read_search"
        cmd = [setpriv, "--bounding-set", caps, "--inh-caps", caps, *cmd]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 3, run.stderr
    assert "'sub/locked.txt' cannot be read" in run.stdout
    assert "fix its permissions" in run.stdout
    assert [p for p in store_root.rglob("*") if p.is_file()] == []
