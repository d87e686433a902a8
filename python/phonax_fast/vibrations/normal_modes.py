"""Normal modes of a molecule from its Cartesian Hessian, with translations and rotations projected out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..forceconstants.molecule import rigid_body_basis
from ..units import eigenvalues_to_cm1


@dataclass(frozen=True)
class NormalModes:
    """Eigen-decomposition of the projected mass-weighted Hessian, ascending.

    Attributes:
        eigenvalues: (3N,) in eV/(Å²·amu); the rigid-body ones are round-off.
        vectors: (3N, 3N) orthonormal mass-weighted eigenvectors, one per column.
        rigid: (3N,) bool, True for the translations and rotations.
    """

    eigenvalues: np.ndarray
    vectors: np.ndarray
    rigid: np.ndarray

    @property
    def frequencies_cm1(self) -> np.ndarray:
        """(3N,) in cm⁻¹, imaginary ones negative."""
        return eigenvalues_to_cm1(self.eigenvalues)


def normal_modes(hessian: np.ndarray, positions: np.ndarray, masses: np.ndarray) -> NormalModes:
    """Normal modes from a Cartesian Hessian.

    The mass-weighted Hessian M^{-1/2} H M^{-1/2} is projected onto the complement of the
    rigid-body space (Eckart frame) and diagonalised there, so the 3N − 6 (3N − 5) vibrations
    never mix with translations or rotations, even when some vibration is soft or imaginary.

    Args:
        hessian: (3N, 3N) in eV/Å².
        positions: (N, 3) in Å.
        masses: (N,) in amu.
    """
    n = len(masses)
    hessian = np.asarray(hessian, dtype=float)
    if hessian.shape != (3 * n, 3 * n):
        raise ValueError(f"Hessian of shape {hessian.shape} does not fit {n} atoms (expected {(3 * n, 3 * n)})")
    if not np.isfinite(hessian).all():
        raise ValueError("the Hessian has non-finite entries")
    if n < 2:
        raise ValueError("a single atom has no vibrations")
    inv_sqrt_m = np.repeat(1 / np.sqrt(masses), 3)
    h = inv_sqrt_m[:, None] * (0.5 * (hessian + hessian.T)) * inv_sqrt_m[None, :]
    rigid = rigid_body_basis(np.asarray(positions, dtype=float), np.asarray(masses, dtype=float))
    project = np.eye(3 * n) - rigid @ rigid.T
    h = project @ h @ project
    vib = np.linalg.svd(project)[0][:, : 3 * n - rigid.shape[1]]  # orthonormal complement
    w_vib, v_vib = np.linalg.eigh(vib.T @ h @ vib)
    w_rigid = np.einsum("ik,ij,jk->k", rigid, h, rigid)
    eigenvalues = np.concatenate([w_rigid, w_vib])
    vectors = np.concatenate([rigid, vib @ v_vib], axis=1)
    is_rigid = np.arange(3 * n) < rigid.shape[1]
    order = np.argsort(eigenvalues, kind="stable")
    return NormalModes(eigenvalues[order], vectors[:, order], is_rigid[order])
