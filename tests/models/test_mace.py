"""MACE: invariance/equivariance, energy–force consistency, permutation, save/load."""

import jax
import jax.numpy as jnp
import numpy as np
import phonax_fast as pf
import pytest
from ase import Atoms
from ase.build import bulk
from phonax_fast.graphs import periodic_graph
from phonax_fast.models.mace import MACE
from scipy.spatial.transform import Rotation

SPECIES = ("Si", "C")


@pytest.fixture(scope="module")
def model():
    return MACE.init(SPECIES, cutoff=3.0, num_layers=2, lmax=1, channels=4, correlation=3, radial_hidden=(8,), seed=3)


def molecule(seed=0):
    rng = np.random.default_rng(seed)
    positions = np.array([[0, 0, 0], [1.6, 0, 0], [0, 1.7, 0], [0.2, 0.3, 1.8], [1.5, 1.5, 0.4]]) + rng.normal(scale=0.1, size=(5, 3))
    return Atoms("SiCSiCC", positions=positions)


@jax.jit
def energy_forces(model, graph):
    e, g = jax.value_and_grad(lambda x: model.energy(graph._replace(positions=x)))(graph.positions)
    return e, -g


def evaluate(model, atoms):
    graph = jax.tree_util.tree_map(jnp.asarray, periodic_graph(atoms, model.cutoff, model.species))
    e, f = energy_forces(model, graph)
    return float(e), np.asarray(f)


def test_rotation_inversion_translation_and_permutation(model):
    atoms = molecule()
    e0, f0 = evaluate(model, atoms)
    rot = Rotation.random(random_state=1).as_matrix() * -1.0  # an improper rotation (with inversion)
    moved = atoms.copy()
    moved.positions = atoms.positions @ rot.T + np.array([0.3, -1.2, 2.0])
    e1, f1 = evaluate(model, moved)
    assert e1 == pytest.approx(e0, rel=1e-10)
    np.testing.assert_allclose(f1, f0 @ rot.T, atol=1e-10)
    perm = np.array([3, 1, 4, 0, 2])
    e2, f2 = evaluate(model, atoms[perm])
    assert e2 == pytest.approx(e0, rel=1e-10)
    np.testing.assert_allclose(f2, f0[perm], atol=1e-10)


def test_forces_are_minus_energy_gradient(model):
    atoms = molecule(1)
    _, forces = evaluate(model, atoms)
    h = 1e-5
    for i, a in [(0, 0), (2, 1), (4, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, a] += h
        minus.positions[i, a] -= h
        fd = -(evaluate(model, plus)[0] - evaluate(model, minus)[0]) / (2 * h)
        assert forces[i, a] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_periodic_crystal_is_translation_invariant(model):
    atoms = bulk("Si", "diamond", a=5.43)
    atoms.set_chemical_symbols(["Si", "C"])
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=(2, 3))
    e0, f0 = evaluate(model, atoms)
    np.testing.assert_allclose(f0.sum(axis=0), 0.0, atol=1e-10)
    shifted = atoms.copy()
    shifted.positions += [0.7, 0.1, -0.4]
    e1, _ = evaluate(model, shifted)
    assert e1 == pytest.approx(e0, rel=1e-10)


def test_save_load_roundtrip(model, tmp_path):
    model.save(tmp_path / "mace.npz")
    loaded = pf.models.load(tmp_path / "mace.npz")
    assert isinstance(loaded, MACE) and loaded.config == model.config
    atoms = molecule(2)
    assert evaluate(loaded, atoms)[0] == evaluate(model, atoms)[0]


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="correlation"):
        MACE.init(SPECIES, correlation=4)
