"""A heartbeat built before an operator's reload, arriving after the reload was recorded.

The agent builds a heartbeat's body, then sends it; the operator's reload goes to the
agent and its answer is recorded meanwhile. Applied as it came, the old body set the bin
back (the floor showed 10 blanks after 60 were recorded, the media notice came back and
the next heartbeat logged the reload a second time: seen in `tests/web/pages/
test_browser.py`). Each bin's counts now say when the agent read them (`counted_at`), and
the server keeps the newer ones.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from discflow import store
from discflow.dispatcher import AgentClient, record_media_loaded
from discflow.protocol import AgentStatus, MediaOut
from discflow.store import Database, EventFilter
from tests.agent.conftest import TOKEN, make_config, running


def _client(raw: httpx.AsyncClient) -> AgentClient:
    client = AgentClient(name="pub-1", base_url="http://agent", token=TOKEN)
    client._http = raw  # the agent app through its in-process transport
    return client


def _cd_r(database: Database) -> tuple[int, int, int]:
    with database.transaction() as session:
        row = next(m for m in store.get_device(session, "pub-1").media if m.media == "CD-R")
        loads = store.list_events(session, EventFilter(device="pub-1", type="media.loaded"))
        return row.loaded, row.loaded_total, len(loads)


def _apply(database: Database, report: AgentStatus) -> None:
    with database.transaction() as session:
        store.apply_heartbeat(session, store.get_device(session, "pub-1"), report)


async def test_a_heartbeat_counted_before_a_reload_does_not_set_the_bin_back(
    tmp_path: Path, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(make_config(tmp_path)) as raw:
        agent = _client(raw)
        with database.transaction() as session:
            store.register_device(
                session,
                name="pub-1",
                driver="image",
                address="http://agent",
                actor="op",
                agent_token="dfa_pub-1",
            )
        first = await agent.status()
        assert all(m.counted_at > 0 for m in first.media)  # the agent says when
        _apply(database, first)
        assert _cd_r(database) == (10, 10, 0)

        in_flight = await agent.status()  # built now, delivered after the reload

        real_add_media = AgentClient.add_media

        async def to_the_agent(self: AgentClient, media: str, count: int) -> MediaOut:
            return await real_add_media(agent, media, count)  # the real agent's answer

        monkeypatch.setattr(AgentClient, "add_media", to_the_agent)
        loaded = await record_media_loaded(
            database, device="pub-1", media="CD-R", count=50, actor="olga"
        )
        assert loaded == 60
        assert _cd_r(database) == (60, 60, 0)

        _apply(database, in_flight)
        assert _cd_r(database) == (60, 60, 0)  # not 10: the older counts lost

        _apply(database, await agent.status())  # the next heartbeat agrees
        assert _cd_r(database) == (60, 60, 0)  # and logs no second "media.loaded"

        # a load made at the device itself (not through the server) is still seen
        await raw.post("/v1/media", json={"media": "CD-R", "count": 5})
        _apply(database, await agent.status())
        assert _cd_r(database) == (65, 65, 1)


def test_counts_from_a_clock_set_far_back_are_taken(database: Database) -> None:
    def report(loaded: int, counted_at: float) -> AgentStatus:
        return AgentStatus.model_validate(
            {
                "name": "pub-1",
                "driver": "sim",
                "availability": "online",
                "drives": [{"index": 0}],
                "media": [
                    {
                        "media": "CD-R",
                        "loaded": loaded,
                        "write_Bps": 1000,
                        "loaded_total": loaded,
                        "counted_at": counted_at,
                    }
                ],
                "cache": [],
                "cache_capacity_bytes": 10,
                "cache_free_bytes": 10,
            }
        )

    with database.transaction() as session:
        store.register_device(
            session, name="pub-1", driver="sim", address="http://a", actor="op", agent_token="t"
        )
    _apply(database, report(20, 1_000_000.0))
    _apply(database, report(30, 1_000_000.0 - 30))  # half a minute older: stale
    assert _cd_r(database)[0] == 20
    _apply(database, report(40, 1_000_000.0 - 3600))  # an hour "older": the clock moved
    assert _cd_r(database)[0] == 40
    _apply(database, report(50, 0.0))  # an agent that does not say when
    assert _cd_r(database)[0] == 50
