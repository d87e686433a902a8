"""ASE calculator: forces and stress against finite differences of its own energy."""

import numpy as np
import pytest
from ase.build import molecule

import phonax_fast as pf
from phonax_fast.derivatives import energy_forces_virial
from phonax_fast.graphs.neighbors import pad_graph, periodic_graph
from structures import random_nequip, silicon


@pytest.fixture(scope="module")
def model():
    return random_nequip(["Si", "C", "H", "O"], cutoff=4.0, num_layers=2, lmax=2, channels=8)


def test_forces_are_energy_gradient(model):
    atoms = silicon().repeat((2, 1, 1))
    atoms.rattle(0.05, seed=1)
    atoms.calc = pf.Calculator(model)
    f = atoms.get_forces()
    f_num = atoms.calc.calculate_numerical_forces(atoms, d=1e-4)
    np.testing.assert_allclose(f, f_num, atol=1e-6)


def test_stress_is_strain_derivative(model):
    atoms = silicon()
    atoms.rattle(0.05, seed=2)
    atoms.calc = pf.Calculator(model)
    s = atoms.get_stress()
    s_num = atoms.calc.calculate_numerical_stress(atoms, d=1e-5)
    np.testing.assert_allclose(s, s_num, atol=1e-7)


def test_molecule_energy_forces_no_stress(model):
    atoms = molecule("CH3CH2OH")
    atoms.calc = pf.Calculator(model)
    atoms.get_potential_energy()
    np.testing.assert_allclose(atoms.get_forces().sum(axis=0), 0.0, atol=1e-10)
    from ase.calculators.calculator import PropertyNotImplementedError

    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_padding_does_not_change_results(model):
    atoms = silicon()
    g = periodic_graph(atoms, model.cutoff, model.species)
    e0, f0, v0 = energy_forces_virial(model, g)
    e1, f1, v1 = energy_forces_virial(model, pad_graph(g, g.num_nodes + 5, g.num_edges + 13, model.cutoff))
    np.testing.assert_allclose([e0], [e1], rtol=1e-12)
    np.testing.assert_allclose(f0, f1[: len(atoms)], atol=1e-12)
    assert not np.asarray(f1[len(atoms):]).any()  # padding nodes feel no force
    np.testing.assert_allclose(v0, v1, atol=1e-12)
