"""IR intensities and Raman tensors of a crystal's Γ-point modes, from a field model's response.

At Γ the modes of the analytic dynamical matrix D(Γ) (real symmetric, eV/(Å²·amu); the transverse
modes: a non-analytic correction shifts the LO modes only for a direction of approach) are
orthonormal eigenvectors e_k, the crystal's mass-weighted normal coordinates of one cell. With the
cell's Born charges (dP/dx, the q = 0 derivatives) and Raman derivatives dα/dx of
:func:`phonax_fast.dielectric.crystal_response`, each mode gets, exactly as a molecule's
(:mod:`phonax_fast.vibrations.intensities`):

* dμ/dQ_k (3,) in e/amu^½, per cell: its square summed over directions is the mode oscillator
  strength in e²/amu; the IR intensity is that in km/mol (per mole of cells, double harmonic);
* the Raman tensor dα/dQ_k (3, 3) in Å²/amu^½ per cell, with the orientation-averaged activity
  45a'² + 7γ'² (Å⁴/amu, a powder's) and the depolarisation ratio.

The three acoustic modes (closest to rigid translations) get NaN: they carry no dipole change
when the charges are neutral. Within a degenerate set only sums over the set are meaningful.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..harmonic.force_constants import ForceConstants
from ..units import CM1_PER_THZ, eigenvalues_to_thz
from .crystal_irreps import translation_modes
from .intensities import ModeIntensities, mode_intensities


@dataclass(frozen=True)
class GammaModes:
    """The Γ-point modes of a crystal's cell with their intensities.

    Attributes:
        frequencies: (3N,) THz, ascending (the analytic, transverse frequencies).
        vectors: (3N, 3N) orthonormal mass-weighted eigenvectors, one per row.
        acoustic: (3N,) bool, the three rigid translations.
        intensities: dμ/dQ, IR (km/mol per cell), and with dα/dx the Raman tensors dα/dQ
            (Å²/amu^½), activities (Å⁴/amu) and depolarisation ratios; NaN for acoustic modes.
    """

    frequencies: np.ndarray
    vectors: np.ndarray
    acoustic: np.ndarray
    intensities: ModeIntensities

    @property
    def frequencies_cm1(self) -> np.ndarray:
        """(3N,) cm⁻¹."""
        return self.frequencies * CM1_PER_THZ

    @property
    def oscillator_strengths(self) -> np.ndarray:
        """(3N,) Σ_α (dμ_α/dQ_k)² in e²/amu (NaN for acoustic modes)."""
        s = np.sum(self.intensities.dipole_derivatives**2, axis=1)
        return np.where(self.acoustic, np.nan, s)

    def table(self) -> str:
        """One line per mode: frequency (THz, cm⁻¹), IR (km/mol) and, with Raman, activity (Å⁴/amu)."""
        raman = self.intensities.raman
        head = "mode   THz      cm-1     IR km/mol" + ("   Raman Å4/amu" if raman is not None else "")
        rows = [head]
        for k, f in enumerate(self.frequencies):
            kind = "acoustic" if self.acoustic[k] else f"{self.intensities.ir[k]:10.3f}"
            row = f"{k + 1:4d} {f:8.3f} {f * CM1_PER_THZ:9.2f}   {kind:>10}"
            if raman is not None and not self.acoustic[k]:
                row += f"   {raman[k]:12.4f}"
            rows.append(row)
        return "\n".join(rows)


def gamma_modes(fcs: ForceConstants, dipole_derivatives, polarizability_derivatives=None) -> GammaModes:
    """The Γ modes of ``fcs`` with their IR intensities and (given dα/dx) Raman tensors.

    Args:
        fcs: compact force constants of the crystal (a non-analytic correction is ignored at Γ).
        dipole_derivatives: (N, 3, 3) dP/dx [i, β, α] in e (the Born charges, last axes swapped).
        polarizability_derivatives: (N, 3, 3, 3) dα/dx [i, β, α, γ] in e·Å/V, or None.
    """
    d = np.asarray(fcs.dynamical_matrices(np.zeros((1, 3)))[0]).real  # Hermitian already; real at Γ
    eigenvalues, vectors = np.linalg.eigh(d)
    masses = np.asarray(fcs.masses, dtype=float)
    acoustic = np.zeros(len(eigenvalues), bool)
    acoustic[translation_modes(vectors, masses)] = True
    intensities = mode_intensities(vectors.T, masses, dipole_derivatives, polarizability_derivatives, rigid=acoustic)
    return GammaModes(eigenvalues_to_thz(eigenvalues), vectors.T, acoustic, intensities)


__all__ = ["GammaModes", "gamma_modes"]
