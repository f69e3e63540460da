"""``xorriso`` driver: burns the cached image with Debian's xorriso.

Each drive is either a real recorder (``devices = ["/dev/sr0", ...]``) or a
``stdio:`` image file under ``output_dir/drive-<n>/`` (tests, demos).

Invariants: the burn is ``xorriso -as cdrecord -v dev=<target>
blank=as_needed <image>``; its ``UPDATE : N of M MB written`` lines become the
disc's progress; a non-zero exit becomes a failed write whose message carries
xorriso's own FAILURE/SORRY lines. Verification is an independent read of the
target: the first ``size_bytes`` bytes must hash to the content's sha256
(xorriso pads the track, so only the image's length is compared).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from discflow.agent.drivers._base import DriverSettings
from discflow.agent.drivers._tasks import DiscTask, TaskDriver
from discflow.domain import CopyState
from discflow.errors import BurnFailed, DeviceUnavailable

__all__ = ["XorrisoDriver", "XorrisoOptions", "parse_progress"]

_PROGRESS = re.compile(r"UPDATE\s*:\s*(\d+)\s+of\s+(\d+)\s+MB written")
_PROBLEM = re.compile(r"(FAILURE|SORRY|FATAL|ABORT)\s*:")
_BLOCK = 4 << 20


class XorrisoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output_dir: Path | None = None
    devices: list[str] | None = None
    xorriso: str = "xorriso"

    @model_validator(mode="after")
    def _one_target(self) -> XorrisoOptions:
        if (self.output_dir is None) == (self.devices is None):
            raise ValueError("give either output_dir (stdio: image files) or devices (/dev/srN)")
        return self


def parse_progress(line: str) -> float | None:
    """xorriso's ``UPDATE : 12 of 700 MB written`` as a fraction, else None."""
    match = _PROGRESS.search(line)
    if not match:
        return None
    done, total = int(match.group(1)), int(match.group(2))
    return min(1.0, done / total) if total else 0.0


class XorrisoDriver(TaskDriver):
    STATE_LOOKUP = {
        "queued": CopyState.PENDING,
        "burning": CopyState.WRITING,
        "reading-back": CopyState.VERIFYING,
        "ok": CopyState.GOOD,
        "write-error": CopyState.FAILED_WRITE,
        "verify-error": CopyState.FAILED_VERIFY,
    }

    def __init__(self, settings: DriverSettings) -> None:
        super().__init__(settings)
        self.options = XorrisoOptions.model_validate(dict(settings.options))
        if self.options.devices is not None and len(self.options.devices) < settings.drives:
            raise DeviceUnavailable(
                f"driver_options.devices lists {len(self.options.devices)} recorders but "
                f"drives = {settings.drives}"
            )

    def _target(self, disc: DiscTask) -> tuple[str, Path]:
        order = disc.order
        assert order.drive is not None
        if self.options.devices is not None:
            device = self.options.devices[order.drive]
            return device, Path(device)
        assert self.options.output_dir is not None
        path = self.options.output_dir / f"drive-{order.drive}" / f"{order.order_id}.iso"
        return f"stdio:{path}", path

    async def _write(self, disc: DiscTask) -> None:
        order = disc.order
        dev, path = self._target(disc)
        if dev.startswith("stdio:"):
            path.parent.mkdir(parents=True, exist_ok=True)
        disc.phase = "burning"
        share = 0.5 if order.verify else 1.0
        args = [self.options.xorriso, "-as", "cdrecord", "-v", f"dev={dev}"]
        args += ["blank=as_needed", str(order.image)]
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except OSError as exc:
            raise DeviceUnavailable(
                f"cannot run {self.options.xorriso!r}: {exc.strerror}; install Debian's xorriso"
            ) from exc
        problems: list[str] = []
        assert proc.stdout is not None
        try:
            async for raw in proc.stdout:
                for line in raw.decode("utf-8", "replace").replace("\r", "\n").splitlines():
                    fraction = parse_progress(line)
                    if fraction is not None:
                        disc.progress = share * fraction
                    elif _PROBLEM.search(line):
                        problems.append(line.strip())
            code = await proc.wait()
        except asyncio.CancelledError:
            proc.kill()
            await proc.wait()
            raise
        if code != 0:
            detail = "; ".join(problems[-3:]) or "no message"
            raise BurnFailed(f"xorriso could not write to {dev} (exit {code}): {detail}")
        if order.verify:
            disc.phase = "reading-back"
            digest = await asyncio.to_thread(_hash_prefix, path, order.size_bytes)
            if digest != order.sha256:
                raise BurnFailed(
                    f"{dev}: the first {order.size_bytes} bytes read back as sha256 {digest}, "
                    f"expected {order.sha256}"
                )
        disc.output = dev
        disc.progress = 1.0
        disc.phase = "ok"


def _hash_prefix(path: Path, size: int) -> str:
    hasher = hashlib.sha256()
    left = size
    with path.open("rb") as handle:
        while left > 0:
            block = handle.read(min(_BLOCK, left))
            if not block:
                break
            hasher.update(block)
            left -= len(block)
    return hasher.hexdigest()
