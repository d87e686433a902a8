"""
Native kernels of phonax_fast: XLA FFI handlers exported as capsules.
"""
from __future__ import annotations
import numpy
__all__: list[str] = ['build_info', 'gonze_weighted_outer', 'path_table_layout', 'registrations', 'tetrahedron_dos', 'tetrahedron_weights']
def build_info() -> dict:
    """
    What this build holds: {'version': str, 'backends': [str], 'cuda': bool}.
    """
def gonze_weighted_outer(q_cart: numpy.ndarray, directions: numpy.ndarray, has_direction: numpy.ndarray, g_cart: numpy.ndarray, epsilon: numpy.ndarray, lambda_: float, tolerance: float) -> numpy.ndarray:
    """
    Damped outer products v_a v_b w of the Gonze-Lee Ewald sum, (n_q, 6, n_G) float64.
    
    q_cart and directions (n_q, 3) 1/Angstrom, has_direction (n_q,) uint8, g_cart (n_G, 3)
    1/Angstrom, epsilon (3, 3), lambda_ the damping (1/Angstrom), tolerance |K| below which
    K = q + G counts as zero. Pairs (a, b): (0,0) (0,1) (0,2) (1,1) (1,2) (2,2); see core/ewald.h.
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
