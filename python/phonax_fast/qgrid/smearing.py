"""Gaussian-smeared densities of states from modes on a q-mesh (phonopy's "Normal" smearing)."""

from __future__ import annotations

import numpy as np

_WINDOW = 10.0  # Gaussians are summed within ±10σ (the tail beyond is < 2e-22 of the peak)


def normal(x, sigma: float) -> np.ndarray:
    """Normal distribution exp(−x²/2σ²)/(√(2π)σ), 1/THz for x and σ in THz."""
    return np.exp(-0.5 * (x / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)


def gaussian_dos(frequencies, weights, freq_points, sigma: float) -> np.ndarray:
    """Total DOS (n_freq,) in 1/THz per unit cell.

    Args:
        frequencies: (n_q, n_band) THz.
        weights: (n_q,) q-point weights (normalised here).
        freq_points: (n_freq,) THz.
        sigma: Gaussian width, THz.
    """
    f = np.asarray(frequencies, float)
    w = np.repeat(np.asarray(weights, float) / np.sum(weights), f.shape[1])
    order = np.argsort(f, axis=None)
    f, w = f.ravel()[order], w[order]
    x = np.asarray(freq_points, float)
    lo = np.searchsorted(f, x - _WINDOW * sigma)
    hi = np.searchsorted(f, x + _WINDOW * sigma)
    return np.array([w[a:b] @ normal(xk - f[a:b], sigma) for xk, a, b in zip(x, lo, hi)])


def gaussian_projected_dos(frequencies, projections, freq_points, sigma: float) -> np.ndarray:
    """Σ_q Σ_b N(ω − f_qb) · projections[q, p, b], (n_proj, n_freq), unnormalised.

    Args:
        frequencies: (n_q, n_band) THz.
        projections: (n_q, n_proj, n_band), weights of each mode (q-weights included).
        freq_points: (n_freq,) THz.
        sigma: Gaussian width, THz.
    """
    g = normal(np.asarray(freq_points, float)[:, None, None] - frequencies[None], sigma)  # (n_freq, n_q, n_band)
    return np.einsum("fqb,qpb->pf", g, projections)
