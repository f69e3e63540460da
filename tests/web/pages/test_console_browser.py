"""The operator's console and the customer's order pages in real Chromium.

The app runs on a loopback port (uvicorn in a thread, no dispatcher) over a
database filled with real records (``floor_scene``); Debian's headless
Chromium drives it. Each test reproduces one defect of issue #18.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from discflow import store
from discflow.domain import DispatchState, RequestState
from discflow.protocol import MediaOut
from discflow.settings import Settings
from discflow.store import Database, Role
from discflow.web import create_app
from tests.utils.factories import make_content
from tests.utils.processes import free_port
from tests.web.pages import floor_scene
from tests.web.pages.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser]

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
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def base_url(settings: Settings, database: Database) -> Iterator[str]:
    app = create_app(settings.model_copy(update={"run_dispatcher": False}), database=database)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _page(browser: Browser, base_url: str, name: str, viewport: dict[str, int] = LAPTOP) -> Page:
    context = browser.new_context(base_url=base_url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/signin")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"{name} (")).to_be_visible()
    return page


def test_busy_floor_fits_a_laptop_screen_and_says_what_to_do(
    browser: Browser, base_url: str, database: Database
) -> None:
    make_user(database, "otto", Role.OPERATOR)
    floor_scene.busy_floor(database)
    page = _page(browser, base_url, "otto")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/floor")
    # what is burning, what is stuck and why, what to do next: all above the fold
    burning = page.locator("#device-live-pub-1 .device-state")
    expect(burning).to_contain_text("burning")
    stuck = page.locator("#device-live-pub-2")
    expect(stuck.locator(".device-state")).to_contain_text("stopped: cover open")
    expect(stuck.locator(".reason-error")).to_contain_text("Close the robot's cover")
    expect(stuck.locator(".ink")).to_contain_text("cyan")
    expect(page.locator("#device-live-sim-1 .device-state")).to_contain_text("needs CD-R")
    expect(page.locator("#floor-summary")).to_contain_text("2 need you")
    expect(page.locator("#device-live-pub-1 .drive-writing")).to_contain_text(
        re.compile(r"ORD-\w+ #1/\d+ .*42% · \d+ (s|min) left")
    )
    todo = page.locator('#notices .notice[data-kind="media-out"][data-device="sim-1"]')
    expect(todo.get_by_role("button", name=re.compile("^Loaded 100"))).to_be_visible()
    assert page.locator("table.jobs tr.job").count() == 20
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "floor-console.png"))
    for selector in (
        "#device-live-pub-1 .device-state",
        "#device-live-pub-2 .reason-error",
        "#device-live-sim-1 .device-state",
        "#notices",
        "#device-live-sim-1 .jobs-box",
    ):
        box = page.locator(selector).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= LAPTOP["height"], selector
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > LAPTOP["width"]:
        print(
            page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 1366)
            .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id)""")
        )
    assert width <= LAPTOP["width"], "the console scrolls sideways"
    assert errors == []  # favicon and all

    # a job's page: its order, discs and what can be done with it
    page.locator("#device-live-pub-2 tr.job").first.get_by_role("link", name="manage").click()
    expect(page.get_by_role("button", name="Move")).to_be_visible()
    expect(page.get_by_label("Move to")).to_contain_text("pub-1")
    page.screenshot(path=str(SCREENSHOTS / "job.png"))
    # the operator's order search
    page.goto("/orders?content=council")
    expect(page.locator("#order-count")).to_contain_text("6 orders")
    page.screenshot(path=str(SCREENSHOTS / "orders.png"))


def test_favicon_answers(browser: Browser, base_url: str, database: Database) -> None:
    make_user(database, "cara")
    page = _page(browser, base_url, "cara")
    answer = page.request.get("/favicon.ico")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in answer.body()


