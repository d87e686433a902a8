"""Spectrum fine-tuning (paper §III C 5) on a tiny model: the benzene spectrum loss must drop.

The target spectrum comes from an independent source, a pair-spring energy model written here
(cheap, no tblite needed); the bookkeeping is checked on that model too, so that only the tiny
NequIP's fine-tuning step is compiled. The full study with GFN2-xTB references, and its
fine-tuning loop (``finetune_spectrum``, tested here), is ``studies.spectrum_finetune_study``.
"""

from dataclasses import dataclass, replace

import jax
import jax.numpy as jnp
import numpy as np
import optax
import phonax_fast as pf
import pytest
from ase.build import molecule
from phonax_fast.training import spectrum_loss
from phonax_fast.training.spectrum_finetune import (
    eigenvalues_to_cm1,
    molecular_spectrum,
    molecular_spectrum_loss,
    reference_eigenvalues,
    vibrational_projector,
)
from studies.spectrum_finetune_study import finetune_spectrum

TINY = {"cutoff": 4.0, "num_layers": 1, "lmax": 1, "channels": 4, "radial_hidden": (8,)}


K_RANGE = (0.1, 0.3)  # eV/Å²: spectra in the range of a tiny random NequIP's


@dataclass(frozen=True)
class Springs:
    """E = Σ_edges ¼·k_ab·(r − rest_e)² over the edges e of one molecule's graph, with a spring
    constant per species pair (a, b) and rest lengths from a reference geometry (a minimum there):
    an energy model with the interface finetune_spectrum needs (species, cutoff, params, apply,
    with_params)."""

    params: dict
    species: tuple = ("C", "H", "O")
    cutoff: float = 4.0

    def apply(self, params, graph):
        v = graph.positions[graph.senders] - graph.positions[graph.receivers] + graph.shifts
        r = jnp.sqrt(jnp.sum(v**2, axis=-1))
        a, b = graph.species[graph.senders], graph.species[graph.receivers]
        e = 0.25 * params["k"][a, b] * (r - params["rest"]) ** 2
        return jax.ops.segment_sum(e, graph.receivers, graph.positions.shape[0])

    def with_params(self, params):
        return replace(self, params=params)


jax.tree_util.register_pytree_node(Springs, lambda m: ((m.params,), (m.species, m.cutoff)),
                                   lambda aux, leaves: Springs(leaves[0], *aux))


def springs(seed, atoms=None):
    atoms = molecule("C6H6") if atoms is None else atoms
    graph = pf.graphs.periodic_graph(atoms, 4.0, ("C", "H", "O"))
    rest = np.linalg.norm(pf.graphs.edge_vectors(graph), axis=-1)
    k = np.random.default_rng(seed).uniform(K_RANGE[0], K_RANGE[1], (3, 3))
    return Springs({"k": jnp.asarray(k + k.T), "rest": jnp.asarray(rest)})


@pytest.fixture(scope="module")
def setup():
    benzene = molecule("C6H6")
    reference = springs(1)
    graph = pf.graphs.periodic_graph(benzene, reference.cutoff, reference.species)
    projector = vibrational_projector(benzene)
    target = np.asarray(molecular_spectrum(reference, reference.params, graph, projector))
    return benzene, graph, projector, target


def test_projector_spans_vibrations(setup):
    benzene, _, projector, _ = setup
    assert projector.shape == (36, 30)
    # mass-weighted columns are orthonormal
    sqrt_m = np.repeat(np.sqrt(benzene.get_masses()), 3)[:, None]
    np.testing.assert_allclose((sqrt_m * projector).T @ (sqrt_m * projector), np.eye(30), atol=1e-12)


def test_reference_eigenvalues_match_normal_modes():
    # a spring network Hessian: reference_eigenvalues == the vibrational eigenvalues of Vibrations
    water = molecule("H2O")
    x = water.get_positions()
    h = np.zeros((3, 3, 3, 3))
    for i in range(3):
        for j in range(i + 1, 3):
            u = (x[j] - x[i]) / np.linalg.norm(x[j] - x[i])
            k = 30.0 * np.outer(u, u)
            h[i, :, i, :] += k
            h[j, :, j, :] += k
            h[i, :, j, :] -= k
            h[j, :, i, :] -= k
    h = h.reshape(9, 9)
    vib = pf.Vibrations(water, hessian=h)
    np.testing.assert_allclose(reference_eigenvalues(water, h), vib.eigenvalues[~vib.zero_modes], atol=1e-10)
    np.testing.assert_allclose(eigenvalues_to_cm1(reference_eigenvalues(water, h)),
                               vib.frequencies_cm1[~vib.zero_modes], rtol=1e-10)


def test_molecular_loss_equals_crystal_form(setup):
    _, graph, projector, target = setup
    model = springs(2)
    ours = molecular_spectrum_loss(model, model.params, graph, projector, target)
    crystal = spectrum_loss(model, model.params, graph, jnp.asarray(projector, dtype=complex), target)
    np.testing.assert_allclose(float(ours), float(crystal), rtol=1e-9)


def test_finetuning_lowers_benzene_spectrum_loss(setup):
    benzene, _, _, target = setup
    model = pf.models.NequIP.init(["C", "H", "O"], seed=0, **TINY)
    _, history = finetune_spectrum(model, benzene, target, optax.adam(3e-3), 20, log_every=5)
    steps, losses, maes = history.column("step"), history.column("loss"), history.column("mae_cm1")
    np.testing.assert_array_equal(steps, [0, 5, 10, 15, 20])
    assert losses[-1] < 0.5 * losses[0]
    assert maes[-1] < maes[0]


def test_history_and_returned_model(setup):
    benzene, graph, projector, target = setup
    model = springs(2)
    start = jax.tree_util.tree_map(np.array, model.params)
    tuned, history = finetune_spectrum(model, benzene, target, optax.adam(1e-2), 7, log_every=3)
    np.testing.assert_array_equal(history.column("step"), [0, 3, 6, 7])
    # the first record is the starting model, the last one the returned model
    first = molecular_spectrum_loss(model, start, graph, projector, target)
    last = molecular_spectrum_loss(tuned, tuned.params, graph, projector, target)
    np.testing.assert_allclose(history.column("loss")[[0, -1]], [float(first), float(last)], rtol=1e-9)
    assert history.column("loss")[-1] < history.column("loss")[0]
    # the starting model is untouched
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(model.params),
                                                    jax.tree_util.tree_leaves(start)))
    # a (3N, 3N) reference Hessian is accepted as the target and gives the same run
    reference = springs(1)
    energy = lambda x: jnp.sum(reference.apply(reference.params, graph._replace(positions=x)))
    hessian = np.asarray(jax.hessian(energy)(jnp.asarray(graph.positions))).reshape(36, 36)
    np.testing.assert_allclose(reference_eigenvalues(benzene, hessian), target, rtol=1e-8, atol=1e-10)
    _, again = finetune_spectrum(model, benzene, hessian, optax.adam(1e-2), 7, log_every=3)
    np.testing.assert_allclose(again.column("loss"), history.column("loss"), rtol=1e-7)


def test_rejects_wrong_target(setup):
    benzene, _, _, target = setup
    with pytest.raises(ValueError, match="vibrational eigenvalues"):
        finetune_spectrum(springs(2), benzene, target[:-1], optax.adam(1e-3), 1)
