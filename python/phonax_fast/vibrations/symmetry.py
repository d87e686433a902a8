"""Symmetry analysis of normal modes: irreps per degenerate set, IR and Raman activity."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..harmonic.degeneracy import degenerate_sets
from .irreps import MullikenLabeller, activities, characters, irreducible_subspaces, is_irreducible
from .normal_modes import NormalModes
from .point_group import PointGroup


@dataclass(frozen=True)
class ModeSymmetry:
    """Per-mode symmetry (arrays of length 3N, in the order of the symmetry-adapted modes).

    Attributes:
        modes: NormalModes whose degenerate vibrations are rotated into irreducible subspaces.
        labels: Mulliken label per mode; None for the rigid-body modes, "?" where the modes do
            not carry a representation of the group (structure or Hessian not symmetric enough).
        ir_active, raman_active: (3N,) bool; False for rigid-body modes.
        degenerate_sets: lists of mode indices spanning one irrep each (vibrations only).
    """

    modes: NormalModes
    labels: list
    ir_active: np.ndarray
    raman_active: np.ndarray
    degenerate_sets: list


def analyse(group: PointGroup, modes: NormalModes, degeneracy_tolerance: float) -> ModeSymmetry:
    """Irreps and selection rules of the vibrations in ``modes``.

    Args:
        group: point group of the molecule (same atom order as the modes).
        modes: normal modes (mass-weighted eigenvectors).
        degeneracy_tolerance: cm⁻¹; consecutive vibrations (ascending) at most this far apart chain
            into one set (``harmonic.degenerate_sets`` with ``strict=False``).
    """
    freqs = modes.frequencies_cm1
    vib = np.where(~modes.rigid)[0]
    eigenvalues = modes.eigenvalues.copy()
    vectors = modes.vectors.copy()
    labels: list = [None] * len(freqs)
    ir = np.zeros(len(freqs), bool)
    raman = np.zeros(len(freqs), bool)
    labeller = MullikenLabeller(group)
    sets, unresolved = [], 0
    # vibrations chain when neighbours differ by at most (≤) the tolerance: strict=False
    for cluster in [vib[s] for s in degenerate_sets(freqs[vib], degeneracy_tolerance, strict=False)]:
        basis = modes.vectors[:, cluster]
        lam = np.diag(modes.eigenvalues[cluster])
        parts = []  # (eigenvalue, vector, label, ir, raman, subspace number) per mode of the cluster
        for k, sub in enumerate(irreducible_subspaces(group, basis)):
            c = basis.T @ sub  # (s, d): the subspace in the cluster's eigenbasis
            w, v = np.linalg.eigh(c.T @ lam @ c)
            chi = characters(group, sub)
            if is_irreducible(group, chi):
                info = (labeller.label(chi), *activities(group, chi))
            else:
                info, unresolved = ("?", False, False), unresolved + 1
            parts += [(w[j], sub @ v[:, j], *info, k) for j in range(len(w))]
        parts.sort(key=lambda p: p[0])
        members: dict = {}
        for i, (w, vec, label, is_ir, is_raman, k) in zip(cluster, parts):
            eigenvalues[i], vectors[:, i], labels[i], ir[i], raman[i] = w, vec, label, is_ir, is_raman
            members.setdefault(k, []).append(int(i))
        sets += members.values()
    if unresolved:
        warnings.warn(
            f"{unresolved} set(s) of modes do not transform as one irrep of {group.name}; labelled '?'. "
            "The structure or the Hessian is not symmetric within the tolerances "
            "(try a larger degeneracy_tolerance or a smaller symmetry_tolerance).",
            stacklevel=3,
        )
    adapted = NormalModes(eigenvalues, vectors, modes.rigid)
    return ModeSymmetry(adapted, labels, ir, raman, sorted(sets))
