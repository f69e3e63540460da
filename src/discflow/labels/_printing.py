"""Printers: where rendered labels go.

Invariant: ``Printer.submit`` either hands the whole document to the printing
system and returns its job id, or raises a ``PrintFailed`` that says what went
wrong and what to check; it never returns quietly after a failure. The CUPS
backend shells out to ``lp`` (cups-client), so it honours the system's CUPS
configuration (servers, queues, authentication) without a Python binding. The
folder backend writes each document atomically (temporary file, fsync, rename),
so a watcher never sees half a label; the temporary file is written outside the
watched folder (a ``.<folder>.partial`` folder beside it), so even a process
killed mid-write leaves nothing there for a print daemon to take, and stale
temporaries of such a process are swept when the next printer is made.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from discflow.labels._errors import PrinterNotFound, PrintFailed

__all__ = ["CupsPrinter", "DocumentFormat", "FolderPrinter", "PrintJob", "Printer"]

DocumentFormat = Literal["pdf", "zpl", "png"]

_JOB_ID = re.compile(r"request id is (\S+)")
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A document accepted by a printer: ``job_id`` is the printer's own name for it."""

    printer: str
    job_id: str
    name: str


@runtime_checkable
class Printer(Protocol):
    """Something that accepts rendered label documents."""

    @property
    def name(self) -> str:
        """Human-readable printer name, used in notices and the task log."""
        ...

    def submit(
        self, document: bytes, *, name: str, fmt: DocumentFormat, media: str | None = None
    ) -> PrintJob:
        """Print ``document`` (``fmt`` bytes) as job ``name``; ``media`` is the CUPS media size.

        Raises ``PrintFailed`` (or ``PrinterNotFound``) with a message for the operator.
        """
        ...


