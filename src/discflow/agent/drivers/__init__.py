"""Device drivers behind one typed interface, chosen by name from ``DRIVERS``."""

from discflow.agent.drivers._base import (
    Capabilities,
    DeviceReport,
    DiscReport,
    Driver,
    DriverSettings,
    DriverSpec,
    MediaTiming,
    WriteOrder,
    WriteReport,
)
from discflow.agent.drivers._extract import extract_iso
from discflow.agent.drivers._image import ImageDriver, ImageOptions
from discflow.agent.drivers._ptburn import PTBurnDriver, PTBurnOptions
from discflow.agent.drivers._sim import SimDriver, SimOptions
from discflow.agent.drivers._tdbridge import TDBridgeDriver, TDBridgeOptions
from discflow.agent.drivers._xorriso import XorrisoDriver, XorrisoOptions

DRIVERS: dict[str, DriverSpec] = {
    "image": DriverSpec(ImageDriver, ImageOptions, "ISO image files per drive folder"),
    "xorriso": DriverSpec(XorrisoDriver, XorrisoOptions, "real drives or stdio: via xorriso"),
    "ptburn": DriverSpec(PTBurnDriver, PTBurnOptions, "Primera PTBurn hot folder"),
    "tdbridge": DriverSpec(TDBridgeDriver, TDBridgeOptions, "Epson TD Bridge hot folder"),
    "sim": DriverSpec(SimDriver, SimOptions, "timing model, writes nothing"),
}


def create_driver(name: str, settings: DriverSettings) -> Driver:
    """Build the driver registered under ``name`` (names were checked by the config)."""
    return DRIVERS[name].factory(settings)


__all__ = [
    "DRIVERS",
    "Capabilities",
    "DeviceReport",
    "DiscReport",
    "Driver",
    "DriverSettings",
    "DriverSpec",
    "MediaTiming",
    "WriteOrder",
    "WriteReport",
    "create_driver",
    "extract_iso",
]
