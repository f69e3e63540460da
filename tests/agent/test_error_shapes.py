"""The agent's spec says what it sends: one ``detail`` sentence for every 4xx
(found by schemathesis, tests/security)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from discflow.agent import create_agent_app, parse_config


def test_agent_validation_errors_are_one_sentence(tmp_path: Path) -> None:
    config = parse_config(
        {
            "name": "a",
            "driver": "sim",
            "token": "t0k",
            "cache_dir": str(tmp_path),
            "cache_bytes": 1000,
            "media": {"CD-R": {"loaded": 1, "write_Bps": 1000}},
        },
        source="test",
    )
    with TestClient(create_agent_app(config)) as client:
        spec = client.get("/openapi.json").json()
        assert (
            spec["components"]["schemas"]["HTTPValidationError"]["properties"]["detail"]["type"]
            == "string"
        )
        response = client.post(
            "/v1/jobs", json={"copies": "x"}, headers={"Authorization": "Bearer t0k"}
        )
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], str)
