"""``xorriso`` driver: burns the cached image with Debian's xorriso.

Each drive is either a real recorder (``devices = ["/dev/sr0", ...]``) or a
``stdio:`` image file under ``output_dir/drive-<n>/`` (tests, demos).

Invariants (xorriso(1), xorrecord(1)):
- before writing, ``xorriso -outdev <target> -toc`` must say the medium is
  present ("Media current"), blank ("Media status : is blank") and of the
  ordered profile (CD-R, DVD-R, DVD+R/DL, BD-R...; a ``stdio:`` file is
  "overwriteable" and matches any). No disc, wrong media and a written disc
  are three distinct refusals, and none of them spends a blank;
- the burn is ``xorriso -as cdrecord -v dev=<target> [speed=N] blank=as_needed
  <image>``; its ``UPDATE : N of M MB written`` lines become the disc's progress;
  a non-zero exit becomes a failed write (the blank is spoilt: it was written to)
  whose message carries xorriso's own FAILURE/SORRY lines;
- verification reads the target back: the first ``size_bytes`` bytes must hash
  to the content's sha256 (xorriso pads the track); with ``check_media`` it also
  runs ``-check_media`` (every block readable) for drives whose read-back needs it;
- a real recorder's tray is ejected after the burn (``-eject all``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from discflow.agent.drivers._base import DeviceReport, DriverSettings
from discflow.agent.drivers._face import write_face
from discflow.agent.drivers._tasks import DiscTask, TaskDriver
from discflow.domain import (
    CopyState,
    DeviceReason,
    DeviceStateReason,
    ReasonSeverity,
    media_type,
)
from discflow.errors import BurnFailed, DeviceUnavailable

__all__ = ["PROFILES", "XorrisoDriver", "XorrisoOptions", "media_check", "parse_progress"]

_PROGRESS = re.compile(r"UPDATE\s*:\s*(\d+)\s+of\s+(\d+)\s+MB written")
_PROBLEM = re.compile(r"(FAILURE|SORRY|FATAL|ABORT)\s*:")
_BLOCK = 4 << 20

# the first word of xorriso's "Media current:" profile for each media type
PROFILES = {
    "CD-R": ("CD-R",),
    "mini-CD-R": ("CD-R",),
    "DVD-R": ("DVD-R",),
    "DVD+R": ("DVD+R",),
    "DVD-R-DL": ("DVD-R/DL",),
    "DVD+R-DL": ("DVD+R/DL",),
    "BD-R": ("BD-R",),
    "BD-R-DL": ("BD-R",),  # libburn reports one BD-R profile for both layer counts
}


class XorrisoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output_dir: Path | None = None
    devices: list[str] | None = None
    xorriso: str = "xorriso"
    speed: int | None = Field(None, ge=1, le=100)  # cdrecord speed=N; a job's own speed wins
    check_media: bool = False  # also run -check_media when verifying
    eject: bool = True  # eject a real recorder's tray after the burn

    @model_validator(mode="after")
    def _one_target(self) -> XorrisoOptions:
        if (self.output_dir is None) == (self.devices is None):
            raise ValueError("give either output_dir (stdio: image files) or devices (/dev/srN)")
        if self.devices and any(not d.startswith("/dev/") for d in self.devices):
            raise ValueError("devices are recorder paths such as /dev/sr0")
        return self


def parse_progress(line: str) -> float | None:
    """xorriso's ``UPDATE : 12 of 700 MB written`` as a fraction, else None."""
    match = _PROGRESS.search(line)
    if not match:
        return None
    done, total = int(match.group(1)), int(match.group(2))
    return min(1.0, done / total) if total else 0.0


def media_check(toc: str, media: str) -> str | None:
    """Why the medium ``-toc`` describes cannot take ``media``, or None when it can."""
    current = _field(toc, "Media current")
    status = _field(toc, "Media status")
    if not _field(toc, "Drive current"):
        said = [line.strip() for line in toc.splitlines() if _PROBLEM.search(line)]
        return f"xorriso cannot open the drive: {'; '.join(said[:2]) or 'no answer'}"
    if not current or "is not present" in current or "is not present" in status:
        return "no disc in the drive"
    if not current.startswith("stdio file"):
        profile = current.split()[0]
        if profile not in PROFILES[media_type(media).name]:
            return f"the drive holds {current}, not {media}"
    if "is blank" not in status:
        return f"the disc is not blank ({status or 'status unknown'})"
    return None


