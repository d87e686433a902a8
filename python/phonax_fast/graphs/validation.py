"""Early, explicit checks on user structures (DESIGN.md §5)."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

MIN_DISTANCE = 0.5  # Å; closer atoms are treated as overlapping


def unknown_elements(atoms: Atoms, species) -> list[str]:
    """The element symbols of ``atoms`` that are not in ``species``, sorted."""
    return sorted(set(atoms.get_chemical_symbols()) - set(species))


def validate_structure(atoms: Atoms, species=None) -> None:
    """Raise ``ValueError`` naming the problem if ``atoms`` cannot be handled.

    Checks: finite positions; non-degenerate cell along periodic directions; no two atoms
    (or periodic images) closer than ``MIN_DISTANCE``; every element known to the model
    when ``species`` (element symbols) is given.
    """
    if not isinstance(atoms, Atoms):
        raise TypeError(f"expected an ase.Atoms, got {type(atoms).__name__}")
    if len(atoms) == 0:
        raise ValueError("the structure has no atoms")
    positions = atoms.get_positions()
    bad = np.where(~np.isfinite(positions).all(axis=1))[0]
    if bad.size:
        raise ValueError(f"non-finite (NaN or inf) positions for atoms {bad.tolist()}")
    cell = np.asarray(atoms.cell)
    for axis in np.where(atoms.pbc)[0]:
        if np.linalg.norm(cell[axis]) < 1e-8:
            raise ValueError(f"periodic boundary conditions along axis {axis} but cell vector {axis} is zero")
    if atoms.pbc.any() and abs(np.linalg.det(cell)) < 1e-8 and atoms.pbc.all():
        raise ValueError("periodic cell has zero volume (cell vectors are linearly dependent)")
    if species is not None:
        unknown = unknown_elements(atoms, species)
        if unknown:
            raise ValueError(f"elements {unknown} are unknown to this model, which knows {list(species)}")
    i, j, d = neighbor_list("ijd", atoms, MIN_DISTANCE)
    if len(i):
        k = int(np.argmin(d))
        raise ValueError(
            f"atoms {i[k]} and {j[k]} (or a periodic image) are {d[k]:.3f} Å apart, closer than {MIN_DISTANCE} Å: overlapping atoms"
        )


def require_crystal(atoms: Atoms, species=None, *, context: str = "phonons") -> None:
    """The check at each crystal entry point: a valid structure (``validate_structure``) that is
    periodic along all three cell vectors; ``ValueError`` naming the problem otherwise.

    ``context`` names the computation in the message (``"Phonons"``, ``"crystal force constants"``).
    """
    require_periodic(atoms, context=context)
    validate_structure(atoms, species)


def require_periodic(atoms: Atoms, *, context: str) -> None:
    """Only the periodicity part of :func:`require_crystal` (no neighbour list): for builders
    below the entry points, such as extended clusters."""
    _require_atoms(atoms)
    if not np.all(atoms.pbc):
        raise ValueError(
            f"{context} requires a crystal periodic in all three directions (atoms.pbc is {np.asarray(atoms.pbc).tolist()}); "
            "use Vibrations for an isolated molecule"
        )


def require_molecule(atoms: Atoms, species=None, *, context: str = "molecular vibrations") -> None:
    """The check at each molecule entry point: a valid structure without periodic boundary
    conditions; ``ValueError`` naming the problem otherwise."""
    _require_atoms(atoms)
    if np.any(atoms.pbc):
        raise ValueError(
            f"{context} works on isolated molecules only (atoms.pbc is {np.asarray(atoms.pbc).tolist()}; set atoms.pbc = False); "
            "use Phonons for a crystal"
        )
    validate_structure(atoms, species)


def _require_atoms(atoms) -> None:
    if not isinstance(atoms, Atoms):
        raise TypeError(f"expected an ase.Atoms, got {type(atoms).__name__}")
