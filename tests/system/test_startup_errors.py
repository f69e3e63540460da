"""A configuration error at start-up is one sentence and a non-zero exit, not a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.utils.processes import DISCFLOW, free_port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_smtp_port_without_mail_domain_is_one_sentence(tmp_path: Path, workers: str) -> None:
    env = {**os.environ, "DISCFLOW_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("DISCFLOW_MAIL_DOMAIN", None)
    done = subprocess.run(
        [*DISCFLOW, "serve", "--port", str(free_port()), "--smtp-port", str(free_port())]
        + ["--workers", workers],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    said = done.stderr.strip()
    assert said.startswith("error: DISCFLOW_SMTP_PORT is set but DISCFLOW_MAIL_DOMAIN is not")
    assert len(said.splitlines()) == 1, said
