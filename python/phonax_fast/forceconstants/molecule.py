"""Hessian of a molecule (no periodicity, no extended graph), and its rigid-body subspace."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..derivatives import hessian_rows
from ..graphs.neighbors import periodic_graph
from ..graphs.validation import require_molecule


def molecular_hessian(atoms: Atoms, model, block_size: int | None = None, check: bool = True) -> np.ndarray:
    """(3N, 3N) Hessian ∂²E/∂x_{iα}∂x_{jβ} of an isolated molecule in eV/Å², symmetrised.

    The asymmetry removed by symmetrisation is round-off (forward-over-reverse products of a
    float64 model agree with their transposes to ~1e-12 relative). ``check``: run
    ``require_molecule`` on ``atoms`` (False only for callers that just did, such as ``Vibrations``).
    """
    if check:
        require_molecule(atoms, model.species, context="molecular Hessians")
    graph = periodic_graph(atoms, model.cutoff, model.species)
    n = len(atoms)
    h = hessian_rows(model, graph, np.arange(3 * n), block_size, desc="Hessian").reshape(3 * n, 3 * n)
    return 0.5 * (h + h.T)


def rigid_body_basis(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Orthonormal basis of rigid translations and infinitesimal rotations in mass-weighted coordinates.

    Args:
        positions: (N, 3) in Å.
        masses: (N,) in amu.

    Returns:
        (3N, k) orthonormal columns, k = 6 (5 for a linear molecule, 3 for one atom): the
        Eckart conditions' displacement directions √m_i·e_α and √m_i·(e_α × (r_i − r_com)).
    """
    x = positions - masses @ positions / masses.sum()
    sqrt_m = np.sqrt(masses)[:, None, None]
    eye = np.broadcast_to(np.eye(3), (len(x), 3, 3))
    translations = sqrt_m * eye  # (N, α, β)
    rotations = sqrt_m * np.cross(np.eye(3)[None, :, :], x[:, None, :])  # (N, α, β): e_α × r_i
    vectors = np.concatenate([translations, rotations], axis=1).transpose(0, 2, 1).reshape(3 * len(x), 6)
    u, s, _ = np.linalg.svd(vectors, full_matrices=False)
    return u[:, s > 1e-6 * s.max()]
