"""Molecular vibrations (normal modes, point groups, irreps, IR/Raman activity, IR/Raman intensities from
field models), crystal irreps at q and IR/Raman intensities of a crystal's Γ modes."""

from .crystal_irreps import CrystalIrreps, crystal_irreps
from .gamma_modes import GammaModes, gamma_modes
from .intensities import ModeIntensities
from .point_group import PointGroup, find_point_group
from .vibrations import Vibrations

__all__ = ["CrystalIrreps", "GammaModes", "ModeIntensities", "PointGroup", "Vibrations", "crystal_irreps", "find_point_group", "gamma_modes"]
