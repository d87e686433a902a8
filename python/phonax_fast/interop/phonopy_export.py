"""Our compact force constants → a ``phonopy.Phonopy`` object on a supercell that holds them exactly."""

from __future__ import annotations

import itertools

import numpy as np
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms

from ..harmonic.force_constants import ForceConstants

_MAX_SUPERCELL = 40


def significant_columns(fcs: ForceConstants, tolerance: float) -> np.ndarray:
    """Indices l of translations whose blocks exceed ``tolerance`` × the largest block (max-abs norm)."""
    n = fcs.n_atoms
    size = np.abs(fcs.fc).reshape(n, len(fcs.translations), n, 9).max(axis=(0, 2, 3))
    return np.where(size > tolerance * size.max())[0]


def _images_are_shortest(fcs: ForceConstants, cols: np.ndarray, dims: np.ndarray) -> np.ndarray:
    """Per axis, whether some kept pair vector has an image as short as itself in the ``dims`` supercell."""
    cell = fcs.cell
    d = fcs.translations[cols][:, None, None, :] + fcs.scaled_positions[None, None, :, :] - fcs.scaled_positions[None, :, None, :]
    v = (d @ cell).reshape(-1, 3)
    length = np.linalg.norm(v, axis=1)
    crowded = np.zeros(3, bool)
    for m in itertools.product((-1, 0, 1), repeat=3):
        if m == (0, 0, 0):
            continue
        image = np.linalg.norm(v + (np.array(m) * dims) @ cell, axis=1)
        if np.any(image < length + 1e-6):
            crowded |= np.array(m) != 0
    return crowded


def supercell_dimensions(fcs: ForceConstants, tolerance: float = 1e-10) -> np.ndarray:
    """Smallest diagonal supercell in which every significant force constant is the unique shortest image."""
    cols = significant_columns(fcs, tolerance)
    dims = 2 * np.abs(fcs.translations[cols]).max(axis=0) + 1
    while True:
        crowded = _images_are_shortest(fcs, cols, dims)
        if not crowded.any():
            return dims
        dims = dims + 2 * crowded
        if dims.max() > _MAX_SUPERCELL:
            raise ValueError(f"force constants reach too far for a supercell of at most {_MAX_SUPERCELL} cells per axis")


def phonopy_atoms(fcs: ForceConstants) -> PhonopyAtoms:
    """The unit cell of ``fcs`` as phonopy's ``PhonopyAtoms`` (cell, positions, numbers, masses)."""
    return PhonopyAtoms(cell=fcs.cell, scaled_positions=fcs.scaled_positions, numbers=fcs.numbers, masses=fcs.masses)


def to_phonopy(fcs: ForceConstants, supercell_dims=None, tolerance: float = 1e-10, symmetry: bool = False) -> Phonopy:
    """A ``Phonopy`` with these force constants set on a supercell (compact form).

    Args:
        fcs: compact force constants.
        supercell_dims: (3,) diagonal supercell along the cell vectors, or a (3, 3) integer
            matrix M (supercell lattice vectors = rows of M @ cell). Default: the supercell of
            the non-analytic correction if ``fcs`` has one (its results depend on it), else the
            supercell the force constants come from (``fcs.supercell``: phonopy's results then
            equal ours at every q), else the smallest diagonal one in which every block larger than ``tolerance`` × the largest
            is the unique shortest image, so phonopy's dynamical matrix equals ours at every q up
            to the aliasing of the blocks below that tolerance. A smaller supercell folds (sums)
            the force constants onto it, which is exact only at q-points commensurate with it.
        symmetry: let phonopy search the supercell's symmetry (slow for thousands of atoms;
            needed for phonopy's irreps and symmetry-reduced meshes).

    A non-analytic correction (``fcs.nac``) is set as phonopy's ``nac_params`` (Born charges,
    ε∞, unit factor, method), so phonopy's dynamical matrices include it too.
    """
    if supercell_dims is None and fcs.nac is not None:
        matrix = fcs.nac.supercell_matrix
    elif supercell_dims is None and fcs.supercell is not None:
        matrix = fcs.supercell
    elif supercell_dims is None:
        matrix = np.diag(supercell_dimensions(fcs, tolerance))
    else:
        matrix = np.asarray(supercell_dims)
        matrix = np.diag(matrix) if matrix.shape == (3,) else matrix
    matrix = np.asarray(np.rint(matrix), dtype=int)
    if matrix.shape != (3, 3) or round(abs(np.linalg.det(matrix))) < 1:
        raise ValueError(f"supercell must be 3 positive integers or a non-singular 3×3 integer matrix; got {supercell_dims}")
    phonon = Phonopy(phonopy_atoms(fcs), supercell_matrix=matrix.T, primitive_matrix=np.eye(3), is_symmetry=symmetry)
    sc = phonon.supercell
    n, det = fcs.n_atoms, round(abs(np.linalg.det(matrix)))
    inverse = np.linalg.inv(matrix)

    def cell_key(t):  # lattice translations (..., 3) → an integer per class modulo the supercell lattice
        frac = np.rint((np.asarray(t) @ inverse) * det).astype(np.int64) % det
        return (frac[..., 0] * det + frac[..., 1]) * det + frac[..., 2]

    unit_coords = sc.scaled_positions @ matrix  # in units of the unit cell
    atom_of = np.array([sc.u2u_map[r] for r in sc.s2u_map])
    lattice_point = np.rint(unit_coords - fcs.scaled_positions[atom_of]).astype(int)
    index_of = {(a, k): s for s, (a, k) in enumerate(zip(atom_of, cell_key(lattice_point)))}
    p2s = np.asarray(phonon.primitive.p2s_map)
    origin = lattice_point[p2s]  # cell of each primitive atom
    keys = cell_key(fcs.translations[None, :, :] + origin[:, None, :])  # (N, N_L)
    target = np.array([[[index_of[(j, k)] for j in range(n)] for k in row] for row in keys])  # (N, N_L, N)
    source = fcs.fc.reshape(n, len(fcs.translations), n, 3, 3)
    fc = np.zeros((n, len(sc), 3, 3))
    np.add.at(fc, (np.arange(n)[:, None, None], target), source)
    phonon.force_constants = fc
    if fcs.nac is not None:
        phonon.nac_params = fcs.nac.phonopy_params()
    return phonon
