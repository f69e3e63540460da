"""The one root exception of discflow and its families.

Lower libraries' errors (OS, subprocess, SMTP, HTTP) are translated into these
at the boundary that calls them, with ``raise ... from``, so callers catch one
family instead of a zoo of library exceptions.
"""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "BurnFailed",
    "ConfigError",
    "DeviceUnavailable",
    "DiscflowError",
    "DriverError",
    "IllegalTransition",
    "IngestError",
    "InvalidInput",
    "LabelError",
    "MailError",
    "MediaExhausted",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "SchedulingError",
    "UnknownMediaType",
]


class DiscflowError(Exception):
    """Root of every error discflow raises on purpose."""


class InvalidInput(DiscflowError):
    """Input from a user or a file is malformed; the message says how to fix it."""


class UnknownMediaType(InvalidInput):
    """A media type name that discflow does not know."""


class NotFound(DiscflowError):
    """A referenced object (content, order, device...) does not exist."""


class PermissionDenied(DiscflowError):
    """The caller may not do this."""


class QuotaExceeded(DiscflowError):
    """An account's quota (copies per day, open orders) is used up for now: HTTP 429."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class IllegalTransition(DiscflowError):
    """A lifecycle was asked to make a move its transition table forbids."""


class ConfigError(DiscflowError):
    """A configuration file or setting is wrong; names the key and the file."""


class ArchiveError(DiscflowError):
    """The content archive could not store or read a content."""


class IngestError(ArchiveError, InvalidInput):
    """A file or folder offered for ingest was refused."""


class SchedulingError(DiscflowError):
    """The planner was given an inconsistent snapshot."""


class DriverError(DiscflowError):
    """A device driver failed."""


class DeviceUnavailable(DriverError):
    """The device cannot be reached or is not ready."""


class MediaExhausted(DriverError):
    """The device has no blank media of the requested type."""


class BurnFailed(DriverError):
    """Writing or verifying a disc failed."""


class LabelError(DiscflowError):
    """A label could not be rendered or printed."""


class MailError(DiscflowError):
    """Mail could not be parsed, accepted or sent."""
