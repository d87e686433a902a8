"""IR intensities and Raman activities of molecular normal modes, from dP/dx and dα/dx.

Inputs are those of :func:`phonax_fast.dielectric.field_response` at zero field and the
normal modes of :func:`~phonax_fast.vibrations.normal_modes.normal_modes`:

* ``vectors`` (n_modes, 3N): orthonormal eigenvectors e_k of the mass-weighted Hessian, one per
  row (``Vibrations.mass_weighted_modes``). The mass-weighted normal coordinate of mode k is
  Q_k = Σ_{iβ} e_{k,iβ} √m_i x_{iβ} (amu^½·Å), so a unit change of Q_k displaces atom i by
  u_{k,i} = e_{k,i}/√m_i (Å per amu^½·Å), and d/dQ_k = Σ_{iβ} u_{k,iβ} ∂/∂x_{iβ}.
* dP/dx[i, β, α] = ∂P_α/∂x_{iβ} in e (e·Å per Å), and dα/dx[i, β, α, γ] = ∂α_{αγ}/∂x_{iβ} in
  e·Å/V (α in e·Å²/V, per Å).

Per mode:

* dμ/dQ_k = Σ u_{k,iβ} dP/dx[i, β, :], (3,) in e/amu^½.
* IR intensity (integrated molar absorption coefficient, double-harmonic approximation):
  A_k = N_A π/(3c²) · |dμ/dQ_k|² in Gaussian units, i.e. A_k = N_A/(12 ε₀ c²) · |dμ/dQ_k|² in SI
  (the Gaussian formula with e² → e²/(4πε₀)). With |dμ/dQ|² in e²/amu:

      1 e²/amu ↦ N_A e²/(12 ε₀ c² u) = 9.74880e5 m/mol = 974.880 km/mol

  (units: mol⁻¹ · C² / (C²·s²·kg⁻¹·m⁻³ · m²·s⁻² · kg) = m/mol; ``units.KM_PER_MOL_PER_E2_PER_AMU``,
  from CODATA 2018). The familiar form: 42.2561 km/mol per
  (D/Å)²/amu, and 1 e·Å = 4.80320 D (1 D = 10⁻²¹/c C·m), so 1 e²/amu = 4.80320² (D/Å)²/amu =
  23.0707 × 42.2561 km/mol = 974.88 km/mol.
* dα/dQ_k = Σ u_{k,iβ} dα/dx[i, β, :, :], converted from e·Å/V per amu^½ to the polarizability
  volume Å³ per Å·amu^½ (= Å²/amu^½): α[Å³] = α[e·Å²/V] / (4πε₀) with 4πε₀ = e/(14.399645 V·Å)
  (e²/(4πε₀) = 14.399645 eV·Å), i.e. α[Å³] = 14.399645 · α[e·Å²/V]
  (``units.ANGSTROM3_PER_E_ANGSTROM2_PER_V``).
* Raman activity S_k = 45 a'² + 7 γ'² in Å⁴/amu, with the invariants of the symmetric tensor
  a = dα/dQ_k: a' = tr(a)/3 and γ'² = ½[(a_xx − a_yy)² + (a_yy − a_zz)² + (a_zz − a_xx)² +
  6(a_xy² + a_yz² + a_zx²)] = (3/2)·tr(d²) with d = a − a'·1 (Gaussian's and ORCA's
  "Raman activity", Å⁴/amu; no frequency or temperature factors).
* Depolarisation ratio for linearly polarised incident light (90° scattering):
  ρ_k = 3γ'²/(45a'² + 4γ'²), between 0 and 3/4 (3/4 exactly when a' = 0: non-totally-symmetric
  modes). NaN where the mode is Raman-inactive to round-off (45a'² + 4γ'² ≤ 1e-10 of the largest
  over the vibrations), where the ratio is undefined.

Within a degenerate set the per-mode numbers depend on the basis the eigensolver picked; their
sum over the set does not (it is the trace of a projector). Rigid-body modes (translations and
rotations) are not vibrations: their entries are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..units import ANGSTROM3_PER_E_ANGSTROM2_PER_V, KM_PER_MOL_PER_E2_PER_AMU

RAMAN_INACTIVE = 1e-10  # relative 45a'² + 4γ'² below which a depolarisation ratio is undefined (NaN)


@dataclass(frozen=True)
class ModeIntensities:
    """IR and Raman intensities per mode (3N,), NaN for rigid-body modes (see the module docstring).

    Attributes:
        dipole_derivatives: (n_modes, 3) dμ/dQ in e/amu^½.
        polarizability_derivatives: (n_modes, 3, 3) dα/dQ in Å²/amu^½ (Å³ per Å·amu^½); None without dα/dx.
        ir: (n_modes,) IR intensities in km/mol.
        raman: (n_modes,) Raman activities in Å⁴/amu; None without dα/dx.
        depolarization: (n_modes,) depolarisation ratios (linearly polarised light); None without dα/dx.
    """

    dipole_derivatives: np.ndarray
    ir: np.ndarray
    polarizability_derivatives: np.ndarray | None = None
    raman: np.ndarray | None = None
    depolarization: np.ndarray | None = None


def raman_invariants(dalpha_dq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a', γ'²) of symmetric tensors (..., 3, 3): the isotropic mean tr/3 and the anisotropy
    (3/2)·tr(d²) of the traceless part d, in the tensors' units (squared for γ'²)."""
    a = 0.5 * (dalpha_dq + np.swapaxes(dalpha_dq, -1, -2))
    iso = np.trace(a, axis1=-2, axis2=-1) / 3
    dev = a - iso[..., None, None] * np.eye(3)
    return iso, 1.5 * np.einsum("...ij,...ij->...", dev, dev)


