"""DispatcherSettings takes what Settings has from Settings, defaults included."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from discflow.dispatcher import DispatcherSettings, dispatcher_settings
from discflow.settings import Settings


def test_defaults_are_the_settings_defaults() -> None:
    shared = [f.name for f in fields(DispatcherSettings) if f.name in Settings.model_fields]
    assert {"lease_s", "offline_grace_s", "label_sheet", "data_dir"} <= set(shared)
    for name in shared:
        assert getattr(DispatcherSettings(), name) == Settings.model_fields[name].default, name


def test_every_shared_knob_is_carried_over(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, lease_s=7.0, label_mode="batch", max_failed_discs=2)
    carried = dispatcher_settings(settings)
    assert (carried.data_dir, carried.lease_s, carried.label_mode) == (tmp_path, 7.0, "batch")
    assert carried.max_failed_discs == 2
