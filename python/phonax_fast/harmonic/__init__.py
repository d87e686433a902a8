"""Harmonic data at the bottom of the package: compact force constants, dynamical matrices (with
the non-analytic correction of polar crystals), crystal symmetry and degenerate sets. Everything
that computes or consumes force constants imports them from here (forceconstants/, qgrid/, phonons/, interop/); this package imports none of those."""

from .degeneracy import DEGENERACY_TOLERANCE, degenerate_set_bounds, degenerate_sets, set_starts
from .force_constants import CHECK_QPOINTS, ForceConstants, bloch_sum, hermitian_part, is_hermitian, position_phases
from .nac import NonAnalyticCorrection, validate_born_epsilon
from .symmetry import CrystalSymmetry, crystal_symmetry

__all__ = [
    "CHECK_QPOINTS",
    "DEGENERACY_TOLERANCE",
    "CrystalSymmetry",
    "ForceConstants",
    "NonAnalyticCorrection",
    "bloch_sum",
    "crystal_symmetry",
    "degenerate_set_bounds",
    "degenerate_sets",
    "hermitian_part",
    "is_hermitian",
    "position_phases",
    "set_starts",
    "validate_born_epsilon",
]
