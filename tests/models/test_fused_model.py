"""Whole-model check: NequIP with backend="fused" gives the numbers of backend="e3nn".

Energies, forces and exact force constants (forward-over-reverse Hessian rows) of silicon, with
odd channel counts, to 1e-11 relative in float64.
"""

import jax
import numpy as np
import pytest
from ase.build import bulk

import phonax_fast as pf

TOL = 1e-11


@pytest.fixture(scope="module")
def models():
    fused = pf.models.NequIP.init(["Si"], cutoff=4.0, num_layers=2, lmax=2, channels=5, seed=11, backend="fused")
    return fused, fused.with_backend("e3nn")


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def test_energy_and_forces(models):
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.positions += np.random.default_rng(0).normal(scale=0.05, size=atoms.positions.shape)
    results = []
    for model in models:
        assert model.config.backend in ("fused", "e3nn")
        graph = pf.graphs.neighbors.periodic_graph(atoms, model.cutoff, model.species)
        energy = lambda pos: model.energy(graph._replace(positions=pos))  # noqa: E731
        results.append(jax.jit(jax.value_and_grad(energy))(graph.positions))
    (e_fused, g_fused), (e_ref, g_ref) = results
    assert rel(e_fused, e_ref) < TOL
    assert rel(g_fused, g_ref) < TOL


def test_force_constants(models):
    atoms = bulk("Si", "diamond", a=5.43)
    fcs = [pf.forceconstants.crystal_force_constants(atoms, model, "masked")[0] for model in models]
    np.testing.assert_array_equal(fcs[0].translations, fcs[1].translations)
    assert rel(fcs[0].fc, fcs[1].fc) < TOL


def test_auto_backend_is_the_faster_one_here_and_not_saved(models, tmp_path):
    from phonax_fast.ops.convolution import resolve_backend

    platform = jax.default_backend()
    assert resolve_backend("auto") == ("fused" if platform == "cpu" else "e3nn")
    assert pf.models.NequIP.init(["Si"]).config.backend == "auto"
    with pytest.raises(ValueError, match="unknown convolution backend"):
        models[0].with_backend("cuda")
    models[0].save(tmp_path / "m.npz")
    loaded = pf.models.load(tmp_path / "m.npz")
    assert loaded.config.backend == "auto"
    for a, b in zip(jax.tree_util.tree_leaves(loaded.params), jax.tree_util.tree_leaves(models[0].params)):
        np.testing.assert_array_equal(a, b)
