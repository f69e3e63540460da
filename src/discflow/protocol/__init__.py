"""The device agent's HTTP contract: one set of pydantic models for both sides.

The agent's routes (``discflow.agent``), the dispatcher's ``AgentClient``, the
server's heartbeat intake (``discflow.store.apply_heartbeat``) and the tests
all import these, so the wire format is written down exactly once.
"""

from discflow.protocol._errors import PLAIN_ERROR, ErrorTable, install_plain_errors, status_for
from discflow.protocol._jobs import (
    CopyOut,
    DiscLabel,
    JobBrief,
    JobCreate,
    JobOut,
    check_media_name,
)
from discflow.protocol._status import (
    AgentStatus,
    CacheEntryOut,
    DeviceReasonOut,
    DriveOut,
    DriverName,
    MediaAdd,
    MediaOut,
    PartialOut,
)

__all__ = [
    "PLAIN_ERROR",
    "ErrorTable",
    "install_plain_errors",
    "status_for",
    "AgentStatus",
    "CacheEntryOut",
    "CopyOut",
    "DiscLabel",
    "DriveOut",
    "DriverName",
    "JobBrief",
    "JobCreate",
    "JobOut",
    "MediaAdd",
    "MediaOut",
    "PartialOut",
    "DeviceReasonOut",
    "check_media_name",
]
