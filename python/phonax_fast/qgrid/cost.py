"""What a q-mesh will cost before it runs: time and memory, estimated from the crystal and the mesh.

A mesh run has three parts whose costs are known in advance up to machine constants:

- building the mesh (spglib's stabilised grid, its irreducible reduction, Brillouin-zone images):
  ``MESH_SECONDS_PER_POINT`` per grid point and ``GRID_BYTES_PER_POINT`` bytes;
- the eigen-solves, one per irreducible q-point (n_grid / |point group|, halved again by time
  reversal when the group has no inversion): a per-q-point time measured on this machine by
  solving ``CALIBRATION_QPOINTS`` q-points with the same solver when the a-priori guess
  (``_guess_seconds_per_qpoint``) says the mesh may take long, else that guess;
- the tetrahedron DOS: ``TETRAHEDRON_SECONDS_PER_MODE`` per irreducible point and band, and the
  frequencies of every grid point in memory (n_grid × 3N × 8 bytes).

The constants were measured on 2 cores by ``python -m benchmarks.bench_mesh_cost``, which prints
estimated against measured times for several crystals and meshes. The estimate is meant to tell
a 10-second run from a 10-minute one and to refuse a mesh that cannot fit, not to be exact.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from ..harmonic.force_constants import ForceConstants
from ..harmonic.symmetry import crystal_symmetry
from ..resources import free_memory
from .mesh import GRID_BYTES_PER_POINT, mesh_numbers
from .solver import MeshSolver

MESH_SECONDS_PER_POINT = 4e-7
"""Seconds per grid point to build a mesh (spglib, np.unique, Brillouin-zone images), 2 cores."""
TETRAHEDRON_SECONDS_PER_MODE = 3.5e-6
"""Seconds per irreducible point and band of a tetrahedron DOS on phonopy's 201 frequency points."""
CALIBRATION_QPOINTS = 16
"""q-points solved to measure the per-q-point time, when the guess says the mesh may take long."""
ANNOUNCE_SECONDS = 10.0
"""Estimated times above this are worth telling the user before the run (the CLI logs them)."""
WARN_SECONDS = 60.0
"""Estimated times above this get a warning from the library functions."""


@dataclass(frozen=True)
class MeshCost:
    """Estimated cost of a mesh run.

    Attributes:
        mesh: (3,) mesh numbers.
        n_grid: grid points.
        n_irreducible: irreducible q-points (estimated from the point group's order).
        memory_bytes: peak memory of the run (mesh, frequencies, tetrahedron grid values).
        seconds: wall time of the run (mesh, eigen-solves, tetrahedron DOS).
        free_bytes: memory available when estimated.
    """

    mesh: tuple
    n_grid: int
    n_irreducible: int
    memory_bytes: int
    seconds: float
    free_bytes: int

    @property
    def fits(self) -> bool:
        return self.memory_bytes <= self.free_bytes

    @property
    def worth_announcing(self) -> bool:
        """Whether the run will take long enough (``ANNOUNCE_SECONDS``) to tell the user first."""
        return self.seconds > ANNOUNCE_SECONDS

    def summary(self) -> str:
        """One line: the mesh, its points, the estimated time and memory."""
        minutes = self.seconds / 60
        when = f"{self.seconds:.0f} s" if self.seconds < 120 else f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
        return (f"a {'×'.join(map(str, self.mesh))} mesh has {self.n_grid:.3g} q-points (about "
                f"{self.n_irreducible:.2g} irreducible) and needs about {when} and "
                f"{self.memory_bytes / 2**30:.1f} GiB here ({self.free_bytes / 2**30:.1f} GiB free)")


def _guess_seconds_per_qpoint(fcs: ForceConstants) -> float:
    """A-priori time per q-point on the host path, 2 cores: Bloch sum over the translations and a
    Hermitian eigen-solve of size 3N (generous, so that it only decides whether to measure)."""
    n_modes = 3 * fcs.n_atoms
    return 5e-6 + 1e-9 * len(fcs.translations) * n_modes**2 + 1e-9 * n_modes**3


def _measured_seconds_per_qpoint(fcs: ForceConstants, **solver_options) -> float:
    """Time per q-point of ``MeshSolver`` on ``CALIBRATION_QPOINTS`` random q-points, its second call
    (the first one compiles, on the "jax" path)."""
    solver = MeshSolver(fcs, **{**solver_options, "progress": None})
    q = np.random.default_rng(0).uniform(-0.5, 0.5, size=(CALIBRATION_QPOINTS, 3))
    solver.frequencies(q)
    start = time.perf_counter()
    solver.frequencies(q)
    return (time.perf_counter() - start) / CALIBRATION_QPOINTS


def estimate_mesh_cost(fcs: ForceConstants, mesh, symmetry: bool = True, tetrahedron: bool = True,
                       **solver_options) -> MeshCost:
    """Estimated time and memory of a mesh run (mesh, frequencies, and a tetrahedron DOS when
    ``tetrahedron``), before anything large is allocated; ``mesh`` int or (3,).

    The per-q-point time is measured with the solver ``solver_options`` describe (``MeshSolver``'s
    options) when the a-priori guess puts the run above ``ANNOUNCE_SECONDS``; a fraction of a second.
    """
    mesh, _ = mesh_numbers(mesh)
    n_grid = int(np.prod(mesh))
    if symmetry:
        point_group = crystal_symmetry(fcs.cell, fcs.scaled_positions, fcs.numbers).point_group
        inversion = any((r == -np.eye(3, dtype=r.dtype)).all() for r in point_group)
        order = len(point_group) * (1 if inversion else 2)
    else:
        order = 2  # time reversal
    n_ir = max(1, n_grid // order)
    n_modes = 3 * fcs.n_atoms
    fixed = n_grid * MESH_SECONDS_PER_POINT + (n_ir * n_modes * TETRAHEDRON_SECONDS_PER_MODE if tetrahedron else 0.0)
    per_q = _guess_seconds_per_qpoint(fcs)
    if fixed + n_ir * per_q > ANNOUNCE_SECONDS:
        per_q = _measured_seconds_per_qpoint(fcs, **solver_options)
    memory = n_grid * GRID_BYTES_PER_POINT + n_ir * n_modes * 8 + (n_grid * n_modes * 8 if tetrahedron else 0)
    return MeshCost(tuple(int(m) for m in mesh), n_grid, n_ir, int(memory), fixed + n_ir * per_q, free_memory())


def check_mesh_cost(fcs: ForceConstants, mesh, symmetry: bool = True, tetrahedron: bool = True, log=None,
                    **solver_options) -> MeshCost:
    """``estimate_mesh_cost``, then: ``ValueError`` naming the memory when the run cannot fit, the
    estimate passed to ``log`` (a callable taking one line, or None) when it is
    ``worth_announcing``, a warning with it when the run will take longer than ``WARN_SECONDS``."""
    cost = estimate_mesh_cost(fcs, mesh, symmetry, tetrahedron, **solver_options)
    if log is not None and cost.worth_announcing:
        log(cost.summary())
    if not cost.fits:
        raise ValueError(f"{cost.summary()}: it does not fit; use a smaller mesh")
    if cost.seconds > WARN_SECONDS:
        warnings.warn(cost.summary(), stacklevel=3)
    return cost
