"""``tdbridge`` driver: Epson Discproducer (PP-100 series) through TD Bridge.

Protocol (TD Bridge Technical Reference Guide): the driver drops
``<JOB_ID>.JDF`` (case-sensitive ``KEY=VALUE`` lines) into the monitoring
folder; TD Bridge renames it ``.RJD`` (pre-processing), ``.INP``, then ``.DON``
or ``.ERR``; ``.STP`` while paused. ``TDBStatus.txt`` (rewritten about every
5 s, possibly locked) has a ``[<JOB_ID>]`` section with ``STATUS`` (1 waiting,
2 processing, 3 paused, 4 done, 5 failed, 6 not accepted, 99 unknown),
``COMPLETION_NUMBER``, ``ERRORDISC_NUMBER``, ``ERROR`` and ``DETAIL_STATUS``,
and ``[PUBLISHER<n>]`` sections with ``NAME`` and ``STACKER1``-``4``. Cancel: a
``.JCF`` file holding ``[CANCEL]`` and ``JOB_ID=<id>``.

TD Bridge takes files, not images: the driver extracts the cached ISO's tree
(Rock Ridge, else Joliet, else ISO 9660 names) into ``<jobs_dir>/<JOB_ID>_data``
and names it in ``DATA=``. Verification is the publisher's own setting.

Invariants: the ``.JDF`` is written last and atomically; the two lookup tables
below are the only translation of TD Bridge's states into ``JobState``.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path, PureWindowsPath

import pycdlib
from pydantic import BaseModel, ConfigDict, Field

from discflow.agent.drivers._base import DeviceReport, DriverSettings, WriteOrder, WriteReport
from discflow.agent.drivers._hotfolder import (
    HotFolderDriver,
    HotJob,
    drop_file,
    find_job_file,
    read_status,
)
from discflow.domain import CopyState, JobState, media_type
from discflow.errors import BurnFailed, DeviceUnavailable

__all__ = ["TDBridgeDriver", "TDBridgeOptions", "extract_iso", "job_description"]

EXTENSIONS = {
    "JDF": JobState.QUEUED,
    "RJD": JobState.QUEUED,
    "INP": JobState.RUNNING,
    "STP": JobState.PAUSED,
    "DON": JobState.DONE,
    "ERR": JobState.FAILED,
}

STATUS_LOOKUP = {
    "1": JobState.QUEUED,
    "2": JobState.RUNNING,
    "3": JobState.PAUSED,
    "4": JobState.DONE,
    "5": JobState.FAILED,
    "6": JobState.FAILED,
}

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_NO_DISCS = ("no disc", "out of disc", "stacker empty", "no media", "disc empty")


_ERROR_DETAIL_WAIT_S = 12.0  # two of TD Bridge's status rewrites


class TDBridgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_dir: Path
    publisher: str = Field(min_length=1, max_length=64)
    status_file: Path | None = None  # default: <jobs_dir>/TDBStatus.txt
    device_jobs_dir: str | None = None  # how TD Bridge's Windows host sees jobs_dir
    format: str = "ISO9660L2"


def job_description(order: WriteOrder, *, publisher: str, data_path: str, fmt: str) -> str:
    """The ``.JDF`` text for an order (keys exactly as Epson spells them)."""
    if not _JOB_ID.match(order.order_id):
        raise BurnFailed(f"{order.order_id!r} is not a TD Bridge JOB_ID (1-40 of A-Z a-z 0-9 - _)")
    family = media_type(order.media).family
    lines = [
        f"JOB_ID={order.order_id}",
        f"PUBLISHER={publisher}",
        f"COPIES={order.copies}",
        f"DISC_TYPE={family}",
        f"FORMAT={fmt}",
        f"DATA={data_path}",
        f"VOLUME_LABEL={order.volume_name[:32]}",
    ]
    label = order.label or {}
    if isinstance(label.get("file"), str):
        lines.append(f"LABEL={label['file']}")
    if isinstance(label.get("merge_file"), str):
        lines.append(f"REPLACE_FIELD={label['merge_file']}")
    return "\n".join(lines) + "\n"


def extract_iso(image: Path, dest: Path) -> int:
    """Copy every file of an ISO image into ``dest``; returns the number of files."""
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(image))
    except Exception as exc:  # noqa: BLE001 - pycdlib raises its own and OSError
        raise BurnFailed(f"cannot read the cached image {image} as ISO 9660: {exc}") from exc
    try:
        if iso.has_rock_ridge():
            kind = "rr_path"
        elif iso.has_joliet():
            kind = "joliet_path"
        else:
            kind = "iso_path"
        count = 0
        for dirname, _dirs, files in iso.walk(**{kind: "/"}):
            local_dir = dest / dirname.strip("/")
            local_dir.mkdir(parents=True, exist_ok=True)
            for name in files:
                clean = name.split(";")[0] if kind == "iso_path" else name
                source = f"{dirname.rstrip('/')}/{name}"
                iso.get_file_from_iso(str(local_dir / clean), **{kind: source})
                count += 1
        return count
    finally:
        iso.close()


class TDBridgeDriver(HotFolderDriver):
    EXTENSIONS = EXTENSIONS

    def __init__(self, settings: DriverSettings) -> None:
        self.options = TDBridgeOptions.model_validate(dict(settings.options))
        super().__init__(settings, self.options.jobs_dir)
        self._error_seen: dict[str, float] = {}

    @property
    def status_file(self) -> Path:
        return self.options.status_file or self.jobs_dir / "TDBStatus.txt"

    def _device_path(self, local: Path) -> str:
        if self.options.device_jobs_dir is None:
            return str(local)
        relative = local.relative_to(self.jobs_dir)
        return str(PureWindowsPath(self.options.device_jobs_dir, *relative.parts))

    async def submit(self, order: WriteOrder) -> str:
        self._check_folder()
        stem = order.order_id
        data = self.jobs_dir / f"{stem}_data"
        try:
            await asyncio.to_thread(_fresh_dir, data)
            await asyncio.to_thread(extract_iso, order.image, data)
            text = job_description(
                order,
                publisher=self.options.publisher,
                data_path=self._device_path(data),
                fmt=self.options.format,
            )
            await asyncio.to_thread(drop_file, self.jobs_dir, f"{stem}.JDF", text)
        except OSError as exc:
            raise DeviceUnavailable(f"cannot write the job to {self.jobs_dir}: {exc}") from exc
        self._jobs[stem] = HotJob(order, stem)
        return stem

    def _read(self, job: HotJob) -> WriteReport:
        ext = find_job_file(self.jobs_dir, job.stem, EXTENSIONS)
        status = read_status(self.status_file)
        section = status.get(job.stem, {})
        by_status = STATUS_LOOKUP.get(section.get("STATUS", ""))
        if ext is None and by_status is None:
            raise DeviceUnavailable(f"TD Bridge job {job.stem} is neither in the folder nor status")
        # the file moves to the log folder after DON: then the status file decides
        state = EXTENSIONS[ext] if ext is not None else by_status
        assert state is not None
        self.record(
            job,
            good=_int(section.get("COMPLETION_NUMBER")),
            bad=_int(section.get("ERRORDISC_NUMBER")),
            failed=CopyState.FAILED_WRITE,
        )
        done = len(job.discs) / max(1, job.order.copies)
        detail = section.get("DETAIL_STATUS", "") or section.get("ERROR", "")
        if state is JobState.FAILED:
            if job.cancelled:
                return WriteReport(JobState.CANCELLED, tuple(job.discs), done, "cancelled")
            # TD Bridge renames the job to .ERR before its next TDBStatus.txt rewrite (about
            # every 5 s) says why: wait for the reason rather than report "no detail"
            first_seen = self._error_seen.setdefault(job.stem, time.monotonic())
            if not detail and time.monotonic() - first_seen < _ERROR_DETAIL_WAIT_S:
                return WriteReport(JobState.RUNNING, tuple(job.discs), done)
            error = f"TD Bridge error {section.get('ERROR', '?')}: {detail or 'no detail'}"
            return WriteReport(state, tuple(job.discs), done, error)
        if state is JobState.PAUSED:
            out = any(word in detail.lower() for word in _NO_DISCS)
            return WriteReport(state, tuple(job.discs), done, detail or "paused", out_of_media=out)
        return WriteReport(state, tuple(job.discs), done)

    async def cancel(self, handle: str) -> None:
        await self.drop_cancel(handle, suffix=".JCF", text=f"[CANCEL]\nJOB_ID={handle}\n")

    async def device_status(self) -> DeviceReport:
        self._check_folder()
        status = await asyncio.to_thread(read_status, self.status_file)
        for name, section in status.items():
            if name.startswith("PUBLISHER") and section.get("NAME") == self.options.publisher:
                details = {k: v for k, v in section.items() if k.startswith(("STACKER", "INK_"))}
                return DeviceReport(ok=True, message="registered", details=details)
        return DeviceReport(
            ok=False,
            message=f"publisher {self.options.publisher!r} is not registered in TD Bridge",
        )

    async def close(self) -> None:
        return None


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
