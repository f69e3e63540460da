"""A label queued for a printer with a long name (a ``folder:`` printer under a
deep path) is stored whole. (Found by running the dispatcher tests on
PostgreSQL: the old 64-character column refused the row, which rolled back the
request's move to ``done``, so the request could never finish; migration 0006
made the column text.)"""

from __future__ import annotations

from pathlib import Path

from discflow import store
from discflow.domain import Address
from discflow.store import Database, OrderLine, Principal, Role, queue_label
from tests.utils.factories import make_content


def test_long_printer_name_fits_the_queue_row(tmp_path: Path, database: Database) -> None:
    content = make_content(database, "Alpha", 100_000)
    printer = "folder:" + str(tmp_path / ("deep-folder-" * 8) / "labels")
    assert len(printer) > 64
    with database.transaction() as session:
        user = store.ensure_user(session, "cara", role=Role.CUSTOMER)
        placed = store.place_order(
            session,
            Principal(user_id=user.id, name=user.name, role=Role.CUSTOMER),
            [OrderLine(content, "CD-R", 1)],
            Address(name="Ada", lines=("1 Rd",), city="London", postal_code="N1", country="GB"),
        )
        job = queue_label(session, placed.order.requests[0], printer=printer, sheet="4x6")
        session.flush()
        job_id = job.id
    with database.transaction() as session:
        assert session.get(store.PrintJob, job_id).printer == printer  # type: ignore[union-attr]
