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
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Annotated

from pydantic import AfterValidator, Field

from discflow.agent.drivers._base import (
    Capabilities,
    DiscReport,
    DriverSettings,
    WriteOrder,
    WriteReport,
    check_media,
)
from discflow.domain import CopyState, JobState, check_merge_key
from discflow.errors import BurnFailed, DeviceUnavailable, NotFound

__all__ = [
    "HotFolderDriver",
    "HotJob",
    "LabelFields",
    "counter",
    "design_values",
    "drop_file",
    "encode_lines",
    "find_job_file",
    "parse_ini",
    "place_image",
    "read_status",
    "wait_for_answer",
]


def _merge_keys(names: list[str]) -> list[str]:
    for name in names:
        check_merge_key(name)
    if len({name.upper() for name in names}) != len(names):
        raise ValueError("label_fields names a field twice")
    return names


# A robot's own label design takes its merge values by position, in the order its
# fields were laid out: ``label_fields`` in the device's config names that order.
LabelFields = Annotated[list[str], Field(max_length=64), AfterValidator(_merge_keys)]


def design_values(merge: Mapping[str, str], fields: Sequence[str]) -> list[str]:
    """One disc's merge values in its design's field order: the configured ``fields``
    (one the set lacks prints empty; names in any case), else the set's own order."""
    if not fields:
        return list(merge.values())
    upper = {key.upper(): value for key, value in merge.items()}
    return [upper.get(name.upper(), "") for name in fields]


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


def encode_lines(lines: list[str]) -> bytes:
    """``KEY=value`` lines as the robots read them: ANSI (Windows-1252), CRLF.

    A last guard behind the API's checks: a value that would add a line or
    cannot be written in the robot's code page is refused, never mangled.
    """
    for line in lines:
        if any(ch in line for ch in "\r\n\x00"):
            raise BurnFailed(f"refusing to write a job-file line holding a line break: {line!r}")
    try:
        return "".join(f"{line}\r\n" for line in lines).encode("cp1252")
    except UnicodeEncodeError as exc:
        raise BurnFailed(
            f"{exc.object[exc.start : exc.end]!r} cannot be written in the robot's ANSI job file; "
            "use characters of Windows-1252 in titles and merge values"
        ) from exc


def drop_file(folder: Path, name: str, text: str) -> Path:
    """Write ``folder/name`` so that it appears complete, in one rename."""
    target = folder / name
    tmp = folder / f".{name}.discflow-tmp"
    data = encode_lines(text.splitlines())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, data)
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
    cancelled: bool = False  # the device confirmed the cancel


class HotFolderDriver:
    """Base of the hot-folder drivers; subclasses write job files and read counters."""

    EXTENSIONS: Mapping[str, JobState]

    def __init__(
        self, settings: DriverSettings, jobs_dir: Path, *, device_jobs_dir: str | None = None
    ) -> None:
        self.settings = settings
        self.jobs_dir = jobs_dir
        self.device_jobs_dir = device_jobs_dir  # how the robot's Windows host sees jobs_dir
        self._jobs: dict[str, HotJob] = {}

    def device_path(self, local: Path) -> str:
        """``local`` (under ``jobs_dir``) as the robot's host names it in a job file."""
        if self.device_jobs_dir is None:
            return str(local)
        relative = local.relative_to(self.jobs_dir)
        return str(PureWindowsPath(self.device_jobs_dir, *relative.parts))

    def capabilities(self) -> Capabilities:
        return Capabilities(per_drive=False)

    def check_order(self, media: str, *, copies: int) -> None:
        check_media(self.capabilities(), media, device=self.settings.device_name)

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

    async def drop_cancel(self, handle: str, *, name: str, text: str) -> HotJob | None:
        """Drop a command file asking the device to stop a job; None when it had ended."""
        job = self._job(handle)
        if job.final is not None:
            return None
        try:
            await asyncio.to_thread(drop_file, self.jobs_dir, name, text)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot write the cancel to {self.jobs_dir}: {exc}") from exc
        return job

    def record(self, job: HotJob, *, good: int, bad: list[DiscReport]) -> None:
        """Append discs for counter increases (counters never go back); ``bad`` holds
        every rejected disc so far, with the robot's own reason for each."""
        for _ in range(max(0, good - job.good)):
            job.discs.append(DiscReport(CopyState.GOOD, 1.0, output=self.settings.device_name))
        for disc in bad[job.bad :]:
            job.discs.append(disc)
        job.good, job.bad = max(good, job.good), max(len(bad), job.bad)

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


def place_image(source: Path, target: Path) -> None:
    """Put the verified image where the robot reads it: a hard link on the same file
    system (no copy of gigabytes), else a copy; never through a symlink."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target, follow_symlinks=False)


def counter(value: str | None) -> int:
    """A status file's disc counter; missing or garbled reads as 0 (counters only grow,
    so a bad read is corrected by the next poll)."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


async def wait_for_answer(
    answer: Callable[[], bool | None], *, timeout_s: float, interval_s: float = 0.1
) -> bool | None:
    """Poll ``answer`` until it says True/False (the device decided) or time runs out."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while True:
        result = await asyncio.to_thread(answer)
        if result is not None or loop.time() >= end:
            return result
        await asyncio.sleep(interval_s)
