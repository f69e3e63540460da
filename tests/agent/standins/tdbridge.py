"""A stand-in for Epson TD Bridge: plays its documented hot-folder side.

From the TD Bridge Technical Reference Guide: picks up ``*.JDF`` (case-sensitive
``KEY=VALUE`` lines; a key with spaces around it is invalid), renames it
``.RJD`` while checking, ``.INP`` while publishing, ``.DON`` or ``.ERR`` at the
end, ``.STP`` while paused; rewrites ``TDBStatus.txt`` (sections
``[ACTIVE_JOB]``, ``[COMPLETE_JOB]``, ``[<JOB_ID>]`` with STATUS 1-6,
COMPLETION_NUMBER, ERRORDISC_NUMBER, ERROR, DETAIL_STATUS, and ``[PUBLISHER1]``
with NAME and STACKER1-4) in place, so readers may catch it empty; honours
``.JCF`` files holding ``[CANCEL]`` and ``JOB_ID=<id>``.

Test controls: ``--discs`` blanks in stacker 1; ``_standin_load`` adds blanks.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
REQUIRED = ("JOB_ID", "PUBLISHER", "COPIES", "DATA")


class TDBridge:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(args.jobs_dir)
        self.publisher = args.publisher
        self.stacker = args.discs
        self.disc_s = args.disc_seconds
        self.jobs: dict[str, dict[str, str]] = {}
        self.active: list[str] = []
        self.complete: list[str] = []

    def write_status(self) -> None:
        lines = ["[ACTIVE_JOB]"] + [f"JOB{i + 1}={j}" for i, j in enumerate(self.active)]
        lines += ["[COMPLETE_JOB]"] + [f"JOB{i + 1}={j}" for i, j in enumerate(self.complete)]
        for job_id, keys in self.jobs.items():
            lines.append(f"[{job_id}]")
            lines += [f"{k}={v}" for k, v in keys.items()]
        lines += [
            "[PUBLISHER1]",
            f"NAME={self.publisher}",
            f"STACKER1={self.stacker}",
            "STACKER2=0",
            "STACKER3=0",
            "STACKER4=0",
            "INK_C=80",
            "INK_M=75",
            "INK_Y=90",
            "INK_LC=60",
            "INK_LM=66",
            "INK_B=50",
        ]
        path = self.dir / "TDBStatus.txt"
        with path.open("w") as handle:  # in place, like TD Bridge: readers may see it empty
            handle.write("\n".join(lines[: len(lines) // 2]) + "\n")
            handle.flush()
            time.sleep(0.002)
            handle.write("\n".join(lines[len(lines) // 2 :]) + "\n")

    def parse(self, path: Path) -> tuple[dict[str, list[str]], str | None]:
        keys: dict[str, list[str]] = {}
        for line in path.read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or key != key.strip():
                return keys, f"invalid line {line!r}"
            keys.setdefault(key, []).append(value)
        missing = [k for k in REQUIRED if k not in keys]
        if missing:
            return keys, f"missing {', '.join(missing)}"
        if not _JOB_ID.match(keys["JOB_ID"][0]):
            return keys, "invalid JOB_ID"
        if keys["PUBLISHER"][0] != self.publisher:
            return keys, f"publisher {keys['PUBLISHER'][0]} is not registered"
        if not any(Path(d.split("\t")[0]).exists() for d in keys["DATA"]):
            return keys, "DATA not found"
        return keys, None

    def cancelled(self, job_id: str) -> bool:
        for jcf in self.dir.glob("*.JCF"):
            text = jcf.read_text()
            if "[CANCEL]" in text and f"JOB_ID={job_id}" in text.splitlines():
                jcf.unlink()
                return True
        return False

    def end(self, job_id: str, ext: str, status: str, error: str = "0", detail: str = "") -> None:
        for current in ("RJD", "INP", "STP"):
            path = self.dir / f"{job_id}.{current}"
            if path.exists():
                path.rename(self.dir / f"{job_id}.{ext}")
        self.jobs[job_id].update(STATUS=status, ERROR=error, DETAIL_STATUS=detail)
        if job_id in self.active:
            self.active.remove(job_id)
        self.complete.insert(0, job_id)
        self.write_status()

    def run(self, jdf: Path) -> None:
        job_id = jdf.stem
        rjd = self.dir / f"{job_id}.RJD"
        jdf.rename(rjd)
        self.jobs[job_id] = {
            "STATUS": "1",
            "PUBLICATION_NUMBER": "-1",
            "COMPLETION_NUMBER": "0",
            "ERRORDISC_NUMBER": "0",
            "ERROR": "0",
            "DETAIL_STATUS": "",
        }
        self.active.append(job_id)
        keys, problem = self.parse(rjd)
        if problem:
            self.end(job_id, "ERR", "6", "0x0101", problem)
            return
        copies = int(keys["COPIES"][0])
        job = self.jobs[job_id]
        job.update(PUBLISHER=self.publisher, PUBLICATION_NUMBER=str(copies), STATUS="2")
        rjd.rename(self.dir / f"{job_id}.INP")
        made = 0
        while made < copies:
            if self.cancelled(job_id):
                self.end(job_id, "ERR", "5", "0x0200", "cancelled by the application")
                return
            if self.stacker <= 0:
                if (self.dir / f"{job_id}.INP").exists():
                    (self.dir / f"{job_id}.INP").rename(self.dir / f"{job_id}.STP")
                job.update(STATUS="3", DETAIL_STATUS="No disc in stacker 1")
                self.write_status()
                self.load()
                time.sleep(0.05)
                continue
            if (self.dir / f"{job_id}.STP").exists():
                (self.dir / f"{job_id}.STP").rename(self.dir / f"{job_id}.INP")
                job.update(STATUS="2", DETAIL_STATUS="")
            self.stacker -= 1
            time.sleep(self.disc_s)
            made += 1
            job["COMPLETION_NUMBER"] = str(made)
            self.write_status()
        self.end(job_id, "DON", "4")

    def load(self) -> None:
        control = self.dir / "_standin_load"
        if control.exists():
            self.stacker += int(control.read_text().strip() or 0)
            control.unlink()

    def serve(self) -> None:
        while True:
            self.load()
            for jdf in sorted(self.dir.glob("*.JDF")):
                self.run(jdf)
            self.write_status()
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs-dir", required=True)
    parser.add_argument("--publisher", default="PP-100-1")
    parser.add_argument("--discs", type=int, default=100)
    parser.add_argument("--disc-seconds", type=float, default=0.05)
    TDBridge(parser.parse_args()).serve()


if __name__ == "__main__":
    main()
