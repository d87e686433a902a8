"""Hessian of a molecule (no periodicity, no extended graph)."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..graphs.neighbors import periodic_graph
from ..graphs.validation import validate_structure
from .hvp import hessian_rows


def molecular_hessian(atoms: Atoms, model, block_size: int | None = None) -> np.ndarray:
    """(3N, 3N) Hessian ∂²E/∂x_{iα}∂x_{jβ} of an isolated molecule in eV/Å², symmetrised.

    The asymmetry removed by symmetrisation is round-off (forward-over-reverse products of a
    float64 model agree with their transposes to ~1e-12 relative).
    """
    if atoms.pbc.any():
        raise ValueError("molecular Hessians need a structure without periodic boundary conditions (atoms.pbc all False)")
    validate_structure(atoms, model.species)
    graph = periodic_graph(atoms, model.cutoff, model.species)
    n = len(atoms)
    h = hessian_rows(model, graph, np.arange(3 * n), block_size, desc="Hessian").reshape(3 * n, 3 * n)
    return 0.5 * (h + h.T)
