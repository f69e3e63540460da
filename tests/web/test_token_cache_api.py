"""The per-worker principal cache: used, keyed by digest, and emptied by revocations.

Another worker's revocation is simulated by writing the database directly (Core, no
ORM session of this process), as a second API process would."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from discflow.store import (
    REVOKING_EVENTS,
    ApiToken,
    Database,
    Event,
    RevocationWatch,
    hash_token,
    record,
)
from tests.utils.factories import make_content, make_token
from tests.web.conftest import bearer


def _revoke_elsewhere(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(update(ApiToken).values(revoked=True))
        connection.execute(
            insert(Event).values(type="token.revoked", actor="other-worker", message="", data={})
        )


async def test_revocation_in_another_worker_clears_the_cache(database: Database) -> None:
    token = make_token(database, "alice")
    hot = database.hot
    watch = RevocationWatch(hot, REVOKING_EVENTS)
    await watch.check()  # where the task log stands now
    assert (await hot.principal(token)) is not None
    assert hash_token(token) in hot.principals._entries and token not in hot.principals._entries

    _revoke_elsewhere(database)
    # until the watch looks, this worker still trusts its cache (so the cache is used)...
    assert (await hot.principal(token)) is not None
    await watch.check()
    # ...and once it has looked, the token is checked again, and refused
    assert (await hot.principal(token)) is None


async def test_unreadable_task_log_empties_the_cache(database: Database) -> None:
    token = make_token(database, "alice")
    hot = database.hot
    watch = RevocationWatch(hot, ("token.revoked",))
    await watch.check()
    assert (await hot.principal(token)) is not None

    async def broken(_types: object) -> int:
        raise ConnectionError("database down")

    hot.backend.newest_event_id = broken  # type: ignore[method-assign]
    try:
        await watch.check()
    except ConnectionError:
        pass
    assert len(hot.principals) == 0


def test_revocation_recorded_here_clears_at_commit(client: TestClient, database: Database) -> None:
    token = make_token(database, "alice")
    content = make_content(database, "Alpha", 600_000_000)
    assert client.get(f"/api/v1/contents/{content}", headers=bearer(token)).status_code == 200
    assert len(database.hot.principals) == 1
    with database.transaction() as session:
        session.execute(update(ApiToken).values(revoked=True))
        record(session, "token.revoked", "token of alice revoked", actor="admin")
        # not yet committed: the cache still holds the principal
        assert len(database.hot.principals) == 1
    answer = client.get(f"/api/v1/contents/{content}", headers=bearer(token))
    assert answer.status_code == 401 and "unknown or revoked" in answer.json()["detail"]


def test_a_rolled_back_revocation_keeps_the_cache(database: Database) -> None:
    token = make_token(database, "alice")
    cache = database.hot.principals
    cache.put(hash_token(token), object())  # type: ignore[arg-type]
    try:
        with database.transaction() as session:
            record(session, "token.revoked", "changed my mind", actor="admin")
            session.flush()
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert len(cache) == 1
