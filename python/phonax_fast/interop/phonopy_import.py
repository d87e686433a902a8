"""Conversion between phonopy objects and :class:`ForceConstants`.

phonopy stores force constants of a supercell, ``fc[i, j]`` for a primitive-cell atom ``i``
(a row of the full (N_s, N_s) array picked by ``p2s_map``, or a row of the compact (N_p, N_s)
array) and a supercell atom ``j``. Its dynamical matrix spreads each pair over the
equidistant shortest images of ``j`` seen from ``i`` (``Primitive.get_smallest_vectors()``),
each with weight 1/multiplicity. The conversion below does the same spreading once, so that
``ForceConstants.dynamical_matrices`` reproduces phonopy's ``DynamicalMatrix`` to round-off.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..harmonic.force_constants import ForceConstants


def _image_vectors(primitive):
    """Shortest image vectors per (supercell atom j, primitive atom i) pair.

    Returns a function ``images(j, i) -> (m, 3)`` array of vectors r_j + L − r_i in reduced
    coordinates of the primitive cell, for both of phonopy's svecs layouts.
    """
    svecs, multi = primitive.get_smallest_vectors()
    if multi.ndim == 3:  # dense: multi[j, i] = (count, first index into svecs)
        return lambda j, i: svecs[multi[j, i, 1] : multi[j, i, 1] + multi[j, i, 0]]
    return lambda j, i: svecs[j, i, : multi[j, i]]  # legacy (N_s, N_p, 27, 3) layout


def force_constants_from_phonopy(phonon) -> ForceConstants:
    """Compact :class:`ForceConstants` of ``phonon.primitive`` from a ``phonopy.Phonopy`` object.

    Args:
        phonon: ``phonopy.Phonopy`` with force constants set (full (N_s, N_s, 3, 3) or compact
            (N_p, N_s, 3, 3), eV/Å²). Non-analytical corrections are not carried over.

    Returns:
        ForceConstants of the N_p primitive-cell atoms whose ``dynamical_matrices(q)`` equal
        phonopy's ``DynamicalMatrix`` (without NAC) at any q to round-off.
    """
    fc = phonon.force_constants
    if fc is None:
        raise ValueError("the phonopy object has no force constants; run produce_force_constants() first")
    if phonon.nac_params is not None:
        warnings.warn("the phonopy object has NAC parameters; they are not part of ForceConstants", stacklevel=2)
    primitive = phonon.primitive
    n_p, n_s = len(primitive), len(phonon.supercell)
    rows = primitive.p2s_map if fc.shape[0] == n_s else np.arange(n_p)
    if fc.shape != (len(rows), n_s, 3, 3) and fc.shape != (n_s, n_s, 3, 3):
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
                block = blocks.setdefault(tuple(t), np.zeros((n_p, n_p, 3, 3)))
                block[i, j] += fc[rows[i], j_s] / len(translations)

    keys = sorted(blocks, key=lambda t: (np.abs(t).sum(), t))  # T = 0 first
    compact = np.stack([blocks[t] for t in keys], axis=1)  # (N_p, N_L, N_p, 3, 3)
    return ForceConstants(
        fc=compact.reshape(n_p, len(keys) * n_p, 3, 3),
        translations=np.array(keys, dtype=int),
        cell=np.array(primitive.cell, dtype=float),
        scaled_positions=np.array(positions, dtype=float),
        masses=np.array(primitive.masses, dtype=float),
        numbers=np.array(primitive.numbers, dtype=int),
    )
