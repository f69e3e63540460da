from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from discflow.settings import Settings
from discflow.store import Database
from discflow.web import create_app


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    api_only = settings.model_copy(update={"run_dispatcher": False})
    with TestClient(create_app(api_only, database=database)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
