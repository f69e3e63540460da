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
from discflow.protocol import DriverName

# keyed by the contract's names (a StrEnum: looking up a plain str works)
DRIVERS: dict[str, DriverSpec] = {
    DriverName.IMAGE: DriverSpec(ImageDriver, ImageOptions, "ISO image files per drive folder"),
    DriverName.XORRISO: DriverSpec(
        XorrisoDriver, XorrisoOptions, "real drives or stdio: via xorriso"
    ),
    DriverName.PTBURN: DriverSpec(PTBurnDriver, PTBurnOptions, "Primera PTBurn hot folder"),
    DriverName.TDBRIDGE: DriverSpec(TDBridgeDriver, TDBridgeOptions, "Epson TD Bridge hot folder"),
    DriverName.SIM: DriverSpec(SimDriver, SimOptions, "timing model, writes nothing"),
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
