"""The agent HTTP contract (``discflow.protocol``) as both sides use it.

The agent's own app answers the dispatcher's ``AgentClient`` through a real
ASGI transport; the server's heartbeat intake reads the agent's status body.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from discflow import store
from discflow.dispatcher import AgentClient
from discflow.domain import DeviceStateReason, JobState, Priority, ReasonSeverity, can_burn
from discflow.errors import DeviceUnavailable
from discflow.protocol import AgentStatus, DiscLabel, DriverName, JobCreate, JobOut
from discflow.store import Database
from tests.agent.conftest import TOKEN, content, make_config, running, upload


def test_job_command_defaults_keep_the_old_wire_format() -> None:
    sha = "a" * 64
    command = JobCreate(job_id="JOB-1", content_sha256=sha, media="cd-r", copies=2)
    assert command.media == "CD-R"
    assert command.priority is Priority.NORMAL
    assert command.burn_speed is None and command.verify is True and command.label is None
    with pytest.raises(ValidationError, match="copiez"):
        JobCreate.model_validate(
            {"job_id": "JOB-1", "content_sha256": sha, "media": "CD-R", "copiez": 2}
        )
    with pytest.raises(ValidationError, match="media"):
        JobCreate(job_id="JOB-1", content_sha256=sha, media="LP", copies=1)


def test_label_carries_one_merge_set_per_copy() -> None:
    label = DiscLabel(design="plain", merge=[{"COPY": f"{n} of 2"} for n in (1, 2)])
    assert label.as_mapping() == {
        "design": "plain",
        "merge": [{"COPY": "1 of 2"}, {"COPY": "2 of 2"}],
    }
    # the first label shape (flat keys) still reads, as one merge set
    old = DiscLabel.model_validate({"title": "Dawn", "order_id": "ORD-1"})
    assert old.merge == [{"TITLE": "Dawn", "ORDER": "ORD-1"}]
    with pytest.raises(ValidationError, match="control characters"):
        DiscLabel(design="face\r\nCopies=9999")


async def test_client_gets_typed_answers_from_the_agent_app(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with running(config) as raw:
        data, sha = content(5000)
        await upload(raw, data)
        client = AgentClient(name="pub-1", base_url="http://agent", token=TOKEN)
        client._http = raw  # the agent app through its in-process transport
        status = await client.status()
        assert isinstance(status, AgentStatus)
        assert [entry.sha256 for entry in status.cache] == [sha]
        answer = await client.submit(
            JobCreate(
                job_id="JOB-typed",
                content_sha256=sha,
                media="CD-R",
                copies=1,
                label=DiscLabel(merge=[{"TITLE": "T", "COPY": "1 of 1"}]),
                priority=Priority.RUSH,
            )
        )
        assert isinstance(answer, JobOut) and answer.job_id == "JOB-typed"
        assert answer.state in set(JobState)
        assert await client.job("JOB-none") is None
        media = await client.add_media("CD-R", 5)
        assert media.loaded_total == 15  # one blank may already be in a drive


async def test_client_refuses_an_answer_outside_the_contract() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"name": "pub-1", "drives": "many"})

    client = AgentClient(name="pub-1", base_url="http://agent", token=TOKEN)
    client._http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://a")
    with pytest.raises(DeviceUnavailable, match="not a AgentStatus"):
        await client.status()
    await client.close()


def test_heartbeat_intake_keeps_the_reasons(database: Database) -> None:
    report = AgentStatus.model_validate(
        {
            "name": "pub-1",
            "driver": "sim",
            "availability": "online",
            "drives": [{"index": 0}],
            "media": [{"media": "CD-R", "loaded": 3, "write_Bps": 1000}],
            "cache": [],
            "cache_capacity_bytes": 10,
            "cache_free_bytes": 10,
            "reasons": [
                {"reason": "cover-open", "severity": "error", "message": "Close the cover"}
            ],
        }
    )
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="sim",
            address="http://127.0.0.1:9",
            actor="op",
            agent_token="t",
        )
        session.flush()
        store.apply_heartbeat(session, store.get_device(session, "pub-1"), report)
    with database.transaction() as session:
        reasons = store.device_reasons(store.get_device(session, "pub-1"))
    assert [(r.reason, r.severity) for r in reasons] == [
        (DeviceStateReason.COVER_OPEN, ReasonSeverity.ERROR)
    ]
    assert not can_burn(reasons)


def test_driver_names_are_listed_once() -> None:
    from discflow.agent.drivers import DRIVERS

    assert set(DRIVERS) == set(DriverName)
    assert store.DRIVERS == tuple(name.value for name in DriverName)
