"""Admin pages and the ``discflow user create`` command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from discflow.settings import Settings
from discflow.store import Database, Role
from tests.web.pages.conftest import make_user, sign_in


def test_admin_creates_a_user_who_can_sign_in(
    client: TestClient, other_client: TestClient, database: Database
) -> None:
    make_user(database, "ada", Role.ADMIN)
    csrf = sign_in(client, "ada")
    mismatch = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "name": "olga",
            "role": "operator",
            "password": "long enough pw",
            "password_again": "other",
        },
    )
    assert mismatch.status_code == 422 and "the two passwords differ" in mismatch.text
    made = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "name": "olga",
            "role": "operator",
            "password": "long enough pw",
            "password_again": "long enough pw",
        },
    )
    assert made.status_code == 200 and "User olga created" in made.text
    again = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "name": "olga",
            "role": "customer",
            "password": "",
            "password_again": "",
        },
    )
    assert again.status_code == 422 and "already exists" in again.text
    sign_in(other_client, "olga", "long enough pw")
    assert other_client.get("/floor").status_code == 200  # an operator now
    assert other_client.get("/admin").status_code == 403


def test_token_is_shown_once_and_works_on_the_api(client: TestClient, database: Database) -> None:
    make_user(database, "ada", Role.ADMIN)
    make_user(database, "cara")
    csrf = sign_in(client, "ada")
    shown = client.post("/admin/tokens", data={"csrf_token": csrf, "user": "cara", "label": "x"})
    token = re.search(r'id="new-token" class="mono" value="([^"]+)"', shown.text)
    assert token is not None
    assert token.group(1) not in client.get("/admin").text
    api = TestClient(client.app)
    answer = api.get("/api/v1/orders", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert answer.status_code == 200
    token_id = re.search(r'action="/admin/tokens/(\d+)/revoke"', client.get("/admin").text)
    assert token_id is not None
    client.post(f"/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
    answer = api.get("/api/v1/orders", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert answer.status_code == 401


def test_user_create_command(settings: Settings, tmp_path: Path, client: TestClient) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a long password\n")
    env = {
        **os.environ,
        "DISCFLOW_DATA_DIR": str(settings.data_dir),
        "DISCFLOW_DATABASE_URL": settings.resolved_database_url(),
    }
    args = [sys.executable, "-m", "discflow", "user", "create", "--name", "olga"]
    done = subprocess.run(
        [*args, "--role", "operator", "--password-file", str(secret)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "created operator olga" in done.stdout
    sign_in(client, "olga", "a long password")  # the trailing newline is not part of it
    short = tmp_path / "short"
    short.write_text("short")
    refused = subprocess.run(
        [*args[:-1], "nina", "--password-file", str(short)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2 and "at least 10 characters" in refused.stderr
