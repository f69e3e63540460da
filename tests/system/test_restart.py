"""The server keeps every order and event across a restart of its process."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.utils.factories import address
from tests.utils.processes import free_port, run_cli, started


def test_order_survives_server_restart(tmp_path: Path, database_url: str) -> None:
    env = {
        "DISCFLOW_DATA_DIR": str(tmp_path / "data"),
        "DISCFLOW_DATABASE_URL": database_url,
        # no devices here: without a dispatcher nothing but the restart changes the order
        "DISCFLOW_RUN_DISPATCHER": "0",
    }
    tree = tmp_path / "album"
    (tree / "tracks").mkdir(parents=True)
    (tree / "tracks" / "01.txt").write_text("side A\n")
    (tree / "README.txt").write_text("liner notes\n")
    content_id = run_cli(["content", "add", str(tree), "--title", "Liner Notes"], env)
    content_id = content_id.strip().splitlines()[-1]
    token = run_cli(["token", "create", "--role", "customer", "--user", "carol"], env)
    headers = {"Authorization": f"Bearer {token.strip().splitlines()[-1]}"}

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port)]
    with started(serve, env, ready_url=f"{base}/api/v1/health", log=tmp_path / "serve.log"):
        created = httpx.post(
            f"{base}/api/v1/orders",
            headers=headers,
            json={
                "requests": [
                    {"content_id": content_id, "media": m, "copies": n}
                    for m, n in (("CD-R", 1), ("DVD-R", 2), ("CD-R", 3))
                ],
                "ship_to": address(),
            },
        )
        assert created.status_code == 201, created.text
        order = created.json()
        log = httpx.get(
            f"{base}/api/v1/events", params={"order_id": order["id"]}, headers=headers
        ).json()
        assert [e["type"] for e in log] == ["order.received"] + ["request.queued"] * 3

    with started(serve, env, ready_url=f"{base}/api/v1/health", log=tmp_path / "serve.log"):
        again = httpx.get(f"{base}/api/v1/orders/{order['id']}", headers=headers).json()
        assert again == order
        log_again = httpx.get(
            f"{base}/api/v1/events", params={"order_id": order["id"]}, headers=headers
        ).json()
        assert log_again == log
