"""``ptburn`` driver: Primera publishers through the PTBurn SDK hot folder.

Protocol (PTBurn SDK 3, rev 3.24/3.25): the driver drops ``<stem>.JRQ`` (one
``Key=Value`` per line) into ``jobs_dir``; PTBurn renames it ``.QRJ`` (found),
``.INP`` (in process), then ``.DON`` or ``.ERR``. ``Status/<RobotName>.txt``
holds a ``[<stem>]`` section with ``GoodDiscs``/``BadDiscs``/``CurrentStatus``
and ``[System] SystemStatus`` (e.g. "Out of Discs"); ``Status/SystemStatus.txt``
describes the robots and their bins. Abort: ``<stem>.PTM`` with
``Message=ABORT`` and the job's ``ClientID``.

Invariants: the image is placed inside a sub-folder of the jobs folder and
the job asks ``DeleteFiles=YES``, so PTBurn removes it when the job ends; the
``.JRQ`` is the last file written; the extension table below is the only
place PTBurn's lifecycle is translated into ``JobState``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path, PureWindowsPath

from pydantic import BaseModel, ConfigDict

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

__all__ = ["PTBurnDriver", "PTBurnOptions", "job_request"]

CLIENT_ID = "discflow"

EXTENSIONS = {
    "JRQ": JobState.QUEUED,
    "QRJ": JobState.QUEUED,
    "INP": JobState.RUNNING,
    "DON": JobState.DONE,
    "ERR": JobState.FAILED,
}

_DISC_TYPE = {"CD": "CDR", "DVD": "DVDR", "BD": "BDR"}


class PTBurnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_dir: Path
    robot_name: str | None = None
    # how PTBurn's Windows host sees jobs_dir, e.g. "C:\\PTBurnJobs"; default: the same path
    device_jobs_dir: str | None = None
    importance: int = 4


def job_request(order: WriteOrder, *, image_path: str, robot_name: str | None) -> str:
    """The ``.JRQ`` text for an order (keys spelled as in the PTBurn SDK)."""
    lines = [
        f"JobID={order.order_id[:32]}",
        f"ClientID={CLIENT_ID}",
        f"ImageFile={image_path}",
        f"Copies={order.copies}",
        f"VerifyDisc={'YES' if order.verify else 'NO'}",
        f"VolumeName={order.volume_name[:32]}",
        f"DiscType={_DISC_TYPE[media_type(order.media).family]}",
        "RejectIfNotBlank=YES",
        "CloseDisc=YES",
        "DeleteFiles=YES",
    ]
    if robot_name:
        lines.append(f"RobotName={robot_name}")
    label = order.label or {}
    if isinstance(label.get("file"), str):
        lines.append(f"PrintLabel={label['file']}")
        fields = label.get("merge_fields")
        if isinstance(fields, list):
            lines += [f"MergeField={value}" for value in fields]
    return "\n".join(lines) + "\n"


class PTBurnDriver(HotFolderDriver):
    EXTENSIONS = EXTENSIONS

    def __init__(self, settings: DriverSettings) -> None:
        self.options = PTBurnOptions.model_validate(dict(settings.options))
        super().__init__(settings, self.options.jobs_dir)

    def _device_path(self, local: Path) -> str:
        if self.options.device_jobs_dir is None:
            return str(local)
        relative = local.relative_to(self.jobs_dir)
        return str(PureWindowsPath(self.options.device_jobs_dir, *relative.parts))

    async def submit(self, order: WriteOrder) -> str:
        self._check_folder()
        stem = order.order_id
        folder = self.jobs_dir / stem
        image = folder / f"{order.sha256[:16]}.iso"
        try:
            await asyncio.to_thread(_place, order.image, image)
            text = job_request(
                order, image_path=self._device_path(image), robot_name=self.options.robot_name
            )
            await asyncio.to_thread(drop_file, self.jobs_dir, f"{stem}.JRQ", text)
        except OSError as exc:
            raise DeviceUnavailable(
                f"cannot write the job to {self.jobs_dir}: {exc.strerror}"
            ) from exc
        self._jobs[stem] = HotJob(order, stem)
        return stem

    def _robot_file(self) -> Path:
        status = self.jobs_dir / "Status"
        if self.options.robot_name:
            return status / f"{self.options.robot_name}.txt"
        system = read_status(status / "SystemStatus.txt")
        robots = list(system.get("RobotList", {}).values())
        if not robots:
            raise DeviceUnavailable("PTBurn lists no robot in Status/SystemStatus.txt")
        return status / f"{robots[0]}.txt"

    def _read(self, job: HotJob) -> WriteReport:
        ext = find_job_file(self.jobs_dir, job.stem, EXTENSIONS)
        if ext is None:
            raise DeviceUnavailable(f"PTBurn job file {job.stem}.JRQ vanished from {self.jobs_dir}")
        state = EXTENSIONS[ext]
        if state is JobState.QUEUED:
            return WriteReport(JobState.QUEUED)
        robot = read_status(self._robot_file())
        section = robot.get(job.stem, {})
        system = robot.get("System", {}).get("SystemStatus", "")
        failed = CopyState.FAILED_VERIFY if job.order.verify else CopyState.FAILED_WRITE
        self.record(
            job,
            good=_int(section.get("GoodDiscs")),
            bad=_int(section.get("BadDiscs")),
            failed=failed,
        )
        done = len(job.discs) / max(1, job.order.copies)
        current = section.get("CurrentStatus", "")
        if state is JobState.FAILED and job.cancelled:
            return WriteReport(JobState.CANCELLED, tuple(job.discs), done, "aborted")
        if state is JobState.FAILED:
            return WriteReport(state, tuple(job.discs), done, current or "PTBurn reported an error")
        out = "out of discs" in system.lower() or "out of discs" in current.lower()
        return WriteReport(state, tuple(job.discs), done, system if out else None, out_of_media=out)

    async def cancel(self, handle: str) -> None:
        # ABORT is honoured only when ClientID matches the job's
        await self.drop_cancel(handle, suffix=".PTM", text=f"Message=ABORT\nClientID={CLIENT_ID}\n")

    async def device_status(self) -> DeviceReport:
        self._check_folder()
        system = await asyncio.to_thread(read_status, self.jobs_dir / "Status" / "SystemStatus.txt")
        robots = list(system.get("RobotList", {}).values())
        name = self.options.robot_name or (robots[0] if robots else "")
        robot = system.get(name, {})
        details = {
            k: v
            for k, v in robot.items()
            if k in ("Status", "DiscsInLeftBin", "DiscsInRightBin", "SystemDrives", "RobotType")
        }
        status = robot.get("Status", "")
        ok = bool(robot) and not any(w in status.lower() for w in ("error", "offline"))
        return DeviceReport(ok=ok, message=status or f"robot {name!r} not listed", details=details)

    async def close(self) -> None:
        return None


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # same file system: no copy
    except OSError:
        shutil.copyfile(source, target)


def _int(value: str | None) -> int:
    try:
        return max(0, int(value or 0))
    except ValueError as exc:
        raise BurnFailed(f"PTBurn status holds a non-number {value!r}") from exc
