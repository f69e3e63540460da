"""Issue #19 item 15: a writer SIGKILLed mid-label leaves nothing in the watched folder.

A ``.tmp-*.pdf`` used to stay in the label printer's folder after a SIGKILL of the
dispatcher; a print daemon watching that folder would print half a file. Here a
real process writes a large label through ``FolderPrinter`` and is killed while
the bytes are going out; the folder holds no temporary, and the next printer made
for the folder sweeps the one left beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from discflow.labels import FolderPrinter

# writes one label and stops inside the fsync (the bytes are out, the rename is not
# done): the window a SIGKILL of the dispatcher hit
_WRITER = """
import os, sys, time
from pathlib import Path
from discflow.labels import FolderPrinter

def stuck(fd):
    print("writing", flush=True)
    time.sleep(120)

os.fsync = stuck
printer = FolderPrinter(Path(sys.argv[1]), once_per_name=True)
printer.submit(b"%PDF-1.4\\n" + b"x" * 100_000, name="label-1", fmt="pdf")
print("done", flush=True)
"""


def _staged(printer: FolderPrinter) -> list[Path]:
    return sorted(printer.staging.glob(".tmp-*")) if printer.staging.exists() else []


def test_a_killed_writer_leaves_no_temporary_in_the_watched_folder(tmp_path: Path) -> None:
    watched = tmp_path / "labels"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(watched)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    printer = FolderPrinter(watched, once_per_name=True, stale_after_s=3600)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    left = _staged(printer)
    assert len(left) == 1 and left[0].stat().st_size > 100_000
    # the watched folder: no temporary, no half label
    assert sorted(p.name for p in watched.iterdir()) == []
    # a printer made later (the dispatcher's next start) sweeps the stale temporary
    old = time.time() - 7200
    for path in left:
        os.utime(path, (old, old))
    FolderPrinter(watched, once_per_name=True)
    assert _staged(printer) == []


def test_a_fresh_temporary_of_a_live_writer_is_not_swept(tmp_path: Path) -> None:
    printer = FolderPrinter(tmp_path / "labels")
    printer.staging.mkdir(parents=True)
    live = printer.staging / ".tmp-live.pdf"
    live.write_bytes(b"being written")
    FolderPrinter(tmp_path / "labels")
    assert live.exists()


def test_temporaries_left_inside_by_an_older_release_are_swept(tmp_path: Path) -> None:
    watched = tmp_path / "labels"
    watched.mkdir()
    legacy = watched / ".tmp-abc123.pdf"
    legacy.write_bytes(b"%PDF half")
    old = time.time() - 7200
    os.utime(legacy, (old, old))
    printer = FolderPrinter(watched)
    assert not legacy.exists()
    job = printer.submit(b"%PDF-1.4 whole", name="label-2", fmt="pdf")
    assert sorted(p.name for p in watched.iterdir()) == [job.job_id]
