"""A stand-in for Primera's PTBurn service: plays its documented hot-folder side.

From the PTBurn SDK 3: picks up ``*.JRQ`` in the jobs folder, renames it
``.QRJ`` (found), ``.INP`` (in process), then ``.DON`` or ``.ERR``; keeps
``Status/SystemStatus.txt`` and ``Status/<Robot>.txt`` up to date (GoodDiscs,
BadDiscs, CurrentStatus, [System] SystemStatus such as "Out of Discs"); honours
``<job>.PTM`` with ``Message=ABORT`` when the ClientID matches (or is
"Administrator"); deletes the job's sub-folder with ``DeleteFiles=YES``.

Test controls (not part of PTBurn): ``--discs`` blanks in the bin, ``--fail-every``
makes every k-th disc a reject, and a file ``_standin_load`` holding a number
adds blanks, the way an operator refills the bin.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path


def parse(text: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


class PTBurn:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(args.jobs_dir)
        self.robot = args.robot
        self.bin = args.discs
        self.fail_every = args.fail_every
        self.disc_s = args.disc_seconds
        self.queue: list[str] = []
        self.jobs: dict[str, dict[str, str]] = {}
        self.completed: list[str] = []
        self.system = "Idle"
        self.made = 0
        self.good_life = 0
        self.bad_life = 0
        (self.dir / "Status").mkdir(parents=True, exist_ok=True)

    def write_status(self) -> None:
        status = self.dir / "Status"
        system = (
            f"[RobotList]\nRobot0={self.robot}\n[System]\nNumRobots=1\n"
            f"[{self.robot}]\nSystemDrives=2\nRobotType=Disc Publisher SE\n"
            f"NumJobs={len(self.queue)}\nStatus={self.system}\nStatusFile={self.robot}.txt\n"
            f"DiscsInLeftBin={self.bin}\nDiscsInRightBin=-1\n"
        )
        lines = ["[JobList]"] + [f"Job{i}={s}" for i, s in enumerate(self.queue)]
        lines += ["[CompletedJobs]"] + [f"Job{i}={s}" for i, s in enumerate(self.completed)]
        for stem, job in self.jobs.items():
            lines.append(f"[{stem}]")
            lines += [f"{k}={v}" for k, v in job.items()]
        lines += [
            "[System]",
            f"SystemStatus={self.system}",
            f"GoodDiscsLife={self.good_life}",
            f"BadDiscsLife={self.bad_life}",
            "SysErrorNumber=0",
        ]
        for name, text in (("SystemStatus.txt", system), (f"{self.robot}.txt", "\n".join(lines))):
            tmp = status / f".{name}.tmp"
            tmp.write_text(text)
            tmp.replace(status / name)

    def load_from_operator(self) -> None:
        control = self.dir / "_standin_load"
        if control.exists():
            self.bin += int(control.read_text().strip() or 0)
            control.unlink()

    def aborted(self, stem: str, client: str) -> bool:
        ptm = self.dir / f"{stem}.PTM"
        if not ptm.exists():
            return False
        keys = parse(ptm.read_text())
        ptm.unlink()
        return keys.get("Message") == ["ABORT"] and keys.get("ClientID", [""])[0] in (
            client,
            "Administrator",
        )

    def scan(self) -> None:
        for jrq in sorted(self.dir.glob("*.JRQ")):
            stem = jrq.stem
            jrq.rename(self.dir / f"{stem}.QRJ")
            self.queue.append(stem)
            self.jobs[stem] = {
                "JobID": stem,
                "JobsAhead": str(len(self.queue) - 1),
                "CurrentStatus": "Job queued",
                "GoodDiscs": "0",
                "BadDiscs": "0",
                "JobState": "0",
            }
        self.write_status()

    def finish(self, stem: str, ext: str, status: str, keys: dict[str, list[str]]) -> None:
        self.jobs[stem]["CurrentStatus"] = status
        self.jobs[stem]["TimeCompleted"] = time.ctime()
        (self.dir / f"{stem}.INP").rename(self.dir / f"{stem}.{ext}")
        if keys.get("DeleteFiles") == ["YES"]:
            for image in keys.get("ImageFile", []):
                path = Path(image)
                if path.parent.parent == self.dir:
                    shutil.rmtree(path.parent, ignore_errors=True)
        self.queue.remove(stem)
        self.completed.insert(0, stem)
        self.system = "Idle"
        self.write_status()

    def run_job(self, stem: str) -> None:
        (self.dir / f"{stem}.QRJ").rename(self.dir / f"{stem}.INP")
        keys = parse((self.dir / f"{stem}.INP").read_text())
        job = self.jobs[stem]
        client = keys.get("ClientID", ["Unknown"])[0]
        image = Path(keys.get("ImageFile", [""])[0])
        copies = int(keys.get("Copies", ["1"])[0])
        if not image.is_file():
            self.finish(stem, "ERR", f"Image file not found: {image}", keys)
            return
        job["DiscsRemaining"] = str(copies)
        good = bad = 0
        for _ in range(copies):
            while self.bin <= 0:
                self.system = "Out of Discs"
                job["CurrentStatus"] = "Waiting for discs"
                self.write_status()
                time.sleep(0.05)
                self.load_from_operator()
                if self.aborted(stem, client):
                    self.finish(stem, "ERR", "Job Aborted", keys)
                    return
            self.system = "Busy"
            job["CurrentStatus"] = "Recording"
            self.write_status()
            self.bin -= 1
            time.sleep(self.disc_s)
            image.read_bytes()  # the recorder reads the whole image
            if self.aborted(stem, client):
                bad += 1
                job["BadDiscs"] = str(bad)
                self.finish(stem, "ERR", "Job Aborted", keys)
                return
            self.made += 1
            if self.fail_every and self.made % self.fail_every == 0:
                bad += 1
                self.bad_life += 1
            else:
                good += 1
                self.good_life += 1
            job.update(
                GoodDiscs=str(good), BadDiscs=str(bad), DiscsRemaining=str(copies - good - bad)
            )
            self.write_status()
        self.finish(stem, "DON", "Job Completed", keys)

    def serve(self) -> None:
        self.write_status()
        while True:
            self.load_from_operator()
            self.scan()
            if self.queue:
                self.run_job(self.queue[0])
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs-dir", required=True)
    parser.add_argument("--robot", default="Disc Publisher SE")
    parser.add_argument("--discs", type=int, default=100)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--disc-seconds", type=float, default=0.05)
    PTBurn(parser.parse_args()).serve()


if __name__ == "__main__":
    main()
