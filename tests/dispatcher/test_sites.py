"""One planner lease per site, shared among the live dispatchers (dispatcher/_sites.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from discflow import store
from discflow.cli import _register as _register_cli
from discflow.cli import app
from discflow.dispatcher._sites import SiteLeases, site_share
from discflow.errors import InvalidInput
from discflow.settings import Settings
from discflow.store import Database, Role, utcnow
from discflow.web import create_app
from tests.utils.factories import make_token

SITES = ("east", "north", "south", "west")


def _register(database: Database, sites: tuple[str, ...] = SITES) -> None:
    with database.transaction() as session:
        for index, site in enumerate(sites):
            store.register_device(
                session,
                name=f"pub-{index}",
                driver="sim",
                address=f"http://127.0.0.1:{9000 + index}",
                actor="test",
                agent_token=f"dfa_{index}",
                site=site,
            )


def _renew(database: Database, leases: SiteLeases) -> set[str]:
    with database.transaction() as session:
        return leases.renew(session)


@pytest.mark.parametrize(
    ("sites", "alive", "share"), [(4, 1, 4), (4, 2, 2), (4, 3, 2), (4, 4, 1), (3, 2, 2), (1, 5, 1)]
)
def test_a_dispatcher_takes_at_most_its_share_of_the_sites(
    sites: int, alive: int, share: int
) -> None:
    assert site_share(sites, alive) == share


def test_two_dispatchers_split_four_sites_and_one_takes_over_when_the_other_dies(
    database: Database,
) -> None:
    _register(database)
    d1 = SiteLeases(owner="d1", ttl_s=1.0)
    d2 = SiteLeases(owner="d2", ttl_s=1.0)
    assert _renew(database, d1) == set(SITES)  # alone, it plans everything
    assert _renew(database, d2) == set()  # every site is taken: it waits its turn
    assert len(_renew(database, d1)) == 2  # two alive now: it lets two go
    second = _renew(database, d2)
    first = _renew(database, d1)
    assert len(first) == len(second) == 2
    assert first.isdisjoint(second) and first | second == set(SITES)
    # d1 stops renewing (killed): once its leases run out, d2 plans every site
    deadline = time.monotonic() + 5
    while _renew(database, d2) != set(SITES):
        assert time.monotonic() < deadline, "d2 did not take over d1's sites"
        time.sleep(0.2)


def test_listed_sites_are_the_only_ones_taken(database: Database) -> None:
    _register(database)
    pinned = SiteLeases(owner="d1", ttl_s=5.0, sites=["west", "east"])
    spread = SiteLeases(owner="d2", ttl_s=5.0)
    assert _renew(database, pinned) == {"east", "west"}
    assert _renew(database, spread) == {"north", "south"}  # its share of 4 with 2 alive
    assert _renew(database, pinned) == {"east", "west"}


def test_a_stopped_dispatcher_hands_its_sites_over_at_once(database: Database) -> None:
    _register(database, ("east", "west"))
    d1, d2 = SiteLeases(owner="d1", ttl_s=60.0), SiteLeases(owner="d2", ttl_s=60.0)
    assert _renew(database, d1) == {"east", "west"}
    with database.transaction() as session:
        d1.release(session)
    assert _renew(database, d2) == {"east", "west"}


def test_site_names_are_checked(database: Database) -> None:
    with pytest.raises(InvalidInput):
        SiteLeases(owner="d1", ttl_s=5.0, sites=["East Wing"])
    with database.transaction() as session, pytest.raises(InvalidInput):
        store.register_device(
            session,
            name="pub-1",
            driver="sim",
            address="http://127.0.0.1:9000",
            actor="test",
            site="a" * 33,
        )
    _register(database, ("main", "east"))
    with database.transaction() as session:
        assert store.device_sites(session) == ["east", "main"]
        store.move_device(session, "pub-0", site="west", actor="test")
        assert [d.name for d in store.list_devices(session, sites=["west"])] == ["pub-0"]


def test_the_api_registers_and_shows_a_devices_site(settings: Settings, database: Database) -> None:
    operator = make_token(database, "otto", Role.OPERATOR)
    headers = {"Authorization": f"Bearer {operator}"}
    api_only = settings.model_copy(update={"run_dispatcher": False})
    with TestClient(create_app(api_only, database=database)) as client:
        body = {"name": "pub-9", "driver": "sim", "address": "http://127.0.0.1:9009"}
        assert client.post(
            "/api/v1/devices", json={**body, "site": "east"}, headers=headers
        ).is_success
        default = {**body, "name": "pub-8", "address": "http://127.0.0.1:9008"}
        assert client.post("/api/v1/devices", json=default, headers=headers).is_success
        bad = {**body, "name": "pub-7", "site": "East Wing"}
        assert client.post("/api/v1/devices", json=bad, headers=headers).status_code == 422
        listed = client.get("/api/v1/devices", headers=headers).json()
    assert {d["name"]: d["site"] for d in listed} == {"pub-8": "main", "pub-9": "east"}


def test_the_cli_registers_moves_and_lists_sites(database: Database) -> None:
    _register_cli()
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["device", "add", "pub-1", "--driver", "sim", "--address", "http://127.0.0.1:9001"]
        + ["--site", "east"],
    )
    assert added.exit_code == 0, added.output
    assert runner.invoke(app, ["device", "site", "pub-1", "west"]).exit_code == 0
    with database.transaction() as session:
        assert store.get_device(session, "pub-1").site == "west"
    refused = runner.invoke(app, ["device", "site", "pub-1", "West Wing"])
    assert refused.exit_code != 0
    listed = runner.invoke(app, ["device", "list"])
    assert listed.exit_code == 0 and "west" in listed.output


def test_dispatchers_gone_for_an_hour_are_forgotten(database: Database) -> None:
    with database.transaction() as session:
        session.add(
            store.Lease(name="alive:old", owner="old", expires_at=utcnow() - timedelta(hours=2))
        )
        session.add(
            store.Lease(name="alive:recent", owner="r", expires_at=utcnow() - timedelta(minutes=5))
        )
    with database.transaction() as session:
        assert store.announce_dispatcher(session, owner="d1", ttl_s=5) == 1
    with database.transaction() as session:
        names = set(session.scalars(select(store.Lease.name)))
    assert "alive:old" not in names and "alive:recent" in names