def mode_intensities(
    vectors: np.ndarray,
    masses: np.ndarray,
    dipole_derivatives: np.ndarray,
    polarizability_derivatives: np.ndarray | None = None,
    rigid: np.ndarray | None = None,
) -> ModeIntensities:
    """IR intensities, Raman activities and depolarisation ratios of normal modes.

    Args:
        vectors: (n_modes, 3N) orthonormal mass-weighted eigenvectors, one per row.
        masses: (N,) in amu.
        dipole_derivatives: (N, 3, 3) dP/dx [i, β displacement, α dipole] in e.
        polarizability_derivatives: (N, 3, 3, 3) dα/dx [i, β, α, γ] in e·Å/V, or None (no Raman).
        rigid: (n_modes,) bool, True for translations/rotations (their entries become NaN).
    """
    masses = np.asarray(masses, dtype=float)
    n = len(masses)
    vectors = np.asarray(vectors, dtype=float)
    if vectors.ndim != 2 or vectors.shape[1] != 3 * n:
        raise ValueError(f"mode vectors of shape {vectors.shape} do not fit {n} atoms (expected (n_modes, {3 * n}))")
    dp_dx = np.asarray(dipole_derivatives, dtype=float)
    if dp_dx.shape != (n, 3, 3):
        raise ValueError(f"dipole derivatives of shape {dp_dx.shape}, expected {(n, 3, 3)}")
    u = (vectors / np.repeat(np.sqrt(masses), 3)[None, :]).reshape(-1, n, 3)  # Å per (amu^½·Å) of Q
    dmu = np.einsum("kib,iba->ka", u, dp_dx)  # e/amu^½
    ir = KM_PER_MOL_PER_E2_PER_AMU * np.sum(dmu**2, axis=1)
    skip = np.zeros(len(u), bool) if rigid is None else np.asarray(rigid, bool)
    ir[skip] = np.nan
    if polarizability_derivatives is None:
        return ModeIntensities(dmu, ir)
    da_dx = np.asarray(polarizability_derivatives, dtype=float)
    if da_dx.shape != (n, 3, 3, 3):
        raise ValueError(f"polarizability derivatives of shape {da_dx.shape}, expected {(n, 3, 3, 3)}")
    dalpha = ANGSTROM3_PER_E_ANGSTROM2_PER_V * np.einsum("kib,ibag->kag", u, da_dx)  # Å²/amu^½
    iso, aniso = raman_invariants(dalpha)
    raman = 45 * iso**2 + 7 * aniso
    denominator = 45 * iso**2 + 4 * aniso
    scale = np.max(denominator[~skip], initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(denominator > RAMAN_INACTIVE * scale, 3 * aniso / denominator, np.nan)
    raman[skip] = np.nan
    rho[skip] = np.nan
    return ModeIntensities(dmu, ir, dalpha, raman, rho)


def lorentzian_spectrum(frequencies, weights, grid, fwhm: float = 10.0) -> np.ndarray:
    """Σ_k w_k · L(ν − ν_k) on ``grid`` with area-normalised Lorentzians of full width at half
    maximum ``fwhm`` (same unit as the frequencies, e.g. cm⁻¹): L(x) = (Γ/2)/(π (x² + (Γ/2)²)), so
    each line integrates to its weight (km/mol → km/mol per cm⁻¹). NaN weights are skipped."""
    if not fwhm > 0:
        raise ValueError(f"the line width (FWHM) must be positive, not {fwhm!r}")
    nu = np.asarray(frequencies, dtype=float)
    w = np.asarray(weights, dtype=float)
    keep = np.isfinite(w)
    half = 0.5 * fwhm
    x = np.asarray(grid, dtype=float)[:, None] - nu[keep][None, :]
    return (half / np.pi / (x**2 + half**2)) @ w[keep]


__all__ = [
    "ModeIntensities",
    "lorentzian_spectrum",
    "mode_intensities",
    "raman_invariants",
]
