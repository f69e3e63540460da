"""What an operator does to a device, whichever door it comes through (API, page, mail, CLI).

Invariant: the agent is told first and the store records the action only if
the agent accepted it, so the task log never claims a reload that did not
happen.
"""

from __future__ import annotations

from discflow import store
from discflow.dispatcher._client import AgentClient
from discflow.dispatcher._needs import media_loaded_now
from discflow.domain import media_type
from discflow.errors import DeviceUnavailable, InvalidInput
from discflow.store import Database


async def record_media_loaded(
    database: Database, *, device: str, media: str, count: int, actor: str
) -> int:
    """Tell the device's agent that ``count`` blanks of ``media`` were loaded.

    Returns the blanks now loaded for that media.
    """
    name = media_type(media).name
    if not 1 <= count <= 10_000:
        raise InvalidInput(f"count must be between 1 and 10000 blanks, got {count}")
    with database.transaction() as session:
        row = store.get_device(session, device)
        if row.agent_token is None:
            raise DeviceUnavailable(f"{device} has no enrolled agent yet; enrol it first")
        address, token = row.address, row.agent_token
    client = AgentClient(name=device, base_url=address, token=token)
    try:
        answer = await client.add_media(name, count)
    finally:
        await client.close()
    loaded = answer.loaded
    with database.transaction() as session:
        store.record(
            session,
            "media.reloaded",
            f"{actor} loaded {count} {name} into {device}",
            device=device,
            actor=actor,
            data={"media": name, "count": count, "loaded": loaded},
        )
        media_loaded_now(session, device=device, answer={**answer.model_dump(), "media": name})
    return loaded


def set_paused(database: Database, *, device: str, paused: bool, actor: str) -> None:
    """Pause (no new work is sent; running jobs finish) or resume a device."""
    with database.transaction() as session:
        row = store.get_device(session, device)
        if row.paused == paused:
            return
        row.paused = paused
        if paused:
            row.availability = "paused"
        store.record(
            session,
            "device.paused" if paused else "device.resumed",
            f"{device} {'paused' if paused else 'resumed'} by {actor}",
            device=device,
            actor=actor,
        )
