"""Molecular vibrations (normal modes, point groups, irreps, IR/Raman activity) and crystal irreps at q."""

from .crystal_irreps import CrystalIrreps, crystal_irreps
from .point_group import PointGroup, find_point_group
from .vibrations import Vibrations

__all__ = ["CrystalIrreps", "PointGroup", "Vibrations", "crystal_irreps", "find_point_group"]
