from __future__ import annotations

import logging
import secrets

import typer
import uvicorn

from discflow import store
from discflow.archive import BlobStore
from discflow.cli import app
from discflow.cli._common import console, open_database
from discflow.demo import DEMO_DEVICES, Fleet, ensure_sample_catalog
from discflow.settings import Settings
from discflow.store import Role
from discflow.web import create_app
from discflow.web.pages import set_password


@app.command()
def demo(
    port: int = typer.Option(8000, help="port of the web UI and API"),
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
) -> None:
    """Run server, dispatcher and three devices (two image writers, one simulator)
    with a sample catalog; Ctrl-C stops everything."""
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    database = open_database(settings)
    blobs = BlobStore(settings.archive_dir)
    ids = ensure_sample_catalog(database, blobs, log=console.print)
    url = f"http://{host}:{port}"
    fleet = Fleet(database, settings.data_dir / "demo-agents", server_url=url)
    for spec in DEMO_DEVICES:
        fleet.add(spec)
        fleet.start(spec.name)
    passwords = {"operator": secrets.token_urlsafe(9), "customer": secrets.token_urlsafe(9)}
    with database.transaction() as session:
        staff = store.ensure_user(session, "operator", role=Role.OPERATOR)
        buyer = store.ensure_user(session, "customer", role=Role.CUSTOMER)
        set_password(session, staff, passwords["operator"])
        set_password(session, buyer, passwords["customer"])
        operator = store.create_token(session, staff, label="demo")
        customer = store.create_token(session, buyer, label="demo")
    try:
        fleet.wait_ready()
        console.print(
            f"\n[bold green]discflow demo[/] is up at [link={url}]{url}[/link]"
            f" (API docs: {url}/docs)"
        )
        console.print(f"catalog: {', '.join(ids)}")
        console.print(
            f"finished discs land in {fleet.root}/<device>/discs/drive-N/, each with its "
            "printed face beside it (<disc>.iso.face.pdf: title, order, customer, copy N of M)"
        )
        console.print(
            f"sign in at {url}/ as customer / {passwords['customer']}"
            f"  or  operator / {passwords['operator']}",
            highlight=False,
        )
        console.print(f"customer token: {customer}")
        console.print(f"operator token: {operator}")
        console.print("Ctrl-C stops everything.\n")
        uvicorn.run(
            create_app(settings, database=database), host=host, port=port, log_level="warning"
        )
    finally:
        fleet.stop_all()
        console.print("demo stopped")
