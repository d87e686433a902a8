"""Exact force constants of crystals and Hessians of molecules from Hessian rows (DESIGN.md §2).

The rows themselves (forward-over-reverse Hessian-vector products) are :mod:`phonax_fast.derivatives`'
:func:`~phonax_fast.derivatives.hessian_rows`, re-exported here.
"""

from ..derivatives import hessian_rows
from .crystal import CONSTRUCTIONS, choose_construction, crystal_force_constants
from .molecule import molecular_hessian, rigid_body_basis

__all__ = ["CONSTRUCTIONS", "choose_construction", "crystal_force_constants", "hessian_rows", "molecular_hessian",
           "rigid_body_basis"]
