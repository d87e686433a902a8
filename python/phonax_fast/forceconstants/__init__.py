"""Exact force constants by forward-over-reverse Hessian-vector products (DESIGN.md §2)."""

from .crystal import CONSTRUCTIONS, choose_construction, crystal_force_constants
from .hvp import hessian_rows
from .molecule import molecular_hessian

__all__ = ["CONSTRUCTIONS", "choose_construction", "crystal_force_constants", "hessian_rows", "molecular_hessian"]
