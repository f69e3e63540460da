"""The dispatcher's knobs: the process-wide ``Settings`` fields it reads, plus its own.

Invariant: a knob that ``Settings`` has takes its default from ``Settings``
(one place to change it); only ``idle_poll_s``, ``round_gap_s`` and
``reload_delay_s`` are the dispatcher's alone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from discflow.settings import Settings


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class DispatcherSettings:
    lease_s: float = _default("lease_s")
    heartbeat_offline_s: float = _default("heartbeat_offline_s")
    offline_grace_s: float = _default("offline_grace_s")
    max_failed_discs: int = _default("max_failed_discs")
    stop_job_after_failed_discs: int = _default("stop_job_after_failed_discs")
    reload_count: int = _default("reload_count")
    notice_webhook_url: str = _default("notice_webhook_url")
    label_printer: str = _default("label_printer")
    label_sheet: str = _default("label_sheet")
    label_format: str = _default("label_format")
    label_mode: str = _default("label_mode")
    data_dir: Path = _default("data_dir")
    idle_poll_s: float = 1.0  # the longest a round waits when nothing is heard of
    round_gap_s: float = 0.1  # the shortest gap between two rounds' starts (bursts coalesce)
    reload_delay_s: float = 900.0  # the planner's guess of how long a reload takes


_FROM_SETTINGS = tuple(
    f.name for f in fields(DispatcherSettings) if f.name in Settings.model_fields
)


def dispatcher_settings(settings: Settings) -> DispatcherSettings:
    return DispatcherSettings(**{name: getattr(settings, name) for name in _FROM_SETTINGS})
