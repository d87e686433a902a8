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
import spglib

from ..phonons.force_constants import ForceConstants, bloch_sum, position_phases


@dataclass(frozen=True)
class InversionForm:
    """Index bookkeeping of the real form of D(q) for one crystal (see the module docstring).

    Attributes:
        rows: (R,) int, Cartesian components 3i+α of the atoms F then A: the rows of D needed.
        order: (3N,) int, components in the order F, A, B (the columns as M uses them).
        n_fixed: 3·|F|; n_pairs: 3·|A|.
        scaled_positions: (N, 3) reduced coordinates (for the position phases).
    """

    rows: np.ndarray
    order: np.ndarray
    n_fixed: int
    n_pairs: int
    scaled_positions: np.ndarray

    @classmethod
    def build(cls, fcs: ForceConstants, phi=None, symprec: float = 1e-5, tolerance: float = 1e-10):
        """The real form for ``fcs``, or None if the crystal has no inversion (spglib, ``symprec``
        Å) or the force constants break it by more than ``tolerance`` × max |D| at two random q.
        ``phi``: ``fcs.mass_weighted()`` if already at hand."""
        pairing = inversion_pairs(fcs.cell, fcs.scaled_positions, fcs.numbers, symprec)
        if pairing is None:
            return None
        fixed = [i for i, j in enumerate(pairing) if j == i]
        first = [i for i, j in enumerate(pairing) if i < j]
        second = [int(pairing[i]) for i in first]

        def components(atoms):
            return (3 * np.asarray(atoms, int)[:, None] + np.arange(3)).ravel()

        form = cls(
            rows=np.concatenate([components(fixed), components(first)]),
            order=np.concatenate([components(fixed), components(first), components(second)]),
            n_fixed=3 * len(fixed),
            n_pairs=3 * len(first),
            scaled_positions=np.asarray(fcs.scaled_positions, float),
        )
        q = np.random.default_rng(0).uniform(-0.5, 0.5, size=(2, 3))
        phi = fcs.mass_weighted() if phi is None else phi
        d = bloch_sum(np, q, phi, np.asarray(fcs.translations, float))
        lam = position_phases(q, fcs.scaled_positions)
        d *= lam.conj()[:, :, None] * lam[:, None, :]  # with position phases: D
        perm = components(pairing)
        if np.abs(d[:, perm][:, :, perm] - d.conj()).max() > tolerance * np.abs(d).max():
            return None
        return form

    def restrict(self, phi: np.ndarray) -> np.ndarray:
        """``phi`` (N_L, 3N·3N) of ``bloch_sum`` cut to the rows ``rows`` with the columns in
        ``order``: (N_L, R·3N), what ``upper_matrices`` takes."""
        n = len(self.order)
        return phi.reshape(len(phi), n, n)[:, self.rows[:, None], self.order[None, :]].reshape(len(phi), -1)

    def upper_matrices(self, qpoints, phi_restricted, translations) -> np.ndarray:
        """M(q) as (n_q, 3N, 3N) float64 with the eigenvalues of D(q), in ``phi``'s units: its
        diagonal blocks and the blocks above them; the blocks below are zero (use ``UPLO="U"``).

        Args:
            qpoints: (n_q, 3) reduced.
            phi_restricted: ``restrict(fcs.mass_weighted())``.
            translations: (N_L, 3) lattice translations, units of the cell vectors.
        """
        n, f, a = len(self.order), self.n_fixed, self.n_pairs
        d = bloch_sum(np, qpoints, phi_restricted, translations, n_cols=n)  # rows F∪A, columns F,A,B of D'
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

    def eigh(self, qpoints, phi_restricted, translations, with_vectors: bool):
        """Eigenvalues (n_q, 3N) of D(q) in ``phi``'s units, ascending, and eigenvectors of D'(q)
        (n_q, 3N, 3N) complex, columns are modes, or None."""
        m = self.upper_matrices(qpoints, phi_restricted, translations)
        if not with_vectors:
            return np.linalg.eigvalsh(m, UPLO="U"), None
        values, u = np.linalg.eigh(m, UPLO="U")
        return values, self.vectors(qpoints, u)


def inversion_pairs(cell, scaled_positions, numbers, symprec: float = 1e-5) -> np.ndarray | None:
    """P(i) for an inversion {−1|t} of the crystal (the first spglib lists), (N,) int, or None
    if it has none."""
    symmetry = spglib.get_symmetry((cell, scaled_positions, numbers), symprec=symprec)
    if symmetry is None:
        return None
    positions = np.asarray(scaled_positions, float)
    for rotation, translation in zip(symmetry["rotations"], symmetry["translations"]):
        if not np.array_equal(rotation, -np.eye(3, dtype=int)):
            continue
        delta = (translation - positions)[:, None, :] - positions[None, :, :]  # image of i − atom j
        delta -= np.rint(delta)
        distance = np.linalg.norm(delta @ np.asarray(cell), axis=2)  # Å, (i, j)
        pairing = distance.argmin(axis=1)
        if np.all(distance[np.arange(len(pairing)), pairing] < 10 * symprec):
            return pairing
    return None
