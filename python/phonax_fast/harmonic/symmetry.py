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

MATCH_FACTOR = 10
"""Atom images match when each reduced component is within ``MATCH_FACTOR · symprec`` of the atom's."""

_BATCH_ELEMENTS = 1 << 22  # operations matched at once: about this many (op, a, b, component) entries


@dataclass(frozen=True, eq=False)
class CrystalSymmetry:
    """Space-group operations of a crystal with the atom permutations they induce.

    Attributes:
        rotations: (n_ops, 3, 3) int, W on reduced coordinates (spglib's order).
        translations: (n_ops, 3) float, w in reduced coordinates.
        permutations: (n_ops, N) int, π_g(a); a row of −1 where the images of the atoms under g do
            not match atoms of the cell one to one (never for spglib's operations in practice;
            see ``matched``).
        lattice_shifts: (n_ops, N, 3) int, t_a with W s_a + w = s_{π_g(a)} + t_a, relative to the
            positions as given (not wrapped); zero in rows that did not match.
        equivalent_atoms: (N,) int, spglib's representative of each atom's orbit.
        symprec: spglib's tolerance, Å.
    """

    rotations: np.ndarray
    translations: np.ndarray
    permutations: np.ndarray
    lattice_shifts: np.ndarray
    equivalent_atoms: np.ndarray
    symprec: float

    @property
    def n_ops(self) -> int:
        return len(self.rotations)

    @property
    def matched(self) -> np.ndarray:
        """(n_ops,) bool: operations whose atom permutation was found."""
        return self.permutations[:, 0] >= 0 if self.permutations.shape[1] else np.ones(self.n_ops, bool)

    @property
    def point_group(self) -> np.ndarray:
        """(n_rot, 3, 3) intc, the distinct rotations (sorted as ``np.unique`` sorts them)."""
        return np.unique(np.asarray(self.rotations, dtype=np.intc), axis=0)

    def site_symmetry(self, i: int) -> np.ndarray:
        """Indices of the operations that map atom ``i`` onto itself (up to a lattice vector)."""
        return np.flatnonzero(self.permutations[:, i] == i)


def crystal_symmetry(cell, scaled_positions, numbers, symprec: float = 1e-5) -> CrystalSymmetry:
    """The (cached) space group of the crystal; ``cell`` (3, 3) Å rows, ``scaled_positions`` (N, 3)
    reduced, ``numbers`` (N,) atomic numbers, ``symprec`` spglib's tolerance in Å.

    Raises:
        ValueError: if spglib cannot determine the symmetry.
    """
    cell, positions = np.asarray(cell, float), np.asarray(scaled_positions, float)
    numbers = np.asarray(numbers, np.intc)
    return _crystal_symmetry(cell.tobytes(), positions.tobytes(), numbers.tobytes(), float(symprec))


@functools.lru_cache(maxsize=8)
def _crystal_symmetry(cell: bytes, positions: bytes, numbers: bytes, symprec: float) -> CrystalSymmetry:
    lattice, scaled = np.frombuffer(cell).reshape(3, 3), np.frombuffer(positions).reshape(-1, 3)
    species = np.frombuffer(numbers, np.intc)
    dataset = spglib.get_symmetry_dataset((lattice, scaled, species), symprec=symprec)
    if dataset is None:
        raise ValueError("spglib could not determine the symmetry of the structure")
    rotations = np.asarray(dataset.rotations)
    translations = np.asarray(dataset.translations, float)
    permutations, shifts = _match_atoms(scaled, species, rotations, translations, MATCH_FACTOR * symprec)
    arrays = [rotations, translations, permutations, shifts, np.asarray(dataset.equivalent_atoms)]
    for a in arrays:
        a.flags.writeable = False
    return CrystalSymmetry(*arrays, symprec=symprec)


def _match_atoms(positions, numbers, rotations, translations, tolerance: float):
    """Permutations (n_ops, N) (−1 rows where unmatched) and lattice shifts (n_ops, N, 3) int.

    Vectorised over blocks of operations: (ops, a, b) comparisons of image of a with atom b.
    """
    n_ops, n = len(rotations), len(positions)
    permutations = np.full((n_ops, n), -1, dtype=int)
    shifts = np.zeros((n_ops, n, 3), dtype=int)
    same = numbers[:, None] == numbers[None, :]
    batch = max(1, _BATCH_ELEMENTS // max(1, 3 * n * n))
    for start in range(0, n_ops, batch):
        w = translations[start : start + batch]
        image = positions[None] @ rotations[start : start + batch].transpose(0, 2, 1) + w[:, None, :]  # (k, N, 3)
        diff = image[:, :, None, :] - positions[None, None, :, :]  # image of a vs atom b
        match = (np.abs(diff - np.rint(diff)) < tolerance).all(axis=3) & same
        ok = (match.sum(axis=2) == 1).all(axis=1)
        pi = match.argmax(axis=2)
        t = np.rint(image - positions[pi]).astype(int)
        rows = start + np.flatnonzero(ok)
        permutations[rows], shifts[rows] = pi[ok], t[ok]
    return permutations, shifts


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
