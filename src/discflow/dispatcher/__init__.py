"""The dispatcher: joins the store, the scheduler and the device agents.

``Dispatcher(database, blobs, settings).run(stop_event)`` repeats
snapshot -> ``scheduler.plan_discflow`` -> act each time the task log grows
or a device reports, and follows every job on its agent until it is final.
"""

from discflow.dispatcher._client import AgentClient, AgentRefused
from discflow.dispatcher._loop import Dispatcher, DispatcherThread
from discflow.dispatcher._operator import record_media_loaded, set_paused
from discflow.dispatcher._printing import (
    label_format,
    label_item,
    print_pending,
    print_pending_holding_the_floor,
    printer_from_setting,
    reprint_order,
)
from discflow.dispatcher._settings import DispatcherSettings, dispatcher_settings

__all__ = [
    "AgentClient",
    "AgentRefused",
    "Dispatcher",
    "DispatcherThread",
    "DispatcherSettings",
    "dispatcher_settings",
    "label_format",
    "label_item",
    "print_pending",
    "print_pending_holding_the_floor",
    "printer_from_setting",
    "record_media_loaded",
    "reprint_order",
    "set_paused",
]
