"""Process-wide settings, read from ``DISCFLOW_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server; the embedded default needs none of them set."""

    model_config = SettingsConfigDict(env_prefix="DISCFLOW_", extra="ignore")

    data_dir: Path = Path("./discflow-data")
    database_url: str = ""  # empty: SQLite inside data_dir
    max_json_body_bytes: int = 1_048_576
    max_upload_bytes: int = 60_000_000_000
    enrol_code_ttl_s: int = 3600
    heartbeat_offline_s: float = 15.0
    offline_grace_s: float = 30.0
    lease_s: float = 30.0
    max_failed_discs: int = 5
    reload_count: int = 100
    notice_webhook_url: str = ""
    label_printer: str = ""  # folder:PATH, cups:QUEUE or a queue name; empty: <data_dir>/labels
    label_sheet: str = "4x6"  # avery-5160 | avery-l7160 | 4x6
    label_format: str = "pdf"  # pdf | zpl (4x6 on a raw Zebra queue)
    run_dispatcher: bool = True  # `discflow serve` runs the dispatcher in-process

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'discflow.db').as_posix()}"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"


def get_settings() -> Settings:
    return Settings()
