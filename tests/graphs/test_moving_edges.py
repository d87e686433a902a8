"""A graph's moving edge group (``graphs.neighbors.move_edges``), which Hessian-vector products
use to run their tangents along the moved atoms' edges only: every model gives the same energy on
the split graph, and the products along the group's offsets equal rows of ``jax.hessian`` of the
energy of the unsplit graph (float64, 1e-10: both exact, rounding only)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

import phonax_fast as pf
from phonax_fast import derivatives as d
from phonax_fast.graphs.graph import edge_groups, edge_vectors
from phonax_fast.graphs.neighbors import incident_edges, max_incident_edges, move_edges, pad_graph, periodic_graph
from structures import random_nequip

SPECIES = ("C", "H", "O", "Si")


MODELS = {  # small random models of every class
    "NequIP": lambda: random_nequip(SPECIES, cutoff=3.5, num_layers=2, lmax=1, channels=4),
    "MACE": lambda: pf.models.MACE.init(SPECIES, cutoff=3.5, num_layers=2, lmax=1, channels=4, correlation=2,
                                        radial_hidden=(8,), seed=3),
    "Nequix": lambda: pf.models.Nequix.init(SPECIES, cutoff=3.5, num_layers=2, hidden_irreps="6x0e + 3x1o + 2x2e",
                                            radial_mlp_size=8, avg_num_neighbors=10.0, seed=3),
    "SevenNet": lambda: pf.models.SevenNet.init(SPECIES, cutoff=3.5, envelope_on=3.0, num_layers=2, channels=4,
                                                hidden_irreps="4x0e+2x1e+2x2e", lmax=2, radial_hidden=(8,), seed=3),
}


def crystal():
    """Si 1×1×2 conventional with two C, rattled: 16 atoms, no symmetry."""
    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat((1, 1, 2))
    atoms.symbols[[3, 10]] = "C"
    atoms.rattle(0.04, seed=2)
    return atoms


@jax.jit
def _energy(model, graph):
    return d.energy(model, model.params, graph)


@pytest.mark.parametrize("name", [n if n == "NequIP" else pytest.param(n, marks=pytest.mark.slow) for n in MODELS])  # ~30 s each
def test_split_graph_has_the_same_energy_and_hessian_rows(name):
    model = MODELS[name]()
    graph = periodic_graph(crystal(), model.cutoff, model.species)
    nodes = np.array([0, 3, 9])
    width = len(nodes) * max_incident_edges(graph)
    split = move_edges(graph, nodes, width, model.cutoff)
    assert split.num_edges == graph.num_edges + width and split.moving_edges == width
    fixed, moving = edge_groups(split)
    senders, receivers = np.asarray(split.senders), np.asarray(split.receivers)
    assert not (np.isin(senders[fixed.edges], nodes) | np.isin(receivers[fixed.edges], nodes)).any()
    touch = np.isin(senders[moving.edges], nodes) | np.isin(receivers[moving.edges], nodes)
    assert touch.sum() == len(incident_edges(graph, nodes)) > 0  # the rest of the group is inert padding
    graph_j, split_j = (jax.tree_util.tree_map(jnp.asarray, g) for g in (graph, split))
    np.testing.assert_allclose(_energy(model, split_j), _energy(model, graph_j), rtol=1e-12)
    shifted = split_j._replace(offsets=split_j.offsets.at[3].set([0.01, -0.02, 0.03]))
    moved = graph_j._replace(positions=graph_j.positions.at[3].add(jnp.array([0.01, -0.02, 0.03])))
    np.testing.assert_allclose(_energy(model, shifted), _energy(model, moved), rtol=1e-12)  # offsets move the atom
    reference = np.asarray(jax.hessian(lambda x: _energy(model, graph_j._replace(positions=x)))(graph_j.positions))
    directions = np.random.default_rng(1).normal(size=(len(nodes), 3))
    tangents = np.zeros((len(nodes), graph.num_nodes, 3))
    tangents[np.arange(len(nodes)), nodes] = directions
    products = np.asarray(d._moving_block(model, split_j, jnp.asarray(tangents)))
    expected = np.einsum("ka,kanb->knb", directions, reference[nodes])
    np.testing.assert_allclose(products, expected, atol=1e-10 * np.abs(expected).max())


def test_split_graph_vectors_and_bad_input():
    model = MODELS["NequIP"]()
    graph = periodic_graph(crystal(), model.cutoff, model.species)
    split = move_edges(graph, [5], max_incident_edges(graph), model.cutoff)
    vectors, original = np.asarray(edge_vectors(split)), np.asarray(edge_vectors(graph))
    moved = np.flatnonzero((np.asarray(graph.senders) == 5) | (np.asarray(graph.receivers) == 5))
    np.testing.assert_allclose(vectors[graph.num_edges:][: len(moved)], original[moved])
    kept = np.setdiff1d(np.arange(graph.num_edges), moved)
    np.testing.assert_allclose(vectors[kept], original[kept])
    assert (np.linalg.norm(vectors[moved], axis=1) > model.cutoff).all()  # made inert where they were
    # pad_graph's inert edges on the last (real) node stay where they are
    padded = pad_graph(graph, graph.num_nodes, graph.num_edges + 7, model.cutoff)
    last = graph.num_nodes - 1
    split = move_edges(padded, [last], max_incident_edges(graph), model.cutoff)
    graph_j, split_j = (jax.tree_util.tree_map(jnp.asarray, g) for g in (graph, split))
    np.testing.assert_allclose(_energy(model, split_j), _energy(model, graph_j), rtol=1e-12)
    with pytest.raises(ValueError, match="more than the group's"):
        move_edges(graph, [5, 6], max_incident_edges(graph), model.cutoff)
    with pytest.raises(ValueError, match="both layer_edges and moving_edges"):
        edge_groups(split._replace(layer_edges=(10,)))
