"""``tdbridge`` driver: Epson Discproducer (PP-100 series) through TD Bridge.

Protocol (TD Bridge Technical Reference Guide; Rev.C for PP-100/PP-100N, the
PP-100II edition for later keys): the driver drops ``<JOB_ID>.JDF``
(case-sensitive ``KEY=VALUE`` lines, "Setting Item List") into the monitoring
folder; TD Bridge renames it ``.RJD`` (pre-processing), ``.INP``, then ``.DON``
or ``.ERR``; ``.STP`` while paused. ``TDBStatus.txt`` (the STF file, rewritten
every 5 s, possibly locked) has a ``[<JOB_ID>]`` section (``STATUS``,
``COMPLETION_NUMBER``, ``ERRORDISC_NUMBER``, ``ERROR``, ``DETAIL_STATUS``) and
``[PUBLISHER<n>]`` sections (``NAME``, ``STACKER1``-``4``, ``INK_*``). Cancel: a
``.JCF`` file holding ``[CANCEL]`` / ``JOB_ID=<id>``; TD Bridge renames it
``.CDN`` when the job was cancelled and ``.CER`` when it could not be, and a
cancelled job ends ``.DON`` with ``STATUS=4`` ("JCF File", STF note *3).

Job types: by default the job burns the cached, verified ISO itself
(``IMAGE=``), so the disc is the archive's image bit for bit; ``job_type =
"data"`` instead extracts the image's files (safely, see ``_extract``) and
names the folder in ``DATA=`` for TD Bridge builds without image jobs. The
guide's error table confirms image-file jobs ("data file, video file or image
file", JDF0000/JDF0001); the ``IMAGE`` key's own table row was not readable in
the public copies we found (see docs/devices.md).

Invariants: the ``.JDF`` is written last and atomically; ``COMPARE=YES`` is
written whenever the order asks to verify; media TD Bridge has no
``DISC_TYPE`` for (Blu-ray: the guide lists CD, DVD, DVD-DL, JDF0502) are
refused before any file is written.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from discflow.agent.drivers._base import (
    Capabilities,
    DeviceReport,
    DiscReport,
    DriverSettings,
    WriteOrder,
    WriteReport,
)
from discflow.agent.drivers._extract import extract_iso
from discflow.agent.drivers._hotfolder import (
    HotFolderDriver,
    HotJob,
    LabelFields,
    counter,
    design_values,
    drop_file,
    encode_lines,
    find_job_file,
    place_image,
    read_status,
    wait_for_answer,
)
from discflow.agent.drivers._tdbridge_status import (
    STATUS_LOOKUP,
    device_reasons,
    error_text,
    pause_reason,
)
from discflow.domain import CopyState, JobState, Priority, media_type
from discflow.errors import BurnFailed, DeviceUnavailable, InvalidInput

__all__ = ["DISC_TYPES", "TDBridgeDriver", "TDBridgeOptions", "extract_iso", "job_description"]

EXTENSIONS = {
    "JDF": JobState.QUEUED,
    "RJD": JobState.QUEUED,
    "INP": JobState.RUNNING,
    "STP": JobState.PAUSED,
    "DON": JobState.DONE,
    "ERR": JobState.FAILED,
}

# DISC_TYPE values of the Setting Item List (JDF0502: "CD", "DVD" or "DVD-DL")
DISC_TYPES = {
    "CD-R": "CD",
    "mini-CD-R": "CD",
    "DVD-R": "DVD",
    "DVD+R": "DVD",
    "DVD-R-DL": "DVD-DL",
    "DVD+R-DL": "DVD-DL",
}

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # JOB_ID: 40 one-byte alphanumerics, - and _
_ERROR_DETAIL_WAIT_S = 12.0  # two of TD Bridge's status rewrites


class TDBridgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jobs_dir: Path
    publisher: str = Field(min_length=1, max_length=64, pattern=r"^[^\r\n\x00=]+$")
    status_file: Path | None = None  # default: <jobs_dir>/TDBStatus.txt
    device_jobs_dir: str | None = None  # how TD Bridge's Windows host sees jobs_dir
    job_type: Literal["image", "data"] = "image"
    format: Literal["ISO9660L2", "UDF102"] = "UDF102"  # data jobs only; L2 forbids a-z
    out_stacker: Literal[2, 4] | None = None  # OUT_STACKER (JDF0400: 2 or 4)
    in_stacker: int = Field(1, ge=1, le=4)  # which STACKERn the blanks come from
    writing_speed: int | None = Field(None, ge=1, le=100)  # WRITING_SPEED (a number, JDF0600)
    ink_low_percent: int = Field(10, ge=0, le=100)
    stale_status_s: float = Field(30.0, gt=0)  # STF not rewritten this long: TD Bridge gone
    cancel_wait_s: float = Field(8.0, gt=0)  # within the dispatcher's 10 s call timeout
    # LABEL (a label data file as TD Bridge's PC sees it) for a job that names no design
    # of its own, and the design's fields in order: each REPLACE_FIELD line holds one
    # disc's values in that order (e.g. a patient disc's PATIENT, PATIENT_ID, DISC)
    label_design: str | None = Field(
        None, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    )
    label_fields: LabelFields = Field(default_factory=list)


def job_description(
    order: WriteOrder, *, options: TDBridgeOptions, source: str, merge_file: str | None
) -> list[str]:
    """The ``.JDF`` lines for an order (keys exactly as the Setting Item List spells them)."""
    if not _JOB_ID.match(order.order_id):
        raise BurnFailed(f"{order.order_id!r} is not a TD Bridge JOB_ID (1-40 of A-Z a-z 0-9 - _)")
    lines = [
        f"JOB_ID={order.order_id}",
        f"PUBLISHER={options.publisher}",
        f"COPIES={order.copies}",
        f"DISC_TYPE={DISC_TYPES[media_type(order.media).name]}",
        f"COMPARE={'YES' if order.verify else 'NO'}",
    ]
    if options.job_type == "image":
        lines.append(f"IMAGE={source}")
    else:
        lines += [f"FORMAT={options.format}", f"DATA={source}", f"VOLUME_LABEL={order.volume_name}"]
    speed = order.burn_speed or options.writing_speed
    if speed is not None:
        lines.append(f"WRITING_SPEED={speed}")
    if options.out_stacker is not None:
        lines.append(f"OUT_STACKER={options.out_stacker}")
    if order.priority is Priority.RUSH:
        lines.append("PRIORITY=HIGH")  # the guide's job-priority example
    if order.label_design:
        lines.append(f"LABEL={order.label_design}")
        if merge_file is not None:
            lines.append(f"REPLACE_FIELD={merge_file}")
    return lines


def merge_lines(order: WriteOrder, label_fields: Sequence[str] = ()) -> list[str]:
    """The ``REPLACE_FIELD`` file: one line per disc, its values tab-separated in the
    design's field order (values were checked to hold no tab or line break)."""
    return ["\t".join(design_values(fields, label_fields)) for fields in order.merge]


