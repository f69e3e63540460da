"""Issue #19 item 8 in a real browser: the pages work under their CSP (htmx loads, no
policy violation is reported) and another site cannot frame an operator page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from discflow.store import Database, Role, create_user
from tests.utils.processes import free_port, started
from tests.web.pages.conftest import PASSWORD
from tests.web.pages.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path, database: Database, database_url: str) -> Iterator[str]:
    with database.transaction() as session:
        create_user(session, "otto", role=Role.OPERATOR, password=PASSWORD)
    port = free_port()
    env = {
        "DISCFLOW_DATA_DIR": str(tmp_path / "data"),
        "DISCFLOW_DATABASE_URL": database_url,
        "DISCFLOW_RUN_DISPATCHER": "0",
    }
    base = f"http://127.0.0.1:{port}"
    with started(
        ["serve", "--port", str(port)], env, ready_url=f"{base}/api/v1/health", log=tmp_path / "s"
    ):
        yield base


def test_pages_work_under_the_csp_and_cannot_be_framed(server: str, tmp_path: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            violations: list[str] = []
            page.on(
                "console",
                lambda msg: (
                    violations.append(msg.text) if "Content Security Policy" in msg.text else None
                ),
            )
            page.goto(f"{server}/signin")
            page.fill("input[name=name]", "otto")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/floor")
            for path in ("/floor", "/floor/upload", "/orders", "/catalog"):
                page.goto(f"{server}{path}")
                page.wait_for_load_state("networkidle")
                assert page.evaluate("typeof window.htmx") == "object", path
            assert violations == []

            # another site (a file page here) frames the operator floor: refused
            evil = tmp_path / "evil.html"
            evil.write_text(f'<iframe id="f" src="{server}/floor"></iframe>')
            page.goto(evil.as_uri())
            page.wait_for_timeout(1500)
            frame = page.frame_locator("#f")
            assert frame.locator("text=Pause").count() == 0
            assert frame.locator("form").count() == 0
        finally:
            browser.close()
