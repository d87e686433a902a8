"""The non-analytic term correction (NAC) of polar crystals: LO–TO splitting from Born charges.

The dynamical matrix of an insulator with Born effective charges Z* and high-frequency dielectric
tensor ε∞ has a term that depends on the direction in which q approaches Γ. Two methods, both
exactly as phonopy computes them (so that results equal phonopy's to round-off):

- ``"gonze"`` (Gonze & Lee, PRB 55, 10355 (1997); phonopy's default): the dipole–dipole
  interaction as an Ewald sum over reciprocal vectors K = q + G (|G| below a cutoff, Gaussian
  damping Λ), with its q = 0 value subtracted on the diagonal (acoustic sum rule). Its
  real-space image on the supercell the force constants came from is subtracted from the force
  constants (phonopy's "short-range" force constants), so

      D(q) = D_fc(q) − D̃_dd(q) + D_dd(q),

  where D̃_dd is the Bloch sum of that real-space image (``real_space``) and D_dd the Ewald sum.
- ``"wang"`` (Wang et al., J. Phys.: Condens. Matter 22, 202201 (2010)): the constant
  (4π/V)·(q·Z_i)(q·Z_j)/(q·ε·q) / n added to every supercell force constant, i.e. times the Bloch
  sum of the supercell's image weights (``real_space``: Σ 1/multiplicity per translation / n).

Everything here is in the C-type phase convention of ``bloch_sum`` (no atomic-position phases):
``term`` returns the matrices to add to the lattice sum Σ_l Φ_l exp(2πi q·T_l) before the mass
weighting and position phases of ``ForceConstants.dynamical_matrices`` (or, mass-weighted, to
``bloch_sum`` of the q-grid engine). At Γ without a direction both methods add nothing (the
analytic D_fc(Γ), as phonopy); with ``directions`` the limit q → 0 along that direction is taken.

``term`` is written for ``numpy``, ``jax.numpy`` (traceable; the dataclass is a pytree) and cupy.
The parameters (G vectors, Λ, the q = 0 sum, the real-space images) are made by phonopy from the
force constants and the supercell they belong to: see ``interop.nac``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import jax
import numpy as np

from .._core import gonze_weighted_outer

METHODS = ("gonze", "wang")
Q_ZERO_TOLERANCE = 1e-5
_NUMPY_BLOCK = 32  # q-points per block of the Ewald sum with numpy
_UPPER = (np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 2, 1, 2, 2]))  # (α, β), α ≤ β, of a symmetric 3×3
_SYMMETRIC = np.array([0, 1, 2, 1, 3, 4, 2, 4, 5])  # the full 3×3 (row-major) from those six
"""|q| (Cartesian, 1/Å without 2π) below which q counts as Γ, as phonopy's ``Q_DIRECTION_TOLERANCE``."""


