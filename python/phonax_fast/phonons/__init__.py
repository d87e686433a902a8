"""Phonons of crystals: the ``Phonons`` facade (structure → force constants → bands, mesh
properties, irreps, files) and band paths."""

from .bands import BandPath, BandStructure, band_path
from .phonons import Phonons

__all__ = ["BandPath", "BandStructure", "Phonons", "band_path"]
