"""A strict stand-in for Primera's PTBurn service, written from the PTBurn 3 SDK (rev 3.24).

What it does, by section of the SDK:
- 2.1: reads ``*.JRQ`` job requests; every key must be one of the SDK's keys, with
  the documented value form (YES/NO flags, Copies 1-10,000 (2.1.11), BurnSpeed
  0-100 (2.1.14), JobID/ClientID/VolumeName up to 32 characters (2.1.1, 2.1.2,
  2.1.13), PrintLabel a .STD/.jpg/.bmp/.PRN file (2.1.12), MergeField only with
  PrintLabel (2.1.40), RobotName one listed in [RobotList] (2.1.41)). A bad job
  ends ``.ERR`` with Appendix C job error 8 ("The job request file is invalid"),
  a missing image with 4 ("The file/s you are trying to burn are invalid"), no
  image at all with 6 ("There is no burn file defined for this job").
- 3: renames ``.JRQ`` -> ``.QRJ`` -> ``.INP`` -> ``.DON``/``.ERR``.
- 3.1: ``Status/SystemStatus.txt`` with ``[RobotList]``, ``[System]`` (SysErrorNumber,
  SysErrorString, ServerTickCount advancing 1 per second, ServerTime, DriveSpace,
  versions) and the robot's section (SystemDrives, RobotType, NumJobs, Status,
  StatusFile, DiscsInRightBin/LeftBin, CartridgeTypeX/CartridgeFillX, KioskModeEnabled).
- 3.2: the robot's status file (named by StatusFile) with [JobList], [CompletedJobs],
  one section per job (JobID, ClientID, JobsAhead, DiscsAhead, DiscsRemaining,
  GoodDiscs, BadDiscs, CurrentStatus, CurrentStatusState, TimeCreated/Started/
  Completed, JobState 0-3, JobErrorNumber/String, DiscErrorIndexX/NumberX/StringX)
  and [System] (SystemDesc, SystemStatus, SystemDrives, Good/BadDiscsLife/Launch,
  SysErrorNumber/String).
- 4.1: ``<job>.PTM`` with ``Message=ABORT`` and the job's ClientID (or
  "Administrator") aborts it: ``.ERR``, JobState 3, job error 16; any other ClientID
  is rejected and the job goes on.
- 2.1.7: DeleteFiles=YES removes the image when the job ends.
- Rejected discs are remade until Copies discs are good; 5 rejects in a row end
  the job with job error 20 ("The number of allowable rejects was exceeded").

Test controls (``_control.py``): ``fail_write``/``fail_verify``/``not_blank`` (disc
attempt numbers within a job -> disc errors 18/19/12), ``ink`` (CartridgeFillX by
index), ``system_status``/``sys_error`` (text and [number, string]), ``stop_service``
(nothing is processed or rewritten: ServerTickCount freezes), ``refuse_cancel``,
``load`` (blanks added).
"""

from __future__ import annotations

import argparse
import re
import shutil
import time
from pathlib import Path, PureWindowsPath
from typing import Any

from _control import read_control, take_load, write_atomic

FLAGS = (
    "DeleteFiles",
    "CloseDisc",
    "VerifyDisc",
    "RejectIfNotBlank",
    "PreMasterData",
    "LoadUnloadOverride",
    "PrintReject",
    "TestRecord",
    "NotifyClient",
)
REPEATABLE = {
    "Data",
    "AudioFile",
    "MergeField",
    "DriveID",
    "CDTextTrackTitle",
    "CDTextTrackPerformer",
    "CDTextTrackComposer",
}
KEYS = {
    "JobID",
    "ClientID",
    "Importance",
    "Data",
    "AudioFile",
    "ImageFile",
    "ImageType",
    "DataImageType",
    "Copies",
    "PrintLabel",
    "VolumeName",
    "BurnSpeed",
    "DiscType",
    "CheckFileOnDisc",
    "CheckSystemIDOnDisc",
    "CheckVolumeIDOnDisc",
    "CheckPubIDOnDisc",
    "CheckPreparerIDOnDisc",
    "CheckAppIDOnDisc",
    "PVDSystemID",
    "PVDPublisherID",
    "PVDPreparerID",
    "PVDApplicationID",
    "DriveID",
    "BinID",
    "PrintQuality",
    "PrintInnerDiam",
    "PrintOuterMargin",
    "MergeField",
    "RobotName",
    "CDTextDiscTitle",
    "CDTextDiscPerformer",
    "CDTextDiscComposer",
    "CDTextTrackTitle",
    "CDTextTrackPerformer",
    "CDTextTrackComposer",
    *FLAGS,
}
JOB_ERRORS = {
    4: "The file/s you are trying to burn are invalid.",
    6: "There is no burn file defined for this job.",
    7: "The print file is invalid.",
    8: "The job request file is invalid.",
    16: "The job was aborted.",
    20: "The number of allowable rejects was exceeded.",
}
DISC_ERRORS = {
    12: "The media (CD/DVD) is not blank.",
    18: "Error recording the disc, see the log file for further information.",
    19: "Error verifying the disc, see the log file for further information.",
}
_NUMBER = re.compile(r"^\d+$")


