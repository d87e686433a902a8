"""The space group of a crystal, found once (spglib) and shared by force constants, q-meshes and the
real form of D(q).

An operation g = (W, w) acts on reduced coordinates, s ↦ W s + w. It maps atom a onto atom π_g(a)
of the cell, shifted by a lattice vector t_a: ``W s_a + w = s_{π_g(a)} + t_a``. Atoms are matched
as the force constants always matched them: same atomic number and every reduced component of
``W s_a + w − s_b`` within ``MATCH_FACTOR · symprec`` of an integer, one atom b for each a.

``crystal_symmetry`` caches one ``CrystalSymmetry`` per (cell, positions, numbers, symprec), keyed
on the exact arrays, so callers with equal inputs share one object: its arrays are read-only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import spglib
from scipy.spatial import cKDTree

MATCH_FACTOR = 10
"""Atom images match when each reduced component is within ``MATCH_FACTOR · symprec`` of the atom's."""


@dataclass(frozen=True, eq=False)
class CrystalSymmetry:
    """Space-group operations of a crystal, and the atom permutations they induce (on demand).

    Attributes:
        rotations: (n_ops, 3, 3) int, W on reduced coordinates (spglib's order).
        translations: (n_ops, 3) float, w in reduced coordinates.
        equivalent_atoms: (N,) int, spglib's representative of each atom's orbit.
        scaled_positions: (N, 3) reduced positions as given (not wrapped).
        numbers: (N,) atomic numbers.
        symprec: spglib's tolerance, Å.

    Permutations are found by a periodic k-d tree per element in reduced coordinates (Chebyshev
    distance below ``MATCH_FACTOR · symprec``), O(N log N) per operation, and only for the
    operations asked for: a supercell given as the unit cell has |det| × (point group) operations.
    """

    rotations: np.ndarray
    translations: np.ndarray
    equivalent_atoms: np.ndarray
    scaled_positions: np.ndarray
    numbers: np.ndarray
    symprec: float

    @property
    def n_ops(self) -> int:
        return len(self.rotations)

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def point_group(self) -> np.ndarray:
        """(n_rot, 3, 3) intc, the distinct rotations (sorted as ``np.unique`` sorts them)."""
        return np.unique(np.asarray(self.rotations, dtype=np.intc), axis=0)

    def images(self, ops, atoms=None) -> tuple[np.ndarray, np.ndarray]:
        """Where operations send atoms: (π (k, m) int, t (k, m, 3) int) with
        ``W s_a + w = s_{π(a)} + t_a`` for the operations ``ops`` (k,) and the atoms ``atoms`` (m,)
        (default all); π is −1 (and t zero) for an atom whose image is no atom of the cell."""
        ops = np.atleast_1d(np.asarray(ops, dtype=int))
        atoms = np.arange(self.n_atoms) if atoms is None else np.atleast_1d(np.asarray(atoms, dtype=int))
        image = np.einsum("kab,mb->kma", self.rotations[ops], self.scaled_positions[atoms]) + self.translations[ops][:, None]
        pi = np.full(image.shape[:2], -1, dtype=int)
        for number, (tree, members) in self._trees.items():
            rows = self.numbers[atoms] == number
            if not rows.any():
                continue
            query = np.mod(image[:, rows], 1.0)
            dist, found = tree.query(np.where(query >= 1.0, 0.0, query).reshape(-1, 3), p=np.inf,
                                     distance_upper_bound=MATCH_FACTOR * self.symprec)
            hit = np.isfinite(dist)
            matched = np.full(dist.shape, -1)
            matched[hit] = members[found[hit]]
            pi[:, rows] = matched.reshape(len(ops), -1)
        shifts = np.where(pi[..., None] >= 0, np.rint(image - self.scaled_positions[np.maximum(pi, 0)]), 0).astype(int)
        return pi, shifts

    def atom_maps(self, ops) -> tuple[np.ndarray, np.ndarray]:
        """(π (k, N), t (k, N, 3)) of the operations ``ops`` on every atom; ``RuntimeError`` if an
        operation does not permute the atoms (never for spglib's operations at its tolerance)."""
        pi, shifts = self.images(ops)
        bad = [int(g) for g, row in zip(np.atleast_1d(ops), pi) if (row < 0).any() or len(np.unique(row)) != self.n_atoms]
        if bad:
            raise RuntimeError(f"space-group operations {bad[:5]} do not map the atoms onto each other at symprec "
                               f"{self.symprec}; use a larger symprec or no symmetry")
        return pi, shifts

    def site_symmetry(self, i: int) -> np.ndarray:
        """Indices of the operations that map atom ``i`` onto itself (up to a lattice vector)."""
        pi, _ = self.images(np.arange(self.n_ops), [i])
        return np.flatnonzero(pi[:, 0] == i)

    @functools.cached_property
    def _trees(self) -> dict:
        """{atomic number: (periodic k-d tree of its atoms' wrapped reduced positions, their indices)}."""
        wrapped = np.mod(self.scaled_positions, 1.0)
        wrapped = np.where(wrapped >= 1.0, 0.0, wrapped)
        out = {}
        for number in np.unique(self.numbers):
            members = np.flatnonzero(self.numbers == number)
            out[int(number)] = (cKDTree(wrapped[members], boxsize=1.0), members)
        return out


