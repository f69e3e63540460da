import pytest

from discflow.labels import LabelTooSmall
from discflow.labels._fonts import missing_glyphs, runs, text_width
from discflow.labels._text import block_height, fit_block, fit_line, wrap


def test_short_lines_keep_the_largest_size() -> None:
    fitted = fit_block(["Jane Doe", "1 Main St"], width=200, height=60, max_size=10, min_size=5)
    assert fitted.size == 10
    assert fitted.lines == ("Jane Doe", "1 Main St")


def test_long_line_shrinks_before_it_wraps() -> None:
    line = "1234 Extraordinarily Long Boulevard Name Extension, Bldg 5"
    fitted = fit_block(["Jane", line], width=180, height=60, max_size=10, min_size=5)
    assert len(fitted.lines) == 2  # shrinking alone was enough
    assert 5 <= fitted.size < 10
    assert text_width(line, fitted.size) <= 180


def test_wraps_when_shrinking_is_not_enough_and_every_line_fits() -> None:
    line = "Extraordinarily long street name " * 3
    fitted = fit_block(["Jane", line.strip()], width=120, height=80, max_size=10, min_size=6)
    assert len(fitted.lines) > 2
    assert all(text_width(x, fitted.size) <= 120 for x in fitted.lines)
    assert block_height(len(fitted.lines), fitted.size) <= 80
    assert " ".join(fitted.lines[1:]) == line.strip()


def test_japanese_without_spaces_wraps_between_characters() -> None:
    pieces = wrap("東京都千代田区丸の内一丁目九番二号", 12, 60)
    assert len(pieces) > 1
    assert "".join(pieces) == "東京都千代田区丸の内一丁目九番二号"
    assert all(text_width(p, 12) <= 60 for p in pieces)


def test_refuses_instead_of_overflowing() -> None:
    with pytest.raises(LabelTooSmall, match="does not fit"):
        fit_block(["x"] * 30, width=100, height=20, max_size=10, min_size=5)


def test_fit_line_ellipsis_keeps_within_width() -> None:
    size, shown = fit_line("W" * 200, width=100, max_size=8, min_size=6)
    assert size == 6
    assert shown.endswith("…")
    assert text_width(shown, size) <= 100


def test_font_chain_sends_each_script_to_a_font_that_has_it() -> None:
    fonts = {r.font for r in runs("Zürich Москва 東京")}
    assert fonts == {"DiscflowSans", "DiscflowJapanese"}
    assert missing_glyphs("Zürich Москва Αθήνα 東京") == ""
    assert missing_glyphs("서울") == "서울"
