"""Hourly series from the task log: bins, disc deltas, queue replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from discflow import store
from discflow.store import Database
from discflow.web.pages._series import LogEntry, Window, disc_counts, load_charts, queue_lengths

NOW = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)


def test_window_is_24_clock_hours_ending_with_the_current_one() -> None:
    window = Window.ending(NOW)
    assert window.start == datetime(2026, 11, 24, 13, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 25, 13, tzinfo=UTC)
    assert window.index(NOW) == 23
    assert window.index(window.start) == 0
    assert window.index(window.start - timedelta(seconds=1)) is None
    assert window.index(window.end) is None
    assert window.labels()[0] == "13" and window.labels()[-1] == "12"


def _disc(minutes_ago: int, kind: str, job: str, total: int, device: str = "pub-1") -> LogEntry:
    return LogEntry(
        at=NOW - timedelta(minutes=minutes_ago),
        type=f"disc.{kind}",
        job_id=job,
        device=device,
        data={kind: total},
    )


def test_disc_events_count_the_increase_of_each_jobs_running_total() -> None:
    window = Window.ending(NOW)
    entries = [
        _disc(90, "good", "j1", 1),  # 11:00 bin
        _disc(80, "good", "j1", 3),  # +2
        _disc(20, "failed", "j1", 1),  # 12:00 bin, a spoiled blank
        _disc(10, "good", "j2", 2, device="pub-2"),
        _disc(5, "good", "j3", 4),  # j3 had 3 good before the window: +1
    ]
    counts = disc_counts(entries, window, before={("j3", "good"): 3})
    assert counts.good[22] == 3 and counts.good[23] == 3
    assert sum(counts.good) == 6
    assert counts.per_device["pub-1"][22] == 3
    assert counts.per_device["pub-1"][23] == 2  # 1 failed + 1 good
    assert counts.per_device["pub-2"][23] == 2


def test_queue_replays_request_states_to_each_hours_end() -> None:
    window = Window.ending(NOW)
    at = window.start + timedelta(minutes=30)
    entries = [
        LogEntry(at, "request.queued", "r1"),
        LogEntry(at, "request.queued", "r2"),
        LogEntry(at + timedelta(hours=1), "request.assigned", "r1"),
        LogEntry(at + timedelta(hours=1), "request.split", "r2"),  # not a state: ignored
        LogEntry(at + timedelta(hours=2), "request.done", "r1"),
        LogEntry(at + timedelta(hours=2), "request.cancelled", "r2"),
    ]
    waiting, working = queue_lengths(entries, window, now=NOW)
    assert waiting[:4] == [2, 1, 0, 0]
    assert working[:4] == [0, 1, 0, 0]


def test_charts_from_the_store(database: Database) -> None:
    with database.transaction() as session:
        store.record(session, "request.queued", request_id="REQ-1")
        store.record(session, "disc.good", device="pub-1", job_id="J-1", data={"good": 2})
        store.record(session, "disc.failed", device="pub-1", job_id="J-1", data={"failed": 1})
    with database.transaction() as session:
        charts = load_charts(session, store.utcnow())
    assert charts.good[-1] == 2
    assert charts.per_device == {"pub-1": [0] * 23 + [3]}
    assert charts.waiting[-1] == 1 and charts.working[-1] == 0