def parse_jrq(text: str) -> tuple[dict[str, list[str]], str | None]:
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in KEYS:
            return keys, f"unknown key {key!r}"
        if key in keys and key not in REPEATABLE:
            return keys, f"{key} given twice"
        keys.setdefault(key, []).append(value)
    return keys, None


def check_values(keys: dict[str, list[str]], robots: list[str]) -> tuple[int, str] | None:
    one = {k: v[0] for k, v in keys.items()}
    for key in ("JobID", "ClientID", "VolumeName"):
        if key in one and not 1 <= len(one[key]) <= 32:
            return 8, f"{key} must have 1 to 32 characters"
    for key in FLAGS:
        if key in one and one[key] not in ("YES", "NO"):
            return 8, f"{key} must be YES or NO, not {one[key]!r}"
    if "Copies" in one and not (_NUMBER.match(one["Copies"]) and 1 <= int(one["Copies"]) <= 10000):
        return 8, "Copies must be 1 to 10,000"
    if "BurnSpeed" in one and not (
        _NUMBER.match(one["BurnSpeed"]) and int(one["BurnSpeed"]) <= 100
    ):
        return 8, "BurnSpeed must be 0 to 100"
    if "Importance" in one and not _NUMBER.match(one["Importance"]):
        return 8, "Importance must be a number"
    if "DiscType" in one and one["DiscType"] not in ("CDR", "DVDR"):
        return 8, f"DiscType {one['DiscType']!r} is not CDR or DVDR"
    if "RobotName" in one and one["RobotName"] not in robots:
        return 8, f"RobotName {one['RobotName']!r} is not in [RobotList]"
    if "MergeField" in keys and "PrintLabel" not in one:
        return 8, "MergeField without PrintLabel"
    if "PrintLabel" in one and PureWindowsPath(one["PrintLabel"]).suffix.lower() not in (
        ".std",
        ".jpg",
        ".bmp",
        ".prn",
    ):
        return 7, "PrintLabel must name a .STD, .jpg, .bmp or .PRN file"
    if "ImageFile" not in one and "Data" not in keys:
        return 6, "no ImageFile and no Data"
    if "ImageFile" in one and not Path(one["ImageFile"]).is_file():
        return 4, f"ImageFile {one['ImageFile']} does not exist"
    return None


