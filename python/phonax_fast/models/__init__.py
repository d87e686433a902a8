"""Energy models (NequIP, MACE) as pure functions of (params, graph), and their files."""

from __future__ import annotations

from pathlib import Path

from .base import MODEL_CLASSES, EnergyModel, load_file
from .mace import MACE, MACEConfig
from .nequip import NequIP, NequIPConfig

# bundled models (model cards: data/README.md): "default" for the crystals Si, NaCl and MgO
# (DFT), "molecules" for small H/C/N/O molecules (GFN2-xTB)
BUNDLED = {name: Path(__file__).parent / "data" / f"{name}.npz" for name in ("default", "molecules")}


def load(path_or_name) -> EnergyModel:
    """A saved model from a file path, or a bundled one by name (``"default"`` or ``"molecules"``)."""
    if str(path_or_name) in BUNDLED:
        return load_file(BUNDLED[str(path_or_name)])
    if not Path(path_or_name).exists() and not Path(path_or_name).suffix:
        raise ValueError(f"unknown model {str(path_or_name)!r}: bundled models are {sorted(BUNDLED)}, or give a model file")
    return load_file(path_or_name)


__all__ = ["MODEL_CLASSES", "BUNDLED", "EnergyModel", "MACE", "MACEConfig", "NequIP", "NequIPConfig", "load"]
