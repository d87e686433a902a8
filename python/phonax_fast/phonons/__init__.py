"""Phonons of crystals: force constants → dynamical matrices → bands, DOS, phonopy files."""

from .bands import BandPath, BandStructure, band_path
from .force_constants import ForceConstants
from .phonons import Phonons

__all__ = ["BandPath", "BandStructure", "ForceConstants", "Phonons", "band_path"]
