from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from discflow.settings import Settings
from discflow.store import Database, Role
from tests.utils.factories import make_token
from tests.web.conftest import bearer


def _xorriso_image(tmp_path: Path) -> bytes:
    """An ISO made by an independent tool, not by discflow."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "hello.txt").write_text("hello from xorriso\n")
    out = tmp_path / "made.iso"
    subprocess.run(
        [
            "xorriso",
            "-outdev",
            f"stdio:{out}",
            "-volid",
            "HELLO",
            "-joliet",
            "on",
            "-map",
            str(tree),
            "/",
            "-commit",
            "-end",
        ],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def test_upload_search_and_ranged_download(
    client: TestClient, database: Database, tmp_path: Path
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    customer = make_token(database, "alice")
    image = _xorriso_image(tmp_path)
    created = client.post(
        "/api/v1/contents",
        params={"title": "Hello Disc", "description": "greetings", "tags": "demo,text"},
        content=image,
        headers={**bearer(operator), "Content-Type": "application/octet-stream"},
    )
    assert created.status_code == 201, created.text
    content = created.json()
    assert content["size_bytes"] == len(image)
    assert content["media"][0] == "mini-CD-R"
    assert content["volume_id"] == "HELLO"

    found = client.get("/api/v1/contents", params={"q": "greet"}, headers=bearer(customer))
    assert [c["id"] for c in found.json()] == [content["id"]]

    url = f"/api/v1/contents/{content['id']}/image"
    assert client.get(url, headers=bearer(customer)).status_code == 403
    whole = client.get(url, headers=bearer(operator))
    assert whole.status_code == 200 and whole.content == image
    part = client.get(url, headers={**bearer(operator), "Range": "bytes=32768-32773"})
    assert part.status_code == 206
    assert part.content == image[32768:32774]  # "\x01CD001": the primary volume descriptor
    assert part.headers["content-range"] == f"bytes 32768-32773/{len(image)}"


def test_customer_cannot_upload_and_junk_is_refused_without_leftovers(
    client: TestClient, database: Database, settings: Settings
) -> None:
    operator = make_token(database, "olga", Role.OPERATOR)
    customer = make_token(database, "alice")
    pdf = b"%PDF-1.7\n" + b"0" * 70_000
    denied = client.post(
        "/api/v1/contents", params={"title": "x"}, content=pdf, headers=bearer(customer)
    )
    assert denied.status_code == 403
    refused = client.post(
        "/api/v1/contents", params={"title": "Not a disc"}, content=pdf, headers=bearer(operator)
    )
    assert refused.status_code == 422
    assert "PDF" in refused.json()["detail"]
    assert client.get("/api/v1/contents", headers=bearer(operator)).json() == []
    leftovers = [p for p in settings.archive_dir.rglob("*") if p.is_file()]
    assert leftovers == []
