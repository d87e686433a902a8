"""Regular q-point meshes and their irreducible parts (point group from ``harmonic.crystal_symmetry``).

Grid points are numbered like spglib and phonopy: address ``a`` (integers, taken modulo the mesh)
has index ``a0 + a1·n0 + a2·n0·n1`` and sits at ``q = (a + shift/2) / mesh`` in reduced
coordinates of the reciprocal lattice, ``shift`` being 0 (Γ-centred) or 1 (half-step shift) per axis.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import spglib
from phonopy.phonon.grid import BZGrid

from ..harmonic.force_constants import ForceConstants
from ..harmonic.symmetry import crystal_symmetry
from ..resources import free_memory


@dataclass(frozen=True)
class QMesh:
    """A regular q-mesh and the irreducible q-points that represent it.

    Attributes:
        mesh: (3,) int, number of points along each reciprocal axis.
        shift: (3,) int, 0 or 1: half-step shift along each axis.
        grid_address: (n_grid, 3) int, address of every grid point (spglib's, in (−n/2, n/2]).
        grid_map: (n_grid,) int, index into ``qpoints`` of the irreducible point of each grid point.
        ir_grid_points: (n_ir,) int, grid index of each irreducible point.
        qpoints: (n_ir, 3) float64, irreducible q-points, reduced coordinates.
        weights: (n_ir,) int, number of grid points each irreducible point stands for
            (sums to n_grid).
    """

    mesh: np.ndarray
    shift: np.ndarray
    grid_address: np.ndarray
    grid_map: np.ndarray
    ir_grid_points: np.ndarray
    qpoints: np.ndarray
    weights: np.ndarray

    @property
    def n_grid(self) -> int:
        return int(np.prod(self.mesh))

    @property
    def gamma_index(self) -> int | None:
        """Index into ``qpoints`` of Γ, or None if the mesh does not contain it."""
        return None if self.shift.any() else int(self.grid_map[0])

    @property
    def is_full(self) -> bool:
        """True when every grid point is its own irreducible point (no symmetry reduction)."""
        return len(self.qpoints) == self.n_grid


def _preserves_grid(rotations: np.ndarray, mesh: np.ndarray, shift: np.ndarray) -> bool:
    """Whether every rotation maps the (possibly shifted) grid onto itself.

    q = (2a + s) / (2n) goes to R^T q; the image is a grid point of the same shift iff
    R^T_ij n_i / n_j is integral and Σ_j R^T_ij (n_i / n_j) s_j ≡ s_i (mod 2).
    """
    m = np.swapaxes(np.asarray(rotations), 1, 2) * (mesh[:, None] / mesh[None, :])  # (n_rot, 3, 3)
    if np.abs(m - np.rint(m)).max(initial=0.0) > 1e-8:
        return False
    return not np.any((np.rint(m).astype(int) @ shift - shift) % 2)


def mesh_numbers(mesh, shift=(0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """(mesh (3,) int, shift (3,) int) from an int or 3 positive integers and 0/1 (or a bool) per
    axis; ``ValueError`` naming what was given otherwise."""
    try:
        given_mesh, given_shift = np.asarray(mesh, dtype=float), np.asarray(shift, dtype=float)
    except (TypeError, ValueError):
        given_mesh = given_shift = np.zeros(0)
    if given_mesh.size not in (1, 3) or given_shift.size not in (1, 3) or not np.isfinite(given_mesh).all() \
            or (given_mesh != np.rint(given_mesh)).any() or (given_mesh < 1).any() or not np.isin(given_shift, (0, 1)).all():
        raise ValueError(f"mesh must be 1 or 3 positive integers and shift 0 or 1 per axis; got {mesh}, {shift}")
    return (np.broadcast_to(given_mesh.astype(int), (3,)).copy(), np.broadcast_to(given_shift.astype(int), (3,)).copy())


def regular_mesh(
    cell,
    scaled_positions,
    numbers,
    mesh,
    shift=(0, 0, 0),
    symmetry: bool = True,
    time_reversal: bool = True,
    symprec: float = 1e-5,
    brillouin_zone: str | None = None,
) -> QMesh:
    """Build a Γ-centred (``shift=(0,0,0)``) or half-step shifted regular q-mesh.

    Args:
        cell: (3, 3) Å, lattice vectors as rows.
        scaled_positions: (N, 3) reduced atomic positions.
        numbers: (N,) atomic numbers.
        mesh: int or (3,) ints, points per reciprocal axis.
        shift: (3,) of 0/1, half-step shift per axis (or a bool for all axes).
        symmetry: reduce by the crystal's point group (spglib). If a rotation does not map the
            grid onto itself (shift or unequal mesh numbers), only time reversal is used, as
            phonopy does, with a warning.
        time_reversal: also use q → −q.
        symprec: spglib tolerance, Å.
        brillouin_zone: give each irreducible q-point as its shortest (Cartesian) image instead of
            the address in (−n/2, n/2]: ``"phonopy"`` with phonopy's choice among equally short
            images (its ``BZGrid``: what Wang's non-analytic correction, not periodic in q, needs
            to equal phonopy), ``"shortest"`` any of them (cheaper). The same results for a
            dynamical matrix periodic in q.

    Returns:
        The mesh and its irreducible q-points with integer weights.
    """
    mesh, shift = mesh_numbers(mesh, shift)
    check_mesh_fits(mesh)
    rotations = np.eye(3, dtype=np.intc)[None]
    if symmetry:
        point_group = crystal_symmetry(cell, scaled_positions, numbers, symprec).point_group
        if _preserves_grid(point_group, mesh, shift):
            rotations = point_group
        else:
            warnings.warn(
                f"the point group does not map mesh {mesh.tolist()} with shift {shift.tolist()} onto itself; "
                "only time-reversal symmetry is used (use a Γ-centred mesh with equal numbers for full symmetry)",
                stacklevel=2,
            )
    grid_map, grid_address = spglib.get_stabilized_reciprocal_mesh(
        mesh.astype(np.intc), rotations, is_shift=shift.astype(np.intc), is_time_reversal=time_reversal
    )
    ir_grid_points, grid_map, weights = np.unique(grid_map, return_inverse=True, return_counts=True)
    qpoints = (grid_address[ir_grid_points] + shift / 2) / mesh
    if brillouin_zone == "phonopy":
        qpoints = brillouin_zone_images(cell, mesh, shift, ir_grid_points)
    elif brillouin_zone == "shortest":
        qpoints = shortest_images(cell, qpoints)
    elif brillouin_zone is not None:
        raise ValueError(f"brillouin_zone must be None, 'phonopy' or 'shortest'; got {brillouin_zone!r}")
    return QMesh(
        mesh=mesh,
        shift=shift,
        grid_address=np.asarray(grid_address, dtype=int),
        grid_map=grid_map.astype(int),
        ir_grid_points=ir_grid_points.astype(int),
        qpoints=qpoints,
        weights=weights.astype(int),
    )


GRID_BYTES_PER_POINT = 64
"""Bytes per grid point of a mesh while it is built: spglib's addresses (3 × int32) and map, their
irreducible reduction (np.unique: a sorted copy, inverse and counts), the tetrahedra's lookups."""


def check_mesh_fits(mesh, free_bytes: int | None = None) -> None:
    """ValueError naming the memory a ``mesh`` (3,) would take when it exceeds the free memory
    (``free_bytes``, default what the OS reports available): refused before anything is allocated."""
    n_grid = int(np.prod(np.asarray(mesh, dtype=np.int64)))
    need = n_grid * GRID_BYTES_PER_POINT
    free = free_memory() if free_bytes is None else free_bytes
    if need > free:
        raise ValueError(f"a {'×'.join(map(str, mesh))} mesh has {n_grid:.3g} q-points and needs about "
                         f"{need / 2**30:.1f} GiB to build; {free / 2**30:.1f} GiB are free: use a smaller mesh")


def shortest_images(cell, qpoints) -> np.ndarray:
    """Reduced ``qpoints`` (n_q, 3) moved by reciprocal lattice vectors to their shortest Cartesian
    image (among q + G, G in {−1, 0, 1}³ of a Minkowski-reduced-enough cell; ties: the first)."""
    recip = np.linalg.inv(np.asarray(cell, dtype=float)).T  # rows: reciprocal vectors (no 2π)
    shifts = np.array(list(itertools.product((0, -1, 1), repeat=3)), dtype=float)  # (0, 0, 0) first
    images = np.asarray(qpoints, dtype=float)[:, None, :] + shifts[None]  # (n_q, 27, 3)
    length = np.linalg.norm(images @ recip, axis=-1)
    best = np.argmax(length <= length.min(axis=1, keepdims=True) + 1e-9, axis=1)  # q itself if it is shortest
    return images[np.arange(len(images)), best]


def brillouin_zone_images(cell, mesh, shift, grid_points) -> np.ndarray:
    """Reduced q of the grid points ``grid_points`` (spglib/phonopy numbering) moved to their shortest
    Cartesian image, with phonopy's choice among equally short ones (``phonopy.phonon.grid.BZGrid``)."""
    bz = BZGrid(np.asarray(mesh), lattice=np.asarray(cell), is_shift=np.asarray(shift))
    return (bz.addresses[bz.grg2bzg[np.asarray(grid_points)]] + 0.5 * np.asarray(bz.PS)) @ bz.QDinv.T


def make_mesh(fcs: ForceConstants, mesh, shift=(0, 0, 0), symmetry: bool = True) -> QMesh:
    """The regular q-mesh of ``fcs``'s crystal (see ``regular_mesh``); ``mesh`` int or (3,). With a
    non-analytic correction the q-points are their Brillouin-zone images, as phonopy's
    (``brillouin_zone``): Wang's term is not periodic in q (phonopy's choice among equally short
    images is taken), Gonze–Lee's only to ~1e-6 relative (its G sphere moves with q)."""
    bz = None if fcs.nac is None else "phonopy" if fcs.nac.method == "wang" else "shortest"
    return regular_mesh(fcs.cell, fcs.scaled_positions, fcs.numbers, mesh, shift=shift, symmetry=symmetry,
                        brillouin_zone=bz)
