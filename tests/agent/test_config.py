from __future__ import annotations

from pathlib import Path

import pytest

from discflow.agent import load_config
from discflow.errors import ConfigError

GOOD = """
name = "pub-1"
driver = "image"
listen = "127.0.0.1:8101"
token = "secret"
cache_dir = "cache"
cache_bytes = 50_000_000_000
drives = 2

[media.CD-R]
loaded = 100
write_Bps = 7_800_000

[driver_options]
output_dir = "discs"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_the_documented_example_loads_with_paths_beside_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.cache_dir == tmp_path.resolve() / "cache"
    assert config.driver_options["output_dir"] == str(tmp_path.resolve() / "discs")
    assert config.media["CD-R"].loaded == 100
    assert config.port == 8101


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\nbroken = = 3\n")
    with pytest.raises(ConfigError, match=r"agent\.toml: not valid TOML"):
        load_config(path)


def test_a_wrong_value_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("write_Bps = 7_800_000", 'write_Bps = "fast"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert "media.CD-R.write_Bps" in str(info.value)


def test_unknown_driver_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('driver = "image"', 'driver = "lightscribe"'))
    with pytest.raises(ConfigError, match=r"key 'driver'.*lightscribe.*image.*ptburn"):
        load_config(path)


def test_unknown_media_and_misspelt_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HD-DVD"):
        load_config(write(tmp_path, GOOD.replace("[media.CD-R]", "[media.HD-DVD]")))
    with pytest.raises(ConfigError, match="key 'cache_byte'"):
        load_config(write(tmp_path, GOOD.replace("cache_bytes", "cache_byte")))


def test_driver_options_are_checked_by_the_driver(tmp_path: Path) -> None:
    text = GOOD.replace('driver = "image"', 'driver = "ptburn"')
    with pytest.raises(ConfigError, match=r"driver_options\.jobs_dir"):
        load_config(write(tmp_path, text))


def test_a_token_source_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="key 'token'"):
        load_config(write(tmp_path, GOOD.replace('token = "secret"\n', "")))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")
