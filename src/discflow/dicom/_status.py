"""DIMSE status codes and Media Creation Management vocabularies, as the standard names them.

Sources: PS3.4 Annex S (S.3.2.x Status tables), PS3.7 Annex C (general statuses),
PS3.4 Annex B (Storage statuses), PS3.3 C.14.1.1 (Failure Reason) and the Execution
Status / Execution Status Info defined terms of the Media Creation Management Module.
"""

from __future__ import annotations

from enum import StrEnum

SUCCESS = 0x0000

# PS3.7 C: general DIMSE-N statuses
NO_SUCH_ATTRIBUTE = 0x0105
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
NO_SUCH_ARGUMENT = 0x0114
INVALID_ARGUMENT_VALUE = 0x0115
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
NO_SUCH_ACTION = 0x0123
REFUSED_NOT_AUTHORIZED = 0x0124
RESOURCE_LIMITATION = 0x0213

# PS3.4 S.3.2.2.4 / S.3.2.3.4: Media Creation Management N-ACTION
INITIATE_ALREADY_RECEIVED = 0xA510
ALREADY_COMPLETED = 0xC201
IN_PROGRESS_CANNOT_INTERRUPT = 0xC202
CANCELLATION_DENIED = 0xC203

# PS3.4 B.2.3: Storage
STORE_OUT_OF_RESOURCES = 0xA700
STORE_DATASET_MISMATCH = 0xA900
STORE_CANNOT_UNDERSTAND = 0xC000

# PS3.3 C.14.1.1: Failure Reason in a Failed SOP Sequence item
REASON_NO_SUCH_INSTANCE = 0x0112
REASON_PROCESSING_FAILURE = 0x0110
REASON_CLASS_NOT_SUPPORTED = 0x0122

ACTION_INITIATE = 1
ACTION_CANCEL = 2

# Requested Media Application Profiles this SCP writes (PS3.11 Annex D)
SUPPORTED_PROFILES = ("STD-GEN-CD", "STD-GEN-DVD")
DEFAULT_PROFILE = "STD-GEN-CD"


class ExecutionStatus(StrEnum):
    """Execution Status (2100,0020) of a media creation request."""

    IDLE = "IDLE"
    PENDING = "PENDING"
    CREATING = "CREATING"
    DONE = "DONE"
    FAILURE = "FAILURE"


class StatusInfo(StrEnum):
    """Execution Status Info (2100,0030) defined terms used here."""

    NORMAL = "NORMAL"
    QUEUED = "QUEUED"
    NO_INSTANCE = "NO_INSTANCE"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    INST_AP_CONFLICT = "INST_AP_CONFLICT"
    INST_OVERSIZED = "INST_OVERSIZED"
    SET_OVERSIZED = "SET_OVERSIZED"
    DUPL_REF_INST = "DUPL_REF_INST"
    DIR_PROC_ERR = "DIR_PROC_ERR"
    MCD_FAILURE = "MCD_FAILURE"
    PROC_FAILURE = "PROC_FAILURE"
    UNKNOWN = "UNKNOWN"


PRIORITIES = {"HIGH": "rush", "MED": "normal", "LOW": "low"}
