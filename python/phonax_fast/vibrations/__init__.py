"""Molecular vibrations (normal modes, point groups, irreps, IR/Raman activity, IR/Raman intensities from
field models) and crystal irreps at q."""

from .crystal_irreps import CrystalIrreps, crystal_irreps
from .intensities import ModeIntensities
from .point_group import PointGroup, find_point_group
from .vibrations import Vibrations

__all__ = ["CrystalIrreps", "ModeIntensities", "PointGroup", "Vibrations", "crystal_irreps", "find_point_group"]
