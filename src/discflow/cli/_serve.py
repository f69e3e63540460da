"""``discflow serve``: the API server, in one process or in a pool of workers.

Invariants:
- The dispatcher runs exactly once per ``serve``: in-process with one worker;
  with ``--workers N > 1`` the workers run only the API and this process starts
  one ``discflow dispatch`` child (restarted if it dies) unless
  ``DISCFLOW_RUN_DISPATCHER=0`` says a dispatcher runs elsewhere.
- Migrations run here once before any worker starts, so workers never race to
  upgrade the schema.
- With several workers ``PROMETHEUS_MULTIPROC_DIR`` is set (and emptied at
  start) before a worker imports prometheus_client, so ``/metrics`` sums them.
- Slow clients cannot hold the server: a connection must finish its request
  headers within ``DISCFLOW_HEADER_TIMEOUT_S`` (uvicorn has no such timeout:
  ``HeaderDeadlineProtocol`` adds it), an idle keep-alive connection closes
  after ``DISCFLOW_KEEP_ALIVE_S``, beyond ``DISCFLOW_MAX_CONNECTIONS`` new
  requests get 503, and one header block may be at most 64 KiB.
- uvicorn's own ``X-Forwarded-For`` handling is off (by default it believes
  127.0.0.1): ``web._security`` believes only ``DISCFLOW_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
import uvicorn

from discflow._header_deadline import HeaderDeadlineProtocol
from discflow.cli import app
from discflow.cli._common import open_database
from discflow.dicom import dicom_service
from discflow.settings import Settings
from discflow.web import FACTORY, create_app

_log = logging.getLogger("discflow.serve")
MAX_HEADER_BYTES = 65_536


def _protocol_for(settings: Settings) -> type[HeaderDeadlineProtocol]:
    HeaderDeadlineProtocol.header_timeout_s = settings.header_timeout_s
    return HeaderDeadlineProtocol


def _limits(settings: Settings) -> dict[str, Any]:
    """What uvicorn needs so that slow or many clients do not hold the server."""
    return {
        "http": _protocol_for(settings),
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "proxy_headers": False,
        "server_header": False,
    }


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
    smtp_port: int | None = typer.Option(
        None, help="also take mail commands on this SMTP port (needs DISCFLOW_MAIL_DOMAIN)"
    ),
    workers: int = typer.Option(
        1, min=1, max=64, help="API worker processes; >1 runs the dispatcher as one child process"
    ),
    access_log: bool = typer.Option(
        # off by default: uvicorn formats and writes a line per call on the event loop,
        # and the metrics (/metrics) already count and time every route
        False,
        help="log each HTTP request (uvicorn's access log)",
    ),
    dicom_port: int | None = typer.Option(
        None, help="also run the DICOM service on this port (or DISCFLOW_DICOM_PORT)"
    ),
) -> None:
    """Run the server (REST API and pages, and mail/DICOM when configured)."""
    settings = Settings()
    with dicom_service(settings, port=dicom_port):  # once per serve, beside every worker
        _serve(settings, host, port, smtp_port, workers, access_log)


def _serve(
    settings: Settings,
    host: str,
    port: int,
    smtp_port: int | None,
    workers: int,
    access_log: bool,
) -> None:
    if smtp_port is not None:
        settings = settings.model_copy(update={"smtp_port": smtp_port})
        os.environ["DISCFLOW_SMTP_PORT"] = str(smtp_port)  # the workers read the environment
    if workers == 1:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            _metrics_dir(settings)  # asked for (e.g. by a unit file): it must exist
        uvicorn.run(
            create_app(settings), host=host, port=port, access_log=access_log, **_limits(settings)
        )
        return
    create_app(settings)  # a configuration error stops here, before any worker starts
    open_database(settings).dispose()  # migrate once, before the workers start
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir(settings))
    os.environ["DISCFLOW_RUN_DISPATCHER"] = "0"  # the workers serve the API only
    with _dispatcher_child(enabled=settings.run_dispatcher):
        uvicorn.run(
            FACTORY,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=access_log,
            **_limits(settings),
        )


def _metrics_dir(settings: Settings) -> Path:
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(given) if given else settings.data_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    # files of an earlier run would add its counts (and dead pids) to this one's
    for stale in folder.glob("*.db"):
        stale.unlink(missing_ok=True)
    return folder


@contextmanager
def _dispatcher_child(*, enabled: bool) -> Iterator[None]:
    """One ``discflow dispatch`` process for the whole pool, restarted if it exits."""
    if not enabled:
        yield
        return
    stopping = threading.Event()
    current: list[subprocess.Popen[bytes]] = []

    def keep_running() -> None:
        while not stopping.is_set():
            # fixed argv: this interpreter running our own module
            command = [sys.executable, "-m", "discflow", "dispatch"]
            child = subprocess.Popen(command)  # nosec B603
            current[:] = [child]
            while child.poll() is None and not stopping.wait(0.5):
                pass
            if not stopping.is_set():
                _log.warning("dispatcher exited with %s; starting it again", child.returncode)
                stopping.wait(2.0)  # no hot loop if it dies at once

    watcher = threading.Thread(target=keep_running, name="dispatcher-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stopping.set()
        watcher.join(timeout=5)
        for child in current:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
