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
    stop_job_after_failed_discs: int = 3  # 0: never; else stop the job and pause its device
    reload_count: int = 100
    notice_webhook_url: str = ""
    label_printer: str = ""  # folder:PATH, cups:QUEUE or a queue name; empty: <data_dir>/labels
    label_sheet: str = "4x6"  # avery-5160 | avery-l7160 | 4x6
    label_format: str = "pdf"  # pdf | zpl (4x6 on a raw Zebra queue)
    label_mode: str = "request"  # request: one document per request; batch: one sheet a round
    run_dispatcher: bool = True  # `discflow serve` runs the dispatcher in-process
    # mail (docs/mail.md): inbound commands on smtp_port, outbound through the relay
    smtp_port: int = 0  # 0: no inbound SMTP server
    smtp_host: str = "127.0.0.1"
    mail_domain: str = ""  # inbound mail is accepted for this domain only
    mail_from: str = ""  # From of outbound mail; default discflow@<mail_domain>
    smtp_relay_host: str = ""  # empty: mail waits in the outbox until a relay is set
    smtp_relay_port: int = 25
    smtp_relay_user: str = ""
    smtp_relay_password: str = ""
    smtp_relay_starttls: bool = False
    smtp_relay_ca_file: str = ""  # a private CA for the relay's certificate
    mail_max_bytes: int = 262_144  # per message, per sender
    mail_per_hour: int = 30  # per sender
    mail_retry_base_s: float = 5.0
    mail_retry_max_s: float = 900.0
    mail_poll_s: float = 1.0
    # security (docs/security.md)
    secret_key: str = ""  # seals agent tokens; empty: <data_dir>/secret.key, made on first use
    trusted_proxies: str = ""  # comma-separated addresses/CIDRs whose X-Forwarded-For is believed
    metrics_public: bool = False  # False: /metrics needs an operator's bearer token
    signin_failures_per_account: int = 5  # in signin_window_s, from any client
    signin_failures_per_client: int = 10  # in signin_window_s, for any account names
    signin_window_s: float = 900.0
    quota_copies_per_day: int = 10_000  # per customer account; 0: no limit
    quota_open_orders: int = 1000  # per customer account; 0: no limit
    header_timeout_s: float = 10.0  # a client must send its request headers within this
    keep_alive_s: int = 5
    max_connections: int = 1000  # beyond it new requests get 503

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'discflow.db').as_posix()}"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"
