"""q-grid engine: force constants → frequencies on a q-mesh → DOS, projected DOS, thermal properties.

Chunks of q-points are solved as batched matrix products and eigen-solves sharded over
``jax.devices()``, across processes too in a ``jax.distributed`` run; see ``solver.MeshSolver``
for the memory model.
"""

from .dos import MeshFrequencies, default_freq_points, mesh_dos, mesh_frequencies, mesh_projected_dos
from .mesh import QMesh, make_mesh, regular_mesh
from .solver import MeshSolver
from .thermal import mesh_thermal_properties

__all__ = [
    "MeshFrequencies",
    "MeshSolver",
    "QMesh",
    "default_freq_points",
    "make_mesh",
    "mesh_dos",
    "mesh_frequencies",
    "mesh_projected_dos",
    "mesh_thermal_properties",
    "regular_mesh",
]
