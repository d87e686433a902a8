"""Periodic supercells of a crystal and the map between their atoms and the unit cell's.

A supercell is given by an integer matrix M: its lattice vectors are the rows of ``M @ cell``.
Its atom ``s`` is unit-cell atom ``atom[s]`` in the cell translated by the lattice vector
``lattice_point[s]`` (units of the cell vectors): position ``positions[atom[s]] + lattice_point[s] @ cell``.
Atoms are ordered lattice point by lattice point, the origin first, so supercell atom ``i < N`` is
unit-cell atom ``i`` itself.

Lattice translations are compared modulo the supercell lattice {n M : n integer} with integer
arithmetic: T ≡ T' exactly when (T − T') adj(M) ≡ 0 (mod det M).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
from ase import Atoms

MAX_SUPERCELL_ATOMS = 200_000


@dataclass(frozen=True)
class Supercell:
    """A supercell of a crystal (see module docstring).

    Attributes:
        atoms: the supercell (``ase.Atoms``, periodic, masses and numbers of the unit cell's atoms).
        matrix: (3, 3) int M, supercell lattice vectors = rows of ``M @ unit cell``.
        atom: (N_s,) int, unit-cell atom of each supercell atom.
        lattice_point: (N_s, 3) int, lattice translation of each supercell atom (cell units).
        n_cell: N, atoms in the unit cell.
    """

    atoms: Atoms
    matrix: np.ndarray
    atom: np.ndarray
    lattice_point: np.ndarray
    n_cell: int

    @property
    def unit_cell(self) -> np.ndarray:
        """(3, 3) the unit cell, Å (rows)."""
        return np.linalg.solve(self.matrix.astype(float), np.asarray(self.atoms.cell, dtype=float))

    @property
    def n_cells(self) -> int:
        """|det M|: unit cells in the supercell."""
        return int(round(abs(np.linalg.det(self.matrix))))

    def index(self, atom, lattice_point) -> np.ndarray:
        """Supercell atom of unit-cell atom ``atom`` (...,) in cell ``lattice_point`` (..., 3), any
        lattice translation (reduced modulo the supercell lattice)."""
        adj, det, order, sorted_keys = self._lookup
        where = np.searchsorted(sorted_keys, _class_keys(np.asarray(lattice_point), adj, det))
        return order[where] * self.n_cell + np.asarray(atom)

    @functools.cached_property
    def _lookup(self):
        """(adj M, det M, lattice-point order of the sorted keys, sorted keys) for ``index``."""
        adj, det = _adjugate(self.matrix)
        keys = _class_keys(self.lattice_point[:: self.n_cell], adj, det)
        order = np.argsort(keys)
        return adj, det, order, keys[order]


def _adjugate(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """(adj M as integers, det M) of an integer matrix, det > 0 required."""
    det = int(round(np.linalg.det(matrix)))
    return np.rint(np.linalg.inv(matrix) * det).astype(np.int64), det


def _class_keys(points: np.ndarray, adj: np.ndarray, det: int) -> np.ndarray:
    """An int64 key per lattice translation (..., 3), equal for translations that differ by a
    supercell lattice vector (``adj``, ``det``: :func:`_adjugate` of the supercell matrix)."""
    k = np.mod(points.astype(np.int64) @ adj, det)
    return (k[..., 0] * det + k[..., 1]) * det + k[..., 2]


def lattice_points(matrix) -> np.ndarray:
    """(|det M|, 3) int lattice translations, one per class modulo the supercell lattice, all with
    reduced supercell coordinates in [0, 1); the origin first."""
    matrix = np.asarray(matrix, dtype=np.int64)
    adj, det = _adjugate(matrix)
    corners = np.array(list(itertools.product((0, 1), repeat=3))) @ matrix
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    grid = np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi)], indexing="ij"), axis=-1).reshape(-1, 3)
    k = grid @ adj  # = det × reduced supercell coordinates
    inside = np.all((k >= 0) & (k < det), axis=1)
    points = grid[inside]
    points = points[np.lexsort((points[:, 2], points[:, 1], points[:, 0], np.abs(points).sum(axis=1)))]
    if len(points) != det:
        raise RuntimeError(f"found {len(points)} lattice points for a supercell of {det} cells")
    return points  # by |T|₁, then lexicographic: (0, 0, 0) first


def supercell_matrix(matrix) -> np.ndarray:
    """A supercell matrix from 3 integers (diagonal) or a 3×3 integer matrix; ``ValueError`` for
    anything else (non-integer, singular, negative determinant)."""
    m = np.asarray(matrix, dtype=float)
    if m.shape == (3,):
        m = np.diag(m)
    if m.shape != (3, 3) or not np.all(np.isfinite(m)) or np.abs(m - np.rint(m)).max() > 1e-8:
        raise ValueError(f"a supercell is 3 positive integers or a 3×3 integer matrix; got {np.asarray(matrix).tolist()}")
    m = np.rint(m).astype(np.int64)
    det = round(np.linalg.det(m))
    if det <= 0:
        raise ValueError(f"the supercell matrix {m.tolist()} has determinant {det}; it must be positive "
                         "(non-singular, right-handed)")
    return m


def make_supercell(atoms: Atoms, matrix) -> Supercell:
    """The supercell ``matrix`` (see :func:`supercell_matrix`) of the periodic crystal ``atoms``."""
    m = supercell_matrix(matrix)
    points = lattice_points(m)
    n = len(atoms)
    if len(points) * n > MAX_SUPERCELL_ATOMS:
        raise ValueError(f"a {m.tolist()} supercell of this {n}-atom cell has {len(points) * n} atoms, more than "
                         f"{MAX_SUPERCELL_ATOMS}")
    cell = np.asarray(atoms.cell, dtype=float)
    atom = np.tile(np.arange(n), len(points))
    lattice_point = np.repeat(points, n, axis=0)
    positions = atoms.get_positions()[atom] + lattice_point @ cell
    supercell = Atoms(numbers=atoms.numbers[atom], positions=positions, cell=m @ cell, pbc=True,
                      masses=atoms.get_masses()[atom])
    return Supercell(atoms=supercell, matrix=m, atom=atom, lattice_point=lattice_point, n_cell=n)


def cell_heights(cell) -> np.ndarray:
    """(3,) distances between opposite faces of the cell (Å): the width of the cell along each
    face normal. Every non-zero lattice vector is at least as long as the smallest of them."""
    cell = np.asarray(cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    return np.array([volume / np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)])


def supercell_for_length(atoms: Atoms, length: float, conventional=None) -> np.ndarray:
    """The smallest supercell matrix whose cell is at least ``length`` Å wide in every direction
    (every face-to-face height ≥ ``length``, so that every atom's periodic images are at least
    that far and pairs closer than ``length``/2 have a unique shortest image).

    Candidates are the diagonal multiples of the given cell and, if given, of a conventional cell
    ``conventional`` (3, 3) int matrix C with conventional vectors = rows of ``C @ cell`` (e.g. the
    cubic cell of an fcc primitive cell); the one with the fewest atoms wins.
    """
    if not length > 0:
        raise ValueError(f"the supercell length must be positive, got {length}")
    cell = np.asarray(atoms.cell, dtype=float)
    candidates = [np.diag(np.maximum(1, np.ceil(length / cell_heights(cell) - 1e-9))).astype(np.int64)]
    if conventional is not None:
        c = np.asarray(conventional, dtype=np.int64)
        reps = np.maximum(1, np.ceil(length / cell_heights(c @ cell) - 1e-9)).astype(np.int64)
        candidates.append(np.diag(reps) @ c)
    dets = [round(abs(np.linalg.det(m))) for m in candidates]
    best = candidates[int(np.argmin(dets))]
    return best if np.linalg.det(best) > 0 else -best
