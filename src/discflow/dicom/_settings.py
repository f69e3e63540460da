"""The DICOM service's knobs, from ``DISCFLOW_DICOM_*`` environment variables."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# PS3.5 6.2: an AE title is at most 16 characters of the default repertoire, no backslash
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


def check_ae_title(value: str) -> str:
    """``value`` stripped, if it is a valid AE title; say why not otherwise."""
    stripped = value.strip()
    if not stripped or not _AE_TITLE.match(stripped):
        raise ValueError(
            f"AE title {value!r} is not valid: use 1 to 16 printable ASCII characters"
            " without backslash (PS3.5 6.2)"
        )
    return stripped


class DicomSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISCFLOW_DICOM_", extra="ignore")

    port: int = 0  # 0: no DICOM service
    host: str = "127.0.0.1"
    ae_title: str = "DISCFLOW"
    # received instances that no request names are deleted after this long
    instance_ttl_s: float = 7 * 24 * 3600.0
    sweep_interval_s: float = 60.0
    # media for a disc that fits a CD; larger file-sets use DVD when the profile allows
    cd_media: str = "CD-R"
    dvd_media: str = "DVD-R"
    # country of a Media Disposition address (its lines carry no country)
    ship_country: str = "US"
    # capacity used to split a file-set; 0: the media type's own capacity
    disc_capacity_bytes: int = 0

    @field_validator("ae_title")
    @classmethod
    def _ae(cls, value: str) -> str:
        return check_ae_title(value)

    def spool_dir(self, data_dir: Path) -> Path:
        return data_dir / "dicom" / "instances"

    def faces_dir(self, data_dir: Path) -> Path:
        return data_dir / "dicom" / "faces"