def test_media_loaded_from_the_notice_shows_its_effect_at_once(
    browser: Browser, base_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defects 4 and 5: the confirming page already shows the new count, the notice is
    gone, and the button sits on the notice itself."""
    make_user(database, "otto", Role.OPERATOR)
    floor_scene.busy_floor(database)

    async def agent_accepts(self: object, media: str, count: int) -> MediaOut:
        return MediaOut(media=media, loaded=count, write_Bps=1_000_000, loaded_total=100 + count)

    # the agent's answer is the one boundary not run here (no agent process)
    monkeypatch.setattr("discflow.dispatcher.AgentClient.add_media", agent_accepts)
    page = _page(browser, base_url, "otto")
    page.goto("/floor")
    notice = page.locator('#notices .notice[data-kind="media-out"][data-device="sim-1"]')
    notice.get_by_role("button", name=re.compile("^Loaded 100")).click()
    expect(page.locator(".flash")).to_contain_text("Recorded: 100 CD-R loaded into sim-1")
    # no waiting for a heartbeat: this very page shows it
    count = page.locator('#device-live-sim-1 .bin[data-media="CD-R"] .bin-count')
    assert count.text_content() == "100 left"
    assert page.locator('#notices .notice[data-device="sim-1"][data-media="CD-R"]').count() == 0
    expect(page.locator("#device-live-sim-1 .device-state")).not_to_contain_text("needs CD-R")


def test_order_form_marks_every_missing_field(
    browser: Browser, base_url: str, database: Database
) -> None:
    """Defect 7: all missing fields named with the form's words, marked, and required."""
    make_user(database, "cara")
    make_content(database, "Dawn Chorus", 5_000_000)
    page = _page(browser, base_url, "cara")
    page.goto("/orders/new")
    for label in ("Recipient", "Street and number", "Postal code", "City", re.compile("^Country")):
        expect(page.get_by_label(label)).to_have_attribute("required", "")
    # the browser would stop an empty form; post it as a browser without that check would
    page.evaluate("document.querySelector('form[action=\"/orders\"]').noValidate = true")
    page.get_by_role("button", name="Place order").click()
    alert = page.get_by_role("alert")
    for words in (
        "Recipient is empty",
        "Street and number is empty",
        "Postal code is empty",
        "City is empty",
        "Country is empty",
    ):
        expect(alert).to_contain_text(words)
    assert "ship_to" not in (alert.text_content() or "")
    for label in ("Recipient", "Street and number", "Postal code", "City"):
        expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Address line 2")).not_to_have_attribute("aria-invalid", "true")


def test_customer_reads_plain_words_and_a_reason_while_waiting(
    browser: Browser, base_url: str, database: Database
) -> None:
    """Defects 2 and 11: no paths, event names or devices; why it waits, and a label."""
    make_user(database, "cara")
    content = make_content(database, "Dawn Chorus", 400_000_000)
    floor_scene.heartbeat(database, "pub-2", media={"CD-R": 0})
    order_id, request_id = floor_scene.place(database, "cara", content, copies=2)
    with database.transaction() as session:
        store.record(
            session,
            "label.printed",
            "mailing label printed on folder:/srv/discflow/labels (job ORD-1-L1.pdf)",
            order_id=order_id,
            request_id=request_id,
            data={"printer": "folder:/srv"},
        )
        store.record(
            session,
            "request.assigned",
            "2 copies to pub-2",
            order_id=order_id,
            request_id=request_id,
            device="pub-2",
        )
    page = _page(browser, base_url, "cara")
    page.goto(f"/orders/{order_id}")
    story = page.locator("#timeline")
    expect(story).to_contain_text("We received your order.")
    expect(story).to_contain_text("Shipping label printed.")
    expect(story).to_contain_text("Your 2 discs of “Dawn Chorus” (CD-R): a disc burner was chosen.")
    text = story.text_content() or ""
    for server_word in ("/srv", "folder:", "request.", "order.received", "pub-2", "ORD-1-L1"):
        assert server_word not in text, server_word
    expect(page.locator("#requests .waiting")).to_have_text("waiting for CD-R to be loaded")
    pdf = page.request.get(f"/orders/{order_id}/labels.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_task_log_ids_stay_whole_and_link_to_their_order(
    browser: Browser, base_url: str, database: Database
) -> None:
    """Defect 10: a request id never breaks across lines; disc rows link to the order."""
    make_user(database, "otto", Role.OPERATOR)
    content = make_content(database, "Dawn Chorus", 5_000_000)
    order_id, request_id = floor_scene.place(database, "cara", content)
    floor_scene.heartbeat(database, "pub-1")
    job_id = floor_scene.assign(database, request_id, "pub-1")
    with database.transaction() as session:
        store.record(
            session,
            "disc.good",
            "1 of 5 verified on pub-1 " + "x" * 300,
            request_id=request_id,
            device="pub-1",
            job_id=job_id,
        )
    page = _page(browser, base_url, "otto", viewport={"width": 900, "height": 700})
    page.goto("/floor/log?type=disc.")
    link = page.locator("#log-rows a.log-id", has_text=request_id)
    expect(link).to_have_attribute("href", f"/orders/{order_id}#{request_id}")
    box = link.bounding_box()
    line = page.evaluate(
        "e => parseFloat(getComputedStyle(e).lineHeight) || 20", link.element_handle()
    )
    assert box is not None and box["height"] < 1.6 * line, "the id wrapped"


def test_reprint_says_it_was_queued(browser: Browser, base_url: str, database: Database) -> None:
    """Defect 12: re-printing a label answers with a confirmation."""
    make_user(database, "otto", Role.OPERATOR)
    content = make_content(database, "Dawn Chorus", 5_000_000)
    order_id, _ = floor_scene.place(database, "cara", content)
    page = _page(browser, base_url, "otto")
    page.goto(f"/orders/{order_id}")
    page.get_by_role("button", name="Re-print mailing labels").click()
    expect(page.locator(".flash")).to_contain_text("Re-print queued: 1 mailing label will print")


def test_blank_count_out_of_range_says_the_range(
    browser: Browser, base_url: str, database: Database
) -> None:
    """Defect 8, as an operator types it (the browser's own check switched off)."""
    make_user(database, "otto", Role.OPERATOR)
    floor_scene.heartbeat(database, "pub-1")
    page = _page(browser, base_url, "otto")
    page.goto("/floor")
    page.locator("#device-pub-1 .media-dialog summary").click()
    page.evaluate("document.querySelector('#device-pub-1 .media-form').noValidate = true")
    page.locator("#count-pub-1").fill("-5")
    page.locator("#device-pub-1").get_by_role("button", name="Record").click()
    expect(page.locator(".flash")).to_contain_text(
        "Not recorded: Blanks added: '-5' is not a whole number from 1 to 10000"
    )


def test_partly_made_cancelled_order_reads_so(
    browser: Browser, base_url: str, database: Database
) -> None:
    """Defect 6 on the customer's page: not plain "cancelled" beside 138 of 180."""
    make_user(database, "cara")
    content = make_content(database, "Dawn Chorus", 5_000_000)
    floor_scene.heartbeat(database, "pub-1")
    order_id, request_id = floor_scene.place(database, "cara", content, copies=180)
    job_id = floor_scene.assign(database, request_id, "pub-1", state="running")
    with database.transaction() as session:
        job = session.get(store.Job, job_id)
        assert job is not None
        store.update_job(
            session,
            job,
            state=DispatchState.CANCELLED,
            counts=store.CopyCounts(138, 0, False, False),
        )
        request = store.get_request(session, request_id)
        store.settle_request(session, request, max_failed_discs=5)
        store.transition_request(session, request, RequestState.CANCELLED, reason="by cara")
    page = _page(browser, base_url, "cara")
    page.goto(f"/orders/{order_id}")
    expect(page.locator("#order-state")).to_have_text("partly made")
    expect(page.locator("#requests")).to_contain_text("138 of 180 verified")
