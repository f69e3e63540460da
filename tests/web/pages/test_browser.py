"""The pages in a real browser (Debian's headless Chromium) against a real system.

``discflow serve`` (with its in-process dispatcher) and one ``image`` agent run
as separate processes on loopback; the agent writes real ISO files. The
customer and the operator each drive their own browser context, side by side:
the operator watches the dashboard update while the customer's order burns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import text

from discflow import store
from discflow.archive import BlobStore
from discflow.demo import DeviceSpec, Fleet, MediaSpec
from discflow.store import Database, Role, create_user
from tests.conftest import TEST_DATABASE_URL
from tests.utils.processes import free_port, started

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
# CD-R starts two blanks above the low threshold: a 2-copy order crosses it
DEVICE = DeviceSpec(
    "pub-1",
    "image",
    2,
    {"CD-R": MediaSpec(12, 50_000_000, 0.0, 10), "DVD-R": MediaSpec(30, 80_000_000, 0.0, 5)},
    heartbeat_s=0.5,
)


@dataclass
class System:
    base: str
    database: Database
    tmp: Path
    order_id: str = ""
    # each user signs in through the form once; later contexts reuse the cookie
    signed_in: dict[str, Any] = field(default_factory=dict)


def _database_url(tmp: Path, request: pytest.FixtureRequest) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp / 'discflow.db'}"
    url: str = request.getfixturevalue("postgres_url")
    reset = Database(url)
    with reset.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    reset.dispose()
    return url


def _catalog(database: Database, blobs: BlobStore, tmp: Path) -> None:
    for title, tags, body in (
        ("Dawn Chorus Field Recordings", ("audio", "nature"), "birdsong at first light\n"),
        ("Council Minutes 1950-1959", ("archive", "scans"), "minutes of the council\n"),
    ):
        tree = tmp / "src" / title.split()[0]
        tree.mkdir(parents=True)
        (tree / "README.TXT").write_text(body * 2000)
        stored = blobs.ingest_directory(tree, volume_name=title.split()[0].upper())
        with database.transaction() as session:
            store.add_content(
                session,
                title=title,
                description=body.strip().capitalize() + ".",
                tags=tags,
                sha256=stored.sha256,
                size_bytes=stored.size_bytes,
                volume_id=stored.volume_id,
                filesystems=list(stored.filesystems),
            )


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("browser")
    url = _database_url(tmp, request)
    data = tmp / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = Database(url)
    database.migrate()
    _catalog(database, BlobStore(data / "archive"), tmp)
    with database.transaction() as session:
        create_user(session, "cara", role=Role.CUSTOMER, password=PASSWORD)
        create_user(session, "carl", role=Role.CUSTOMER, password=PASSWORD)
        create_user(session, "otto", role=Role.OPERATOR, password=PASSWORD)
    env = {"DISCFLOW_DATA_DIR": str(data), "DISCFLOW_DATABASE_URL": url}
    fleet = Fleet(database, tmp / "agents", server_url=base)
    with started(
        ["serve", "--port", str(port)],
        env,
        ready_url=f"{base}/api/v1/health",
        log=tmp / "serve.log",
    ):
        fleet.add(DEVICE)
        fleet.start(DEVICE.name)
        try:
            fleet.wait_ready()
            yield System(base=base, database=database, tmp=tmp)
        finally:
            fleet.stop_all()
            database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _context(browser: Browser, system: System, *, javascript: bool = True) -> BrowserContext:
    context = browser.new_context(
        base_url=system.base,
        viewport={"width": 1280, "height": 900},
        java_script_enabled=javascript,
    )
    context.set_default_timeout(15_000)
    return context


def _as(browser: Browser, system: System, name: str) -> tuple[BrowserContext, Page]:
    """A context signed in as ``name`` (through the form the first time)."""
    context = browser.new_context(
        base_url=system.base,
        viewport={"width": 1280, "height": 900},
        storage_state=system.signed_in.get(name),
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    if name not in system.signed_in:
        _sign_in(page, name)
        system.signed_in[name] = context.storage_state()
    return context, page


def _sign_in(page: Page, name: str) -> None:
    page.goto("/signin")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"{name} (")).to_be_visible()


def _cd_r_left(page: Page) -> int:
    count = page.locator('#device-live-pub-1 .bin[data-media="CD-R"] .bin-count')
    return int(count.get_attribute("data-loaded") or "-1")


def test_order_burns_while_operator_watches_media_drop_and_reloads(
    browser: Browser, system: System
) -> None:
    operator, floor = _as(browser, system, "otto")
    customer, shop = _as(browser, system, "cara")
    try:
        floor.goto("/floor")
        expect(floor.locator("#device-pub-1")).to_be_visible()
        expect(floor.locator("#device-live-pub-1 .avail")).to_have_text("idle", timeout=10_000)
        assert _cd_r_left(floor) == 12
        expect(floor.locator('#notices .notice[data-kind="media-low"]')).to_have_count(0)

        shop.goto("/catalog")
        shop.get_by_label("Search").fill("dawn")
        shop.get_by_role("button", name="Search").click()
        expect(shop.locator("#result-count")).to_have_text("1 title")
        expect(shop.locator("#results")).to_contain_text("Dawn Chorus Field Recordings")
        shop.get_by_role("link", name="Order Dawn Chorus Field Recordings").click()
        expect(shop.get_by_label("Content", exact=True)).to_have_value(re.compile("cnt-"))
        shop.get_by_label(re.compile("^Media")).select_option("CD-R")
        shop.get_by_label("Copies").fill("2")
        shop.get_by_label("Recipient").fill("Cara Customer")
        shop.get_by_label("Street and number").fill("1 Main Street")
        shop.get_by_label("Postal code").fill("12345")
        shop.get_by_label("City").fill("Springfield")
        shop.get_by_label("Country").fill("US")
        shop.get_by_label("Save this address for later orders").check()
        shop.get_by_role("button", name="Place order").click()
        expect(shop).to_have_url(re.compile(r"/orders/ORD-"))
        system.order_id = shop.url.rsplit("/", 1)[1]
        # the page updates itself (htmx polling): no reload here
        expect(shop.locator("#order-state")).to_have_text("done", timeout=45_000)
        expect(shop.locator("#requests")).to_contain_text("2 of 2 verified")
        # the customer's timeline in plain words, no event names or devices
        expect(shop.locator("#timeline")).to_contain_text("are made and checked")
        expect(shop.locator("#timeline")).to_contain_text("2 of 2 discs")
        expect(shop.locator("#timeline")).not_to_contain_text("pub-1")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shop.screenshot(path=str(SCREENSHOTS / "order.png"), full_page=True)

        # the operator's dashboard followed along by itself: gauge down, notice up
        expect(floor.locator('#device-live-pub-1 .bin[data-media="CD-R"] .bin-count')).to_have_text(
            "10 left", timeout=15_000
        )
        notice = floor.locator('#notices .notice[data-kind="media-low"]')
        expect(notice).to_have_count(1, timeout=15_000)
        expect(notice).to_contain_text("CD-R into pub-1")
        expect(floor.locator("#queue")).to_contain_text("Nothing waiting")
        floor.reload()  # the charts redraw every 15 s; the picture should show the burn
        expect(notice).to_have_count(1)
        floor.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

        # record the reload through the page; the agent confirms, the notice clears
        floor.locator("#device-pub-1 .media-dialog summary").click()
        floor.locator("#media-pub-1").select_option("CD-R")
        floor.locator("#count-pub-1").fill("50")
        floor.locator("#device-pub-1").get_by_role("button", name="Record").click()
        expect(floor.locator(".flash")).to_contain_text("Recorded: 50 CD-R loaded into pub-1")
        expect(floor.locator('#notices .notice[data-kind="media-low"]')).to_have_count(
            0, timeout=15_000
        )
        # the card shows the reload (a heartbeat counted before it no longer sets the
        # bin back: tests/dispatcher/test_stale_heartbeat.py pins that race down)
        expect(
            floor.locator('#device-live-pub-1 .bin[data-media="CD-R"] .bin-count')
        ).to_have_attribute("data-loaded", "60", timeout=15_000)
    finally:
        operator.close()
        customer.close()


def test_customer_cannot_open_another_customers_order(browser: Browser, system: System) -> None:
    assert system.order_id, "runs after the order test"
    context, page = _as(browser, system, "carl")
    try:
        # the same 404 as an order that does not exist: a guesser learns nothing
        response = page.goto(f"/orders/{system.order_id}")
        assert response is not None and response.status == 404
        expect(page.get_by_role("alert")).to_contain_text(f"no order with id '{system.order_id}'")
        assert page.goto(f"/orders/{system.order_id}/live").status == 404  # type: ignore[union-attr]
        assert page.goto("/floor").status == 403  # type: ignore[union-attr]
    finally:
        context.close()


def test_form_without_csrf_token_is_refused(browser: Browser, system: System) -> None:
    context, page = _as(browser, system, "cara")
    try:
        page.goto("/orders/new")
        # the saved address from the first test is offered and preselected
        expect(page.get_by_label(re.compile("Cara Customer"))).to_be_checked()
        page.locator('form[action="/orders"] input[name="csrf_token"]').evaluate(
            "element => element.remove()"
        )
        page.get_by_label("Copies").fill("1")
        with page.expect_response(re.compile(r"/orders$")) as posted:
            page.get_by_role("button", name="Place order").click()
        assert posted.value.status == 403
        expect(page.get_by_role("alert")).to_contain_text("security token")
        # a script riding the cookie gets nowhere either, on pages or on the API
        refused = page.request.post("/floor/devices/pub-1/pause", form={"x": "1"})
        assert refused.status == 403
        api = page.request.post(f"/api/v1/orders/{system.order_id}/cancel")
        assert api.status == 403
        orders = page.request.get("/api/v1/orders")  # reading with the cookie is fine
        assert orders.status == 200 and len(orders.json()) == 1
    finally:
        context.close()


def test_upload_shows_progress_and_adds_to_catalog(browser: Browser, system: System) -> None:
    blobs = BlobStore(system.tmp / "scratch")
    tree = system.tmp / "upload-src"
    tree.mkdir()
    (tree / "NOTES.TXT").write_text("uploaded through the page\n" * 5000)
    iso = blobs.path_of(blobs.ingest_directory(tree, volume_name="UPLOADED").sha256)
    context, page = _as(browser, system, "otto")
    try:
        page.goto("/floor/upload")
        page.get_by_label("Title").fill("Uploaded Notes")
        page.get_by_label("Tags").fill("notes, upload")
        page.get_by_label("ISO image").set_input_files(str(iso))
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("#upload-done")).to_contain_text("Uploaded Notes", timeout=20_000)
        expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
        page.locator("#upload-done").click()
        expect(page.locator("h1")).to_have_text("Uploaded Notes")
        expect(page.locator("#fits")).to_contain_text("CD-R")
    finally:
        context.close()


def test_pages_read_and_post_with_javascript_off(browser: Browser, system: System) -> None:
    context = _context(browser, system, javascript=False)
    try:
        page = context.new_page()
        _sign_in(page, "cara")
        page.goto("/catalog?q=council")
        expect(page.locator("#results")).to_contain_text("Council Minutes 1950-1959")
        page.get_by_role("link", name="Order Council Minutes 1950-1959").click()
        page.get_by_label(re.compile("^Media")).select_option("DVD-R")
        page.get_by_role("button", name="Place order").click()  # the saved address
        expect(page).to_have_url(re.compile(r"/orders/ORD-"))
        expect(page.locator("#requests")).to_contain_text("DVD-R")
        expect(page.locator("#timeline")).to_contain_text("We received your order.")
        page.goto(f"/orders/{system.order_id}")
        expect(page.locator("#order-state")).to_have_text("done")

        operator = browser.new_context(
            base_url=system.base, java_script_enabled=False, storage_state=system.signed_in["otto"]
        )
        floor = operator.new_page()
        floor.goto("/floor")
        expect(floor.locator("#device-pub-1")).to_contain_text("CD-R")
        expect(floor.locator("#device-pub-1 svg.gauge")).to_have_count(2)
        expect(floor.locator("#charts svg.chart")).to_have_count(3)
        floor.goto("/floor/log?type=disc.")
        expect(floor.locator("#log-rows")).to_contain_text("disc.good")
        operator.close()
    finally:
        context.close()
