"""Total and projected phonon DOS on a q-mesh, by the linear tetrahedron method or Gaussian smearing.

Frequencies are computed chunk by chunk (``MeshSolver``); only the (n_ir, 3N) frequency table is
kept, never all eigenvectors: the projected DOS recomputes eigenvectors chunk by chunk in a second
pass and adds each chunk's contribution. DOS values are per unit cell (they integrate to 3N), in
1/THz, at frequency points in THz, as phonopy's ``total_dos`` / ``projected_dos``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..harmonic.degeneracy import DEGENERACY_TOLERANCE, degenerate_set_bounds
from ..harmonic.force_constants import ForceConstants
from .cost import check_mesh_cost
from .mesh import QMesh, make_mesh
from .smearing import gaussian_dos, gaussian_projected_dos
from .solver import MeshSolver
from .tetrahedron import TetrahedronMesh
from .thermal import ThermalAccumulator

_METHODS = ("tetrahedron", "gaussian")


def default_freq_points(frequencies, sigma: float | None = None) -> tuple[np.ndarray, float]:
    """phonopy's default sampling: (freq_points THz, sigma THz).

    σ defaults to (f_max − f_min)/100; points run from f_min − 10σ to f_max + 10σ in 200 steps.
    """
    f_min, f_max = float(np.min(frequencies)), float(np.max(frequencies))
    sigma = (f_max - f_min) / 100.0 if sigma is None else float(sigma)
    lo, hi = f_min - 10 * sigma, f_max + 10 * sigma
    step = (hi - lo) / 200.0
    return np.arange(lo, hi + step * 0.1, step), sigma


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}")


@dataclass(frozen=True)
class MeshFrequencies:
    """Frequencies on the irreducible points of a q-mesh, from which DOS and thermal properties follow.

    Attributes:
        qmesh: the mesh.
        frequencies: (n_ir, 3N) THz at ``qmesh.qpoints``, imaginary modes negative.
        cell: (3, 3) Å, lattice vectors as rows.
    """

    qmesh: QMesh
    frequencies: np.ndarray
    cell: np.ndarray

    def dos(self, method: str = "tetrahedron", sigma: float | None = None, freq_points=None):
        """Total DOS: freq_points (n_freq,) THz and dos (n_freq,) states/THz per unit cell.

        Args:
            method: ``"tetrahedron"`` (linear tetrahedron method) or ``"gaussian"`` (smearing).
            sigma: Gaussian width in THz; default (f_max − f_min)/100 like phonopy.
            freq_points: (n_freq,) ascending THz; default phonopy's (see ``default_freq_points``).
        """
        _check_method(method)
        default_points, sigma = default_freq_points(self.frequencies, sigma)
        points = default_points if freq_points is None else np.asarray(freq_points, float)
        if method == "gaussian":
            return points, gaussian_dos(self.frequencies, self.qmesh.weights, points, sigma)
        return points, TetrahedronMesh(self.qmesh, self.cell, self.frequencies).total_dos(points)

    def thermal_properties(self, temperatures, cutoff_frequency: float = 0.0, exclude_gamma_acoustic: bool = True):
        """Thermal properties per unit cell; arguments and result as ``mesh_thermal_properties``."""
        accumulator = ThermalAccumulator(temperatures, cutoff_frequency)
        gamma = self.qmesh.gamma_index if exclude_gamma_acoustic else None
        accumulator.add(self.frequencies, self.qmesh.weights, gamma)
        return accumulator.result()


def mesh_frequencies(fcs: ForceConstants, mesh, shift=(0, 0, 0), symmetry: bool = True, tetrahedron: bool = True,
                     log=None, **solver_options):
    """Frequencies on the irreducible q-points of a regular mesh (one pass of ``MeshSolver``).

    Before anything large is allocated, the run's time and memory are estimated
    (``cost.check_mesh_cost``): a mesh that cannot fit is refused (``ValueError`` with the memory
    it needs), one that will take longer than a minute gets a warning with the estimate.

    Args:
        fcs: force constants.
        mesh: int or (3,) ints, q-points per reciprocal axis.
        shift: (3,) 0/1 half-step shift per axis; (0, 0, 0) is Γ-centred.
        symmetry: reduce the mesh by the point group (spglib).
        tetrahedron: count a tetrahedron DOS of these frequencies (its memory: every grid point's
            frequencies) in the up-front estimate.
        log: called with the estimate (one line) when the run will take long enough to say so
            (``cost.MeshCost.worth_announcing``), or None.
        **solver_options: ``eigensolver``, ``chunk_size``, ``devices``, ``progress``, ``real_form`` of ``MeshSolver``.

    Returns:
        MeshFrequencies, whose ``dos`` and ``thermal_properties`` reuse the frequencies.
    """
    check_mesh_cost(fcs, mesh, symmetry, tetrahedron, log, **solver_options)
    qmesh = make_mesh(fcs, mesh, shift, symmetry)
    frequencies = MeshSolver(fcs, **solver_options).frequencies(qmesh.qpoints)
    return MeshFrequencies(qmesh, frequencies, np.asarray(fcs.cell, float))


def mesh_dos(
    fcs: ForceConstants,
    mesh,
    method: str = "tetrahedron",
    sigma: float | None = None,
    freq_points=None,
    shift=(0, 0, 0),
    symmetry: bool = True,
    log=None,
    **solver_options,
) -> tuple[np.ndarray, np.ndarray]:
    """Total phonon DOS on a regular q-mesh.

    Args:
        fcs: force constants.
        mesh: int or (3,) ints, q-points per reciprocal axis.
        method: ``"tetrahedron"`` (linear tetrahedron method) or ``"gaussian"`` (smearing).
        sigma: Gaussian width in THz (``"gaussian"``); default (f_max − f_min)/100 like phonopy.
        freq_points: (n_freq,) ascending THz; default phonopy's (see ``default_freq_points``).
        shift: (3,) 0/1 half-step shift per axis; (0, 0, 0) is Γ-centred.
        symmetry: reduce the mesh by the point group (spglib).
        log: as ``mesh_frequencies``.
        **solver_options: ``eigensolver``, ``chunk_size``, ``devices``, ``progress``, ``real_form`` of ``MeshSolver``.

    Returns:
        freq_points (n_freq,) THz and dos (n_freq,) in states/THz per unit cell (integral 3N).
    """
    _check_method(method)
    return mesh_frequencies(fcs, mesh, shift, symmetry, method == "tetrahedron", log, **solver_options).dos(
        method, sigma, freq_points)


def _projection_matrix(fcs: ForceConstants, projection: str, direction) -> np.ndarray:
    """(n_proj, 3N) matrix mapping |e_{iα}|² (or |d·e_i|² per atom) onto the projections."""
    n = fcs.n_atoms
    if projection == "xyz":
        if direction is not None:
            raise ValueError("direction projects per atom; it cannot be combined with projection='xyz'")
        return np.eye(3 * n)
    atoms = np.repeat(np.eye(n), 3, axis=1) if direction is None else np.eye(n)
    if projection == "atom":
        return atoms
    if projection == "element":
        _, first = np.unique(fcs.numbers, return_index=True)
        elements = fcs.numbers[np.sort(first)]
        return (elements[:, None] == fcs.numbers[None, :]).astype(float) @ atoms
    raise ValueError(f"projection must be 'atom', 'element' or 'xyz'; got {projection!r}")


def _mode_weights(vectors, matrix, direction) -> np.ndarray:
    """(n_q, n_proj, n_band) projections of the modes of eigenvectors (n_q, 3N, n_band)."""
    if direction is None:
        amplitude = np.abs(vectors) ** 2
    else:
        d = np.asarray(direction, float) / np.linalg.norm(direction)
        n_q, n_comp, n_band = vectors.shape
        amplitude = np.abs(np.einsum("qiab,a->qib", vectors.reshape(n_q, n_comp // 3, 3, n_band), d)) ** 2
    return np.einsum("pc,qcb->qpb", matrix, amplitude)


def average_over_degenerate_modes(weights, frequencies, tolerance: float = DEGENERACY_TOLERANCE) -> np.ndarray:
    """Projections averaged over each set of degenerate modes at each q-point.

    Within a degenerate set the eigenvectors are any orthonormal basis of the set's subspace, so the
    projection of each mode depends on the eigen-solver (LAPACK build, GPU, real or Hermitian
    form); only their sum over the set is a property of the crystal. The tetrahedron method weighs
    the modes of a set differently (each band index meets other neighbours), so without this the
    projected DOS of e.g. anatase moves by a few percent of its peak between eigen-solvers.

    Args:
        weights: (n_q, n_proj, n_band) projections of the modes.
        frequencies: (n_q, n_band) THz, ascending along bands.
        tolerance: THz; neighbouring modes closer than this (strictly) are one set
            (``harmonic.degenerate_sets``; default phonopy's cutoff, ``DEGENERACY_TOLERANCE``).

    Returns:
        (n_q, n_proj, n_band): each mode's projections replaced by the mean over its set.
    """
    n_q = weights.shape[0]
    first, stop = degenerate_set_bounds(frequencies, tolerance)  # (n_q, n_band): mode b's set is first:stop
    cumulative = np.concatenate([np.zeros((n_q, weights.shape[1], 1)), np.cumsum(weights, axis=2)], axis=2)
    total = np.take_along_axis(cumulative, stop[:, None, :], 2) - np.take_along_axis(cumulative, first[:, None, :], 2)
    return total / (stop - first)[:, None, :]


def mesh_projected_dos(
    fcs: ForceConstants,
    mesh,
    method: str = "tetrahedron",
    sigma: float | None = None,
    freq_points=None,
    projection: str = "atom",
    direction=None,
    shift=(0, 0, 0),
    **solver_options,
) -> tuple[np.ndarray, np.ndarray]:
    """Projected phonon DOS on a regular q-mesh (point-group symmetry unused, time reversal used).

    Args:
        fcs, mesh, method, sigma, freq_points, shift, solver_options: as ``mesh_dos``.
        projection: ``"atom"`` (N rows, atoms of ``fcs``), ``"element"`` (one row per distinct
            atomic number, in order of first appearance) or ``"xyz"`` (3N rows: atom i, x/y/z
            cartesian, phonopy's ``xyz_projection``).
        direction: (3,) cartesian direction: per-atom DOS of the mode amplitude along it
            (phonopy's ``direction``); with ``"atom"`` or ``"element"``.

    Returns:
        freq_points (n_freq,) THz and pdos (n_proj, n_freq) states/THz per unit cell; without
        ``direction`` the rows add up to the total DOS. Modes of a degenerate set share their
        projections (``average_over_degenerate_modes``), so the result does not depend on the
        eigen-solver; phonopy's tetrahedron PDOS does (anatase: ~3% of the peak between bases).
    """
    _check_method(method)
    check_mesh_cost(fcs, mesh, False, method == "tetrahedron", **solver_options)
    qmesh = make_mesh(fcs, mesh, shift, symmetry=False)
    solver = MeshSolver(fcs, **solver_options)
    frequencies = solver.frequencies(qmesh.qpoints)
    default_points, sigma = default_freq_points(frequencies, sigma)
    points = default_points if freq_points is None else np.asarray(freq_points, float)
    matrix = _projection_matrix(fcs, projection, direction)
    tetrahedra = TetrahedronMesh(qmesh, fcs.cell, frequencies) if method == "tetrahedron" else None
    pdos = np.zeros((len(matrix), len(points)))
    for rows, freqs, vectors in solver.iter_chunks(qmesh.qpoints, with_vectors=True):
        weights = average_over_degenerate_modes(_mode_weights(vectors, matrix, direction), freqs)
        weights *= qmesh.weights[rows, None, None]
        if tetrahedra is None:
            pdos += gaussian_projected_dos(freqs, weights, points, sigma)
        else:
            pdos += np.einsum("qfb,qpb->pf", tetrahedra.weights(qmesh.ir_grid_points[rows], points), weights)
    return points, solver.sum_over_processes(pdos) / qmesh.n_grid  # each process had its own q-points
