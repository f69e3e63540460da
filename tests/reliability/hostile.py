"""The campaign's hostile mix (issue #19 items 1, 3 and 4): a hostile image and a
wedging job, sent to a TD Bridge device (the driver that extracts images).

- The hostile image: its Rock Ridge name is ``../../td-escape-canary`` (climbs out
  of the hot folder when extracted) and its volume id is
  ``V\\r\\nCopies=9999\\r\\nPrintLabel=x`` (extra lines in a job file). pycdlib
  refuses such a name, so it is written under a placeholder of the same length
  and the bytes are patched, as an attacker would. It must be refused at upload
  with a clear reason; if it is taken, it is ordered like any content and the
  checker looks for the escaped file.
- The wedging job: an ordinary folder with a symbolic link, ingested by
  discflow itself (Rock Ridge symlink). Extracting it raised an error the job
  loop did not catch, and the device never ran another job. The checker wants
  it final (done or failed with a reason) and the next order on that device
  done.

The TD Bridge device ``td-e`` is the only one with DVD+R, so the mix goes to it
and the rest of the campaign (CD-R, DVD-R) never does.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pycdlib
from sqlalchemy import select

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, MediaSpec
from discflow.store import Database, Job

CANARY = "td-escape-canary"
_PLACEHOLDER = "QQQQQQtdQescapeQcanary"  # same length as "../../" + CANARY
HOSTILE_VOLUME = "V\r\nCopies=9999\r\nPrintLabel=x"
MEDIA = "DVD+R"
DEVICE = "td-e"
STANDIN = Path(__file__).resolve().parents[1] / "agent" / "standins" / "tdbridge.py"


def td_spec(jobs_dir: Path, blanks: int) -> DeviceSpec:
    return DeviceSpec(
        DEVICE,
        "tdbridge",
        1,
        {MEDIA: MediaSpec(blanks, 21_600_000, 0.5, 5)},
        options={"jobs_dir": str(jobs_dir), "publisher": "PP-100-1"},
    )


def hostile_iso(path: Path) -> Path:
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, rock_ridge="1.09", vol_ident=HOSTILE_VOLUME)
    escaped = b"written outside the hot folder\n"
    iso.add_fp(io.BytesIO(escaped), len(escaped), "/ESC.;1", rr_name=_PLACEHOLDER)
    iso.add_fp(io.BytesIO(b"fine\n"), 5, "/OK.;1", rr_name="ok.txt")
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    raw = out.getvalue()
    assert raw.count(_PLACEHOLDER.encode()) == 1
    path.write_bytes(raw.replace(_PLACEHOLDER.encode(), f"../../{CANARY}".encode()))
    return path


def symlink_tree(root: Path) -> Path:
    tree = root / "wedge-tree"
    (tree / "docs").mkdir(parents=True)
    (tree / "docs" / "readme.txt").write_text("an ordinary catalog entry with a link\n" * 20)
    (tree / "latest.txt").symlink_to("docs/readme.txt")
    return tree


class TdBridgeStandin:
    """The TD Bridge stand-in (tests/agent/standins/tdbridge.py) on the device's folder."""

    def __init__(self, jobs_dir: Path, blanks: int, log: Path) -> None:
        self.jobs_dir, self.blanks, self.log = jobs_dir, blanks, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, str(STANDIN), "--jobs-dir", str(self.jobs_dir)]
                + ["--discs", str(self.blanks), "--disc-seconds", "0.05"],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@dataclass
class HostileMix:
    upload_status: int = 0
    upload_detail: str = ""
    hostile_request: str | None = None
    wedge_request: str = ""
    after_request: str = ""
    placed: dict[str, tuple[str, int]] = field(default_factory=dict)


PostOrder = Callable[[list[dict[str, Any]], str], dict[str, Any]]


def place_mix(
    *,
    base: str,
    operator: dict[str, str],
    database: Database,
    blobs: BlobStore,
    root: Path,
    ordinary: tuple[str, str],
    post_order: PostOrder,
) -> HostileMix:
    """Upload the hostile image, add the wedging content, order both and one ordinary
    content after them on the TD Bridge device."""
    mix = HostileMix()
    image = hostile_iso(root / "hostile.iso")
    with image.open("rb") as body:
        answer = httpx.post(
            f"{base}/api/v1/contents",
            headers={**operator, "Content-Type": "application/octet-stream"},
            params={"title": "Hostile image"},
            content=body.read(),
            timeout=60,
        )
    mix.upload_status, mix.upload_detail = answer.status_code, answer.text[:300]
    if answer.status_code == 201:
        content = answer.json()
        order = post_order([{"content_id": content["id"], "media": MEDIA, "copies": 1}], "hostile")
        mix.hostile_request = order["requests"][0]["id"]
        mix.placed[mix.hostile_request] = (content["sha256"], 1)
    stored = blobs.ingest_directory(symlink_tree(root), volume_name="WEDGE")
    with database.transaction() as session:
        wedge = store.add_content(
            session, title="Folder with a link", sha256=stored.sha256, size_bytes=stored.size_bytes
        )
        wedge_id = wedge.id
    order = post_order([{"content_id": wedge_id, "media": MEDIA, "copies": 1}], "wedge")
    mix.wedge_request = order["requests"][0]["id"]
    mix.placed[mix.wedge_request] = (stored.sha256, 1)
    content_id, sha = ordinary
    order = post_order([{"content_id": content_id, "media": MEDIA, "copies": 1}], "after-wedge")
    mix.after_request = order["requests"][0]["id"]
    mix.placed[mix.after_request] = (sha, 1)
    return mix


def check_mix(mix: HostileMix, *, database: Database, root: Path, jobs_dir: Path) -> list[str]:
    problems = []
    if mix.upload_status == 201:
        problems.append(
            "the hostile image (Rock Ridge '../' name, CR/LF volume id) was accepted at upload"
        )
    elif not 400 <= mix.upload_status < 500:
        problems.append(f"the hostile image upload answered {mix.upload_status}, not a clear 4xx")
    escaped = [p for p in root.rglob(f"*{CANARY}*") if p.name != "hostile.iso"]
    if escaped:
        problems.append(f"a file from the hostile image escaped its folder: {escaped[:3]}")
    with database.transaction() as session:
        states = {
            request.id: (request.state, request.reason)
            for request in session.scalars(
                select(store.Request).where(
                    store.Request.id.in_([mix.wedge_request, mix.after_request])
                )
            )
        }
        td_jobs = len(session.scalars(select(Job.id).where(Job.device == DEVICE)).all())
    wedge_state, wedge_reason = states.get(mix.wedge_request, ("missing", ""))
    if wedge_state not in ("done", "failed") or (wedge_state == "failed" and not wedge_reason):
        problems.append(f"the wedging job's request is {wedge_state} ({wedge_reason!r})")
    after_state, after_reason = states.get(mix.after_request, ("missing", ""))
    if after_state != "done":
        problems.append(
            f"the order after the wedging job on {DEVICE} is {after_state} ({after_reason!r}):"
            " the device is wedged"
        )
    piles = [p for p in jobs_dir.glob("*_data") if p.is_dir()]
    if len(piles) > td_jobs:
        problems.append(f"{len(piles)} *_data folders for {td_jobs} jobs on {DEVICE}")
    return problems
