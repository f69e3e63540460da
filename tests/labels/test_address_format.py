import pytest

from discflow.domain import Address
from discflow.labels import format_address


def addr(country: str, **kw: object) -> Address:
    base: dict[str, object] = {
        "name": "A Person",
        "lines": ("1 Main St",),
        "city": "Town",
        "postal_code": "12345",
        "country": country,
        "region": None,
    }
    base.update(kw)
    return Address(**base)  # type: ignore[arg-type]


def test_us_domestic_city_state_zip_upper_case_without_country() -> None:
    lines = format_address(addr("US", city="Mountain View", region="CA", postal_code="94043"))
    assert lines == ("A Person", "1 Main St", "MOUNTAIN VIEW, CA 94043")


def test_country_line_only_when_crossing_a_border() -> None:
    de = addr("DE", city="Stuttgart", postal_code="70173")
    assert format_address(de, sender_country="US")[-1] == "GERMANY"
    assert format_address(de, sender_country="DE")[-1] == "70173 Stuttgart"


@pytest.mark.parametrize(
    ("country", "city", "postcode", "expected"),
    [
        ("DE", "Stuttgart", "70173", "70173 Stuttgart"),
        ("FR", "Paris", "75018", "75018 PARIS"),
        ("NL", "Amsterdam", "1012 AB", "1012 AB Amsterdam"),
    ],
)
def test_postcode_before_city(country: str, city: str, postcode: str, expected: str) -> None:
    assert expected in format_address(addr(country, city=city, postal_code=postcode))


def test_gb_postcode_on_its_own_line_after_the_town() -> None:
    lines = format_address(addr("GB", city="London", postal_code="NW1 6XE"))
    assert lines[-3:] == ("LONDON", "NW1 6XE", "UNITED KINGDOM")


def test_japanese_script_uses_domestic_order_postcode_first_name_last() -> None:
    jp = addr("JP", name="山田太郎", lines=("千代田1-1",), city="千代田区", postal_code="100-0001",
              region="東京都")  # fmt: skip
    assert format_address(jp) == ("〒100-0001", "東京都千代田区", "千代田1-1", "山田太郎", "JAPAN")


def test_japan_in_latin_script_uses_western_order() -> None:
    jp = addr("JP", name="Taro Yamada", city="Chiyoda-ku", region="Tokyo", postal_code="100-0001")
    assert format_address(jp, sender_country="JP") == (
        "Taro Yamada", "1 Main St", "Chiyoda-ku, Tokyo", "100-0001"
    )  # fmt: skip


def test_russian_postcode_after_city_and_region() -> None:
    ru = addr(
        "RU", name="Иван Петров", city="Москва", region="Московская обл.", postal_code="125075"
    )
    assert format_address(ru, sender_country="RU")[-3:] == ("МОСКВА", "Московская обл.", "125075")


def test_missing_region_leaves_no_stray_comma_or_blank_line() -> None:
    lines = format_address(addr("US", city="Springfield", region=None, postal_code="62701"))
    assert lines[-1] == "SPRINGFIELD 62701"
    assert all(line.strip() for line in lines)


def test_unknown_country_gets_a_generic_block_and_its_code() -> None:
    lines = format_address(addr("ZZ", city="Somewhere"), sender_country="US")
    assert lines == ("A Person", "1 Main St", "Somewhere 12345", "ZZ")
