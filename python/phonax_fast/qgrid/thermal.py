"""Harmonic thermal properties from phonon frequencies on a q-mesh, as phonopy reports them.

Per unit cell (the cell of the force constants), phonopy's conventions and units:
free energy F = Σ ħω/2 + kT ln(1 − e^{−ħω/kT}) in kJ/mol, entropy S in J/K/mol, heat capacity
C_v in J/K/mol, zero-point energy in kJ/mol; modes with ω ≤ cutoff (imaginary modes included)
are left out, q-points weighted by their mesh weights.
"""

from __future__ import annotations

import numpy as np

from ..harmonic.force_constants import ForceConstants
from ..units import EV_PER_THZ, KB_EV, KJ_PER_MOL_PER_EV
from .cost import check_mesh_cost
from .mesh import make_mesh
from .solver import MeshSolver


class ThermalAccumulator:
    """Weighted sums of the mode free energy, entropy and heat capacity over chunks of q-points.

    Args:
        temperatures: (n_T,) K, each ≥ 0.
        cutoff_frequency: THz; modes at or below it are skipped (phonopy's default 0).
    """

    def __init__(self, temperatures, cutoff_frequency: float = 0.0):
        try:
            self.temperatures = np.atleast_1d(np.asarray(temperatures, dtype=float))
        except (TypeError, ValueError):
            raise ValueError(f"temperatures must be numbers (K); got {temperatures!r}") from None
        if self.temperatures.ndim != 1 or not np.isfinite(self.temperatures).all() or (self.temperatures < 0).any():
            raise ValueError(f"temperatures must be a list of finite values ≥ 0 K; got {temperatures!r}")
        self.cutoff_ev = max(cutoff_frequency, 0.0) * EV_PER_THZ
        self._sums = np.zeros((3, len(self.temperatures)))  # F, S, C_v in eV and eV/K
        self._zero_point = 0.0  # eV
        self._weight = 0.0

    def add(self, frequencies, weights, gamma_row: int | None = None) -> None:
        """Add q-points: frequencies (n_q, 3N) THz, weights (n_q,) (mesh multiplicities).

        ``gamma_row``: row of Γ in ``frequencies``, whose three acoustic modes (smallest |ω|) are
        then taken as exactly zero and left out (phonopy's ``exclude_gamma_acoustic``).
        """
        e = np.array(frequencies, dtype=float) * EV_PER_THZ
        if gamma_row is not None:
            e[gamma_row, np.argsort(np.abs(e[gamma_row]))[:3]] = 0.0
        w = np.broadcast_to(np.asarray(weights, dtype=float)[:, None], e.shape)
        self._weight += float(np.sum(weights))
        self._zero_point += float(np.sum(w[e > 0] * e[e > 0])) / 2
        keep = e > self.cutoff_ev
        e, w = e[keep], w[keep]
        for k, t in enumerate(self.temperatures):
            if t <= 0:
                self._sums[0, k] += w @ (e / 2)
                continue
            x = e / (KB_EV * t)
            em, om = np.exp(-x), -np.expm1(-x)
            self._sums[0, k] += w @ (KB_EV * t * np.log(om) + e / 2)
            self._sums[1, k] += w @ (KB_EV * (x * em / om - np.log(om)))
            self._sums[2, k] += w @ (KB_EV * x**2 * em / om**2)

    def combine(self, total) -> None:
        """Replace the partial sums by ``total(partial)``: e.g. ``MeshSolver.sum_over_processes``
        when each process has added its own q-points."""
        flat = total(np.concatenate([self._sums.ravel(), [self._zero_point, self._weight]]))
        self._sums = flat[:-2].reshape(self._sums.shape)
        self._zero_point, self._weight = float(flat[-2]), float(flat[-1])

    def result(self) -> dict:
        """dict: temperatures (n_T,) K, free_energy (n_T,) kJ/mol, entropy and heat_capacity
        (n_T,) J/K/mol, zero_point_energy kJ/mol; all per unit cell."""
        s = self._sums / self._weight * KJ_PER_MOL_PER_EV
        zpe = self._zero_point / self._weight * KJ_PER_MOL_PER_EV
        return {
            "temperatures": self.temperatures,
            "free_energy": s[0],
            "entropy": s[1] * 1000,
            "heat_capacity": s[2] * 1000,
            "zero_point_energy": zpe,
        }


def mesh_thermal_properties(
    fcs: ForceConstants,
    mesh,
    temperatures,
    shift=(0, 0, 0),
    symmetry: bool = True,
    cutoff_frequency: float = 0.0,
    exclude_gamma_acoustic: bool = True,
    **solver_options,
) -> dict:
    """Helmholtz free energy, entropy, heat capacity and zero-point energy on a regular q-mesh.

    Frequencies are summed chunk by chunk as they are computed; nothing of size n_q is kept (in a
    ``jax.distributed`` run each process sums its own q-points, then the sums are added up).

    Args:
        fcs: force constants.
        mesh: int or (3,) ints, q-points per reciprocal axis.
        temperatures: (n_T,) K.
        shift: (3,) 0/1 half-step shift per axis; (0, 0, 0) is Γ-centred.
        symmetry: reduce the mesh by the point group (spglib).
        cutoff_frequency: THz; modes at or below it are left out (imaginary modes always are).
        exclude_gamma_acoustic: set the three acoustic frequencies at Γ to zero so that their
            round-off values (±1e-7 THz) do not enter the sums (phonopy's
            ``exclude_gamma_acoustic``; phonopy's default is False).
        **solver_options: ``eigensolver``, ``chunk_size``, ``devices``, ``progress`` of ``MeshSolver``.

    Returns:
        dict with ``temperatures`` (n_T,) K, ``free_energy`` (n_T,) kJ/mol, ``entropy`` (n_T,)
        J/K/mol, ``heat_capacity`` (n_T,) J/K/mol and ``zero_point_energy`` kJ/mol, per unit cell
        of ``fcs`` (per mole of unit cells), as phonopy reports them.
    """
    check_mesh_cost(fcs, mesh, symmetry, tetrahedron=False, **solver_options)
    qmesh = make_mesh(fcs, mesh, shift, symmetry)
    gamma = qmesh.gamma_index if exclude_gamma_acoustic else None
    accumulator = ThermalAccumulator(temperatures, cutoff_frequency)
    solver = MeshSolver(fcs, **solver_options)
    for rows, freqs, _ in solver.iter_chunks(qmesh.qpoints):
        in_chunk = gamma is not None and rows.start <= gamma < rows.stop
        accumulator.add(freqs, qmesh.weights[rows], gamma - rows.start if in_chunk else None)
    accumulator.combine(solver.sum_over_processes)
    return accumulator.result()
