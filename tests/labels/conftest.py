"""Fixtures for the labels tests: a real CUPS queue with a cups-pdf printer."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.labels.labels_support import CupsQueue, cups_pdf_out_dir, scheduler_running


@pytest.fixture(scope="session")
def cups_queue() -> Iterator[CupsQueue]:
    """A cups-pdf queue on the local CUPS, starting ``cupsd`` when it is not running.

    Fails (never skips) when CUPS cannot be brought up: printing is a claim of the
    product, so a machine that cannot print must show red.
    """
    missing = [t for t in ("lp", "lpadmin", "lpstat") if shutil.which(t) is None]
    if missing or not Path("/usr/sbin/cupsd").exists():
        pytest.fail(
            f"CUPS is not installed (missing {missing or ['/usr/sbin/cupsd']}):"
            " run scripts/ensure-system-packages.sh (cups, printer-driver-cups-pdf)"
        )
    started: subprocess.Popen[bytes] | None = None
    if not scheduler_running():
        started = subprocess.Popen(
            ["/usr/sbin/cupsd", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while not scheduler_running():
            if started.poll() is not None or time.monotonic() > deadline:
                err = started.stderr.read().decode() if started.stderr else ""
                started.kill()
                pytest.fail(f"could not start /usr/sbin/cupsd (are you root?): {err.strip()}")
            time.sleep(0.2)
    name = f"discflow-test-{os.getpid()}"
    ppd = "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd"
    added = subprocess.run(
        ["lpadmin", "-p", name, "-E", "-v", "cups-pdf:/", "-m", ppd],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if added.returncode != 0:
        if started:
            started.terminate()
        pytest.fail(
            f"lpadmin could not add a cups-pdf queue ({added.stderr.strip()}):"
            " install printer-driver-cups-pdf; `lpinfo -m | grep -i pdf` lists the model"
        )
    try:
        yield CupsQueue(name=name, output_dir=cups_pdf_out_dir())
    finally:
        subprocess.run(["lpadmin", "-x", name], capture_output=True, check=False)
        if started:
            started.terminate()
            started.wait(timeout=15)
