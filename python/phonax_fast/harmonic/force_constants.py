"""Compact real-space force constants and the dynamical matrix built from them.

Layout (shared by the Hessian code, the q-grid engine and the phonopy bridge):

``fc[i, l * N + j, α, β] = ∂²E / ∂u(i, 0)_α ∂u(j, T_l)_β`` in eV/Å², where ``u(j, T)`` is the
displacement of unit-cell atom ``j`` in the cell translated by lattice vector
``T_l = translations[l] @ cell``. Shape ``(N, N_L * N, 3, 3)``: one row block per atom of the
unit cell, one column per (translation, atom) pair, like phonopy's compact force constants
of a "virtual supercell" made of the listed translations.

The dynamical matrix follows phonopy's phase convention:
``D_{iα,jβ}(q) = Σ_l fc[i, lN+j, α, β] · exp(2πi q·(T_l + s_j − s_i)) / √(m_i m_j)``,
q and s (scaled positions) in reduced coordinates. Two forms of its lattice sum:
``ForceConstants.dynamical_matrices`` works on ``fc`` as stored (a few q-points: band paths,
checks; no copy of the force constants), ``bloch_sum`` on the mass-weighted copy
``ForceConstants.mass_weighted()`` (chunks of many q-points in one matrix product: the q-grid
engine, with numpy or jax.numpy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..units import eigenvalues_to_thz
from .nac import NonAnalyticCorrection


def bloch_sum(xp, qpoints, phi, translations, n_cols=None):
    """Σ_l Φ_l · exp(2πi q·T_l) for a chunk of q-points: one complex matrix product.

    With ``phi = ForceConstants.mass_weighted()`` this is the dynamical matrix D(q) without the
    atomic-position phases (a diagonal unitary similarity: same eigenvalues and |eigenvector|²).
    Computed as ``cos(2πqT) @ Φ + i sin(2πqT) @ Φ``, two real products; not hermitised.

    Args:
        xp: ``numpy`` or ``jax.numpy`` (the function is traceable).
        qpoints: (n_q, 3) reduced coordinates.
        phi: (N_L, R·M) real, block (R rows, M columns) per translation flattened, e.g.
            eV/(Å²·amu) with M = 3N; R = M (whole matrices) unless ``n_cols`` = M says otherwise.
        translations: (N_L, 3) lattice translations, units of the cell vectors.
        n_cols: M when the blocks are not square (a subset of rows).

    Returns:
        (n_q, R, M) complex, in the units of ``phi``.
    """
    n = n_cols or round(phi.shape[1] ** 0.5)
    arg = 2 * np.pi * qpoints @ translations.T  # (n_q, N_L)
    return ((xp.cos(arg) @ phi) + 1j * (xp.sin(arg) @ phi)).reshape(len(qpoints), -1, n)


CHECK_QPOINTS = np.random.default_rng(0).uniform(-0.5, 0.5, size=(2, 3))
"""Two generic q-points (reduced) at which properties of D(q) that hold at all q or none are checked."""


def is_hermitian(d, tolerance: float = 1e-10) -> bool:
    """Whether the matrices ``d`` (..., M, M) equal their conjugate transposes to ``tolerance`` × max |d|."""
    return bool(np.abs(d - np.conj(np.swapaxes(d, -1, -2))).max() <= tolerance * np.abs(d).max())


def hermitian_part(d):
    """(d + d†)/2 of the matrices ``d`` (..., M, M): numpy, jax.numpy or cupy arrays."""
    return 0.5 * (d + d.conj().swapaxes(-1, -2))


def position_phases(qpoints, scaled_positions, xp=np) -> np.ndarray:
    """exp(2πi q·x_j) per Cartesian component 3j+α, (n_q, 3N) complex: D(q) = Λ† D'(q) Λ with
    Λ = diag of these and D' the ``bloch_sum`` (no atomic-position phases). ``xp``: ``numpy`` or
    ``jax.numpy`` (for traced q-points)."""
    return xp.exp(2j * np.pi * (qpoints @ xp.repeat(xp.asarray(scaled_positions, float), 3, axis=0).T))


@dataclass(frozen=True)
class ForceConstants:
    """Compact force constants of a crystal with the structure they belong to.

    Attributes:
        fc: (N, N_L·N, 3, 3) float64, eV/Å².
        translations: (N_L, 3) int, lattice translations in units of the cell vectors.
        cell: (3, 3) float64, Å, rows are lattice vectors.
        scaled_positions: (N, 3) float64, reduced coordinates of the unit-cell atoms.
        masses: (N,) float64, amu.
        numbers: (N,) int, atomic numbers.
        nac: the non-analytic correction (Born charges, ε∞) of a polar crystal, or None; when
            set, every dynamical matrix built from these force constants includes it.
        supercell: (3, 3) int supercell matrix M (rows of ``M @ cell``) whose periodic force
            constants these are, spread over shortest images (supercell construction, phonopy
            import), or None for force constants with no supercell (the exact cluster
            constructions). phonopy exports and the non-analytic correction use it by default.
    """

    fc: np.ndarray
    translations: np.ndarray
    cell: np.ndarray
    scaled_positions: np.ndarray
    masses: np.ndarray
    numbers: np.ndarray
    nac: NonAnalyticCorrection | None = None
    supercell: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.masses)
        n_l = len(self.translations)
        if self.fc.shape != (n, n_l * n, 3, 3):
            raise ValueError(
                f"force constants have shape {self.fc.shape}; expected (N, N_L*N, 3, 3) = {(n, n_l * n, 3, 3)}"
            )
        if self.scaled_positions.shape != (n, 3) or self.numbers.shape != (n,):
            raise ValueError("scaled_positions must be (N, 3) and numbers (N,) for the N atoms of the force constants")
        if self.nac is not None and self.nac.n_atoms != n:
            raise ValueError(f"the non-analytic correction has Born charges of {self.nac.n_atoms} atoms; the force constants have {n}")

    @property
    def n_atoms(self) -> int:
        return len(self.masses)

    def acoustic_sum_residual(self) -> float:
        """max_{i,α,β} |Σ_b Φ(iα, bβ)| in eV/Å²: zero for a translation-invariant energy."""
        return float(np.abs(self.fc.sum(axis=1)).max())

    def mass_weighted(self, rows=None, columns=None) -> np.ndarray:
        """Φ(i0, j T_l) / √(m_i m_j) as (N_L, 9N²): row l is the flattened (3N, 3N) block
        ``[3i+α, 3j+β]``, eV/(Å²·amu); the ``phi`` of ``bloch_sum``.

        ``rows``, ``columns``: atom indices (R,), (C,) int, to keep only these block rows and
        columns, in this order: (N_L, 3R·3C). One pass over ``fc``, a row of atoms at a time.
        """
        n, n_l = self.n_atoms, len(self.translations)
        fc = self.fc.reshape(n, n_l, n, 3, 3)  # i, l, j, α, β
        rows = np.arange(n) if rows is None else np.asarray(rows, int)
        cols = np.arange(n) if columns is None else np.asarray(columns, int)
        inv_sqrt_m = 1.0 / np.sqrt(np.asarray(self.masses, float))
        column_weights = inv_sqrt_m[cols][None, None, :, None]
        out = np.empty((n_l, len(rows), 3, len(cols), 3))
        for k, i in enumerate(rows):
            block = fc[i] if columns is None else fc[i][:, cols]  # (N_L, C, 3, 3): l, j, α, β
            np.multiply(block.transpose(0, 2, 1, 3), inv_sqrt_m[i] * column_weights, out=out[:, k])
        return out.reshape(n_l, -1)

    def dynamical_matrices(self, qpoints, hermitise: bool = True, q_direction=None) -> np.ndarray:
        """Dynamical matrices D(q), (n_q, 3N, 3N) complex128, eV/(Å²·amu); qpoints (n_q, 3) reduced.

        The lattice sum runs on ``fc`` as it is stored (one real product per atom row), so a few
        q-points of a large cell cost no copy of the force constants. ``hermitise``: return
        (D + D†)/2 (the default), else the lattice sum as it is (for checks of the force constants).
        With a non-analytic correction (``nac``) its term is included; ``q_direction`` ((3,) or
        (n_q, 3), reduced) is the direction of approach where q is Γ (without it, Γ gets none).
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        n, n_q = self.n_atoms, len(q)
        arg = 2 * np.pi * q @ np.asarray(self.translations, float).T  # (n_q, N_L)
        fc = self.fc.reshape(n, len(self.translations), 9 * n)  # i, l, (j α β)
        d = np.matmul(np.cos(arg), fc) + 1j * np.matmul(np.sin(arg), fc)  # (N, n_q, 9N)
        d = d.reshape(n, n_q, n, 3, 3).transpose(1, 0, 3, 2, 4).reshape(n_q, 3 * n, 3 * n)
        if self.nac is not None:
            d += self.nac.term(np, q, q_direction)
        weights = position_phases(q, self.scaled_positions) / np.repeat(np.sqrt(self.masses), 3)
        d *= weights.conj()[:, :, None] * weights[:, None, :]
        return hermitian_part(d) if hermitise else d

    def eigensystem(self, qpoints, q_direction=None):
        """Frequencies (n_q, 3N) THz (negative = imaginary) and eigenvectors (n_q, 3N, 3N), columns are modes."""
        w, v = np.linalg.eigh(self.dynamical_matrices(qpoints, q_direction=q_direction))
        return eigenvalues_to_thz(w), v

    def frequencies(self, qpoints, q_direction=None) -> np.ndarray:
        """Phonon frequencies (n_q, 3N) in THz, ascending; imaginary modes are negative."""
        return eigenvalues_to_thz(np.linalg.eigvalsh(self.dynamical_matrices(qpoints, q_direction=q_direction)))