class PTBurn:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(args.jobs_dir)
        self.robot = args.robot
        self.status_name = args.status_file or f"{args.robot}.txt"
        self.bin = args.discs
        self.disc_s = args.disc_seconds
        self.started = time.monotonic()
        self.queue: list[str] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, list[str]]] = {}
        self.completed: list[str] = []
        self.life = [0, 0]
        self.control: dict[str, Any] = {}
        (self.dir / "Status").mkdir(parents=True, exist_ok=True)

    # ---- status files (3.1, 3.2) -------------------------------------------------

    def system_status(self) -> str:
        if str(self.control.get("system_status", "")):
            return str(self.control["system_status"])
        return "Out of Discs" if self.bin <= 0 and self.queue else "System OK"

    def write_status(self) -> None:
        number, string = self.control.get("sys_error", [0, ""])
        ink = {str(k): v for k, v in dict(self.control.get("ink", {})).items()}
        fills = {str(i): ink.get(str(i), 80) for i in range(5)}
        types = {"0": 2, "1": 1, "2": 3, "3": 4, "4": 5}  # 3.1.3.8 four-cartridge example
        system = [
            "[RobotList]",
            f"Robot0={self.robot}",
            "[System]",
            f"SysErrorNumber={number}",
            f"SysErrorString={string}",
            f"ServerTickCount={int(time.monotonic() - self.started) + 4000}",
            f"ServerTime={time.strftime('%m/%d/%Y %H:%M:%S')}",
            "DriveSpace=12000",
            "PtburnSWVer=3.24 stand-in",
            "JobProcSWVer=3.24",
            "PTRobotVer=3.24",
            f"[{self.robot}]",
            "SystemDrives=2",
            "RobotType=6",
            f"NumJobs={len(self.queue)}",
            f"Status={self.system_status()}",
            f"StatusFile={self.status_name}",
            "DiscsInRightBin=-1",
            f"DiscsInLeftBin={self.bin}",
            *[f"CartridgeType{i}={types[i]}" for i in types],
            *[f"CartridgeFill{i}={fills[i]}" for i in fills],
            "KioskModeEnabled=0",
        ]
        write_atomic(self.dir / "Status" / "SystemStatus.txt", "\n".join(system) + "\n")
        robot = ["[JobList]", *[f"Job{i}={s}" for i, s in enumerate(self.queue)]]
        robot += ["[CompletedJobs]", *[f"Job{i}={s}" for i, s in enumerate(self.completed)]]
        for stem, job in self.jobs.items():
            robot += [f"[{stem}]", *[f"{k}={v}" for k, v in job.items()]]
        robot += [
            "[System]",
            "SystemDesc=Disc Publisher SE (stand-in)",
            f"SystemStatus={self.system_status()}",
            "SystemDrives=2",
            f"GoodDiscsLife={self.life[0]}",
            f"BadDiscsLife={self.life[1]}",
            f"GoodDiscsLaunch={self.life[0]}",
            f"BadDiscsLaunch={self.life[1]}",
            f"SysErrorString={string}",
            f"SysErrorNumber={number}",
        ]
        write_atomic(self.dir / "Status" / self.status_name, "\n".join(robot) + "\n")

    # ---- jobs ---------------------------------------------------------------------

    def accept(self, jrq: Path) -> None:
        stem = jrq.stem
        qrj = jrq.with_suffix(".QRJ")
        jrq.rename(qrj)
        keys, problem = parse_jrq(qrj.read_text("cp1252"))
        now = time.strftime("%m/%d/%Y %H:%M:%S")
        one = {k: v[0] for k, v in keys.items()}
        self.jobs[stem] = {
            "JobID": one.get("JobID", stem),
            "ClientID": one.get("ClientID", "Unknown"),
            "JobsAhead": len(self.queue),
            "DiscsAhead": 0,
            "DiscsRemaining": one.get("Copies", "1"),
            "GoodDiscs": 0,
            "BadDiscs": 0,
            "CurrentStatus": "Job Initializing",
            "CurrentStatusState": 14,
            "TimeCreated": now,
            "TimeStarted": "",
            "TimeCompleted": "",
            "JobState": 0,
        }
        self.keys[stem] = keys
        failure = (8, problem) if problem else check_values(keys, [self.robot])
        if failure:
            self.finish(stem, ".QRJ", failure[0], failure[1])
            return
        self.queue.append(stem)

    def finish(self, stem: str, ext: str, error: int | None, detail: str = "") -> None:
        job = self.jobs[stem]
        (self.dir / f"{stem}{ext}").rename(self.dir / f"{stem}.{'ERR' if error else 'DON'}")
        job.update(TimeCompleted=time.strftime("%m/%d/%Y %H:%M:%S"), DiscsRemaining=0)
        if error:
            job.update(
                JobState=3,
                JobErrorNumber=error,
                JobErrorString=JOB_ERRORS[error],
                CurrentStatus=f"Job Failed: {detail}",
                CurrentStatusState=13 if error == 16 else 15,
            )
        else:
            job.update(
                JobState=2,
                JobErrorNumber=0,
                CurrentStatus="The job is complete...",
                CurrentStatusState=10,
            )
        if stem in self.queue:
            self.queue.remove(stem)
        self.completed.insert(0, stem)
        one = {k: v[0] for k, v in self.keys.get(stem, {}).items()}
        if one.get("DeleteFiles") == "YES" and "ImageFile" in one:
            image = Path(one["ImageFile"])
            image.unlink(missing_ok=True)
            if image.parent != self.dir and self.dir in image.parents:
                shutil.rmtree(image.parent, ignore_errors=True)
        self.write_status()

    def abort_asked(self, stem: str) -> bool | None:
        """4.1: None without a PTM; True for a valid ABORT; False when it is rejected."""
        ptm = self.dir / f"{stem}.PTM"
        if not ptm.exists():
            return None
        lines = {
            k.strip(): v.strip()
            for k, _, v in (line.partition("=") for line in ptm.read_text("cp1252").splitlines())
        }
        ptm.unlink()
        client = lines.get("ClientID")
        owner = self.jobs[stem]["ClientID"]
        valid = lines.get("Message") == "ABORT" and client in (owner, "Administrator")
        return valid and not self.control.get("refuse_cancel")

    def paused(self) -> bool:
        return bool(self.control.get("stop_service")) or "cover" in self.system_status().lower()

    def tick(self) -> None:
        self.control = read_control(self.dir)
        if self.control.get("stop_service"):
            return
        self.bin += take_load(self.dir)
        for jrq in sorted(self.dir.glob("*.JRQ")):
            self.accept(jrq)
        self.write_status()

    def run(self, stem: str) -> None:
        keys = {k: v[0] for k, v in self.keys[stem].items()}
        copies, verify = int(keys.get("Copies", "1")), keys.get("VerifyDisc") == "YES"
        job = self.jobs[stem]
        (self.dir / f"{stem}.QRJ").rename(self.dir / f"{stem}.INP")
        job.update(JobState=1, TimeStarted=time.strftime("%m/%d/%Y %H:%M:%S"))
        attempt, good, in_a_row, errors = 0, 0, 0, 0
        while good < copies:
            self.tick()
            if self.abort_asked(stem):
                self.finish(stem, ".INP", 16)
                return
            if self.paused() or self.bin <= 0:
                job.update(CurrentStatus="Job Paused", CurrentStatusState=11)
                time.sleep(0.05)
                continue
            attempt += 1
            self.bin -= 1
            job.update(CurrentStatus=f"Recording Disc {attempt}", CurrentStatusState=0)
            self.write_status()
            time.sleep(self.disc_s)
            error = self.disc_error(attempt, verify)
            if error is None:
                good, in_a_row = good + 1, 0
                self.life[0] += 1
                job.update(GoodDiscs=good, DiscsRemaining=copies - good)
                continue
            self.life[1] += 1
            in_a_row += 1
            job["BadDiscs"] = int(job["BadDiscs"]) + 1
            if errors < 10:  # 3.3.15: at most DiscErrorIndex0-9
                job.update(
                    {
                        f"DiscErrorIndex{errors}": attempt,
                        f"DiscErrorNumber{errors}": error,
                        f"DiscErrorString{errors}": DISC_ERRORS[error],
                    }
                )
                errors += 1
            if in_a_row >= 5:
                self.finish(stem, ".INP", 20)
                return
        self.finish(stem, ".INP", None)

    def disc_error(self, attempt: int, verify: bool) -> int | None:
        if attempt in self.control.get("not_blank", []):
            return 12
        if attempt in self.control.get("fail_write", []):
            return 18
        if verify and attempt in self.control.get("fail_verify", []):
            return 19
        return None

    def serve(self) -> None:
        while True:
            self.tick()
            if self.queue and not self.paused():
                self.run(self.queue[0])
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs-dir", required=True)
    parser.add_argument("--robot", default="Disc Publisher SE")
    parser.add_argument("--status-file", default=None)
    parser.add_argument("--discs", type=int, default=100)
    parser.add_argument("--disc-seconds", type=float, default=0.05)
    PTBurn(parser.parse_args()).serve()


if __name__ == "__main__":
    main()