def validate_born_epsilon(born, epsilon, n_atoms: int, symmetric_tolerance: float = 1e-6):
    """Born charges (N, 3, 3) and ε∞ (3, 3) as float64 arrays, or a ValueError that names the problem.

    ``born[i, α, β]`` = ∂F_{iβ}/∂E_α in units of e (phonopy's BORN convention: row α is the field
    direction); ``epsilon`` must be symmetric (to ``symmetric_tolerance`` × max |ε|) and positive
    definite. ``n_atoms``: atoms of the unit cell the force constants belong to.
    """
    try:
        z = np.asarray(born, dtype=float)
        eps = np.asarray(epsilon, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Born charges and dielectric tensor must be numeric arrays: {err}") from None
    if eps.shape != (3, 3):
        raise ValueError(f"the dielectric tensor must be 3×3; got shape {eps.shape}")
    if z.ndim != 3 or z.shape[1:] != (3, 3):
        raise ValueError(f"Born charges must have shape (atoms, 3, 3); got {z.shape}")
    if len(z) != n_atoms:
        raise ValueError(f"Born charges are given for {len(z)} atoms, but the cell has {n_atoms} atoms")
    if not (np.isfinite(z).all() and np.isfinite(eps).all()):
        raise ValueError("Born charges and dielectric tensor must be finite (no NaN or inf)")
    if np.abs(eps - eps.T).max() > symmetric_tolerance * np.abs(eps).max():
        raise ValueError(f"the dielectric tensor is not symmetric: {eps.tolist()}")
    smallest = np.linalg.eigvalsh(0.5 * (eps + eps.T)).min()
    if smallest <= 0:
        raise ValueError(f"the dielectric tensor must be positive definite; its smallest eigenvalue is {smallest:g}")
    return z, eps


def charge_neutrality_residual(born) -> float:
    """max |Σ_i Z*_i| over the 3×3 components (e): zero when the charges obey the acoustic sum rule."""
    return float(np.abs(np.asarray(born, float).sum(axis=0)).max())


@jax.tree_util.register_dataclass  # a pytree: its arrays can be placed on devices and traced
@dataclass(frozen=True)
class NonAnalyticCorrection:
    """Born charges, ε∞ and the method's parameters for one crystal (see the module docstring).

    Attributes:
        born: (N, 3, 3) Born effective charges Z*[i, α, β] (e), symmetrised, neutral.
        epsilon: (3, 3) high-frequency dielectric tensor.
        reciprocal: (3, 3) inverse of the cell (columns are reciprocal vectors, 1/Å, no 2π).
        positions: (N, 3) Cartesian positions, Å.
        g_vectors: (n_G, 3) reciprocal vectors of the Ewald sum, Cartesian 1/Å, no 2π (gonze).
        dd_q0: (N, 3, 3) complex, the Ewald sum at q = 0 summed over the second atom (gonze).
        translations: (N_W, 3) float, lattice translations of ``real_space``.
        real_space: (N_W, 9N²) eV/Å², blocks [3i+α, 3j+β], the dipole–dipole image on the
            supercell (gonze); or (N_W, N²), [i, j], the image weights / n (wang).
        supercell_matrix: (3, 3) int M, the supercell both real-space parts refer to (its lattice
            vectors are the rows of M @ cell); results depend on it, as phonopy's do.
        method: ``"gonze"`` or ``"wang"``.
        factor: unit conversion × 4π / V, eV/Å² per (e² · 1/Å² / ε) (phonopy's ``nac_factor``).
        lambda_: the Ewald damping Λ (1/Å), gonze only.
        charge_residual: max |Σ_i Z*_i| of the charges as given, before neutrality was imposed.
    """

    born: np.ndarray
    epsilon: np.ndarray
    reciprocal: np.ndarray
    positions: np.ndarray
    g_vectors: np.ndarray
    dd_q0: np.ndarray
    translations: np.ndarray
    real_space: np.ndarray
    supercell_matrix: np.ndarray
    method: str = field(metadata={"static": True})
    factor: float = field(metadata={"static": True})
    lambda_: float = field(default=0.0, metadata={"static": True})
    charge_residual: float = field(default=0.0, metadata={"static": True})

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"NAC method must be one of {METHODS}; got {self.method!r}")

    @property
    def n_atoms(self) -> int:
        return len(self.born)

    @property
    def unit_factor(self) -> float:
        """The unit conversion alone (``factor`` × V / 4π), eV·Å: phonopy's ``nac_params["factor"]``."""
        return float(self.factor / (4 * np.pi * abs(np.linalg.det(np.asarray(self.reciprocal)))))

    def phonopy_params(self) -> dict:
        """phonopy's ``nac_params``: {"born", "dielectric", "factor", "method"}."""
        return {"born": np.array(self.born), "dielectric": np.array(self.epsilon), "factor": self.unit_factor,
                "method": self.method}

    def term(self, xp, qpoints, directions=None):
        """The matrices to add to the lattice sum at ``qpoints``, (n_q, 3N, 3N) complex, eV/Å².

        Args:
            xp: ``numpy``, ``jax.numpy`` or ``cupy``.
            qpoints: (n_q, 3) reduced coordinates.
            directions: None, or (3,) / (n_q, 3) reduced directions of approach to Γ, used where
                q (gonze: q + G) is Γ; a zero direction counts as none.
        """
        q = xp.asarray(qpoints, dtype=float).reshape(-1, 3)
        rec = xp.asarray(self.reciprocal)
        q_cart = q @ rec.T
        if directions is None:
            d_cart, has_direction = xp.zeros_like(q_cart), xp.zeros(len(q), dtype=bool)
        else:
            d_cart = xp.broadcast_to(xp.asarray(directions, dtype=float).reshape(-1, 3) @ rec.T, q_cart.shape)
            has_direction = xp.linalg.norm(d_cart, axis=1) >= Q_ZERO_TOLERANCE
        if self.method == "wang":
            return self._wang(xp, q, q_cart, d_cart, has_direction)
        if xp is not np or len(q) <= _NUMPY_BLOCK:  # jax.numpy: one traced expression, fused by XLA
            return self._gonze(xp, q, q_cart, d_cart, has_direction)
        # numpy: blocks of q-points, so the (q, G) temporaries stay in cache instead of growing with the
        # chunk, on all cores (numpy releases the GIL in its loops)
        def block(k):
            part = slice(k, k + _NUMPY_BLOCK)
            return self._gonze(np, q[part], q_cart[part], d_cart[part], has_direction[part])

        with ThreadPoolExecutor(min(len(os.sched_getaffinity(0)), -(-len(q) // _NUMPY_BLOCK))) as pool:
            return np.concatenate(list(pool.map(block, range(0, len(q), _NUMPY_BLOCK))))

    def _lattice_sum(self, xp, q):
        arg = 2 * np.pi * q @ xp.asarray(self.translations).T  # (n_q, N_W)
        w = xp.asarray(self.real_space)
        return xp.cos(arg) @ w + 1j * (xp.sin(arg) @ w)

    def _weighted_outer(self, xp, q_cart, d_cart, has_direction):
        """(n_q, 6, n_G) v_a (v_b w) over K = q + G for the pairs a ≤ b (``_UPPER``), as
        ``core/ewald.h`` computes it for numpy: K K^T / (K·ε·K) · exp(−K·ε·K / 4Λ²) is rank one,
        weight w times the vector v = K; at K = 0 the direction's limit d d^T / (d·ε·d), or
        nothing without a direction."""
        eps, g = xp.asarray(self.epsilon), xp.asarray(self.g_vectors)
        k = q_cart[:, :, None] + g.T[None]  # (n_q, 3, n_G)
        at_gamma = k[:, 0] ** 2 + k[:, 1] ** 2 + k[:, 2] ** 2 < Q_ZERO_TOLERANCE**2  # (n_q, n_G)
        v = xp.where(at_gamma[:, None], d_cart[:, :, None], k)
        vev = ((eps @ v) * v).sum(axis=1)
        safe = xp.where(vev > 0, vev, 1.0)
        damping = xp.where(at_gamma, 1.0, xp.exp(-safe / (4 * self.lambda_**2)))
        w = xp.where((vev > 0) & ~(at_gamma & ~has_direction[:, None]), damping / safe, 0.0)
        return v[:, _UPPER[0]] * (v * w[:, None, :])[:, _UPPER[1]]

    def _gonze(self, xp, q, q_cart, d_cart, has_direction):
        n, n_q = self.n_atoms, len(q)
        g = xp.asarray(self.g_vectors)
        # as phonopy: the sum over G of w v vᵀ exp(2πi G·(r_i − r_j)) first, one matrix product
        # (n_q·9, n_G) @ (n_G, 2N²) [cos, sin], then the Born charges per q-point; the phase of q
        # itself, exp(2πi q·(r_i − r_j)), makes it C-type
        if xp is np:  # the elementwise part in one native loop (core/ewald.h), the same arithmetic
            vv = gonze_weighted_outer(np.ascontiguousarray(q_cart), np.ascontiguousarray(d_cart),
                                      np.asarray(has_direction, dtype=np.uint8), np.ascontiguousarray(g),
                                      np.ascontiguousarray(self.epsilon, dtype=float), self.lambda_,
                                      Q_ZERO_TOLERANCE).reshape(n_q * 6, -1)
        else:
            vv = self._weighted_outer(xp, q_cart, d_cart, has_direction).reshape(n_q * 6, -1)
        angle = (2 * np.pi) * (g @ xp.asarray(self.positions).T)  # (n_G, N)
        pair = angle[:, :, None] - angle[:, None, :]  # (n_G, N, N)
        trig = xp.concatenate([xp.cos(pair).reshape(len(g), -1), xp.sin(pair).reshape(len(g), -1)], axis=1)
        t = (vv @ trig).reshape(n_q, 6, 2, n, n)[:, _SYMMETRIC].reshape(n_q, 3, 3, 2, n, n)  # q, α, β, re/im, i, j
        s = (t[:, :, :, 0] + 1j * t[:, :, :, 1]).transpose(0, 3, 4, 1, 2)  # (n_q, N, N, 3, 3): q, i, j, α, β
        born = xp.asarray(self.born)
        dd = xp.swapaxes(born, 1, 2)[None, :, None] @ s @ born[None, None, :]  # Z_iᵀ S_ij Z_j: q, i, j, a, b
        dd = dd.transpose(0, 1, 3, 2, 4).reshape(n_q, 3 * n, 3 * n)
        phase = xp.repeat(xp.exp(2j * np.pi * (q_cart @ xp.asarray(self.positions).T)), 3, axis=1)  # (n_q, 3N)
        dd = dd * (phase[:, :, None] * phase.conj()[:, None, :])
        q0 = xp.asarray(self.dd_q0)  # subtracted from the diagonal blocks
        diagonal = (xp.eye(n)[:, None, :, None] * q0[:, :, None, :]).reshape(3 * n, 3 * n)
        image = self._lattice_sum(xp, q).reshape(n_q, 3 * n, 3 * n)
        return self.factor * (dd - diagonal[None]) - image

    def _wang(self, xp, q, q_cart, d_cart, has_direction):
        n = self.n_atoms
        eps, born = xp.asarray(self.epsilon), xp.asarray(self.born)
        at_gamma = xp.linalg.norm(q_cart, axis=1) < Q_ZERO_TOLERANCE
        v = xp.where(at_gamma[:, None], d_cart, q_cart)
        vev = xp.einsum("qa,ab,qb->q", v, eps, v)
        scale = xp.where(at_gamma & ~has_direction, 0.0, self.factor / xp.where(vev > 0, vev, 1.0))
        vz = xp.einsum("qa,iab->qib", v, born).reshape(len(q), 3 * n)  # (v·Z_i)_β
        weights = self._lattice_sum(xp, q).reshape(len(q), n, 1, n, 1)
        outer = (scale[:, None, None] * vz[:, :, None] * vz[:, None, :]).reshape(len(q), n, 3, n, 3)
        return (outer * weights).reshape(len(q), 3 * n, 3 * n)
