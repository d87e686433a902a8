"""phonopy's supercell arrays in our compact layout: each (primitive atom, supercell atom) pair
spread over its equidistant shortest images, as phonopy's dynamical matrix does
(``harmonic.supercell_images``, with phonopy's own shortest images of its primitive cell).

phonopy stores force constants of a supercell, ``fc[i, j]`` for a primitive-cell atom ``i``
(a row of the full (N_s, N_s) array picked by ``p2s_map``, or a row of the compact (N_p, N_s)
array) and a supercell atom ``j``.
"""

from __future__ import annotations

import numpy as np

from ..harmonic.supercell_images import dense_images, fold_to_images


def supercell_blocks(phonon, fc) -> tuple[np.ndarray, np.ndarray]:
    """A supercell array ``fc`` (phonopy's layout) spread over the shortest images, as phonopy's
    dynamical matrix does: (translations (N_L, 3) int, blocks (N_p, N_L, N_p, ...)), T = 0 first.

    Args:
        phonon: ``phonopy.Phonopy`` (its primitive cell and supercell).
        fc: (N_s or N_p, N_s, ...) array indexed like phonopy's full or compact force constants;
            ``blocks[i, l, j]`` is ``fc[i, j_s] / m`` for the supercell atom j_s of atom j with one
            of its m shortest images from i in cell ``translations[l]``.
    """
    primitive = phonon.primitive
    n_p, n_s = len(primitive), len(phonon.supercell)
    fc = np.asarray(fc)
    if fc.shape[0] not in (n_p, n_s) or fc.shape[1] != n_s:
        raise ValueError(f"force constants of shape {fc.shape} do not fit a supercell of {n_s} atoms")
    rows = fc[primitive.p2s_map] if fc.shape[0] == n_s else fc
    p2s = {int(s): k for k, s in enumerate(primitive.p2s_map)}
    atom_of = np.array([p2s[int(s)] for s in primitive.s2p_map])  # primitive index of each supercell atom
    vectors, multiplicity = dense_images(primitive)
    return fold_to_images(rows, vectors, multiplicity, atom_of, primitive.scaled_positions)
