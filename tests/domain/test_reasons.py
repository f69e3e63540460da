"""Device state reasons and priorities: the shared vocabularies."""

from discflow.domain import (
    DeviceReason,
    DeviceStateReason,
    Priority,
    ReasonSeverity,
    can_burn,
)


def test_an_error_that_stops_the_robot_blocks_burning() -> None:
    cover = DeviceReason(DeviceStateReason.COVER_OPEN, ReasonSeverity.ERROR, "cover open")
    assert cover.keyword == "cover-open-error"
    assert cover.blocks_burning
    assert not can_burn([cover])


def test_warnings_and_media_reasons_do_not_block_the_whole_device() -> None:
    ink = DeviceReason(
        DeviceStateReason.MARKER_SUPPLY_LOW, ReasonSeverity.WARNING, "cyan ink 8 %", "cyan"
    )
    empty = DeviceReason(DeviceStateReason.MEDIA_EMPTY, ReasonSeverity.ERROR, "no CD-R", "CD-R")
    assert can_burn([ink, empty])


def test_rush_outranks_normal_outranks_low() -> None:
    assert Priority.RUSH.rank > Priority.NORMAL.rank > Priority.LOW.rank
    assert Priority("rush") is Priority.RUSH
