"""Crystal symmetry for force constants: compute rows of one atom per orbit (and, with site
symmetry, only some directions), obtain the rest by rotation.

For a space-group operation g = (W, w) (reduced coordinates) mapping atom a to
``W s_a + w = s_{π(a)} + t_a``, force constants transform as ``Φ(g(a), g(b)) = R Φ(a, b) Rᵀ``
with the Cartesian rotation ``R = Aᵀ W A⁻ᵀ`` (rows of A are the lattice vectors). Rows Φ(r0, (j, T))
of a representative atom r therefore give, for the atom i = π(r), the rows
``Φ(i0, (π(j), t_j + W T − t_r)) = R Φ(r0, (j, T)) Rᵀ``; and the product of one direction d,
dᵀ Φ(r0, b), gives the direction R d of every operation that leaves r in place:
``(R d)ᵀ Φ(r0, g(b) − t_r) = dᵀ Φ(r0, b) Rᵀ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from ..harmonic.symmetry import CrystalSymmetry, crystal_symmetry


@dataclass(frozen=True)
class AtomSymmetry:
    """For each atom i: its representative r, and one operation g (W, w) with π_g(r) = i.

    Attributes:
        symmetry: the crystal's space group (``harmonic.CrystalSymmetry``).
        allowed: indices of the operations used (all, or those that keep a supercell lattice).
        representatives: sorted indices of one atom per orbit of the allowed operations.
        representative_of: (N,) the representative of each atom.
        operations: (N,) index of the operation sending ``representative_of[i]`` to i.
        rotations: (N, 3, 3) int, W of that operation.
        cartesian: (N, 3, 3) float, R = Aᵀ W A⁻ᵀ of that operation.
        permutations: (N, N) int, π of that operation (π[i][a] = image of atom a).
        lattice_shifts: (N, N, 3) int, t_a of that operation (W s_a + w = s_π(a) + t_a).
    """

    symmetry: CrystalSymmetry
    allowed: np.ndarray
    representatives: np.ndarray
    representative_of: np.ndarray
    operations: np.ndarray
    rotations: np.ndarray
    cartesian: np.ndarray
    permutations: np.ndarray
    lattice_shifts: np.ndarray


def cartesian_rotations(cell, rotations) -> np.ndarray:
    """(k, 3, 3) Cartesian R = Aᵀ W A⁻ᵀ of reduced rotations W (k, 3, 3); rows of ``cell`` are A."""
    a_t = np.asarray(cell, dtype=float).T
    return np.einsum("ab,kbc,cd->kad", a_t, np.asarray(rotations, dtype=float), np.linalg.inv(a_t))


def keeps_lattice(rotations, matrix) -> np.ndarray:
    """(k,) bool: which reduced rotations W map the supercell lattice {n M} onto itself
    (M Wᵀ M⁻¹ integer), so that the operation is a symmetry of the periodic supercell."""
    matrix = np.asarray(matrix, dtype=float)
    m = np.einsum("ab,kcb,cd->kad", matrix, np.asarray(rotations, dtype=float), np.linalg.inv(matrix))
    return np.all(np.abs(m - np.rint(m)) < 1e-8, axis=(1, 2))


def atom_symmetry(atoms: Atoms, symprec: float = 1e-5, supercell_matrix=None) -> AtomSymmetry:
    """Orbits of the atoms under the crystal's space group (``harmonic.crystal_symmetry``, spglib
    tolerance ``symprec`` Å) and, for each atom, the first operation in spglib's order that sends
    its representative onto it. With ``supercell_matrix``, only the operations that keep that
    supercell's lattice are used (the symmetry of the periodic supercell).

    Cost: one orbit's images under all operations per orbit, then one permutation per atom, each
    O(N log N) (``CrystalSymmetry.images``): near-linear in N for a symmetric supercell given as
    the cell (|det| × point-group operations).
    """
    sym = crystal_symmetry(np.asarray(atoms.cell), atoms.get_scaled_positions(wrap=False), atoms.numbers, symprec)
    allowed = np.arange(sym.n_ops)
    if supercell_matrix is not None:
        allowed = allowed[keeps_lattice(sym.rotations, supercell_matrix)]
    n = len(atoms)
    rep_of = np.full(n, -1)
    op_of = np.full(n, -1)
    while (rep_of < 0).any():  # the first atom not reached yet starts an orbit
        r = int(np.argmax(rep_of < 0))
        targets = sym.images(allowed, [r])[0][:, 0]
        reached, first = np.unique(targets, return_index=True)
        keep = (reached >= 0) & (rep_of[np.maximum(reached, 0)] < 0)
        rep_of[reached[keep]], op_of[reached[keep]] = r, allowed[first[keep]]
        if rep_of[r] < 0:  # the identity is always allowed: only a tolerance problem ends here
            break
    if (rep_of < 0).any():
        raise RuntimeError("could not find a symmetry operation for every atom; use use_symmetry=False")
    perms, shifts = sym.atom_maps(op_of)
    rotations = np.asarray(sym.rotations[op_of], dtype=int)
    return AtomSymmetry(sym, allowed, np.unique(rep_of), rep_of, op_of, rotations,
                        cartesian_rotations(atoms.cell, rotations), perms, shifts)


def site_operations(symmetry: AtomSymmetry, r: int) -> np.ndarray:
    """Indices of the allowed operations that map atom ``r`` onto itself (up to a lattice vector)."""
    pi, _ = symmetry.symmetry.images(symmetry.allowed, [r])
    return symmetry.allowed[pi[:, 0] == r]


def row_directions(cartesian_site_rotations) -> np.ndarray:
    """Cartesian axes (d, 3) whose images under the site rotations (k, 3, 3) span R³, chosen
    greedily among x, y, z: the directions whose Hessian rows give the whole 3×3 blocks of an atom
    (one for a cubic site, two for an axial one, three without site symmetry)."""
    chosen, images, rank = [], np.zeros((0, 3)), 0
    for axis in np.eye(3):
        trial = np.concatenate([images, np.asarray(cartesian_site_rotations) @ axis])
        if np.linalg.matrix_rank(trial, tol=1e-8) > rank:
            chosen.append(axis)
            images, rank = trial, np.linalg.matrix_rank(trial, tol=1e-8)
        if rank == 3:
            break
    return np.array(chosen)


def expand_rows(rep_rows: dict, translations: np.ndarray, atoms: Atoms, sym: AtomSymmetry):
    """Force-constant rows of every atom from those of the representatives (infinite lattice).

    Args:
        rep_rows: {r: (N_L·N, 3, 3) rows Φ(r0, (j, T_l))} for each representative r (column l·N + j).
        translations: (N_L, 3) int translations of those columns.
    Returns:
        (fc (N, N_L'·N, 3, 3), translations (N_L', 3)) over the union of the rotated translations
        of the non-zero blocks (zero blocks are not carried: rotated, they would only widen the set).
    """
    n = len(atoms)
    cols_j = np.tile(np.arange(n), len(translations))
    cols_t = np.repeat(np.asarray(translations, dtype=np.int64), n, axis=0)
    kept = {r: np.flatnonzero(np.abs(rows).max(axis=(1, 2)) > 0) for r, rows in rep_rows.items()}
    new_t, new_j = [], []
    for i in range(n):
        r = sym.representative_of[i]
        W, pi, t = sym.rotations[i], sym.permutations[i], sym.lattice_shifts[i]
        k = kept[r]
        new_t.append(t[cols_j[k]] + cols_t[k] @ W.T - t[r])
        new_j.append(pi[cols_j[k]])
    flat = np.concatenate(new_t)
    low = flat.min(axis=0)
    width = flat.max(axis=0) - low + 1
    code = ((flat[:, 0] - low[0]) * width[1] + flat[:, 1] - low[1]) * width[2] + flat[:, 2] - low[2]
    codes, cols = np.unique(code, return_inverse=True)  # one integer per translation: a fast unique
    all_t = np.stack([codes // (width[1] * width[2]), codes // width[2] % width[1], codes % width[2]], axis=1) + low
    fc = np.zeros((n, len(all_t) * n, 3, 3))
    start = 0
    for i in range(n):
        r = sym.representative_of[i]
        stop = start + len(kept[r])
        R = sym.cartesian[i]
        fc[i, cols[start:stop] * n + new_j[i]] = R @ rep_rows[r][kept[r]] @ R.T
        start = stop
    return fc, all_t
