"""NequIP model: E(3) invariance, permutation invariance, extensivity, and its file format."""

import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import molecule
from scipy.spatial.transform import Rotation

import phonax_fast as pf
from phonax_fast.graphs import periodic_graph
from structures import random_nequip, silicon


@pytest.fixture(scope="module")
def model():
    return random_nequip(["C", "H", "O", "Si"], cutoff=4.0, num_layers=2, lmax=3, channels=6, seed=5)


def energy_and_forces(model, atoms):
    atoms = atoms.copy()
    atoms.calc = pf.Calculator(model)
    return atoms.get_potential_energy(), atoms.get_forces()


@pytest.fixture(scope="module")
def ethanol():
    atoms = molecule("CH3CH2OH")
    atoms.rattle(0.1, seed=0)
    return atoms


def test_rotation_inversion_translation(model, ethanol):
    e0, f0 = energy_and_forces(model, ethanol)
    for matrix in (Rotation.random(random_state=1).as_matrix(), -np.eye(3), -Rotation.random(random_state=2).as_matrix()):
        moved = ethanol.copy()
        moved.positions = ethanol.positions @ matrix.T + np.array([1.0, -2.0, 0.5])
        e1, f1 = energy_and_forces(model, moved)
        assert abs(e1 - e0) < 1e-10 * max(1, abs(e0))
        np.testing.assert_allclose(f1, f0 @ matrix.T, atol=1e-10)


def test_permutation(model, ethanol):
    e0, f0 = energy_and_forces(model, ethanol)
    perm = np.random.default_rng(0).permutation(len(ethanol))
    e1, f1 = energy_and_forces(model, ethanol[perm])
    assert abs(e1 - e0) < 1e-10 * max(1, abs(e0))
    np.testing.assert_allclose(f1, f0[perm], atol=1e-10)


def test_periodic_energy_is_extensive(model):
    atoms = silicon()
    atoms.rattle(0.03, seed=3)
    e1, _ = energy_and_forces(model, atoms)
    e8, _ = energy_and_forces(model, atoms.repeat((2, 2, 2)))
    assert abs(e8 - 8 * e1) < 1e-9 * max(1, abs(e8))


def test_energy_scale_and_shift_apply_per_species(model, ethanol):
    g = periodic_graph(ethanol, model.cutoff, model.species)
    base = np.asarray(model.node_energies(g))
    params = dict(model.params, scale=jnp.asarray(2.0), shift=jnp.arange(4.0))
    shifted = np.asarray(model.with_params(params).node_energies(g))
    np.testing.assert_allclose(shifted, 2 * base + np.asarray(g.species, float), atol=1e-12)


def test_save_and_load_round_trip(model, ethanol, tmp_path):
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = pf.models.load(path)
    assert loaded.config == model.config
    e0, f0 = energy_and_forces(model, ethanol)
    e1, f1 = energy_and_forces(loaded, ethanol)
    assert e0 == e1
    np.testing.assert_array_equal(f0, f1)
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temporary file
