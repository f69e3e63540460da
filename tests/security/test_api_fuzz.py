"""Schemathesis over both OpenAPI specs (server and agent), in process.

Every operation gets generated requests with and without a valid token; no
answer may be a 5xx, and every documented answer must match its schema. The
apps run against a real database (server) and a real cache folder (agent).
Examples are derandomized so a CI failure reproduces.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from discflow import store
from discflow.agent import create_agent_app, parse_config
from discflow.archive import BlobStore
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.web import create_app
from tests.utils.factories import make_token
from tests.utils.system import ingest_contents

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
AGENT_TOKEN = "dfa_fuzz_agent_token"


@pytest.fixture
def server_app(settings: Settings, database: Database, tmp_path: Path) -> Any:
    ingest_contents(database, BlobStore(settings.archive_dir), tmp_path, sizes=[20_000], seed=1)
    with database.transaction() as session:
        store.register_device(
            session,
            name="pub-1",
            driver="sim",
            address="http://127.0.0.1:9",
            actor="test",
            agent_token=AGENT_TOKEN,
        )
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    app.state.fuzz_token = make_token(database, "otto", Role.OPERATOR)
    return app


def _agent_app(cache: Path) -> Any:
    config = parse_config(
        {
            "name": "fuzz",
            "driver": "sim",
            "token": AGENT_TOKEN,
            "cache_dir": str(cache),
            "cache_bytes": 5_000_000,
            "drives": 1,
            "media": {"CD-R": {"loaded": 5, "write_Bps": 7_800_000, "overhead_s": 0}},
            "driver_options": {"time_scale": 0},
        },
        source="fuzz",
    )
    app = create_agent_app(config)
    app.state.fuzz_token = AGENT_TOKEN
    return app


@pytest.fixture
def agent_app(tmp_path: Path) -> Any:
    return _agent_app(tmp_path / "cache")


# the specs are read once from throw-away apps (no dispatcher: their database is never
# migrated); each test calls an app of its own fixture
_SPEC_DIR = Path(tempfile.mkdtemp(prefix="discflow-fuzz-spec-"))
server = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(Settings(data_dir=_SPEC_DIR, database_url="sqlite://", run_dispatcher=False)),
)
agent = schemathesis.openapi.from_asgi("/openapi.json", _agent_app(_SPEC_DIR / "cache"))


def _run(case: Any, app: Any) -> None:
    token = app.state.fuzz_token
    case.call_and_validate(app=app, checks=CHECKS)  # no token, or whatever was generated
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@server.parametrize()
@FUZZ
def test_server_api_survives_generated_requests(case: Any, server_app: Any) -> None:
    _run(case, server_app)


@agent.parametrize()
@FUZZ
def test_agent_api_survives_generated_requests(case: Any, agent_app: Any) -> None:
    _run(case, agent_app)
