"""A strict stand-in for Epson's TD Bridge, written from the TD Bridge Technical Reference Guide.

By section of the guide (Rev.C page numbers; the PP-100II edition where said):
- "Setting Item List" (p. 41): ``KEY=value`` lines, ``#`` comments; keys are
  case-sensitive and a key with lower-case letters or spaces around it "is ignored
  as an invalid command": the stand-in ignores it too and lists it in
  ``_standin_ignored.txt`` so a test can prove the driver wrote none.
- "List of Error Code before Accepting Jobs" (p. 65, 69): JOB_ID (JDF0100 exists,
  JDF0101 > 40 characters, JDF0102 characters), PUBLISHER (JDF0200 not registered),
  COPIES (JDF0300 above 1,000), OUT_STACKER (JDF0400 not 2 or 4), DISC_TYPE (JDF0500
  not the source stacker's type, JDF0501 missing, JDF0502 not CD/DVD/DVD-DL),
  WRITING_SPEED (JDF0600 not a number), COMPARE (JDF0700 not YES/NO), no data or
  image file (JDF0000 for CD, JDF0001 for DVD/DVD-DL). Such a job becomes ``.ERR``
  with ``STATUS=6``. A source file that does not exist is refused with SYS001
  ("Accepting the job is failed"): the guide's own code for it was not readable.
- Overview (p. 7-9): ``.JDF`` -> ``.RJD`` -> ``.INP`` -> ``.DON``/``.ERR``; ``.STP`` while
  paused (cover open, out of discs), back to ``.INP`` when the cause is removed.
- "JCF File" (PP-100II p. 97): ``[CANCEL]`` / ``JOB_ID=``; renamed ``.CDN`` when the job
  was cancelled (the job ends ``.DON``, ``STATUS=4``, STF note *3) or ``.CER`` when it
  could not be.
- "STF File" (p. 61-62; PP-100II p. 76-80): ``TDBStatus.txt`` rewritten every tick
  with [ACTIVE_JOB], [COMPLETE_JOB], a section per job (PUBLISHER, STATUS 1-6/99,
  PUBLICATION_NUMBER, COMPLETION_NUMBER, ERRORDISC_NUMBER, TYPE, IN_STACKER,
  OUT_STACKER, ESTIMATION_TIME, ERROR, DETAIL_STATUS, ESTIMATION_TIME_REMAIN) and
  [PUBLISHER1] (NAME, STACKER1-4, INK_C/M/Y/LC/LM/B, INFO1).

Test controls (``_control.py``): ``fail_discs`` (disc numbers rejected: the job ends
abnormally, ``STATUS=5``), ``ink`` ({"INK_C": 8}), ``cover_open``, ``stop_service``
(the STF file is no longer rewritten), ``refuse_cancel``, ``stacker_disc_type``,
``load`` (blanks added to stacker 1).
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

from _control import read_control, take_load, write_atomic

KEYS = {
    "JOB_ID",
    "PUBLISHER",
    "COPIES",
    "OUT_STACKER",
    "DISC_TYPE",
    "WRITING_SPEED",
    "COMPARE",
    "FORMAT",
    "DATA",
    "DATA_LIST",
    "IMAGE",
    "VOLUME_LABEL",
    "LABEL",
    "REPLACE_FIELD",
    "VIDEO",
    "VIDEO_TITLE",
    "AUDIO_TRACK",
    "AUDIO_TITLE",
    "LABEL_AREA",
    "PRIORITY",
}
REPEATABLE = {"DATA", "AUDIO_TRACK"}
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]+$")
INKS = ("INK_C", "INK_M", "INK_Y", "INK_LC", "INK_LM", "INK_B")


class TDBridge:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(args.jobs_dir)
        self.publisher = args.publisher
        self.stacker = args.discs
        self.disc_s = args.disc_seconds
        self.active: list[str] = []
        self.complete: list[str] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.ignored: list[str] = []
        self.control: dict[str, Any] = {}

    def write_status(self) -> None:
        if self.control.get("stop_service"):
            return
        lines = ["[ACTIVE_JOB]", *[f"JOB{i + 1}={j}" for i, j in enumerate(self.active)]]
        lines += ["[COMPLETE_JOB]", *[f"JOB{i + 1}={j}" for i, j in enumerate(self.complete)]]
        for job_id, job in self.jobs.items():
            lines += [f"[{job_id}]", *[f"{k}={v}" for k, v in job.items()]]
        ink = dict(self.control.get("ink", {}))
        lines += [
            "[PUBLISHER1]",
            f"NAME={self.publisher}",
            f"STACKER1={self.stacker}",
            "STACKER2=12",
            "STACKER3=-1",
            "STACKER4=0",
            *[f"{k}={ink.get(k, 76)}" for k in INKS],
            "INFO1=HST3001",
        ]
        write_atomic(self.dir / "TDBStatus.txt", "\n".join(lines) + "\n")
        write_atomic(self.dir / "_standin_ignored.txt", "\n".join(self.ignored) + "\n")

    def parse(self, path: Path) -> tuple[dict[str, list[str]], str | None]:
        keys: dict[str, list[str]] = {}
        for line in path.read_text("cp1252").splitlines():
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or key != key.strip() or key not in KEYS:
                self.ignored.append(line)  # "ignored as an invalid command"
                continue
            if key in keys and key not in REPEATABLE:
                self.ignored.append(line)
                continue
            if key == "PRIORITY" and value != "HIGH":  # the guide shows only PRIORITY=HIGH
                self.ignored.append(line)
                continue
            keys.setdefault(key, []).append(value)
        return keys, self.check(keys, path.stem)

    def check(self, keys: dict[str, list[str]], stem: str) -> str | None:
        one = {k: v[0] for k, v in keys.items()}
        job_id = one.get("JOB_ID", stem)
        if job_id in self.jobs and job_id != stem:
            return "JDF0100"
        if len(job_id) > 40:
            return "JDF0101"
        if not _JOB_ID.match(job_id):
            return "JDF0102"
        if one.get("PUBLISHER", self.publisher) != self.publisher:
            return "JDF0200"
        if not (one.get("COPIES", "1").isdigit() and 1 <= int(one.get("COPIES", "1")) <= 1000):
            return "JDF0300"
        if "OUT_STACKER" in one and one["OUT_STACKER"] not in ("2", "4"):
            return "JDF0400"
        if "DISC_TYPE" not in one:
            return "JDF0501"
        if one["DISC_TYPE"] not in ("CD", "DVD", "DVD-DL"):
            return "JDF0502"
        wanted = self.control.get("stacker_disc_type")
        if wanted and one["DISC_TYPE"] != wanted:
            return "JDF0500"
        if "WRITING_SPEED" in one and not one["WRITING_SPEED"].isdigit():
            return "JDF0600"
        if "COMPARE" in one and one["COMPARE"] not in ("YES", "NO"):
            return "JDF0700"
        sources = keys.get("IMAGE", []) + [d.split("\t")[0] for d in keys.get("DATA", [])]
        if not sources:
            return "JDF0000" if one["DISC_TYPE"] == "CD" else "JDF0001"
        if not all(Path(s).exists() for s in sources):
            return "SYS001"
        return None

    def rename(self, job_id: str, new: str) -> None:
        for ext in ("JDF", "RJD", "INP", "STP"):
            path = self.dir / f"{job_id}.{ext}"
            if path.exists():
                path.rename(self.dir / f"{job_id}.{new}")
                return

    def end(self, job_id: str, ext: str, status: int, error: str = "", detail: str = "") -> None:
        self.rename(job_id, ext)
        self.jobs[job_id].update(STATUS=status, ERROR=error, DETAIL_STATUS=detail)
        if job_id in self.active:
            self.active.remove(job_id)
        self.complete.insert(0, job_id)
        self.write_status()

    def cancel_asked(self, job_id: str) -> bool:
        for jcf in self.dir.glob("*.JCF"):
            lines = jcf.read_text("cp1252").splitlines()
            if lines[:1] == ["[CANCEL]"] and f"JOB_ID={job_id}" in lines:
                refused = bool(self.control.get("refuse_cancel"))
                jcf.rename(jcf.with_suffix(".CER" if refused else ".CDN"))
                return not refused
        return False

    def tick(self) -> None:
        self.control = read_control(self.dir)
        self.stacker += take_load(self.dir)
        self.write_status()

    def run(self, jdf: Path) -> None:
        job_id = jdf.stem
        self.rename(job_id, "RJD")
        self.jobs[job_id] = {"STATUS": 1, "ERROR": ""}
        self.active.append(job_id)
        keys, error = self.parse(self.dir / f"{job_id}.RJD")
        if error:
            self.end(job_id, "ERR", 6, error)
            return
        copies = int(keys.get("COPIES", ["1"])[0])
        job = self.jobs[job_id]
        job.update(
            PUBLISHER=self.publisher,
            STATUS=2,
            PUBLICATION_NUMBER=copies,
            COMPLETION_NUMBER=0,
            ERRORDISC_NUMBER=0,
            TYPE=3,
            IN_STACKER=1,
            OUT_STACKER=keys.get("OUT_STACKER", ["4"])[0],
            ESTIMATION_TIME=133,
            ERROR="",
            DETAIL_STATUS="",
        )
        self.rename(job_id, "INP")
        made = 0
        while made < copies:
            self.tick()
            if self.cancel_asked(job_id):
                self.end(job_id, "DON", 4)  # a cancelled job ends DON with STATUS=4 (*3)
                return
            pause = "Cover open" if self.control.get("cover_open") else ""
            pause = pause or ("No disc in stacker 1" if self.stacker <= 0 else "")
            if pause or self.control.get("stop_service"):
                self.rename(job_id, "STP")
                job.update(STATUS=3, DETAIL_STATUS=pause)
                time.sleep(0.05)
                continue
            if (self.dir / f"{job_id}.STP").exists():
                (self.dir / f"{job_id}.STP").rename(self.dir / f"{job_id}.INP")
            job.update(STATUS=2, DETAIL_STATUS="")
            self.stacker -= 1
            time.sleep(self.disc_s)
            made += 1
            if made in self.control.get("fail_discs", []):
                job["ERRORDISC_NUMBER"] = int(job["ERRORDISC_NUMBER"]) + 1
                self.end(job_id, "ERR", 5, "", f"Disc {made} could not be published")
                return
            job["COMPLETION_NUMBER"] = made
        self.end(job_id, "DON", 4)

    def serve(self) -> None:
        while True:
            self.tick()
            for jdf in sorted(self.dir.glob("*.JDF")):
                self.run(jdf)
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