class TDBridgeDriver(HotFolderDriver):
    EXTENSIONS = EXTENSIONS

    def __init__(self, settings: DriverSettings) -> None:
        self.options = TDBridgeOptions.model_validate(dict(settings.options))
        super().__init__(
            settings, self.options.jobs_dir, device_jobs_dir=self.options.device_jobs_dir
        )
        self._error_seen: dict[str, float] = {}

    def capabilities(self) -> Capabilities:
        return Capabilities(
            per_drive=False, media=frozenset(DISC_TYPES), label_design=self.options.label_design
        )

    def check_order(self, media: str, *, copies: int) -> None:
        super().check_order(media, copies=copies)
        if not 1 <= copies <= 1000:  # COPIES: 1 to 1,000 in standard mode (JDF0300)
            raise InvalidInput(f"TD Bridge takes 1 to 1,000 copies per job, not {copies}")

    @property
    def status_file(self) -> Path:
        return self.options.status_file or self.jobs_dir / "TDBStatus.txt"

    async def submit(self, order: WriteOrder) -> str:
        self._check_folder()
        stem = order.order_id
        folder = self.jobs_dir / f"{stem}_data"
        try:
            await asyncio.to_thread(self._prepare, order, folder)
        except BaseException as exc:
            await asyncio.to_thread(shutil.rmtree, folder, True)  # no *_data pile-up
            if isinstance(exc, OSError):
                raise DeviceUnavailable(f"cannot write the job to {self.jobs_dir}: {exc}") from exc
            raise
        self._jobs[stem] = HotJob(order, stem)
        return stem

    def _prepare(self, order: WriteOrder, folder: Path) -> None:
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if self.options.job_type == "image":
            source = folder / f"{order.sha256[:16]}.iso"
            place_image(order.image, source)
        else:
            source = folder / "files"
            source.mkdir()
            extract_iso(order.image, source)
        merge_file = None
        if order.label_design and order.merge:
            merge_path = folder / "merge.txt"
            merge_path.write_bytes(encode_lines(merge_lines(order, self.options.label_fields)))
            merge_file = self.device_path(merge_path)
        lines = job_description(
            order, options=self.options, source=self.device_path(source), merge_file=merge_file
        )
        drop_file(self.jobs_dir, f"{order.order_id}.JDF", "\n".join(lines))

    async def poll(self, handle: str) -> WriteReport:
        report = await super().poll(handle)
        if report.state in (JobState.DONE, JobState.FAILED, JobState.CANCELLED):
            # TD Bridge reads the sources only while the job runs; nothing piles up
            folder = self.jobs_dir / f"{handle}_data"
            await asyncio.to_thread(shutil.rmtree, folder, True)
        return report

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
        if state in (JobState.DONE, JobState.FAILED) and by_status is not state:
            # renamed before the next STF rewrite (every 5 s) counted the last disc
            first = self._error_seen.setdefault(job.stem, time.monotonic())
            if time.monotonic() - first < _ERROR_DETAIL_WAIT_S:
                state = JobState.RUNNING
        bad = counter(section.get("ERRORDISC_NUMBER"))
        # TD Bridge counts rejected discs but does not say whether writing or comparing
        # failed; the job's ERROR/DETAIL_STATUS is the only sentence it gives
        why = f"TD Bridge rejected this disc; {error_text(section)}"
        rejected = DiscReport(CopyState.FAILED_WRITE, 1.0, error=why)
        self.record(job, good=counter(section.get("COMPLETION_NUMBER")), bad=[rejected] * bad)
        done = len(job.discs) / max(1, job.order.copies)
        if job.cancelled and state in (JobState.DONE, JobState.FAILED):
            return WriteReport(JobState.CANCELLED, tuple(job.discs), done, "cancelled")
        if state is JobState.FAILED:
            return WriteReport(state, tuple(job.discs), done, error_text(section))
        if state is JobState.PAUSED:
            detail = section.get("DETAIL_STATUS", "") or "the publisher paused the job"
            reason = pause_reason(self.settings.device_name, detail)
            out = reason.reason.value == "media-needed"
            return WriteReport(state, tuple(job.discs), done, reason.message, out_of_media=out)
        return WriteReport(state, tuple(job.discs), done)

    async def cancel(self, handle: str) -> bool:
        job = await self.drop_cancel(
            handle, name=f"{handle}.JCF", text=f"[CANCEL]\nJOB_ID={handle}"
        )
        if job is None:
            return True

        def answer() -> bool | None:
            if find_job_file(self.jobs_dir, handle, {"CDN": JobState.CANCELLED}):
                return True
            if find_job_file(self.jobs_dir, handle, {"CER": JobState.RUNNING}):
                return False
            return None

        confirmed = await wait_for_answer(answer, timeout_s=self.options.cancel_wait_s)
        if confirmed:
            job.cancelled = True
        return bool(confirmed)

    async def device_status(self) -> DeviceReport:
        self._check_folder()
        status = await asyncio.to_thread(read_status, self.status_file)
        try:
            age = time.time() - self.status_file.stat().st_mtime
        except OSError:
            age = 0.0
        publisher = next(
            (
                section
                for name, section in status.items()
                if name.startswith("PUBLISHER") and section.get("NAME") == self.options.publisher
            ),
            None,
        )
        ours = [status.get(stem, {}) for stem in self._jobs]
        reasons = device_reasons(
            self.settings.device_name,
            publisher=publisher,
            name=self.options.publisher,
            jobs=ours,
            in_stacker=self.options.in_stacker,
            ink_low=self.options.ink_low_percent,
            stale_s=age if age >= self.options.stale_status_s else None,
        )
        details = {
            k: v for k, v in (publisher or {}).items() if k.startswith(("STACKER", "INK_", "INFO"))
        }
        message = "registered" if publisher is not None else "publisher not registered"
        return DeviceReport(ok=True, message=message, details=details, reasons=tuple(reasons))

    async def close(self) -> None:
        return None
