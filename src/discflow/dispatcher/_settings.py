"""The dispatcher's knobs, taken from the process-wide ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from discflow.settings import Settings


@dataclass(frozen=True)
class DispatcherSettings:
    lease_s: float = 30.0
    heartbeat_offline_s: float = 15.0
    offline_grace_s: float = 30.0
    max_failed_discs: int = 5
    stop_job_after_failed_discs: int = 3
    idle_poll_s: float = 1.0
    reload_count: int = 100
    reload_delay_s: float = 900.0
    notice_webhook_url: str = ""
    label_printer: str = ""
    label_sheet: str = "4x6"
    label_format: str = "pdf"
    label_mode: str = "request"
    data_dir: Path = Path("./discflow-data")


def dispatcher_settings(settings: Settings) -> DispatcherSettings:
    return DispatcherSettings(
        lease_s=settings.lease_s,
        heartbeat_offline_s=settings.heartbeat_offline_s,
        offline_grace_s=settings.offline_grace_s,
        max_failed_discs=settings.max_failed_discs,
        stop_job_after_failed_discs=settings.stop_job_after_failed_discs,
        reload_count=settings.reload_count,
        notice_webhook_url=settings.notice_webhook_url,
        label_printer=settings.label_printer,
        label_sheet=settings.label_sheet,
        label_format=settings.label_format,
        label_mode=settings.label_mode,
        data_dir=settings.data_dir,
    )
