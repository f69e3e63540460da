"""`discflow demo`: the whole system on one machine, with a sample catalog."""

from discflow.demo._catalog import SAMPLES, ensure_sample_catalog
from discflow.demo._fleet import DeviceSpec, Fleet, MediaSpec, agent_config, free_port

DEMO_DEVICES = (
    DeviceSpec(
        "pub-1",
        "image",
        2,
        {"CD-R": MediaSpec(60, 7_800_000, 3.0, 10), "DVD-R": MediaSpec(30, 21_600_000, 4.0, 5)},
    ),
    DeviceSpec("pub-2", "image", 1, {"CD-R": MediaSpec(25, 5_200_000, 3.0, 10)}),
    DeviceSpec(
        "sim-1",
        "sim",
        4,
        {
            "CD-R": MediaSpec(200, 7_800_000, 30.0, 20),
            "DVD-R": MediaSpec(100, 21_600_000, 45.0, 20),
        },
        options={"time_scale": 0.05},
    ),
)

__all__ = [
    "DEMO_DEVICES",
    "SAMPLES",
    "DeviceSpec",
    "Fleet",
    "MediaSpec",
    "agent_config",
    "ensure_sample_catalog",
    "free_port",
]
