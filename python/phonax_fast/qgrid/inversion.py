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
complex kernel 12.4 ms on two; ``jnp.linalg.eigvalsh`` on the CPU 19 ms real vs 49 ms complex);
an eigenvector u of M gives the eigenvector W u of D. ``InversionForm`` builds M with numpy (the
host path of ``MeshSolver``), inside jitted jax.numpy code (its ``"jax"`` path, on devices) or
with cupy (its ``"cupy"`` path).

M is built from half the rows of D and read by its upper triangle, so it stands for D only if D
is Hermitian and carries the inversion. Both are checked numerically on the unsymmetrised lattice
sum (at two random q: ``InversionForm.build`` returns None when either fails, to ``tolerance``
relative), so noisy force constants fall back to the Hermitian path, which solves (D + D†)/2 like
``ForceConstants.frequencies``, instead of being symmetrised silently in another way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from ..harmonic.force_constants import CHECK_QPOINTS, ForceConstants, bloch_sum, is_hermitian, position_phases
from ..harmonic.symmetry import crystal_symmetry


@jax.tree_util.register_dataclass  # a pytree: its arrays can be placed on devices and traced
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
    n_fixed: int = field(metadata={"static": True})
    n_pairs: int = field(metadata={"static": True})
    scaled_positions: np.ndarray
    phi: np.ndarray
    translations: np.ndarray

    @classmethod
    def build(cls, fcs: ForceConstants, symprec: float = 1e-5, tolerance: float = 1e-10):
        """The real form for ``fcs``, or None if the crystal has no inversion (spglib, ``symprec``
        Å) or, at two random q, the force constants' D(q) is not Hermitian or breaks the inversion
        by more than ``tolerance`` × max |D|."""
        pairing = inversion_pairs(fcs.cell, fcs.scaled_positions, fcs.numbers, symprec)
        if pairing is None:
            return None
        d = fcs.dynamical_matrices(CHECK_QPOINTS, hermitise=False)
        perm = _components(pairing)
        inverted = np.abs(d[:, perm][:, :, perm] - d.conj()).max() <= tolerance * np.abs(d).max()
        if not (inverted and is_hermitian(d, tolerance)):
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

    def matrices(self, xp, qpoints):
        """M(q) as (n_q, 3N, 3N) float64 with the eigenvalues of D(q), eV/(Å²·amu): its diagonal
        blocks and the blocks above them; the blocks below are zero (use ``UPLO="U"``).

        Args:
            xp: ``numpy``; ``jax.numpy`` inside jitted code (the form is a pytree: its arrays
                may be traced and live on devices); or ``cupy`` with the form's arrays on the GPU.
            qpoints: (n_q, 3) reduced.
        """
        n, f, a = len(self.order), self.n_fixed, self.n_pairs
        d = bloch_sum(xp, qpoints, self.phi, self.translations, n_cols=n)  # rows F∪A, columns F,A,B of D'
        lam = position_phases(qpoints, self.scaled_positions, xp)
        d = d * lam[:, self.order][:, None, :]
        d = d * lam[:, self.rows].conj()[:, :, None]  # now D, with the position phases
        d_fa, d_aa, d_ab = d[:, :f, f : f + a], d[:, f:, f : f + a], d[:, f:, f + a :]  # D_FB = D_FA*
        fixed, first, second = slice(0, f), slice(f, f + a), slice(f + a, n)
        m = xp.zeros((len(qpoints), n, n))
        for rows, cols, block in [
            (fixed, fixed, d[:, :f, :f].real),
            (fixed, first, np.sqrt(2.0) * d_fa.real),
            (fixed, second, -np.sqrt(2.0) * d_fa.imag),
            (first, first, d_aa.real + d_ab.real),
            (first, second, d_ab.imag - d_aa.imag),
            (second, second, d_aa.real - d_ab.real),
        ]:
            if xp is jnp:
                m = m.at[:, rows, cols].set(block)
            else:  # in place: fewer temporaries of a chunk's size (they cost page faults)
                m[:, rows, cols] = block
        return m

    def vectors(self, xp, qpoints, u):
        """Eigenvectors of D'(q) (``bloch_sum``'s convention, no position phases) from those of M:
        Λ W u, (n_q, 3N, n_band) complex; ``u`` (n_q, 3N, n_band) real, columns are modes."""
        f, a = self.n_fixed, self.n_pairs
        u_f, u_a, u_b = u[:, :f], u[:, f : f + a], u[:, f + a :]
        w = xp.concatenate([u_f + 0j, (u_a + 1j * u_b) / np.sqrt(2.0), (u_a - 1j * u_b) / np.sqrt(2.0)], axis=1)
        return w[:, xp.argsort(self.order)] * position_phases(qpoints, self.scaled_positions, xp)[:, :, None]

    def eigh(self, xp, qpoints, with_vectors: bool):
        """Eigenvalues (n_q, 3N) of D(q) in eV/(Å²·amu), ascending, and eigenvectors of D'(q)
        (n_q, 3N, 3N) complex, columns are modes, or None; arguments as for ``matrices``."""
        m = self.matrices(xp, qpoints)
        upper = {"UPLO": "U", "symmetrize_input": False} if xp is jnp else {"UPLO": "U"}
        if not with_vectors:
            return xp.linalg.eigvalsh(m, **upper), None
        values, u = xp.linalg.eigh(m, **upper)
        return values, self.vectors(xp, qpoints, u)


def _components(atoms) -> np.ndarray:
    """Cartesian components 3i+α of ``atoms``, (3·len,) int."""
    return (3 * np.asarray(atoms, int)[:, None] + np.arange(3)).ravel()


def inversion_pairs(cell, scaled_positions, numbers, symprec: float = 1e-5) -> np.ndarray | None:
    """P(i) for an inversion {−1|t} of the crystal (the first spglib lists whose atom images match,
    ``harmonic.crystal_symmetry``), (N,) int, or None if it has none (or spglib finds no symmetry)."""
    try:
        symmetry = crystal_symmetry(cell, scaled_positions, numbers, symprec)
    except ValueError:
        return None
    inversions = np.flatnonzero((symmetry.rotations == -np.eye(3, dtype=int)).all(axis=(1, 2)))
    if not len(inversions):
        return None
    pi, _ = symmetry.images(inversions)
    matched = np.flatnonzero((pi >= 0).all(axis=1))
    return pi[matched[0]] if len(matched) else None
