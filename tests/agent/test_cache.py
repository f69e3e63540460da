"""The content cache over real HTTP bodies: hash checks, resume, capacity, eviction."""

from __future__ import annotations

from pathlib import Path

from discflow.agent import ContentCache

from .conftest import content, make_config, running, upload


async def test_upload_is_hashed_and_listed_in_status(tmp_path: Path) -> None:
    data, sha = content(300_000)
    async with running(make_config(tmp_path)) as client:
        await upload(client, data)
        status = (await client.get("/v1/status")).json()
        assert [e["sha256"] for e in status["cache"]] == [sha]
        assert status["cache"][0]["size_bytes"] == 300_000
        assert status["cache_free_bytes"] == 50_000_000 - 300_000
        assert (await client.head(f"/v1/cache/{sha}")).headers["content-length"] == "300000"
    assert (tmp_path / "cache" / "objects" / sha).read_bytes() == data


async def test_wrong_hash_is_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    data, _ = content(10_000)
    _, other = content(10_000, seed=2)
    async with running(make_config(tmp_path)) as client:
        response = await client.put(f"/v1/cache/{other}", content=data)
        assert response.status_code == 422
        assert "hash to" in response.json()["detail"]
        assert (await client.get("/v1/status")).json()["cache"] == []
        assert (await client.head(f"/v1/cache/{other}")).headers["upload-offset"] == "0"


async def test_truncated_upload_resumes_from_the_bytes_held(tmp_path: Path) -> None:
    data, sha = content(9_000_000)
    cut = 5_000_000
    async with running(make_config(tmp_path)) as client:

        async def first_part():  # the client dies after `cut` bytes
            for i in range(0, cut, 1_000_000):
                yield data[i : i + 1_000_000]

        response = await client.put(
            f"/v1/cache/{sha}", content=first_part(), headers={"Content-Length": str(len(data))}
        )
        assert response.status_code == 422
        assert "resume" in response.json()["detail"]
        partial = (await client.get(f"/v1/cache/{sha}/partial")).json()
        held = partial["received_bytes"]
        assert partial == {
            "sha256": sha,
            "complete": False,
            "received_bytes": held,
            "total_bytes": len(data),
        }
        assert 0 < held <= cut
        # resuming from the wrong offset is refused with the right one
        wrong = await client.put(
            f"/v1/cache/{sha}",
            content=data[1:],
            headers={"Content-Range": f"bytes 1-{len(data) - 1}/{len(data)}"},
        )
        assert wrong.status_code == 409
        assert wrong.headers["upload-offset"] == str(held)
        done = await client.put(
            f"/v1/cache/{sha}",
            content=data[held:],
            headers={"Content-Range": f"bytes {held}-{len(data) - 1}/{len(data)}"},
        )
        assert done.status_code == 201, done.text
        assert (await client.get(f"/v1/cache/{sha}/partial")).json()["complete"] is True
    assert (tmp_path / "cache" / "objects" / sha).read_bytes() == data


async def test_upload_over_capacity_is_refused_with_the_numbers(tmp_path: Path) -> None:
    config = make_config(tmp_path, cache_bytes=1_000_000)
    big, sha = content(1_500_000)
    async with running(config) as client:
        response = await client.put(f"/v1/cache/{sha}", content=big)
        assert response.status_code == 507
        assert "free of" in response.json()["detail"]
        assert "DELETE" in response.json()["detail"]


async def test_delete_evicts_but_not_while_a_job_uses_it(tmp_path: Path) -> None:
    data, sha = content(100_000)
    config = make_config(tmp_path, driver="sim", driver_options={"time_scale": 10.0})
    async with running(config) as client:
        await upload(client, data)
        job = {"job_id": "j1", "content_sha256": sha, "media": "CD-R", "copies": 1}
        assert (await client.post("/v1/jobs", json=job)).status_code == 201
        refused = await client.delete(f"/v1/cache/{sha}")
        assert refused.status_code == 409
        assert "cancel" in refused.json()["detail"]
        await client.post("/v1/jobs/j1/cancel")
        assert (await client.delete(f"/v1/cache/{sha}")).status_code == 204
        assert (await client.get("/v1/status")).json()["cache"] == []
        assert (await client.delete(f"/v1/cache/{sha}")).status_code == 404


async def test_index_survives_a_restart_and_partials_stay_resumable(tmp_path: Path) -> None:
    data, sha = content(50_000)
    cache = ContentCache(tmp_path / "c", capacity=10**9)
    (tmp_path / "c" / "objects" / sha).write_bytes(data)
    (tmp_path / "c" / "partial" / f"{'a' * 64}.part").write_bytes(b"x" * 10)
    (tmp_path / "c" / "partial" / f"{'a' * 64}.json").write_text('{"total": 100}')
    cache.close()
    again = ContentCache(tmp_path / "c", capacity=10**9)
    assert [(e.sha256, e.size_bytes) for e in again.entries()] == [(sha, 50_000)]
    held = again.partial("a" * 64)
    assert held is not None and (held.received, held.total) == (10, 100)
    assert again.used_bytes == 50_000 + 100  # the partial keeps its reservation
    again.close()


async def test_requests_without_the_token_are_refused(tmp_path: Path) -> None:
    async with running(make_config(tmp_path)) as client:
        response = await client.get("/v1/status", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert (await client.get("/v1/health", headers={"Authorization": ""})).status_code == 200
