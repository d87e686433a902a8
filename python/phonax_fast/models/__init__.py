"""Energy models (NequIP, MACE, Nequix, SevenNet; FieldNequIP and FieldMACE in an electric field) as pure functions
of (params, graph), their files, and the models known by name (``registry``: bundled, converted, their model cards)."""

from __future__ import annotations

from .base import MODEL_CLASSES, EnergyModel, load_file
from .field_mace import FieldMACE, FieldMACEConfig
from .field_nequip import FieldNequIP, FieldNequIPConfig
from .mace import MACE, MACEConfig
from .nequip import NequIP, NequIPConfig
from .nequix import Nequix, NequixConfig
from .registry import BUNDLED, CARDS, DEFAULT, ModelCard, card, domain_warning, load, names
from .sevennet import SevenNet, SevenNetConfig
from .sevennet_convert import load_sevennet

__all__ = ["BUNDLED", "CARDS", "DEFAULT", "MODEL_CLASSES", "EnergyModel", "FieldMACE", "FieldMACEConfig", "FieldNequIP", "FieldNequIPConfig", "MACE",
           "MACEConfig", "ModelCard", "NequIP", "NequIPConfig", "Nequix", "NequixConfig", "SevenNet", "SevenNetConfig",
           "card", "domain_warning", "load", "load_file", "load_sevennet", "names"]
