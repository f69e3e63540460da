"""The dispatcher: joins the store, the scheduler and the device agents.

``Dispatcher(database, blobs, settings).run(stop_event)`` repeats
snapshot -> ``scheduler.plan_discflow`` -> act each time the task log grows
or a device reports, and follows every job on its agent until it is final.
"""

from discflow.dispatcher._client import AgentClient, AgentRefused
from discflow.dispatcher._loop import Dispatcher
from discflow.dispatcher._operator import record_media_loaded, set_paused
from discflow.dispatcher._settings import DispatcherSettings, dispatcher_settings

__all__ = [
    "AgentClient",
    "AgentRefused",
    "Dispatcher",
    "DispatcherSettings",
    "dispatcher_settings",
    "record_media_loaded",
    "set_paused",
]
