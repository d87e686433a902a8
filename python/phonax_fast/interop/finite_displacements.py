"""Reference force constants by phonopy's finite displacements through any ASE calculator."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms


def phonopy_finite_displacements(atoms: Atoms, calculator, supercell_dims, distance: float = 0.01, plusminus: bool = True) -> Phonopy:
    """A ``Phonopy`` (unit cell = primitive) with force constants from displaced supercells.

    Args:
        atoms: unit cell, Å.
        calculator: an ASE calculator (e.g. ``phonax_fast.Calculator(model)``), used for forces only.
        supercell_dims: (3,) diagonal supercell.
        distance: displacement, Å.
        plusminus: displace both ways (central differences).
    """
    unitcell = PhonopyAtoms(cell=atoms.cell[:], scaled_positions=atoms.get_scaled_positions(), symbols=atoms.get_chemical_symbols())
    phonon = Phonopy(unitcell, supercell_matrix=np.diag(supercell_dims), primitive_matrix=np.eye(3))
    phonon.generate_displacements(distance=distance, is_plusminus=plusminus)
    forces = []
    for sc in phonon.supercells_with_displacements:
        displaced = Atoms(sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        displaced.calc = calculator
        forces.append(displaced.get_forces())
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    return phonon
