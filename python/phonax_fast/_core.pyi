"""
Native kernels of phonax_fast: XLA FFI handlers exported as capsules.
"""
from __future__ import annotations
import numpy
__all__: list[str] = ['build_info', 'path_table_layout', 'registrations', 'tetrahedron_dos', 'tetrahedron_weights']
def build_info() -> dict:
    """
    What this build holds: {'version': str, 'backends': [str], 'cuda': bool}.
    """
def path_table_layout() -> dict:
    """
    The path-table layout the kernels read (int32 rows of the table's `paths`):
    {'columns': {name: column}, 'row_width': int, 'max_l': int, 'max_dim': int,
    'cg_copies': int, 'cg_ptr_width': int, 'slots': [str]}. 'slots' is the order of the
    operand slots (the handler's dense operands and its 'slot' attribute); cg_ijk is
    [cg_copies, nnz, 3], cg_val [cg_copies, nnz], cg_ptr [cg_copies, n_paths, cg_ptr_width].
    """
def registrations() -> dict:
    """
    FFI handlers by platform: {'cpu': {target: capsule}, 'cuda': {...}}.
    """
def tetrahedron_dos(values: numpy.ndarray, mesh: numpy.ndarray, relative: numpy.ndarray, grid_points: numpy.ndarray, point_weights: numpy.ndarray, freqs: numpy.ndarray) -> numpy.ndarray:
    """
    Σ_p point_weights[p] Σ_band tetrahedron weights, (n_freq,) float64; arguments as
    tetrahedron_weights, point_weights (n_points,) float64.
    """
def tetrahedron_weights(values: numpy.ndarray, mesh: numpy.ndarray, relative: numpy.ndarray, grid_points: numpy.ndarray, freqs: numpy.ndarray) -> numpy.ndarray:
    """
    Linear-tetrahedron DOS weights (n_points, n_freq, n_band) of the given grid points.
    
    values (n_grid, n_band) float64 on the whole grid (index a0 + a1 n0 + a2 n0 n1), mesh (3,)
    int64, relative (24, 4, 3) int64 tetrahedron vertices (central vertex first), grid_points
    (n_points,) int64, freqs (n_freq,) float64 ascending. Units: 1/[values].
    """
