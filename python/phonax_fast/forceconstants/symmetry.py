"""Crystal symmetry for force constants: compute rows of one atom per orbit, rotate the rest.

For a space-group operation g = (W, w) (reduced coordinates) mapping atom a to
``W s_a + w = s_{π(a)} + t_a``, force constants transform as
``Φ(g(a), g(b)) = R Φ(a, b) Rᵀ`` with the Cartesian rotation ``R = Aᵀ W A⁻ᵀ`` (rows of A are the
lattice vectors). Rows Φ(r0, (j, T)) of a representative atom r therefore give, for the atom
i = π(r), the rows ``Φ(i0, (π(j), t_j + W T − t_r)) = R Φ(r0, (j, T)) Rᵀ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from ..harmonic.symmetry import crystal_symmetry


@dataclass(frozen=True)
class AtomSymmetry:
    """For each atom i: its representative r, and one operation g (W, w) with π_g(r) = i.

    Attributes:
        representatives: sorted indices of one atom per orbit.
        representative_of: (N,) the representative of each atom.
        rotations: (N, 3, 3) int, W of the operation sending representative_of[i] to i.
        permutations: (N, N) int, π of that operation (π[i][a] = image of atom a).
        lattice_shifts: (N, N, 3) int, t_a of that operation (W s_a + w = s_π(a) + t_a).
    """

    representatives: np.ndarray
    representative_of: np.ndarray
    rotations: np.ndarray
    permutations: np.ndarray
    lattice_shifts: np.ndarray


def atom_symmetry(atoms: Atoms, symprec: float = 1e-5) -> AtomSymmetry:
    """Orbits of the atoms under the crystal's space group (``harmonic.crystal_symmetry``, spglib
    tolerance ``symprec`` Å): for each atom, the first operation in spglib's order that sends its
    representative onto it."""
    sym = crystal_symmetry(np.asarray(atoms.cell), atoms.get_scaled_positions(wrap=False), atoms.numbers, symprec)
    n = len(atoms)
    rep_of = np.array(sym.equivalent_atoms)
    hits = (sym.permutations[:, rep_of] == np.arange(n)) & sym.matched[:, None]  # (n_ops, N): g sends rep(i) to i
    if not hits.any(axis=0).all():
        raise RuntimeError("could not find a symmetry operation for every atom; use use_symmetry=False")
    op = hits.argmax(axis=0)
    return AtomSymmetry(np.unique(rep_of), rep_of, sym.rotations[op].astype(int), sym.permutations[op], sym.lattice_shifts[op])


def expand_rows(rep_rows: dict, translations: np.ndarray, atoms: Atoms, sym: AtomSymmetry):
    """Force-constant rows of every atom from those of the representatives.

    Args:
        rep_rows: {r: (N_L·N, 3, 3) rows Φ(r0, (j, T_l))} for each representative r (column l·N + j).
        translations: (N_L, 3) int translations of those columns.
    Returns:
        (fc (N, N_L'·N, 3, 3), translations (N_L', 3)) over the union of rotated translations.
    """
    n = len(atoms)
    a_t = np.asarray(atoms.cell).T
    entries = []  # (i, new translations (M, 3), new atoms (M,), blocks (M, 3, 3))
    cols_j = np.tile(np.arange(n), len(translations))
    cols_t = np.repeat(translations, n, axis=0)
    for i in range(n):
        r = sym.representative_of[i]
        W, pi, t = sym.rotations[i], sym.permutations[i], sym.lattice_shifts[i]
        R = a_t @ W @ np.linalg.inv(a_t)
        new_t = t[cols_j] + cols_t @ W.T - t[r]
        entries.append((i, new_t, pi[cols_j], np.einsum("ab,mbc,dc->mad", R, rep_rows[r], R)))
    all_t = np.unique(np.concatenate([e[1] for e in entries]), axis=0)
    index = {tuple(v): k for k, v in enumerate(all_t.tolist())}
    fc = np.zeros((n, len(all_t) * n, 3, 3))
    for i, new_t, new_j, blocks in entries:
        cols = np.array([index[tuple(v)] for v in new_t.tolist()]) * n + new_j
        fc[i, cols] = blocks
    return fc, all_t
