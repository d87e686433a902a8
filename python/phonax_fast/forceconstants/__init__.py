"""Force constants of crystals and Hessians of molecules from Hessian rows (DESIGN.md §2).

The rows themselves (forward-over-reverse Hessian-vector products) are :mod:`phonax_fast.derivatives`'
:func:`~phonax_fast.derivatives.hessian_rows`, re-exported here.
"""

from ..derivatives import hessian_rows
from .crystal import CONSTRUCTIONS, ForceConstantsReport, crystal_force_constants, plan_construction
from .molecule import molecular_hessian, rigid_body_basis
from .supercell import supercell_force_constants

__all__ = ["CONSTRUCTIONS", "ForceConstantsReport", "crystal_force_constants", "hessian_rows", "molecular_hessian",
           "plan_construction", "rigid_body_basis", "supercell_force_constants"]