def _field(text: str, name: str) -> str:
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == name:
            return value.strip()
    return ""


class XorrisoDriver(TaskDriver):
    STATE_LOOKUP = {
        "queued": CopyState.PENDING,
        "checking": CopyState.PENDING,
        "refused": CopyState.FAILED_WRITE,
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
        self._refusals: dict[int, DeviceReason] = {}  # the last media check of each drive

    def _target(self, disc: DiscTask) -> tuple[str, Path]:
        order = disc.order
        assert order.drive is not None
        if self.options.devices is not None:
            device = self.options.devices[order.drive]
            return device, Path(device)
        assert self.options.output_dir is not None
        path = self.options.output_dir / f"drive-{order.drive}" / f"{order.order_id}.iso"
        return f"stdio:{path}", path

    async def _run_xorriso(self, *args: str) -> tuple[int, list[str]]:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.options.xorriso,
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise DeviceUnavailable(
                f"cannot run {self.options.xorriso!r}: {exc.strerror}; install Debian's xorriso"
            ) from exc
        try:
            out, _ = await proc.communicate()
        except asyncio.CancelledError:
            proc.kill()
            await proc.wait()
            raise
        return proc.returncode or 0, out.decode("utf-8", "replace").splitlines()

    async def _write(self, disc: DiscTask) -> None:
        order = disc.order
        dev, path = self._target(disc)
        if dev.startswith("stdio:"):
            path.parent.mkdir(parents=True, exist_ok=True)
        disc.phase = "checking"
        _code, toc = await self._run_xorriso("-outdev", dev, "-toc")
        problem = media_check("\n".join(toc), order.media)
        assert order.drive is not None
        if problem is not None:
            disc.blank_used = False  # nothing was written: no blank is spoilt
            disc.error = f"drive {order.drive} ({dev}): {problem}; nothing was written"
            disc.phase = "refused"
            kind = (
                DeviceStateReason.MEDIA_NEEDED
                if problem.startswith("no disc")
                else DeviceStateReason.OTHER
            )
            self._refusals[order.drive] = DeviceReason(
                kind,
                ReasonSeverity.WARNING,
                f"{self.settings.device_name}: drive {order.drive}: {problem}",
                f"drive {order.drive}",
            )
            return
        self._refusals.pop(order.drive, None)
        disc.phase = "burning"
        await self._burn(disc, dev)
        if order.verify:
            disc.phase = "reading-back"
            await self._verify(disc, dev, path)
        if self.options.devices is not None and self.options.eject:
            await self._run_xorriso("-outdev", dev, "-eject", "all")
        if order.merge:  # a real recorder's face goes to the work folder, named by order
            beside = (
                path if self.options.devices is None else self.settings.work_dir / order.order_id
            )
            beside.parent.mkdir(parents=True, exist_ok=True)
            await write_face(beside, order.merge[0], volume_name=order.volume_name)
        disc.output = dev
        disc.progress = 1.0
        disc.phase = "ok"

    async def _burn(self, disc: DiscTask, dev: str) -> None:
        order = disc.order
        share = 0.5 if order.verify else 1.0
        args = ["-as", "cdrecord", "-v", f"dev={dev}"]
        speed = order.burn_speed or self.options.speed
        if speed is not None:
            args.append(f"speed={speed}")
        args += ["blank=as_needed", str(order.image)]
        try:
            proc = await asyncio.create_subprocess_exec(
                self.options.xorriso,
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
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

    async def _verify(self, disc: DiscTask, dev: str, path: Path) -> None:
        order = disc.order
        digest = await asyncio.to_thread(_hash_prefix, path, order.size_bytes)
        if digest != order.sha256:
            raise BurnFailed(
                f"{dev}: the first {order.size_bytes} bytes read back as sha256 {digest}, "
                f"expected {order.sha256}"
            )
        if self.options.check_media:
            code, lines = await self._run_xorriso(
                "-abort_on", "NEVER", "-return_with", "FAILURE", "32", "-indev", dev,
                "-check_media", "what=disc", "event=FAILURE", "--",
            )  # fmt: skip
            if code != 0:
                bad = [line for line in lines if "Media region" in line and "+ good" not in line]
                raise BurnFailed(f"{dev}: -check_media found unreadable blocks: {bad[:3]}")

    async def device_status(self) -> DeviceReport:
        reasons = tuple(self._refusals[d] for d in sorted(self._refusals))
        return DeviceReport(ok=True, message="ready", reasons=reasons)


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
