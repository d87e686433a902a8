"""Supercell force constants in the compact layout: each (unit-cell atom, supercell atom) pair is
spread over its equidistant shortest images, as phonopy's dynamical matrix does.

A periodic supercell holds, for a unit-cell atom i and a supercell atom s, one number per pair:
the sum over all periodic images of s. phonopy's dynamical matrix assigns it to the images of s
closest to i (all of them, weight 1/multiplicity, when several are equally close to phonopy's
tolerance). ``fold_to_images`` does that once, so the compact ``ForceConstants`` reproduce
phonopy's dynamical matrix of the same supercell at every q. The shortest images are phonopy's own
(``phonopy.structure.cells.ShortestPairs``, the dense layout), so ties are resolved exactly as
phonopy resolves them.
"""

from __future__ import annotations

import numpy as np
from phonopy.structure.cells import ShortestPairs, sparse_to_dense_svecs


def shortest_images(cell, scaled_positions, matrix, supercell_points, atom_of, symprec: float = 1e-5):
    """phonopy's shortest image vectors from each unit-cell atom to each supercell atom.

    Args:
        cell: (3, 3) unit cell, Å (rows).
        scaled_positions: (N, 3) reduced positions of the unit-cell atoms.
        matrix: (3, 3) int supercell matrix M (supercell vectors = rows of M @ cell).
        supercell_points: (N_s, 3) int lattice translation of each supercell atom (cell units).
        atom_of: (N_s,) int unit-cell atom of each supercell atom.
        symprec: phonopy's tolerance for equal distances (its default, 1e-5).
    Returns:
        (vectors (M_total, 3) r_s + L − r_i in reduced coordinates of the unit cell,
        multiplicity (N_s, N, 2) int: [count, first index into vectors]), phonopy's dense layout.
    """
    matrix = np.asarray(matrix, dtype=float)
    inverse = np.linalg.inv(matrix)
    unit = np.asarray(scaled_positions, dtype=float)
    supercell_fracs = (unit[atom_of] + supercell_points) @ inverse
    primitive_fracs = unit @ inverse
    pairs = ShortestPairs(np.asarray(matrix @ np.asarray(cell, float), order="C"), np.ascontiguousarray(supercell_fracs),
                          np.ascontiguousarray(primitive_fracs), store_dense_svecs=True, symprec=symprec)
    return pairs.shortest_vectors @ matrix, np.asarray(pairs.multiplicities)


def dense_images(primitive):
    """phonopy ``Primitive.get_smallest_vectors()`` in the dense layout (vectors (M, 3) in reduced
    coordinates of the primitive cell, multiplicity (N_s, N_p, 2)), whichever layout it stores."""
    vectors, multiplicity = primitive.get_smallest_vectors()
    if multiplicity.ndim == 2:  # legacy (N_s, N_p, 27, 3) layout
        vectors, multiplicity = sparse_to_dense_svecs(vectors, multiplicity)
    return np.asarray(vectors), np.asarray(multiplicity)


def fold_to_images(fc, vectors, multiplicity, atom_of, scaled_positions) -> tuple[np.ndarray, np.ndarray]:
    """Supercell rows spread over the shortest images: the compact layout.

    Args:
        fc: (N, N_s, ...) values per (unit-cell atom i, supercell atom s) pair, e.g. force
            constants (N, N_s, 3, 3) eV/Å².
        vectors, multiplicity: shortest images in phonopy's dense layout (:func:`shortest_images`,
            :func:`dense_images`), vectors in reduced coordinates of the unit cell.
        atom_of: (N_s,) int, unit-cell atom of each supercell atom.
        scaled_positions: (N, 3) reduced positions of the unit-cell atoms.
    Returns:
        (translations (N_L, 3) int, sorted with T = 0 first, blocks (N, N_L, N, ...)):
        ``blocks[i, l, j]`` is ``fc[i, s] / m`` for the supercell atom s of atom j that has one of
        its m shortest images from i in cell ``translations[l]`` (zero where none has).
    """
    fc = np.asarray(fc)
    n, n_s = fc.shape[:2]
    if multiplicity.shape[:2] != (n_s, n):
        raise ValueError(f"force constants of shape {fc.shape} do not fit shortest images of {multiplicity.shape[:2]} "
                         "(supercell atoms, unit-cell atoms)")
    count = multiplicity[..., 0].T  # (N, N_s)
    start = multiplicity[..., 1].T
    pair = np.repeat(np.arange(n * n_s), count.ravel())
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(count.ravel()) - count.ravel(), count.ravel())
    i, s = np.divmod(pair, n_s)
    j = np.asarray(atom_of)[s]
    positions = np.asarray(scaled_positions, dtype=float)
    image = vectors[start.ravel()[pair] + offset]
    translations = np.rint(image - positions[j] + positions[i]).astype(np.int64)
    low = translations.min(axis=0)
    width = translations.max(axis=0) - low + 1
    code = ((translations[:, 0] - low[0]) * width[1] + translations[:, 1] - low[1]) * width[2] + translations[:, 2] - low[2]
    codes, cols = np.unique(code, return_inverse=True)  # one integer per translation: a fast unique
    keys = np.stack([codes // (width[1] * width[2]), codes // width[2] % width[1], codes % width[2]], axis=1) + low
    order = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0], np.abs(keys).sum(axis=1)))  # T = 0 first
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    blocks = np.zeros((n, len(keys), n) + fc.shape[2:], dtype=fc.dtype)
    weights = 1.0 / count.ravel()[pair]
    # each (i, translation, j) comes from one supercell atom (the translation fixes it): assign, no sum
    blocks[i, rank[cols], j] = fc[i, s] * weights.reshape((-1,) + (1,) * (fc.ndim - 2))
    return keys[order], blocks
