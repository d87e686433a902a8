"""Conversion between phonopy objects and :class:`ForceConstants`.

phonopy stores force constants of a supercell; ``phonopy_supercell.supercell_blocks`` spreads
them over the shortest images once, as phonopy's dynamical matrix does at every q, so that
``ForceConstants.dynamical_matrices`` reproduces phonopy's ``DynamicalMatrix`` to round-off.
"""

from __future__ import annotations

import numpy as np

from ..harmonic.force_constants import ForceConstants
from ..harmonic.symmetry import crystal_symmetry
from .nac import nac_from_phonopy
from .phonopy_supercell import supercell_blocks


def force_constants_from_phonopy(phonon) -> ForceConstants:
    """Compact :class:`ForceConstants` of ``phonon.primitive`` from a ``phonopy.Phonopy`` object.

    Args:
        phonon: ``phonopy.Phonopy`` with force constants set (full (N_s, N_s, 3, 3) or compact
            (N_p, N_s, 3, 3), eV/Å²). Its non-analytic correction (``nac_params``: Born charges,
            dielectric tensor, method), if any, is carried over (``interop.nac``).

    Returns:
        ForceConstants of the N_p primitive-cell atoms whose ``dynamical_matrices(q)`` equal
        phonopy's ``DynamicalMatrix`` (with NAC when it has one) at any q to round-off.
    """
    fc = phonon.force_constants
    if fc is None:
        raise ValueError("the phonopy object has no force constants; run produce_force_constants() first")
    if fc.ndim != 4 or fc.shape[2:] != (3, 3):
        raise ValueError(f"force constants of shape {fc.shape} are not (atoms, supercell atoms, 3, 3)")
    translations, compact = supercell_blocks(phonon, fc)  # checks the atom counts against the supercell  # (N_p, N_L, N_p, 3, 3)
    primitive = phonon.primitive
    n_p = len(primitive)
    _reuse_symmetry(phonon)
    return ForceConstants(
        fc=compact.reshape(n_p, len(translations) * n_p, 3, 3),
        translations=translations,
        cell=np.array(primitive.cell, dtype=float),
        scaled_positions=np.array(primitive.scaled_positions, dtype=float),
        masses=np.array(primitive.masses, dtype=float),
        numbers=np.array(primitive.numbers, dtype=int),
        nac=nac_from_phonopy(phonon),
        supercell=supercell_of_primitive(phonon),
    )


def _reuse_symmetry(phonon) -> None:
    """Hand the symmetry that phonopy found for its primitive cell (at the tolerance it used) to
    ``harmonic.symmetry``'s cache, so that meshes and force-constant checks of this crystal do not
    run spglib again."""
    symmetry = getattr(phonon, "primitive_symmetry", None)
    dataset = getattr(symmetry, "dataset", None)
    if not hasattr(dataset, "equivalent_atoms") or getattr(phonon.primitive, "magnetic_moments", None) is not None:
        return  # no spglib dataset (phonopy without symmetry), or one of a magnetic cell
    primitive = phonon.primitive
    crystal_symmetry(np.array(primitive.cell, dtype=float), np.array(primitive.scaled_positions, dtype=float),
                     np.array(primitive.numbers, dtype=int), symmetry.tolerance, dataset=dataset)


def supercell_of_primitive(phonon) -> np.ndarray | None:
    """(3, 3) int M with phonopy's supercell vectors = rows of ``M @ primitive cell``, or None when
    the supercell is not a multiple of the primitive cell."""
    m = np.asarray(phonon.supercell.cell, float) @ np.linalg.inv(np.asarray(phonon.primitive.cell, float))
    return np.rint(m).astype(np.int64) if np.abs(m - np.rint(m)).max() < 1e-6 else None
