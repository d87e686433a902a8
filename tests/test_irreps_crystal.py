"""Irreps of crystal phonons through phonopy, IR/Raman activity at Γ."""

import numpy as np
import pytest
from ase import Atoms
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms

import phonax_fast as pf
from phonax_fast.vibrations.crystal_irreps import crystal_irreps
from structures import random_nequip, silicon


@pytest.fixture(scope="module")
def si_phonopy():
    """Diamond Si with force constants from phonopy's finite displacements of a random NequIP (ASE calculator)."""
    si = silicon()
    unit = PhonopyAtoms(symbols=si.get_chemical_symbols(), cell=si.cell[:], scaled_positions=si.get_scaled_positions())
    phonon = Phonopy(unit, supercell_matrix=2 * np.eye(3, dtype=int), primitive_matrix="auto")
    phonon.generate_displacements(distance=0.01)
    calc = pf.Calculator(random_nequip(["Si"], cutoff=3.0, num_layers=1, lmax=1, channels=4))
    forces = []
    for sc in phonon.supercells_with_displacements:
        atoms = Atoms(sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        atoms.calc = calc
        forces.append(atoms.get_forces())
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    return phonon


def test_silicon_gamma(si_phonopy):
    result = crystal_irreps(si_phonopy)
    assert result.point_group == "m-3m"
    optical = ~result.acoustic
    assert optical.sum() == 3 and result.acoustic.sum() == 3
    assert {result.labels[i] for i in np.where(optical)[0]} == {"T2g"}
    assert {result.labels[i] for i in np.where(result.acoustic)[0]} == {"T1u"}
    assert result.raman_active[optical].all() and not result.ir_active[optical].any()
    assert not (result.ir_active | result.raman_active)[result.acoustic].any()
    f = result.frequencies[optical]
    assert np.ptp(f) < 1e-6


def test_silicon_x_point(si_phonopy):
    result = crystal_irreps(si_phonopy, q=(0.5, 0.0, 0.5))
    assert result.ir_active is None and result.raman_active is None
    assert [len(s) for s in result.degenerate_sets] == [2, 2, 2]  # all bands pair up at X
    np.testing.assert_allclose(result.characters[:, 0].real, 2.0)


def test_bad_q(si_phonopy):
    with pytest.raises(ValueError, match="three finite"):
        crystal_irreps(si_phonopy, q=(0.0, np.nan, 0.0))
