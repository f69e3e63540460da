import pytest

from discflow.domain import MEDIA_TYPES, check_fits, media_fitting, media_type
from discflow.errors import InvalidInput, UnknownMediaType


def test_real_capacities() -> None:
    assert MEDIA_TYPES["CD-R"].capacity_bytes == 737_280_000
    assert MEDIA_TYPES["DVD-R"].capacity_bytes == 4_700_372_992
    assert MEDIA_TYPES["mini-CD-R"].capacity_bytes == 221_184_000
    assert 8_500_000_000 < MEDIA_TYPES["DVD-R-DL"].capacity_bytes < 8_600_000_000
    assert 25_000_000_000 < MEDIA_TYPES["BD-R"].capacity_bytes < 25_100_000_000
    assert MEDIA_TYPES["BD-R-DL"].capacity_bytes == 2 * MEDIA_TYPES["BD-R"].capacity_bytes


@pytest.mark.parametrize("spelling", ["CD-R", "cd-r", " cdr ", "CD_R"])
def test_lookup_forgives_spelling(spelling: str) -> None:
    assert media_type(spelling).name == "CD-R"


def test_unknown_media_lists_the_known_ones() -> None:
    with pytest.raises(UnknownMediaType, match="use one of: CD-R"):
        media_type("LaserDisc")


def test_fitting_media_smallest_first() -> None:
    names = [m.name for m in media_fitting(800_000_000)]
    assert names[0] in {"DVD-R", "DVD+R"}
    assert "CD-R" not in names


def test_too_big_for_media_says_both_sizes() -> None:
    with pytest.raises(InvalidInput, match=r"content 'x' is 5\.1 GB; DVD-R holds 4\.7 GB"):
        check_fits(content_id="x", size_bytes=5_100_000_000, media=media_type("DVD-R"))
