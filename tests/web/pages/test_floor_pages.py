"""The operator's floor pages in process: cards, gauges, queue, notices, actions, task log."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from discflow import store
from discflow.archive import BlobStore
from discflow.protocol import AgentStatus
from discflow.store import Database, Notice, Role
from tests.utils.factories import address, make_content, make_token
from tests.web.pages.conftest import make_user, sign_in


def _device(database: Database, *, loaded: int = 8) -> None:
    with database.transaction() as session:
        device, _ = store.register_device(
            session, name="pub-1", driver="image", address="http://127.0.0.1:9", actor="t"
        )
        session.flush()
        report = AgentStatus.model_validate(
            {
                "name": "pub-1",
                "driver": "image",
                "availability": "busy",
                "drives": [
                    {"index": 0, "state": "writing", "progress": 0.42},
                    {"index": 1, "state": "verifying"},
                ],
                "media": [
                    {"media": "CD-R", "loaded": loaded, "write_Bps": 1, "low_threshold": 10},
                    {"media": "DVD-R", "loaded": 40, "write_Bps": 1, "low_threshold": 5},
                ],
                "cache": [],
                "cache_capacity_bytes": 1_000_000,
                "cache_free_bytes": 250_000,
            }
        )
        store.apply_heartbeat(session, store.get_device(session, "pub-1"), report)
        store.raise_notice(
            session, "media-low", "Load 100 CD-R into pub-1", device="pub-1", media="CD-R"
        )


def test_customers_may_not_see_the_floor(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    sign_in(client, "cara")
    for url in ("/floor", "/floor/live", "/floor/charts", "/floor/log", "/floor/upload"):
        answer = client.get(url)
        assert answer.status_code == 403, url
        assert "needs the operator role" in answer.text


def test_device_card_shows_drives_gauges_cache_and_notice(
    client: TestClient, database: Database
) -> None:
    make_user(database, "otto", Role.OPERATOR)
    _device(database)
    sign_in(client, "otto")
    page = client.get("/floor").text
    card = page[page.index('id="device-pub-1"') :]
    assert "writing" in card and "42%" in card and "verifying" in card
    assert 'aria-label="CD-R blanks in pub-1: 8 of 100, low at 10"' in card
    assert 'class="gauge gauge-low"' in card and "LOW" in card
    assert "750.0 kB of 1.0 MB used (75%)" in card
    assert "Load 100 CD-R into pub-1" in page
    live = client.get("/floor/live").text
    assert live.count('hx-swap-oob="true"') == 4  # summary, notices, the one device, the queue
    assert client.get("/floor/charts").text.count("<svg") == 3


def test_queue_is_grouped_by_content(client: TestClient, database: Database) -> None:
    make_user(database, "otto", Role.OPERATOR)
    dawn = make_content(database, "Dawn Chorus", 5_000_000)
    minutes = make_content(database, "Council Minutes", 5_000_000)
    cara = make_token(database, "cara")
    for content, copies in ((dawn, 2), (dawn, 3), (minutes, 1)):
        body = {
            "requests": [{"content_id": content, "media": "CD-R", "copies": copies}],
            "ship_to": address(),
        }
        assert (
            client.post(
                "/api/v1/orders", json=body, headers={"Authorization": f"Bearer {cara}"}
            ).status_code
            == 201
        )
    sign_in(client, "otto")
    queue = client.get("/floor").text.split('id="queue"', 1)[1]
    rows = re.findall(r"<tr><td><a [^>]*>([^<]+)</a></td><td>(\d+)</td><td>(\d+)</td>", queue)
    assert rows == [("Dawn Chorus", "2", "5"), ("Council Minutes", "1", "1")]


def test_acknowledge_pause_and_resume_through_forms(client: TestClient, database: Database) -> None:
    make_user(database, "otto", Role.OPERATOR)
    _device(database)
    csrf = sign_in(client, "otto")
    with database.transaction() as session:
        notice_id = session.scalar(select(Notice.id))
    assert client.post(f"/floor/notices/{notice_id}/acknowledge", data={}).status_code == 403
    done = client.post(f"/floor/notices/{notice_id}/acknowledge", data={"csrf_token": csrf})
    assert done.status_code == 200 and "Acknowledged: Load 100 CD-R into pub-1" in done.text
    with database.transaction() as session:
        assert session.get(Notice, notice_id).acknowledged_at is not None  # type: ignore[union-attr]

    paused = client.post("/floor/devices/pub-1/pause", data={"csrf_token": csrf})
    assert "pub-1 paused" in paused.text and "Resume pub-1" in paused.text
    with database.transaction() as session:
        assert store.get_device(session, "pub-1").paused
    client.post("/floor/devices/pub-1/resume", data={"csrf_token": csrf})
    with database.transaction() as session:
        assert not store.get_device(session, "pub-1").paused
        types = [e.type for e in store.list_events(session, store.EventFilter(device="pub-1"))]
    assert "device.paused" in types and "device.resumed" in types


def test_media_loaded_reports_an_unreachable_agent(client: TestClient, database: Database) -> None:
    make_user(database, "otto", Role.OPERATOR)
    _device(database)
    csrf = sign_in(client, "otto")
    answer = client.post(
        "/floor/devices/pub-1/media", data={"csrf_token": csrf, "media": "CD-R", "count": "50"}
    )
    assert "Not recorded: pub-1 has no enrolled agent yet" in answer.text
    typo = client.post(
        "/floor/devices/pub-1/media", data={"csrf_token": csrf, "media": "CD-R", "count": "lots"}
    )
    assert "is not a whole number" in typo.text


def test_task_log_filters(client: TestClient, database: Database) -> None:
    make_user(database, "otto", Role.OPERATOR)
    _device(database)
    make_content(database, "Dawn Chorus", 5_000_000)
    sign_in(client, "otto")

    def rows(**params: str) -> str:
        return client.get("/floor/log", params=params).text.split('id="log-rows"', 1)[1]

    everything = rows()
    assert "content.added" in everything and "device.registered" in everything
    devices = rows(type="device.")
    assert "device.registered" in devices and "content.added" not in devices
    exact = rows(type="notice.media-low")
    assert "notice.media-low" in exact and "device.registered" not in exact
    assert "content.added" not in rows(device="pub-1")
    fragment = client.get("/floor/log", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<tbody id="log-rows"')


def test_upload_form_without_javascript_adds_the_image(
    client: TestClient, database: Database, tmp_path: Path
) -> None:
    make_user(database, "otto", Role.OPERATOR)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "A.TXT").write_text("hello\n" * 1000)
    scratch = BlobStore(tmp_path / "scratch")
    iso = scratch.path_of(scratch.ingest_directory(tree, volume_name="HELLO").sha256)
    csrf = sign_in(client, "otto")
    with iso.open("rb") as image:
        added = client.post(
            "/floor/upload",
            data={"csrf_token": csrf, "title": "Hello Disc", "tags": "a, b"},
            files={"image": ("hello.iso", image, "application/octet-stream")},
        )
    assert added.status_code == 200 and "Added &#39;Hello Disc&#39; to the catalog" in added.text
    assert "<h1>Hello Disc</h1>" in added.text and "HELLO" in added.text
    junk = client.post(
        "/floor/upload",
        data={"csrf_token": csrf, "title": "Junk"},
        files={"image": ("junk.iso", b"not an image" * 100, "application/octet-stream")},
    )
    assert "Not added:" in junk.text
    with database.transaction() as session:
        assert [c.title for c in store.search_contents(session)] == ["Hello Disc"]
