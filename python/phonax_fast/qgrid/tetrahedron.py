"""Linear tetrahedron method on a regular q-mesh (phonopy's tetrahedra and weights; C++ in core/).

The parallelepiped of each grid step is cut into 6 tetrahedra along its shortest main diagonal
(as phonopy does); every grid point belongs to 24 of them. The DOS weight of a mode at grid
point g is (1/6) Σ over those 24 tetrahedra of phonopy's I·g integration weight, so that the DOS
per unit cell is Σ_g w_g Σ_modes W / n_grid.
"""

from __future__ import annotations

import numpy as np

from .._core import tetrahedron_dos, tetrahedron_weights
from .mesh import QMesh

# Corners of the unit parallelepiped: 0 = O, 1 = a, 2 = b, 3 = a+b, 4 = c, 5 = c+a, 6 = c+b, 7 = a+b+c.
_CORNERS = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
# For each main diagonal (0-7, 1-6, 2-5, 3-4): the 6 tetrahedra that share it.
_SIX_TETRAHEDRA = {
    0: (0, 7, ((1, 3), (1, 5), (2, 3), (2, 6), (4, 5), (4, 6))),
    1: (1, 6, ((0, 2), (0, 4), (2, 3), (3, 7), (4, 5), (5, 7))),
    2: (2, 5, ((0, 1), (0, 4), (1, 3), (3, 7), (4, 6), (6, 7))),
    3: (3, 4, ((0, 1), (0, 2), (1, 5), (2, 6), (5, 7), (6, 7))),
}


def relative_grid_addresses(cell, mesh) -> np.ndarray:
    """Vertices (24, 4, 3) int64 of the tetrahedra around a grid point, central vertex first.

    Args:
        cell: (3, 3) Å, real-space lattice vectors as rows.
        mesh: (3,) mesh numbers.
    """
    steps = (np.linalg.inv(np.asarray(cell, float)) / np.asarray(mesh)).T  # rows: b_i / n_i
    a, b, c = steps
    diagonals = np.array([a + b + c, -a + b + c, a - b + c, a + b - c])
    p, q, pairs = _SIX_TETRAHEDRA[int(np.argmin((diagonals**2).sum(axis=1)))]
    tetrahedra = [(p, q, *pair) for pair in pairs]
    out = []
    for corner in range(8):
        for tetra in tetrahedra:
            if corner in tetra:
                ordered = [corner] + [v for v in tetra if v != corner]
                out.append(_CORNERS[ordered] - _CORNERS[corner])
    return np.ascontiguousarray(out, dtype=np.int64)


class TetrahedronMesh:
    """Tetrahedron-method DOS weights on a mesh whose frequencies are known at every grid point.

    Args:
        qmesh: the mesh.
        cell: (3, 3) Å, lattice vectors as rows (they choose the cut of the parallelepipeds).
        frequencies: (n_ir, n_band) THz at ``qmesh.qpoints``; expanded to the whole grid.
    """

    def __init__(self, qmesh: QMesh, cell, frequencies):
        self.qmesh = qmesh
        self.mesh = np.asarray(qmesh.mesh, dtype=np.int64)
        self.relative = relative_grid_addresses(cell, qmesh.mesh)
        self.grid_values = np.ascontiguousarray(np.asarray(frequencies, float)[qmesh.grid_map])

    def total_dos(self, freq_points) -> np.ndarray:
        """DOS (n_freq,) in 1/THz per unit cell at ascending ``freq_points`` (n_freq,) THz."""
        points = np.ascontiguousarray(self.qmesh.ir_grid_points, dtype=np.int64)
        weights = np.asarray(self.qmesh.weights, dtype=float)
        dos = tetrahedron_dos(self.grid_values, self.mesh, self.relative, points, weights, _ascending(freq_points))
        return dos / self.qmesh.n_grid

    def weights(self, grid_points, freq_points) -> np.ndarray:
        """Weights (n_points, n_freq, n_band) 1/THz of the modes at ``grid_points`` (grid indices)."""
        points = np.ascontiguousarray(grid_points, dtype=np.int64)
        return tetrahedron_weights(self.grid_values, self.mesh, self.relative, points, _ascending(freq_points))


def _ascending(freq_points) -> np.ndarray:
    f = np.ascontiguousarray(freq_points, dtype=float)
    if f.ndim != 1 or np.any(np.diff(f) < 0):
        raise ValueError("frequency points must be a 1-D ascending array")
    return f
