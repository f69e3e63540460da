"""The content cache: complete images by sha256, with capacity accounting.

Layout under ``cache_dir``::

    objects/<sha256>        complete, verified contents (the name is the hash)
    partial/<sha256>.part   an upload in progress or interrupted (bytes so far)
    partial/<sha256>.json   {"total": N}: the announced size of that upload
    index.json              {"<sha256>": last_used unix seconds}

Invariants: a file appears under ``objects/`` only by ``os.replace`` after its
bytes hashed to its name, so the index never lists unverified content; the
bytes counted against ``capacity`` are the complete objects plus the full
announced size of every partial upload (space is reserved when an upload
starts, so two uploads cannot both squeeze into the same free space); a
content pinned by a job cannot be evicted. On start the index is rebuilt from
``objects/`` (files are trusted: only the agent writes there) and partial
uploads are kept so their clients can resume.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from discflow.agent._errors import CacheFull, Conflict, HashMismatch
from discflow.domain import CacheEntry, check_sha256, describe_size
from discflow.errors import InvalidInput, NotFound

__all__ = ["ContentCache", "PartialUpload"]

_BLOCK = 4 << 20  # bytes handed to the writer thread at a time


class PartialUpload:
    """What a client needs to resume: bytes already received of the total."""

    __slots__ = ("received", "sha256", "total")

    def __init__(self, sha256: str, received: int, total: int | None) -> None:
        self.sha256 = sha256
        self.received = received
        self.total = total


class ContentCache:
    def __init__(self, root: Path, *, capacity: int) -> None:
        self.root = root
        self.capacity = capacity
        self._objects = root / "objects"
        self._partial = root / "partial"
        self._objects.mkdir(parents=True, exist_ok=True)
        self._partial.mkdir(parents=True, exist_ok=True)
        self._sizes: dict[str, int] = {}
        self._last_used: dict[str, float] = {}
        self._pins: dict[str, int] = {}
        self._uploading: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cache-writer")
        self._rebuild()

    # ---- index ---------------------------------------------------------

    def _rebuild(self) -> None:
        try:
            saved = json.loads((self.root / "index.json").read_text("utf-8"))
        except (OSError, ValueError):
            saved = {}
        for path in self._objects.iterdir():
            try:
                sha = check_sha256(path.name)
            except InvalidInput:
                continue
            stat = path.stat()
            self._sizes[sha] = stat.st_size
            used = saved.get(sha) if isinstance(saved, dict) else None
            self._last_used[sha] = float(used) if isinstance(used, int | float) else stat.st_mtime

    def _save_index(self) -> None:
        tmp = self.root / "index.json.tmp"
        tmp.write_text(json.dumps(self._last_used), "utf-8")
        os.replace(tmp, self.root / "index.json")

    def entries(self) -> list[CacheEntry]:
        return [
            CacheEntry(sha, size, self._last_used.get(sha, 0.0))
            for sha, size in sorted(self._sizes.items())
        ]

    def _reserved(self) -> int:
        total = 0
        for meta in self._partial.glob("*.json"):
            total += self._partial_total(meta.stem) or 0
        return total

    @property
    def used_bytes(self) -> int:
        return sum(self._sizes.values()) + self._reserved()

    @property
    def free_bytes(self) -> int:
        return max(0, self.capacity - self.used_bytes)

    def has(self, sha256: str) -> bool:
        return sha256 in self._sizes

    def size(self, sha256: str) -> int:
        try:
            return self._sizes[sha256]
        except KeyError:
            raise NotFound(
                f"content {sha256} is not in this agent's cache; upload it with "
                f"PUT /v1/cache/{sha256}"
            ) from None

    def path(self, sha256: str) -> Path:
        self.size(sha256)
        return self._objects / sha256

    def touch(self, sha256: str) -> None:
        if sha256 in self._sizes:
            self._last_used[sha256] = time.time()
            self._save_index()

    # ---- pins and eviction ---------------------------------------------

    def pin(self, sha256: str) -> None:
        self.size(sha256)
        self._pins[sha256] = self._pins.get(sha256, 0) + 1

    def unpin(self, sha256: str) -> None:
        left = self._pins.get(sha256, 0) - 1
        if left > 0:
            self._pins[sha256] = left
        else:
            self._pins.pop(sha256, None)

    def delete(self, sha256: str) -> None:
        """Evict a content (or discard a partial upload); refused while a job uses it."""
        check_sha256(sha256)
        if self._pins.get(sha256):
            raise Conflict(
                f"content {sha256} is used by {self._pins[sha256]} active job(s); cancel them "
                "or wait until they finish before evicting it"
            )
        if sha256 in self._uploading:
            raise Conflict(f"content {sha256} is being uploaded right now; try again later")
        found = False
        if sha256 in self._sizes:
            (self._objects / sha256).unlink(missing_ok=True)
            del self._sizes[sha256]
            self._last_used.pop(sha256, None)
            self._save_index()
            found = True
        for leftover in (self._part(sha256), self._meta(sha256)):
            if leftover.exists():
                leftover.unlink()
                found = True
        if not found:
            raise NotFound(f"content {sha256} is not in this agent's cache")

    # ---- uploads --------------------------------------------------------

    def _part(self, sha256: str) -> Path:
        return self._partial / f"{sha256}.part"

    def _meta(self, sha256: str) -> Path:
        return self._partial / f"{sha256}.json"

    def _partial_total(self, sha256: str) -> int | None:
        try:
            total = json.loads(self._meta(sha256).read_text("utf-8")).get("total")
        except (OSError, ValueError, AttributeError):
            return None
        return int(total) if isinstance(total, int) else None

    def partial(self, sha256: str) -> PartialUpload | None:
        """The interrupted upload of this content, if any."""
        check_sha256(sha256)
        part = self._part(sha256)
        if not part.exists():
            return None
        return PartialUpload(sha256, part.stat().st_size, self._partial_total(sha256))

    async def upload(
        self,
        sha256: str,
        chunks: AsyncIterator[bytes],
        *,
        start: int,
        total: int,
    ) -> CacheEntry:
        """Receive bytes ``start..total-1`` of a content; finish when all have arrived.

        ``start`` must equal the bytes already held for this content (0 for a
        fresh upload). If the stream ends early the bytes so far are kept for
        a later resume and ``InvalidInput`` says how many arrived.
        """
        check_sha256(sha256)
        if sha256 in self._sizes:
            raise Conflict(f"content {sha256} is already cached")
        if sha256 in self._uploading:
            raise Conflict(f"content {sha256} is being uploaded by another request")
        if total <= 0:
            raise InvalidInput("an upload needs its total size (Content-Length or Content-Range)")
        held = self.partial(sha256)
        if start == 0 and held is not None:
            # a fresh upload replaces an interrupted one
            self._part(sha256).unlink(missing_ok=True)
            self._meta(sha256).unlink(missing_ok=True)
            held = None
        received = held.received if held else 0
        if start != received:
            raise Conflict(
                f"this agent holds {received} bytes of {sha256}; resume with "
                f"Content-Range: bytes {received}-{total - 1}/{total}"
            )
        if held is not None and held.total is not None and held.total != total:
            raise Conflict(
                f"the interrupted upload of {sha256} announced {held.total} bytes, not {total}; "
                "restart it from byte 0"
            )
        if held is None:
            needed = total
            if needed > self.free_bytes:
                raise CacheFull(
                    f"content {sha256} needs {describe_size(needed)} but the cache has "
                    f"{describe_size(self.free_bytes)} free of {describe_size(self.capacity)}; "
                    "evict contents with DELETE /v1/cache/{sha256} first"
                )
            self._meta(sha256).write_text(json.dumps({"total": total}), "utf-8")
        self._uploading.add(sha256)
        try:
            return await self._receive(sha256, chunks, received=received, total=total)
        finally:
            self._uploading.discard(sha256)

    async def _receive(
        self, sha256: str, chunks: AsyncIterator[bytes], *, received: int, total: int
    ) -> CacheEntry:
        loop = asyncio.get_running_loop()
        part = self._part(sha256)
        hasher = hashlib.sha256()
        if received:
            await loop.run_in_executor(self._pool, _hash_prefix, part, hasher)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        pending: Future[None] | None = None
        buffer = bytearray()
        count = received
        try:
            async for chunk in chunks:
                if count + len(chunk) > total:
                    raise InvalidInput(
                        f"more bytes arrived than the {total} announced for {sha256}"
                    )
                buffer += chunk
                count += len(chunk)
                if len(buffer) >= _BLOCK:
                    # one block in the writer thread while the next arrives
                    if pending is not None:
                        await asyncio.wrap_future(pending)
                    pending = self._pool.submit(_write_block, fd, hasher, bytes(buffer))
                    buffer.clear()
            if pending is not None:
                await asyncio.wrap_future(pending)
                pending = None
            if buffer:
                await loop.run_in_executor(self._pool, _write_block, fd, hasher, bytes(buffer))
            await loop.run_in_executor(self._pool, os.fsync, fd)
        finally:
            if pending is not None:
                await asyncio.wrap_future(pending)
            os.close(fd)
        if count < total:
            raise InvalidInput(
                f"upload of {sha256} stopped after {count} of {total} bytes; resume with "
                f"Content-Range: bytes {count}-{total - 1}/{total}"
            )
        digest = hasher.hexdigest()
        if digest != sha256:
            part.unlink(missing_ok=True)
            self._meta(sha256).unlink(missing_ok=True)
            raise HashMismatch(
                f"the uploaded bytes hash to {digest}, not {sha256}; check the content and "
                "upload it again from byte 0"
            )
        os.replace(part, self._objects / sha256)
        self._meta(sha256).unlink(missing_ok=True)
        self._sizes[sha256] = total
        self._last_used[sha256] = time.time()
        self._save_index()
        return CacheEntry(sha256, total, self._last_used[sha256])

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _write_block(fd: int, hasher: hashlib._Hash, block: bytes) -> None:
    hasher.update(block)
    view = memoryview(block)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _hash_prefix(path: Path, hasher: hashlib._Hash) -> None:
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            hasher.update(block)
