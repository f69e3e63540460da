"""An agent killed while the ``image`` driver writes or reads back a disc leaves
no ``.iso`` behind: only verified discs carry that name. (Found by the fault
campaign: after a SIGKILL during read-back, full-size ``.iso`` files existed
for copies the agent had recorded as interrupted.)"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from discflow.agent.drivers import DriverSettings, MediaTiming, WriteOrder
from discflow.agent.drivers._image import ImageDriver
from discflow.agent.drivers._tasks import DiscTask


async def test_no_iso_exists_until_the_disc_reads_back_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "content.iso"
    source.write_bytes(b"disc bytes " * 10_000)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    driver = ImageDriver(
        DriverSettings(
            device_name="pub-1",
            drives=1,
            options={"output_dir": str(tmp_path / "discs")},
            media={"CD-R": MediaTiming(write_Bps=7_800_000)},
            work_dir=tmp_path / "work",
        )
    )
    order = WriteOrder(
        order_id="job-1-abc-1",
        job_id="job-1",
        image=source,
        sha256=sha,
        size_bytes=source.stat().st_size,
        media="CD-R",
        copies=1,
        volume_name="V",
        verify=True,
        drive=0,
    )
    final = tmp_path / "discs" / "drive-0" / "job-1-abc-1.iso"
    seen_during_read_back: list[bool] = []
    real_hash = ImageDriver._hash

    async def hash_and_look(self: ImageDriver, path: Path, disc: DiscTask, *, start: float) -> str:
        seen_during_read_back.append(final.exists())  # a kill now must leave no .iso
        return await real_hash(self, path, disc, start=start)

    monkeypatch.setattr(ImageDriver, "_hash", hash_and_look)
    disc = DiscTask(order=order, phase="queued")
    await driver._write(disc)
    assert seen_during_read_back == [False]
    assert final.exists() and disc.output == str(final)
    assert hashlib.sha256(final.read_bytes()).hexdigest() == sha
    assert not list(final.parent.glob("*.part"))