def crystal_symmetry(cell, scaled_positions, numbers, symprec: float = 1e-5, dataset=None) -> CrystalSymmetry:
    """The (cached) space group of the crystal; ``cell`` (3, 3) Å rows, ``scaled_positions`` (N, 3)
    reduced, ``numbers`` (N,) atomic numbers, ``symprec`` spglib's tolerance in Å.

    ``dataset``: spglib's symmetry dataset of exactly this crystal at this ``symprec``, when the
    caller has one already (phonopy finds it when it loads a crystal): it is used and cached
    instead of asking spglib again.

    Raises:
        ValueError: if spglib cannot determine the symmetry.
    """
    cell, positions = np.asarray(cell, float), np.asarray(scaled_positions, float)
    numbers = np.asarray(numbers, np.intc)
    key = (cell.tobytes(), positions.tobytes(), numbers.tobytes(), float(symprec))
    found = _CACHE.pop(key, None)
    if found is None:
        if dataset is None:
            dataset = spglib.get_symmetry_dataset((cell, positions, numbers), symprec=symprec)
        if dataset is None:
            raise ValueError("spglib could not determine the symmetry of the structure")
        arrays = [np.array(dataset.rotations), np.array(dataset.translations, float),
                  np.array(dataset.equivalent_atoms), positions.copy(), numbers.astype(int)]
        for a in arrays:
            a.flags.writeable = False
        found = CrystalSymmetry(*arrays, symprec=float(symprec))
    _CACHE[key] = found  # most recently used last
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    return found


_CACHE: dict = {}  # (cell, positions, numbers, symprec) bytes → CrystalSymmetry, least recently used first
_CACHE_SIZE = 8


def primitive_cell(cell, scaled_positions, numbers, symprec: float = 1e-5):
    """The primitive cell of a crystal given in a conventional cell or a supercell (spglib, as
    phonopy's ``primitive_matrix="auto"``), without rotating or idealising it.

    Returns:
        (cell (3, 3) Å rows, scaled_positions (M, 3), numbers (M,), index (M,) int: for each atom
        of the primitive cell one atom of the input it stands for), or None when the cell given
        is primitive already.
    """
    found = spglib.standardize_cell((np.asarray(cell, float), np.asarray(scaled_positions, float), np.asarray(numbers)),
                                    to_primitive=True, no_idealize=True, symprec=symprec)
    if found is None or len(found[2]) >= len(numbers):
        return None
    p_cell, p_positions, p_numbers = (np.asarray(x) for x in found)
    cartesian = np.asarray(scaled_positions, float) @ np.asarray(cell, float)
    index = []
    for s, z in zip(p_positions, p_numbers):  # the input atom at the same place (modulo the primitive lattice)
        d = (cartesian @ np.linalg.inv(p_cell)) - s
        d -= np.rint(d)
        k = np.where((np.linalg.norm(d @ p_cell, axis=1) < 10 * symprec) & (np.asarray(numbers) == z))[0]
        index.append(int(k[0]) if len(k) else -1)
    if min(index) < 0:
        return None
    return p_cell, p_positions, p_numbers, np.array(index)


def conventional_matrix(cell, scaled_positions, numbers, symprec: float = 1e-5):
    """(3, 3) int C with the conventional cell's vectors = rows of ``C @ cell`` (spglib's
    standardised cell, not rotated), or None when the conventional cell is not a supercell of the
    cell given (e.g. the cell given is a supercell already)."""
    found = spglib.standardize_cell((np.asarray(cell, float), np.asarray(scaled_positions, float), np.asarray(numbers)),
                                    to_primitive=False, no_idealize=True, symprec=symprec)
    if found is None:
        return None
    c = np.asarray(found[0], float) @ np.linalg.inv(np.asarray(cell, float))
    if np.abs(c - np.rint(c)).max() > 1e-6 or round(np.linalg.det(c)) < 1:
        return None
    return np.rint(c).astype(np.int64)
