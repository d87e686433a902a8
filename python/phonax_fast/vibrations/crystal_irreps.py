"""Irreps of crystal phonons at a q-point (phonopy's IrReps) and IR/Raman activity at Γ.

phonopy finds the little group of q, the characters of every degenerate set of modes and, at
Γ, the Mulliken labels from its character tables. The selection rules are then read from those
characters: a Γ mode is IR-active when its irrep occurs in the vector representation
(χ_v(R) = tr R) and Raman-active when it occurs in the symmetric square (χ_s = (tr(R)² + tr(R²))/2).
Traces do not depend on the basis, so phonopy's integer (lattice-basis) rotations serve as they are.
The space group is phonopy's own (``phonon.primitive_symmetry``), not ``harmonic.crystal_symmetry``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..harmonic.degeneracy import DEGENERACY_TOLERANCE


@dataclass(frozen=True)
class CrystalIrreps:
    """Irreps of the phonon modes at one q-point (3N modes, ascending frequency).

    Attributes:
        qpoint: (3,) reduced coordinates of the primitive cell's reciprocal lattice.
        point_group: Hermann–Mauguin symbol of the crystal's point group (phonopy's).
        frequencies: (3N,) in THz, imaginary ones negative.
        degenerate_sets: lists of mode indices that span one irrep each.
        labels: (3N,) Mulliken label per mode (phonopy's tables, e.g. "T2g"); at q ≠ 0 phonopy
            gives no labels and every entry is None.
        characters: (n_sets, n_ops) complex characters of each degenerate set for the
            operations of the little group of q.
        acoustic: (3N,) bool, the three modes closest to rigid translations at Γ (all False elsewhere).
        ir_active, raman_active: (3N,) bool at Γ (False for the acoustic modes); None at q ≠ 0,
            where optical selection rules do not apply.
    """

    qpoint: np.ndarray
    point_group: str
    frequencies: np.ndarray
    degenerate_sets: list
    labels: list
    characters: np.ndarray
    acoustic: np.ndarray
    ir_active: np.ndarray | None
    raman_active: np.ndarray | None


def crystal_irreps(phonon, q=(0.0, 0.0, 0.0), degeneracy_tolerance: float = DEGENERACY_TOLERANCE,
                   q_direction=None) -> CrystalIrreps:
    """Irreps and (at Γ) IR/Raman activity of the phonons of a ``phonopy.Phonopy`` at ``q``.

    Args:
        phonon: ``phonopy.Phonopy`` with force constants set; its primitive cell must be primitive.
        q: (3,) q-point in reduced coordinates of the primitive reciprocal lattice.
        degeneracy_tolerance: THz; consecutive modes closer than this (strictly) form one degenerate
            set. phonopy's ``run_irreps`` finds the sets (its characters belong to them) by the rule
            of ``harmonic.degenerate_sets``; the default is phonopy's cutoff, ``DEGENERACY_TOLERANCE``.
        q_direction: (3,) reduced direction of approach to Γ for a phonopy object with a
            non-analytic correction (``nac_params``): the LO modes split off along it, and the
            irreps are those of the group that keeps the direction. None: the analytic part.
    """
    if phonon.force_constants is None:
        raise ValueError("the phonopy object has no force constants; produce or set them first")
    q = np.asarray(q, dtype=float)
    if q.shape != (3,) or not np.isfinite(q).all():
        raise ValueError(f"q must be three finite reduced coordinates, got {q!r}")
    phonon.run_irreps(q, nac_q_direction=q_direction, degeneracy_tolerance=degeneracy_tolerance)
    irreps = phonon.irreps
    freqs = np.asarray(irreps.frequencies)
    sets = [list(map(int, s)) for s in irreps.band_indices]
    chars = np.asarray(irreps.characters)
    n_modes = len(freqs)
    set_labels = irreps._ir_labels  # phonopy has no public accessor for the labels
    labels: list = [None] * n_modes
    for k, s in enumerate(sets):
        for i in s:
            labels[i] = None if set_labels is None else set_labels[k]
    at_gamma = bool(np.all(np.abs(q - np.rint(q)) < 1e-8))
    acoustic = np.zeros(n_modes, bool)
    ir = raman = None
    if at_gamma:
        acoustic[translation_modes(np.asarray(irreps.eigenvectors), phonon.primitive.masses)] = True
        rotations = np.asarray(irreps.conventional_rotations, dtype=float)
        tr = np.trace(rotations, axis1=1, axis2=2)
        tr2 = np.einsum("gab,gba->g", rotations, rotations)
        ir_mult = (chars.conj() @ tr).real / len(rotations)
        raman_mult = (chars.conj() @ (0.5 * (tr**2 + tr2))).real / len(rotations)
        ir, raman = np.zeros(n_modes, bool), np.zeros(n_modes, bool)
        for k, s in enumerate(sets):
            ir[s], raman[s] = ir_mult[k] > 0.5, raman_mult[k] > 0.5
        ir &= ~acoustic
        raman &= ~acoustic
    return CrystalIrreps(
        qpoint=q,
        point_group=str(phonon.symmetry.pointgroup_symbol),
        frequencies=freqs,
        degenerate_sets=sets,
        labels=labels,
        characters=chars,
        acoustic=acoustic,
        ir_active=ir,
        raman_active=raman,
    )


def translation_modes(eigenvectors: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Indices of the three Γ modes (columns of ``eigenvectors``, (3N, 3N)) closest to rigid translations."""
    t = np.kron(np.sqrt(masses)[:, None], np.eye(3))  # (3N, 3): √m_i e_α
    t /= np.linalg.norm(t, axis=0)
    overlap = np.sum(np.abs(t.T @ eigenvectors) ** 2, axis=0)
    return np.argsort(-overlap, kind="stable")[:3]
