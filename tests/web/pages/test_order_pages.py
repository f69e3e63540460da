"""Customer pages in process: catalog filters, the order form, saved addresses, visibility."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from discflow.store import Database, Order
from tests.utils.factories import make_content
from tests.web.pages.conftest import make_user, sign_in

NEW_ADDRESS = {
    "ship": "new",
    "name": "Cara Customer",
    "line1": "1 Main Street",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "us",
}


def _orders(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


def test_catalog_search_and_filters(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    make_content(database, "Dawn Chorus", 5_000_000, tags=("audio",))
    make_content(database, "Training Videos", 800_000_000, tags=("video",))
    sign_in(client, "cara")
    assert "1 title" in client.get("/catalog", params={"q": "daw"}).text
    by_media = client.get("/catalog", params={"media": "CD-R"}).text
    assert "Dawn Chorus" in by_media and "Training Videos" not in by_media
    by_tag = client.get("/catalog", params={"tag": "video"}).text
    assert "Training Videos" in by_tag and "Dawn Chorus" not in by_tag
    odd = client.get("/catalog", params={"media": "LaserDisc"}).text
    assert "Unknown media type &#39;LaserDisc&#39; ignored." in odd and "2 titles" in odd


def test_order_form_offers_only_media_the_content_fits(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    big = make_content(database, "Training Videos", 800_000_000)
    sign_in(client, "cara")
    form = client.get("/orders/new", params={"content": big}).text
    media = re.search(r'<select id="media".*?</select>', form, flags=re.S)
    assert media is not None
    assert ">DVD-R<" in media.group(0) and ">CD-R<" not in media.group(0)
    fragment = client.get("/orders/new/media", params={"content_id": big}).text
    assert ">CD-R<" not in fragment and ">BD-R<" in fragment
    detail = client.get(f"/catalog/{big}").text
    assert "Too large for: CD-R, mini-CD-R" in detail or "Too large for: mini-CD-R, CD-R" in detail


def test_a_hand_edited_form_gets_a_readable_refusal(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    big = make_content(database, "Training Videos", 800_000_000)
    csrf = sign_in(client, "cara")
    data = {"csrf_token": csrf, "content_id": big, "media": "CD-R", "copies": "2", **NEW_ADDRESS}
    answer = client.post("/orders", data=data)
    assert answer.status_code == 422
    assert "is 800.0 MB; CD-R holds 737.3 MB" in answer.text
    assert 'value="Cara Customer"' in answer.text  # what was typed is kept
    bad_copies = client.post("/orders", data={**data, "media": "DVD-R", "copies": "two"})
    assert bad_copies.status_code == 422 and "whole number" in bad_copies.text
    assert _orders(database) == 0


def test_saved_address_is_offered_and_stays_private(
    client: TestClient, other_client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    make_user(database, "carl")
    content = make_content(database, "Dawn Chorus", 5_000_000)
    csrf = sign_in(client, "cara")
    first = client.post(
        "/orders",
        data={
            "csrf_token": csrf,
            "content_id": content,
            "media": "CD-R",
            "copies": "2",
            "save_address": "yes",
            "address_label": "Home",
            **NEW_ADDRESS,
        },
        follow_redirects=False,
    )
    assert first.status_code == 303
    form = client.get("/orders/new").text
    saved = re.search(r'name="ship" value="(\d+)" checked', form)
    assert saved is not None and "Home: Cara Customer, 1 Main Street" in form
    second = client.post(
        "/orders",
        data={
            "csrf_token": csrf,
            "content_id": content,
            "media": "CD-R",
            "copies": "1",
            "ship": saved.group(1),
        },
        follow_redirects=False,
    )
    assert second.status_code == 303
    page = client.get(second.headers["location"]).text
    assert "Cara Customer, 1 Main Street, 12345 Springfield, US" in page

    carl_csrf = sign_in(other_client, "carl")
    stolen = other_client.post(
        "/orders",
        data={
            "csrf_token": carl_csrf,
            "content_id": content,
            "media": "CD-R",
            "copies": "1",
            "ship": saved.group(1),
        },
    )
    assert stolen.status_code == 422 and "not yours" in stolen.text
    assert _orders(database) == 2
    # and carl sees none of cara's orders, nor any of them by id
    assert "ORD-" not in other_client.get("/orders").text
    order_id = first.headers["location"].rsplit("/", 1)[1]
    # another customer's order reads exactly like one that does not exist
    made_up = "ORD-0000000000"
    for suffix, method in (("", "get"), ("/live", "get"), ("/labels.pdf", "get")):
        refused = getattr(other_client, method)(f"/orders/{order_id}{suffix}")
        missing = getattr(other_client, method)(f"/orders/{made_up}{suffix}")
        assert refused.status_code == missing.status_code == 404, suffix
        assert "belongs to another customer" not in refused.text
        assert refused.text.replace(order_id, made_up) == missing.text
    cancel = other_client.post(f"/orders/{order_id}/cancel", data={"csrf_token": carl_csrf})
    assert cancel.status_code == 404


def test_order_page_polls_until_final_and_cancel_works(
    client: TestClient, database: Database
) -> None:
    make_user(database, "cara")
    content = make_content(database, "Dawn Chorus", 5_000_000)
    csrf = sign_in(client, "cara")
    placed = client.post(
        "/orders",
        data={
            "csrf_token": csrf,
            "content_id": content,
            "media": "CD-R",
            "copies": "1",
            **NEW_ADDRESS,
        },
        follow_redirects=False,
    )
    url = placed.headers["location"]
    page = client.get(url).text
    assert 'hx-trigger="every 2s"' in page and 'http-equiv="refresh"' in page
    # the customer reads plain words, not the task log's event names
    assert "We received your order." in page and "waiting for a free disc burner" in page
    assert "request.queued" not in page and "order.received" not in page
    assert client.post(f"{url}/cancel", data={}).status_code == 403  # no token, no change
    done = client.post(f"{url}/cancel", data={"csrf_token": csrf})
    assert done.status_code == 200 and "cancelled" in done.text
    live = client.get(f"{url}/live").text
    assert "hx-trigger" not in live  # final: polling stops
    assert 'id="order-state">cancelled<' in live


def test_order_page_holds_and_releases(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    content = make_content(database, "Dawn Chorus", 5_000_000)
    csrf = sign_in(client, "cara")
    placed = client.post(
        "/orders",
        data={"csrf_token": csrf, "content_id": content, "media": "CD-R", "copies": "1",
              **NEW_ADDRESS},
        follow_redirects=False,
    )  # fmt: skip
    url = placed.headers["location"]
    page = client.get(url).text
    assert 'id="hold"' in page and 'id="release"' not in page
    assert client.post(f"{url}/hold", data={}).status_code == 403  # no token, no change
    held = client.post(f"{url}/hold", data={"csrf_token": csrf})
    assert held.status_code == 200 and "nothing more of this order is planned" in held.text
    live = client.get(f"{url}/live").text
    assert 'id="order-state">held<' in live and "on hold: held by cara" in live
    assert 'id="release"' in live and 'id="hold"' not in live
    assert "The order is on hold" in live  # the customer's story says it in words
    released = client.post(f"{url}/release", data={"csrf_token": csrf})
    assert released.status_code == 200 and "back in the queue" in released.text
    assert 'id="order-state">queued<' in client.get(f"{url}/live").text
    again = client.post(f"{url}/release", data={"csrf_token": csrf})
    assert again.status_code == 409 and "nothing of it is held" in again.text


def test_content_page_previews_the_disc_face(client: TestClient, database: Database) -> None:
    make_user(database, "cara")
    content_id = make_content(database, "Dawn Chorus", 5_000_000)
    sign_in(client, "cara")
    page = client.get(f"/catalog/{content_id}").text
    assert f'src="/catalog/{content_id}/disc-label.png"' in page
    image = client.get(f"/catalog/{content_id}/disc-label.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and len(image.content) > 2_000
    # a 120 mm disc at 72 dpi is about 340 pixels square
    width, height = int.from_bytes(image.content[16:20]), int.from_bytes(image.content[20:24])
    assert 320 <= width <= 360 and width == height
