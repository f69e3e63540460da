"""``ptburn`` driver: Primera publishers through the PTBurn SDK hot folder.

Protocol (PTBurn 3 SDK rev 3.24, section numbers below): the driver drops
``<stem>.JRQ`` (one ``Key=Value`` per line, 2.1) into ``jobs_dir``; PTBurn
renames it ``.QRJ`` (found), ``.INP`` (in process), then ``.DON`` or ``.ERR``
(3). ``Status/SystemStatus.txt`` lists the robots (``[RobotList]``), the
service (``[System]``: ``SysErrorNumber``, ``ServerTickCount`` 3.1.4) and each
robot (``StatusFile``, bins, ``CartridgeTypeX``/``CartridgeFillX`` 3.1.3); the
robot's own file (named by ``StatusFile``) has a section per job with
``GoodDiscs``/``BadDiscs``/``JobState``/``JobErrorNumber`` and
``DiscErrorNumberX`` (3.2.4), and ``[System] SystemStatus`` (3.2.5). Abort: a
``<stem>.PTM`` holding ``Message=ABORT`` and the job's ``ClientID`` (4.1).

Invariants: only the keys in ``job_request`` are ever written, each a key of
2.1 with a value of the documented form; the image is hard-linked into a
sub-folder of the jobs folder and the job asks ``DeleteFiles=YES``; the
``.JRQ`` is written last; a disc is failed-verify only when PTBurn said 19
(verify error), "not blank" only when it said 12; a cancel is reported only
when the job ended with job error 16 ("The job was aborted").
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path, PureWindowsPath

from pydantic import BaseModel, ConfigDict, Field, field_validator

from discflow.agent.drivers._base import (
    Capabilities,
    DeviceReport,
    DiscReport,
    DriverSettings,
    WriteOrder,
    WriteReport,
)
from discflow.agent.drivers._hotfolder import (
    HotFolderDriver,
    HotJob,
    LabelFields,
    counter,
    design_values,
    drop_file,
    find_job_file,
    place_image,
    read_status,
    wait_for_answer,
)
from discflow.agent.drivers._ptburn_status import (
    ABORTED,
    device_reasons,
    disc_failure,
    job_error_text,
)
from discflow.domain import CopyState, JobState, Priority
from discflow.errors import DeviceUnavailable, InvalidInput

__all__ = ["PTBurnDriver", "PTBurnOptions", "job_request"]

EXTENSIONS = {
    "JRQ": JobState.QUEUED,
    "QRJ": JobState.QUEUED,
    "INP": JobState.RUNNING,
    "DON": JobState.DONE,
    "ERR": JobState.FAILED,
}

# JobState (3.2.4 / 2005 SDK 3.3.12): 0 not started, 1 running, 2 done, 3 failed;
# 4: the job moved to another robot (AutoSwitchRobot, 2.1.41)
JOB_MOVED = "4"
_DESIGN_SUFFIXES = (".std", ".jpg", ".bmp", ".prn")  # what PrintLabel takes (2.1.12)
_STATUS_CATCH_UP_S = 15.0  # a few of PTBurn's status rewrites


class PTBurnOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_dir: Path
    robot_name: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[^\r\n\x00]+$")
    # how PTBurn's Windows host sees jobs_dir, e.g. "C:\\PTBurnJobs"; default: the same path
    device_jobs_dir: str | None = None
    client_id: str = Field("discflow", pattern=r"^[A-Za-z0-9_-]{1,32}$")  # 2.1.2: up to 32
    # Importance (2.1.3): 0 is the most urgent, 4 the default; what a priority maps to
    importance: dict[Priority, int] = Field(
        default_factory=lambda: {Priority.RUSH: 0, Priority.NORMAL: 4, Priority.LOW: 4}
    )
    burn_speed: int | None = Field(None, ge=0, le=100)  # 2.1.14; a job's own speed wins
    blu_ray: bool = False  # the SDK names only CD/DVD media: BD only on a robot said to take it
    ink_low_percent: int = Field(10, ge=0, le=100)
    tick_timeout_s: float = Field(30.0, gt=0)  # ServerTickCount frozen this long: service gone
    # within the dispatcher's 10 s call; PTM files are read about every 10 s (4.3), so a
    # cancel may answer 409 "not confirmed" first and be confirmed by a later poll
    cancel_wait_s: float = Field(8.0, gt=0)
    # PrintLabel (2.1.12) for a job that names no design of its own, as PTBurn's PC
    # sees it: a .STD (SureThing), .jpg, .bmp or .PRN file; and its merge fields in the
    # design's order (2.1.40: MergeField is positional), e.g. a patient disc's PATIENT,
    # PATIENT_ID, STUDY_DATE, DISC (the server's merge set names; see docs/devices.md)
    label_design: str | None = Field(None, min_length=1, max_length=200)
    label_fields: LabelFields = Field(default_factory=list)

    @field_validator("label_design")
    @classmethod
    def _design_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("label_design: a path cannot hold control characters")
        if PureWindowsPath(value).suffix.lower() not in _DESIGN_SUFFIXES:
            raise ValueError(
                f"label_design {value!r}: PTBurn prints a .STD, .jpg, .bmp or .PRN file (2.1.12)"
            )
        return value


def job_request(
    order: WriteOrder, *, image_path: str, options: PTBurnOptions, stem: str
) -> list[str]:
    """The ``.JRQ`` lines for an order: documented keys (2.1.x) with documented values."""
    lines = [
        f"JobID={stem}",  # 2.1.1, up to 32 characters (the stem is at most 32)
        f"ClientID={options.client_id}",  # 2.1.2; ABORT must repeat it (4.1)
        f"Importance={options.importance[order.priority]}",  # 2.1.3
        f"ImageFile={image_path}",  # 2.1.6: the verified archive image itself
        "DeleteFiles=YES",  # 2.1.7: PTBurn removes the linked image when done
        "CloseDisc=YES",  # 2.1.10
        f"Copies={order.copies}",  # 2.1.11: 1 to 10,000
        f"VerifyDisc={'YES' if order.verify else 'NO'}",  # 2.1.15
        "RejectIfNotBlank=YES",  # 2.1.16: a used disc is rejected (disc error 12)
    ]
    speed = order.burn_speed if order.burn_speed is not None else options.burn_speed
    if speed is not None:
        lines.append(f"BurnSpeed={speed}")  # 2.1.14: 1-100, 0 = fastest
    if options.robot_name:
        lines.append(f"RobotName={options.robot_name}")  # 2.1.41
    if order.label_design:
        lines.append(f"PrintLabel={order.label_design}")  # 2.1.12
        # 2.1.40: one MergeField per field, in the design's field order; one set per job
        merge = order.merge[0] if order.merge else {}
        for value in design_values(merge, options.label_fields):
            lines.append(f"MergeField={value}")
    return lines


class PTBurnDriver(HotFolderDriver):
    EXTENSIONS = EXTENSIONS

    def __init__(self, settings: DriverSettings) -> None:
        self.options = PTBurnOptions.model_validate(dict(settings.options))
        super().__init__(
            settings, self.options.jobs_dir, device_jobs_dir=self.options.device_jobs_dir
        )
        self._tick: tuple[str, float] | None = None  # last ServerTickCount, when it changed
        self._final_seen: dict[str, float] = {}

    def capabilities(self) -> Capabilities:
        families = {"CD", "DVD", "BD"} if self.options.blu_ray else {"CD", "DVD"}
        return Capabilities(
            per_drive=False,
            media=frozenset(families),
            one_merge_set_per_job=True,
            label_design=self.options.label_design,
        )

    def check_order(self, media: str, *, copies: int) -> None:
        super().check_order(media, copies=copies)
        if not 1 <= copies <= 10_000:  # 2.1.11
            raise InvalidInput(f"PTBurn takes 1 to 10,000 copies per job, not {copies}")

    async def submit(self, order: WriteOrder) -> str:
        self._check_folder()
        stem = order.order_id[:32]
        folder = self.jobs_dir / stem
        image = folder / f"{order.sha256[:16]}.iso"
        lines = job_request(
            order, image_path=self.device_path(image), options=self.options, stem=stem
        )
        try:
            await asyncio.to_thread(place_image, order.image, image)
            await asyncio.to_thread(drop_file, self.jobs_dir, f"{stem}.JRQ", "\n".join(lines))
        except OSError as exc:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            raise DeviceUnavailable(
                f"cannot write the job to {self.jobs_dir}: {exc.strerror}"
            ) from exc
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            raise
        self._jobs[stem] = HotJob(order, stem)
        return stem

    # ---- status files ----------------------------------------------------------

    def _system(self) -> dict[str, dict[str, str]]:
        return read_status(self.jobs_dir / "Status" / "SystemStatus.txt")

    def _robot(self, system: dict[str, dict[str, str]]) -> str:
        robots = list(system.get("RobotList", {}).values())
        name = self.options.robot_name or (robots[0] if robots else "")
        if not name or name not in robots:
            listed = ", ".join(robots) or "none"
            raise DeviceUnavailable(
                f"PTBurn lists no robot {name!r} in Status/SystemStatus.txt (listed: {listed})"
            )
        return name

    def _robot_file(self, system: dict[str, dict[str, str]], robot: str) -> Path:
        # 3.1.3.5: the robot's StatusFile names its status file, in the same folder
        named = system.get(robot, {}).get("StatusFile") or f"{robot}.txt"
        return self.jobs_dir / "Status" / PureWindowsPath(named).name

    def _job_section(self, stem: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        system = self._system()
        robots = [self._robot(system)]
        robots += [r for r in system.get("RobotList", {}).values() if r not in robots]
        first: dict[str, dict[str, str]] = {}
        for index, robot in enumerate(robots):
            status = read_status(self._robot_file(system, robot))
            first = first or status
            section = status.get(stem)
            # a job that moved (JobState 4) is followed to the robot that took it
            if section is not None and (section.get("JobState") != JOB_MOVED or index):
                return section, status
        return {}, first

    def _read(self, job: HotJob) -> WriteReport:
        ext = find_job_file(self.jobs_dir, job.stem, EXTENSIONS)
        if ext is None:
            raise DeviceUnavailable(f"PTBurn job file {job.stem}.JRQ vanished from {self.jobs_dir}")
        state = EXTENSIONS[ext]
        if state is JobState.QUEUED:
            return WriteReport(JobState.QUEUED)
        section, robot_status = self._job_section(job.stem)
        if state in (JobState.DONE, JobState.FAILED) and not self._settled(job, section, state):
            state = JobState.RUNNING  # renamed, but the status file has not caught up yet
        self.record(
            job, good=counter(section.get("GoodDiscs")), bad=_rejects(section, job.order.verify)
        )
        done = len(job.discs) / max(1, job.order.copies)
        if state is JobState.FAILED:
            number = section.get("JobErrorNumber", "")
            if number == ABORTED:
                job.cancelled = True
                return WriteReport(JobState.CANCELLED, tuple(job.discs), done, "aborted")
            return WriteReport(state, tuple(job.discs), done, job_error_text(section))
        system = robot_status.get("System", {}).get("SystemStatus", "")
        out = "out of discs" in system.lower()
        return WriteReport(state, tuple(job.discs), done, system if out else None, out_of_media=out)

    def _settled(self, job: HotJob, section: dict[str, str], state: JobState) -> bool:
        """PTBurn may rename the job file before it rewrites the status file: trust the
        final extension once JobState agrees (2 done, 3 failed), or after a grace time."""
        if section.get("JobState") == ("2" if state is JobState.DONE else "3"):
            return True
        first = self._final_seen.setdefault(job.stem, time.monotonic())
        return time.monotonic() - first >= _STATUS_CATCH_UP_S

    # ---- commands ----------------------------------------------------------------

    async def cancel(self, handle: str) -> bool:
        text = f"Message=ABORT\nClientID={self.options.client_id}"  # 4.1
        job = await self.drop_cancel(handle, name=f"{handle}.PTM", text=text)
        if job is None:
            return True

        def answer() -> bool | None:
            ext = find_job_file(self.jobs_dir, job.stem, EXTENSIONS)
            if ext in ("ERR", "DON"):
                section, _ = self._job_section(job.stem)
                if section.get("JobState") not in ("2", "3"):
                    return None  # renamed; the status file has not said why yet
                return ext == "ERR" and section.get("JobErrorNumber") == ABORTED
            return None

        confirmed = await wait_for_answer(answer, timeout_s=self.options.cancel_wait_s)
        if confirmed:
            job.cancelled = True
        return bool(confirmed)

    async def device_status(self) -> DeviceReport:
        self._check_folder()
        system = await asyncio.to_thread(self._system)
        robot = self._robot(system)
        robot_status = await asyncio.to_thread(read_status, self._robot_file(system, robot))
        frozen = self._frozen_for(system.get("System", {}).get("ServerTickCount"))
        reasons = device_reasons(
            self.settings.device_name,
            system=system,
            robot=robot,
            robot_status=robot_status,
            ink_low=self.options.ink_low_percent,
            frozen_s=frozen if frozen >= self.options.tick_timeout_s else None,
        )
        section = system.get(robot, {})
        keep = ("Status", "DiscsInLeftBin", "DiscsInRightBin", "SystemDrives", "RobotType")
        details = {k: v for k, v in section.items() if k in keep or k.startswith("Cartridge")}
        message = robot_status.get("System", {}).get("SystemStatus") or section.get("Status", "")
        return DeviceReport(ok=True, message=message, details=details, reasons=tuple(reasons))

    def _frozen_for(self, tick: str | None) -> float:
        """Seconds since ServerTickCount last changed (3.1.4.3: it advances 1 per second)."""
        now = time.monotonic()
        value = tick or ""
        if self._tick is None or self._tick[0] != value:
            self._tick = (value, now)
        return now - self._tick[1]

    async def close(self) -> None:
        return None


def _rejects(section: dict[str, str], verify: bool) -> list[DiscReport]:
    """One failed disc per reject, with PTBurn's own reason (DiscErrorNumberX, 3.2.4)."""
    bad = counter(section.get("BadDiscs"))
    out = []
    for x in range(bad):
        state, error = disc_failure(section, x)
        if state is CopyState.FAILED_VERIFY and not verify:
            state = CopyState.FAILED_WRITE
        out.append(DiscReport(state, 1.0, error=error))
    return out
