"""What the hot-folder drivers (ptburn, tdbridge) share: job files and status files.

Invariants: a job file appears in the watched folder only complete (written
under a name the device ignores, fsynced, then renamed), because the device
may pick it up the moment it exists; status files are read without locking
and retried when missing, empty or locked, since the device rewrites them in
place every few seconds; a job's discs are recorded append-only from the
device's good/bad counters, so disc *i* never changes meaning between polls.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from discflow.agent.drivers._base import (
    Capabilities,
    DiscReport,
    DriverSettings,
    WriteOrder,
    WriteReport,
)
from discflow.domain import CopyState, JobState
from discflow.errors import DeviceUnavailable, NotFound

__all__ = [
    "HotFolderDriver",
    "HotJob",
    "drop_file",
    "find_job_file",
    "parse_ini",
    "read_status",
]


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """INI-like status text: ``[Section]`` then ``Key=Value`` (spaces around ``=``
    tolerated, as PTBurn writes them); keys keep their case; ``#``/``;`` comments."""
    sections: dict[str, dict[str, str]] = {"": {}}
    current = sections[""]
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), {})
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def read_status(path: Path, *, tries: int = 5, wait_s: float = 0.05) -> dict[str, dict[str, str]]:
    """Read a status file that the device may be rewriting (briefly locked or empty)."""
    last: Exception | None = None
    for attempt in range(tries):
        try:
            text = path.read_text("utf-8", errors="replace")
        except FileNotFoundError as exc:
            last = exc
        except PermissionError as exc:  # Windows share: the device holds it open
            last = exc
        else:
            if text.strip():
                return parse_ini(text)
            last = None
        if attempt + 1 < tries:
            time.sleep(wait_s)
    if isinstance(last, FileNotFoundError):
        raise DeviceUnavailable(
            f"status file {path} does not exist: is the device service running?"
        )
    raise DeviceUnavailable(f"status file {path} stayed locked or empty after {tries} reads")


def drop_file(folder: Path, name: str, text: str) -> Path:
    """Write ``folder/name`` so that it appears complete, in one rename."""
    target = folder / name
    tmp = folder / f".{name}.discflow-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.replace("\n", "\r\n").encode("ascii", "replace"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return target


def find_job_file(folder: Path, stem: str, extensions: Mapping[str, JobState]) -> str | None:
    """The job file's current extension (upper case), whatever case the device used."""
    for ext in extensions:
        for candidate in (ext, ext.lower()):
            if (folder / f"{stem}.{candidate}").exists():
                return ext
    return None


@dataclass(slots=True)
class HotJob:
    order: WriteOrder
    stem: str
    discs: list[DiscReport] = field(default_factory=list)
    good: int = 0
    bad: int = 0
    final: WriteReport | None = None
    cancelled: bool = False


class HotFolderDriver:
    """Base of the hot-folder drivers; subclasses write job files and read counters."""

    EXTENSIONS: Mapping[str, JobState]

    def __init__(self, settings: DriverSettings, jobs_dir: Path) -> None:
        self.settings = settings
        self.jobs_dir = jobs_dir
        self._jobs: dict[str, HotJob] = {}

    def capabilities(self) -> Capabilities:
        return Capabilities(per_drive=False)

    def _check_folder(self) -> None:
        if not self.jobs_dir.is_dir():
            raise DeviceUnavailable(
                f"hot folder {self.jobs_dir} is not reachable; check the share is mounted"
            )

    def _job(self, handle: str) -> HotJob:
        try:
            return self._jobs[handle]
        except KeyError:
            raise NotFound(f"no job with handle {handle!r} on this driver") from None

    async def drop_cancel(self, handle: str, *, suffix: str, text: str) -> None:
        """Ask the device to stop a job by dropping a command file named after it."""
        job = self._job(handle)
        if job.final is not None:
            return
        job.cancelled = True
        try:
            await asyncio.to_thread(drop_file, self.jobs_dir, f"{job.stem}{suffix}", text)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot write the cancel to {self.jobs_dir}: {exc}") from exc

    def record(self, job: HotJob, *, good: int, bad: int, failed: CopyState) -> None:
        """Append discs for counter increases (counters never go back)."""
        for _ in range(max(0, good - job.good)):
            job.discs.append(DiscReport(CopyState.GOOD, 1.0, output=self.settings.device_name))
        for _ in range(max(0, bad - job.bad)):
            job.discs.append(DiscReport(failed, 1.0, error="the publisher rejected this disc"))
        job.good, job.bad = max(good, job.good), max(bad, job.bad)

    async def poll(self, handle: str) -> WriteReport:
        job = self._job(handle)
        if job.final is not None:
            return job.final
        self._check_folder()
        report = await asyncio.to_thread(self._read, job)
        if report.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            job.final = report
        return report

    def _read(self, job: HotJob) -> WriteReport:
        raise DeviceUnavailable(f"{type(self).__name__} cannot read job {job.stem}")
