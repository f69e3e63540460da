"""The agent's configuration file (``agent.toml``), read with stdlib ``tomllib``.

Invariants: a loaded ``AgentConfig`` is complete and valid: the driver exists in
the registry and its ``driver_options`` passed that driver's own model, media
names are canonical discflow media names, relative paths are resolved against
the config file's folder, and at least one way to get a token is given. Every
refusal is a ``ConfigError`` that names the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from discflow.agent.drivers import DRIVERS, MediaTiming
from discflow.domain import media_type
from discflow.errors import ConfigError, UnknownMediaType

__all__ = ["AgentConfig", "MediaConfig", "load_config", "parse_config"]


class MediaConfig(BaseModel):
    """``[media.X]``: the blanks first loaded and how fast this device writes them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    loaded: int = Field(0, ge=0)
    write_Bps: int = Field(gt=0)  # unit in the name, as everywhere in discflow
    overhead_s: float = Field(60.0, ge=0)
    low_threshold: int = Field(10, ge=0)

    def timing(self) -> MediaTiming:
        return MediaTiming(write_Bps=self.write_Bps, overhead_s=self.overhead_s)


class AgentConfig(BaseModel):
    """One device agent. See ARCHITECTURE.md, "Device agent contract"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    driver: str
    listen: str = "127.0.0.1:8101"
    server_url: str | None = None
    token: str | None = None
    token_file: Path | None = None
    enrol_code: str | None = None
    cache_dir: Path
    cache_bytes: int = Field(gt=0)
    state_dir: Path | None = None  # default: <cache_dir>/.state
    drives: int = Field(1, ge=1, le=64)
    heartbeat_s: float = Field(2.0, gt=0)
    poll_s: float = Field(0.2, gt=0)
    status_poll_s: float = Field(5.0, gt=0)  # how often the device's own status is read
    retry_limit: int = Field(3, ge=0)  # failed discs a job may spend before it fails
    link_Bps: int = Field(100_000_000, gt=0)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    media: dict[str, MediaConfig] = Field(default_factory=dict)
    driver_options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value not in DRIVERS:
            raise ValueError(f"unknown driver {value!r}; use one of: {', '.join(sorted(DRIVERS))}")
        return value

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not HOST:PORT, e.g. '127.0.0.1:8101'")
        return value

    @field_validator("media")
    @classmethod
    def _canonical_media(cls, value: dict[str, MediaConfig]) -> dict[str, MediaConfig]:
        out: dict[str, MediaConfig] = {}
        for name, bin_ in value.items():
            try:
                out[media_type(name).name] = bin_
            except UnknownMediaType as exc:
                raise ValueError(str(exc)) from None
        return out

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def address(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{self.listen}"

    @property
    def state_path(self) -> Path:
        return (self.state_dir or self.cache_dir / ".state") / "agent-state.json"


def _key(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_config(
    data: Mapping[str, Any], *, source: str, base_dir: Path | None = None
) -> AgentConfig:
    """Validate a parsed TOML mapping; ``source`` names the file in error messages."""
    try:
        config = AgentConfig.model_validate(dict(data))
    except ValidationError as exc:
        problems = "; ".join(f"key '{_key(e['loc'])}': {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None
    if config.token is None and config.token_file is None:
        raise ConfigError(
            f"{source}: key 'token': give 'token', or 'token_file' (with 'enrol_code' and "
            "'server_url' to enrol on first start)"
        )
    if config.enrol_code and not (config.server_url and config.token_file):
        raise ConfigError(
            f"{source}: key 'enrol_code' needs 'server_url' and 'token_file' to store the token"
        )
    if bool(config.tls_cert) != bool(config.tls_key):
        raise ConfigError(f"{source}: keys 'tls_cert' and 'tls_key' must be given together")
    spec = DRIVERS[config.driver]
    try:
        spec.options_model.model_validate(config.driver_options)
    except ValidationError as exc:
        problems = "; ".join(
            f"key 'driver_options.{_key(e['loc'])}': {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: driver {config.driver!r}: {problems}") from None
    if base_dir is not None:
        config = _resolve_paths(config, base_dir)
    return config


def _resolve_paths(config: AgentConfig, base: Path) -> AgentConfig:
    def fix(path: Path | None) -> Path | None:
        return None if path is None or path.is_absolute() else base / path

    changes: dict[str, Any] = {
        key: fixed
        for key in ("cache_dir", "state_dir", "token_file", "tls_cert", "tls_key")
        if (fixed := fix(getattr(config, key))) is not None
    }
    options = dict(config.driver_options)
    for key in ("output_dir", "jobs_dir"):
        value = options.get(key)
        if isinstance(value, str) and not Path(value).is_absolute():
            options[key] = str(base / value)
    changes["driver_options"] = options
    return config.model_copy(update=changes)


def load_config(path: Path | str) -> AgentConfig:
    """Read and validate ``agent.toml``; raises ``ConfigError`` naming the file and key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the agent config: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_config(data, source=str(path), base_dir=path.resolve().parent)