@dataclass(frozen=True, slots=True)
class CupsPrinter:
    """A CUPS queue, printed to with ``lp -d QUEUE``."""

    queue: str
    server: str | None = None  # host[:port] of a remote CUPS server; None for the local one
    options: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0
    lp: str = "lp"

    @property
    def name(self) -> str:
        return f"cups:{self.queue}" + (f"@{self.server}" if self.server else "")

    def command(self, *, name: str, fmt: DocumentFormat, media: str | None) -> list[str]:
        cmd = [self.lp]
        if self.server:
            cmd += ["-h", self.server]
        cmd += ["-d", self.queue, "-t", name]
        opts = dict(self.options)
        if fmt == "zpl":
            opts.setdefault("raw", "true")
        else:
            # Label stock is cut to size: never let CUPS scale or re-centre the page.
            opts.setdefault("print-scaling", "none")
            opts.setdefault("fit-to-page", "false")
            if media:
                opts.setdefault("media", media)
        for key, value in opts.items():
            cmd += ["-o", key if key == "raw" else f"{key}={value}"]
        return cmd

    def submit(
        self, document: bytes, *, name: str, fmt: DocumentFormat, media: str | None = None
    ) -> PrintJob:
        cmd = self.command(name=name, fmt=fmt, media=media)
        try:
            # bandit B603 is a false alarm: 'lp' with printer and options as separate arguments
            done = subprocess.run(  # nosec B603
                cmd, input=document, capture_output=True, timeout=self.timeout_s, check=False
            )
        except FileNotFoundError as exc:
            raise PrintFailed(
                f"{self.lp!r} was not found: install the CUPS client (apt-get install cups-client)"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise PrintFailed(
                f"lp did not answer within {self.timeout_s:.0f} s printing to {self.queue!r}:"
                " check that the CUPS scheduler is running (lpstat -r)"
            ) from exc
        out = done.stdout.decode(errors="replace")
        err = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0:
            if not self._scheduler_running():
                # lp reports "printer does not exist" when it cannot reach cupsd at all.
                raise PrintFailed(
                    f"the CUPS scheduler is not running ({err or out}): start it"
                    " (systemctl start cups, or /usr/sbin/cupsd) and print again"
                )
            raise _translate(self.queue, err or out, done.returncode)
        match = _JOB_ID.search(out)
        if not match:
            raise PrintFailed(
                f"lp accepted the job for {self.queue!r} but printed no job id ({out.strip()!r})"
            )
        return PrintJob(printer=self.name, job_id=match.group(1), name=name)

    def _scheduler_running(self) -> bool:
        cmd = ["lpstat"] + (["-h", self.server] if self.server else []) + ["-r"]
        try:
            # bandit B603 is a false alarm here: 'lpstat' with separate arguments; no shell
            done = subprocess.run(  # nosec B603
                cmd, capture_output=True, timeout=self.timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return b"is running" in done.stdout


def _translate(queue: str, message: str, code: int) -> PrintFailed:
    text = message.lower()
    if "does not exist" in text or ("not found" in text and "printer" in text):
        return PrinterNotFound(
            f"printer queue {queue!r} does not exist: list the queues with `lpstat -p`"
            f" or add it with lpadmin ({message})"
        )
    if "scheduler not responding" in text or "connection refused" in text:
        return PrintFailed(
            f"the CUPS scheduler is not running or not reachable ({message}):"
            " start it (systemctl start cups, or /usr/sbin/cupsd) and retry"
        )
    if "not accepting" in text:
        return PrintFailed(
            f"printer queue {queue!r} is not accepting jobs ({message}):"
            f" run `cupsaccept {queue}` once the printer is fixed"
        )
    return PrintFailed(f"lp could not print to {queue!r} (exit {code}): {message}")


@dataclass(frozen=True, slots=True)
class FolderPrinter:
    """A folder that receives each document as a file, for shops without a printer.

    With ``once_per_name`` a document whose name was already written is taken as
    printed (the dispatcher names each label after its print-queue row, so a
    retry after a crash does not make a second file); otherwise a repeated name
    gets a new file.
    """

    folder: Path
    once_per_name: bool = False
    stale_after_s: float = 600.0  # a temporary this old belongs to no live writer

    def __post_init__(self) -> None:
        self.sweep_stale()

    @property
    def name(self) -> str:
        return f"folder:{self.folder}"

    @property
    def staging(self) -> Path:
        """Where documents are written before the rename: beside the folder, not in it."""
        return self.folder.parent / f".{self.folder.name}.partial"

    def sweep_stale(self) -> list[Path]:
        """Delete temporaries left by a writer that was killed; returns what went."""
        cutoff = time.time() - self.stale_after_s
        # .tmp-* in the folder itself: left there by releases that wrote temporaries inside
        found = [*self.staging.glob(".tmp-*"), *self.folder.glob(".tmp-*")]
        swept = []
        for path in found:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    swept.append(path)
            except OSError:
                continue  # gone already, or not ours to delete: the next sweep tries again
        return swept

    def submit(
        self, document: bytes, *, name: str, fmt: DocumentFormat, media: str | None = None
    ) -> PrintJob:
        stem = _NAME.sub("-", name).strip("-.") or "labels"
        if self.once_per_name and (self.folder / f"{stem}.{fmt}").exists():
            return PrintJob(printer=self.name, job_id=f"{stem}.{fmt}", name=name)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.staging.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.staging, prefix=".tmp-", suffix=f".{fmt}")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(document)
                    handle.flush()
                    os.fsync(handle.fileno())
                target = self._free_name(stem, fmt)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise PrintFailed(
                f"could not write the label file into {self.folder} (by way of"
                f" {self.staging}): {exc.strerror or exc} (check that both are writable and"
                " on one file system)"
            ) from exc
        return PrintJob(printer=self.name, job_id=target.name, name=name)

    def _free_name(self, stem: str, fmt: str) -> Path:
        # Never overwrite an earlier label: add -2, -3... The window between this check
        # and the rename is acceptable for a single dispatcher writing into its folder.
        candidate = self.folder / f"{stem}.{fmt}"
        n = 2
        while candidate.exists():
            candidate = self.folder / f"{stem}-{n}.{fmt}"
            n += 1
        return candidate
