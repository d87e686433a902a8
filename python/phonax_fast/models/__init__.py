"""Energy models (NequIP, MACE) as pure functions of (params, graph), and their files."""

from __future__ import annotations

from pathlib import Path

from .base import MODEL_CLASSES, EnergyModel, load_file
from .mace import MACE, MACEConfig
from .nequip import NequIP, NequIPConfig

BUNDLED = {"default": Path(__file__).parent / "data" / "default.npz"}


def load(path_or_name) -> EnergyModel:
    """A saved model from a file path, or a bundled one by name (``"default"``)."""
    if str(path_or_name) in BUNDLED:
        return load_file(BUNDLED[str(path_or_name)])
    return load_file(path_or_name)


__all__ = ["MODEL_CLASSES", "BUNDLED", "EnergyModel", "MACE", "MACEConfig", "NequIP", "NequIPConfig", "load"]
