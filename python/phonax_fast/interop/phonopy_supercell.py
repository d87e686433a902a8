"""phonopy's supercell arrays in our compact layout: each (primitive atom, supercell atom) pair
spread over its equidistant shortest images, as phonopy's dynamical matrix does.

phonopy stores force constants of a supercell, ``fc[i, j]`` for a primitive-cell atom ``i``
(a row of the full (N_s, N_s) array picked by ``p2s_map``, or a row of the compact (N_p, N_s)
array) and a supercell atom ``j``. Its dynamical matrix spreads each pair over the
equidistant shortest images of ``j`` seen from ``i`` (``Primitive.get_smallest_vectors()``),
each with weight 1/multiplicity.
"""

from __future__ import annotations

import numpy as np


def _image_vectors(primitive):
    """Shortest image vectors per (supercell atom j, primitive atom i) pair.

    Returns a function ``images(j, i) -> (m, 3)`` array of vectors r_j + L − r_i in reduced
    coordinates of the primitive cell, for both of phonopy's svecs layouts.
    """
    svecs, multi = primitive.get_smallest_vectors()
    if multi.ndim == 3:  # dense: multi[j, i] = (count, first index into svecs)
        return lambda j, i: svecs[multi[j, i, 1] : multi[j, i, 1] + multi[j, i, 0]]
    return lambda j, i: svecs[j, i, : multi[j, i]]  # legacy (N_s, N_p, 27, 3) layout


def supercell_blocks(phonon, fc) -> tuple[np.ndarray, np.ndarray]:
    """A supercell array ``fc`` (phonopy's layout) spread over the shortest images, as phonopy's
    dynamical matrix does: (translations (N_L, 3) int, blocks (N_p, N_L, N_p, ...)), T = 0 first.

    Args:
        phonon: ``phonopy.Phonopy`` (its primitive cell and supercell).
        fc: (N_s or N_p, N_s, ...) array indexed like phonopy's full or compact force constants;
            ``blocks[i, l, j]`` sums ``fc[i, j_s] / m`` over the supercell atoms j_s of atom j whose
            m shortest images from i lie in cell ``translations[l]``.
    """
    primitive = phonon.primitive
    n_p, n_s = len(primitive), len(phonon.supercell)
    rows = primitive.p2s_map if fc.shape[0] == n_s else np.arange(n_p)
    if fc.shape[0] not in (n_p, n_s) or fc.shape[1] != n_s:
        raise ValueError(f"force constants of shape {fc.shape} do not fit a supercell of {n_s} atoms")
    s2p = primitive.s2p_map
    p2s = list(primitive.p2s_map)
    p_of_s = np.array([p2s.index(k) for k in s2p])  # primitive index of each supercell atom
    positions = primitive.scaled_positions
    images = _image_vectors(primitive)

    blocks: dict[tuple[int, ...], np.ndarray] = {}
    for i in range(n_p):
        for j_s in range(n_s):
            j = p_of_s[j_s]
            vectors = images(j_s, i)
            translations = np.rint(vectors - positions[j] + positions[i]).astype(int)
            for t in translations:
                block = blocks.setdefault(tuple(t), np.zeros((n_p, n_p) + fc.shape[2:]))
                block[i, j] += fc[rows[i], j_s] / len(translations)

    keys = sorted(blocks, key=lambda t: (np.abs(t).sum(), t))  # T = 0 first
    return np.array(keys, dtype=int), np.stack([blocks[t] for t in keys], axis=1)
