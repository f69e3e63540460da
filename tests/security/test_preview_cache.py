"""Issue #19 item 14: the disc-label preview ran ``pdftoppm`` per request (55 ms each,
uncached): a signed-in client could keep the server's CPU busy. Cached by layout
(content, design, merge fields) and resolution now."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from discflow.labels import _disc
from discflow.settings import Settings
from discflow.store import Database, Role, create_user
from discflow.web import create_app
from tests.utils.factories import make_content
from tests.web.pages.conftest import PASSWORD, sign_in


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    with TestClient(app) as test_client:
        yield test_client


def test_a_repeated_preview_runs_no_new_pdftoppm(client: TestClient, database: Database) -> None:
    with database.transaction() as session:
        create_user(session, "cara", role=Role.CUSTOMER, password=PASSWORD)
    sign_in(client, "cara")
    first_id = make_content(database, "Dawn Chorus", 100_000_000)
    other_id = make_content(database, "Night Sounds", 100_000_000)
    _disc._rasterise.cache_clear()
    first = client.get(f"/catalog/{first_id}/disc-label.png")
    assert first.status_code == 200 and first.content.startswith(b"\x89PNG")
    for _ in range(20):
        again = client.get(f"/catalog/{first_id}/disc-label.png")
        assert again.content == first.content
    other = client.get(f"/catalog/{other_id}/disc-label.png")
    assert other.content != first.content
    info = _disc._rasterise.cache_info()
    assert (info.misses, info.hits) == (2, 20)
