"""Real symmetric dynamical matrices of crystals with an inversion centre.

If the crystal has an inversion {−1|t} that maps atom i to atom P(i), its force constants obey
Φ(P(i), P(j)) = Φ(i, j) for the inverted pair of positions, so the dynamical matrix *with* the
atomic-position phases, D_ij(q) = Σ_L Φ̃(i0, jL) exp(2πi q·(x_j + L − x_i)), satisfies

    D_{P(i)P(j)}(q) = D_ij(q)*      at every q.

Order the atoms as F (P(i) = i), A and B = P(A) (pairs in the same order). The unitary
W = [[1, 0, 0], [0, 1/√2, i/√2], [0, 1/√2, −i/√2]] (blocks F, A, B) then makes W† D W real:

    M = [[ D_FF,   √2 Re D_FA,        −√2 Im D_FA      ],
         [  ·ᵀ,    Re(D_AA + D_AB),   Im(D_AB − D_AA)  ],
         [  ·ᵀ,         ·ᵀ,           Re(D_AA − D_AB)  ]]

which needs only the rows F ∪ A of D (half of the Bloch sum), and M has the eigenvalues of D.
A real symmetric eigen-solve costs a fraction of a Hermitian one of the same size (values only,
480 × 480, per matrix here: NumPy's real ``eigvalsh`` 7.3 ms on one core, 4.2 ms on two; phonopy's
complex kernel 12.4 ms on two); an eigenvector u of M gives the eigenvector W u of D.

Whether the force constants really carry the inversion is checked numerically (at random q:
``InversionForm.build`` returns None when they do not, to ``tolerance`` relative), so noisy
force constants fall back to the Hermitian path instead of being symmetrised silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..phonons.force_constants import ForceConstants, bloch_sum, position_phases
from .mesh import symmetry_dataset


@dataclass(frozen=True)
class InversionForm:
    """The real form of D(q) for one crystal (see the module docstring): index bookkeeping and
    the rows of the force constants it needs.

    Attributes:
        rows: (R,) int, Cartesian components 3i+α of the atoms F then A: the rows of D needed.
        order: (3N,) int, components in the order F, A, B (the columns as M uses them).
        n_fixed: 3·|F|; n_pairs: 3·|A|.
        scaled_positions: (N, 3) reduced coordinates (for the position phases).
        phi: (N_L, R·3N) eV/(Å²·amu), ``ForceConstants.mass_weighted`` of the rows F ∪ A with the
            columns in the order F, A, B: what the Bloch sum of M needs.
        translations: (N_L, 3) float, lattice translations in units of the cell vectors.
    """

    rows: np.ndarray
    order: np.ndarray
    n_fixed: int
    n_pairs: int
    scaled_positions: np.ndarray
    phi: np.ndarray
    translations: np.ndarray

    @classmethod
    def build(cls, fcs: ForceConstants, symprec: float = 1e-5, tolerance: float = 1e-10):
        """The real form for ``fcs``, or None if the crystal has no inversion (spglib, ``symprec``
        Å) or the force constants break it by more than ``tolerance`` × max |D| at two random q."""
        pairing = inversion_pairs(fcs.cell, fcs.scaled_positions, fcs.numbers, symprec)
        if pairing is None:
            return None
        q = np.random.default_rng(0).uniform(-0.5, 0.5, size=(2, 3))
        d = fcs.dynamical_matrices(q)
        perm = _components(pairing)
        if np.abs(d[:, perm][:, :, perm] - d.conj()).max() > tolerance * np.abs(d).max():
            return None
        fixed = [i for i, j in enumerate(pairing) if j == i]
        first = [i for i, j in enumerate(pairing) if i < j]
        second = [int(pairing[i]) for i in first]
        return cls(
            rows=_components(fixed + first),
            order=_components(fixed + first + second),
            n_fixed=3 * len(fixed),
            n_pairs=3 * len(first),
            scaled_positions=np.asarray(fcs.scaled_positions, float),
            phi=fcs.mass_weighted(rows=fixed + first, columns=fixed + first + second),
            translations=np.asarray(fcs.translations, float),
        )

    def upper_matrices(self, qpoints) -> np.ndarray:
        """M(q) as (n_q, 3N, 3N) float64 with the eigenvalues of D(q), eV/(Å²·amu): its diagonal
        blocks and the blocks above them; the blocks below are zero (use ``UPLO="U"``).
        ``qpoints``: (n_q, 3) reduced."""
        n, f, a = len(self.order), self.n_fixed, self.n_pairs
        d = bloch_sum(np, qpoints, self.phi, self.translations, n_cols=n)  # rows F∪A, columns F,A,B of D'
        lam = position_phases(qpoints, self.scaled_positions)
        d *= lam[:, self.order][:, None, :]
        d *= lam[:, self.rows].conj()[:, :, None]  # now D, with the position phases
        d_fa, d_aa, d_ab = d[:, :f, f : f + a], d[:, f:, f : f + a], d[:, f:, f + a :]  # D_FB = D_FA*
        m = np.zeros((len(qpoints), n, n))
        m[:, :f, :f] = d[:, :f, :f].real
        np.multiply(d_fa.real, np.sqrt(2.0), out=m[:, :f, f : f + a])
        np.multiply(d_fa.imag, -np.sqrt(2.0), out=m[:, :f, f + a :])
        np.add(d_aa.real, d_ab.real, out=m[:, f : f + a, f : f + a])
        np.subtract(d_ab.imag, d_aa.imag, out=m[:, f : f + a, f + a :])
        np.subtract(d_aa.real, d_ab.real, out=m[:, f + a :, f + a :])
        return m

    def vectors(self, qpoints, u) -> np.ndarray:
        """Eigenvectors of D'(q) (``bloch_sum``'s convention, no position phases) from those of M:
        Λ W u, (n_q, 3N, n_band) complex; ``u`` (n_q, 3N, n_band) real, columns are modes."""
        f, a = self.n_fixed, self.n_pairs
        u_f, u_a, u_b = u[:, :f], u[:, f : f + a], u[:, f + a :]
        w = np.empty(u.shape, complex)
        w[:, self.order[:f]] = u_f
        w[:, self.order[f : f + a]] = (u_a + 1j * u_b) / np.sqrt(2.0)
        w[:, self.order[f + a :]] = (u_a - 1j * u_b) / np.sqrt(2.0)
        return w * position_phases(qpoints, self.scaled_positions)[:, :, None]

    def eigh(self, qpoints, with_vectors: bool):
        """Eigenvalues (n_q, 3N) of D(q) in eV/(Å²·amu), ascending, and eigenvectors of D'(q)
        (n_q, 3N, 3N) complex, columns are modes, or None; ``qpoints`` (n_q, 3) reduced."""
        m = self.upper_matrices(qpoints)
        if not with_vectors:
            return np.linalg.eigvalsh(m, UPLO="U"), None
        values, u = np.linalg.eigh(m, UPLO="U")
        return values, self.vectors(qpoints, u)


def _components(atoms) -> np.ndarray:
    """Cartesian components 3i+α of ``atoms``, (3·len,) int."""
    return (3 * np.asarray(atoms, int)[:, None] + np.arange(3)).ravel()


def inversion_pairs(cell, scaled_positions, numbers, symprec: float = 1e-5) -> np.ndarray | None:
    """P(i) for an inversion {−1|t} of the crystal (the first spglib lists), (N,) int, or None
    if it has none (or spglib finds no symmetry)."""
    try:
        symmetry = symmetry_dataset(cell, scaled_positions, numbers, symprec)
    except ValueError:
        return None
    positions = np.asarray(scaled_positions, float)
    for rotation, translation in zip(symmetry.rotations, symmetry.translations):
        if not np.array_equal(rotation, -np.eye(3, dtype=int)):
            continue
        delta = (translation - positions)[:, None, :] - positions[None, :, :]  # image of i − atom j
        delta -= np.rint(delta)
        distance = np.linalg.norm(delta @ np.asarray(cell), axis=2)  # Å, (i, j)
        pairing = distance.argmin(axis=1)
        if np.all(distance[np.arange(len(pairing)), pairing] < 10 * symprec):
            return pairing
    return None
