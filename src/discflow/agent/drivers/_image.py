"""``image`` driver: each drive "burns" a disc as a real ISO file in its own folder.

Invariants: a good copy is ``<output_dir>/drive-<n>/<order_id>.iso`` whose
bytes were read back from disk and hashed to the content's sha256; a copy
that failed to write leaves no ``.iso``; one that failed verification is
renamed ``.iso.bad`` so nobody ships it; a disc being written or read back is
``.iso.part``, so an agent killed halfway leaves no ``.iso`` behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from discflow.agent.drivers._base import DriverSettings
from discflow.agent.drivers._face import write_face
from discflow.agent.drivers._tasks import DiscTask, TaskDriver
from discflow.domain import CopyState
from discflow.errors import BurnFailed

__all__ = ["ImageDriver", "ImageOptions"]

_BLOCK = 4 << 20


class ImageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output_dir: Path


class ImageDriver(TaskDriver):
    STATE_LOOKUP = {
        "queued": CopyState.PENDING,
        "copying": CopyState.WRITING,
        "reading-back": CopyState.VERIFYING,
        "ok": CopyState.GOOD,
        "write-error": CopyState.FAILED_WRITE,
        "verify-error": CopyState.FAILED_VERIFY,
    }

    def __init__(self, settings: DriverSettings) -> None:
        super().__init__(settings)
        self.options = ImageOptions.model_validate(dict(settings.options))

    def drive_dir(self, drive: int) -> Path:
        return self.options.output_dir / f"drive-{drive}"

    async def _write(self, disc: DiscTask) -> None:
        order = disc.order
        assert order.drive is not None
        folder = self.drive_dir(order.drive)
        target = folder / f"{order.order_id}.iso"
        # written and read back under another name: an agent killed halfway must not
        # leave a file that looks like a good disc
        burning = folder / f"{order.order_id}.iso.part"
        disc.phase = "copying"
        share = 0.5 if order.verify else 1.0
        try:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
            await self._copy(order.image, burning, disc, share=share)
        except OSError as exc:
            with contextlib.suppress(OSError):
                burning.unlink(missing_ok=True)
            raise BurnFailed(
                f"drive {order.drive}: cannot write {target}: {exc.strerror or exc}"
            ) from exc
        if order.verify:
            disc.phase = "reading-back"
            digest = await self._hash(burning, disc, start=share)
            if digest != order.sha256:
                burning.rename(target.with_suffix(".iso.bad"))
                raise BurnFailed(
                    f"drive {order.drive}: {target.name} reads back as sha256 {digest}, "
                    f"expected {order.sha256}"
                )
        await asyncio.to_thread(os.replace, burning, target)
        if order.merge:
            await write_face(target, order.merge[0], volume_name=order.volume_name)
        disc.output = str(target)
        disc.progress = 1.0
        disc.phase = "ok"

    async def _copy(self, source: Path, target: Path, disc: DiscTask, *, share: float) -> None:
        total = max(1, disc.order.size_bytes)
        src = await asyncio.to_thread(os.open, source, os.O_RDONLY)
        try:
            dst = await asyncio.to_thread(
                os.open, target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644
            )
            try:
                done = 0
                while block := await asyncio.to_thread(os.read, src, _BLOCK):
                    await asyncio.to_thread(_write_all, dst, block)
                    done += len(block)
                    disc.progress = share * done / total
                await asyncio.to_thread(os.fsync, dst)
            finally:
                os.close(dst)
        finally:
            os.close(src)

    async def _hash(self, path: Path, disc: DiscTask, *, start: float) -> str:
        hasher = hashlib.sha256()
        total = max(1, disc.order.size_bytes)
        done = 0
        with path.open("rb") as handle:
            while block := await asyncio.to_thread(handle.read, _BLOCK):
                hasher.update(block)
                done += len(block)
                disc.progress = start + (1 - start) * min(1.0, done / total)
        return hasher.hexdigest()


def _write_all(fd: int, block: bytes) -> None:
    view = memoryview(block)
    while view:
        view = view[os.write(fd, view) :]
