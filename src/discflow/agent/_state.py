"""A small JSON state file written atomically (temp file, fsync, rename).

Invariant: a reader (this agent after a crash or restart) sees either the old
or the new complete document, never a torn one; a missing file means "fresh".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from discflow.errors import ConfigError

__all__ = ["StateFile"]


class StateFile:
    """The agent's durable memory: blank-media counters and jobs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read the agent state: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{self.path}: the agent state file is corrupt ({exc}); move it away to start "
                "fresh (blank counts then come from the config again)"
            ) from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}: the agent state file does not hold a JSON object")
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        payload = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
