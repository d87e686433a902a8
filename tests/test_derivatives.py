"""phonax_fast.derivatives against independent references, in float64.

* forces: central differences of the energy (fixed graph);
* stress (strain trick): central differences of the energy of strained cells, each with its own
  neighbour list built from the strained atoms;
* Hessian-vector products and Hessian rows: ``jax.hessian`` of the energy (full Hessian);
* batches: each structure of a concatenated graph against the structure alone.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import molecule

from phonax_fast import derivatives as d
from phonax_fast.graphs.graph import Graph
from phonax_fast.graphs.neighbors import periodic_graph
from structures import random_nequip, silicon

SPECIES = ("Si", "C", "H", "O")


@pytest.fixture(scope="module")
def model():
    return random_nequip(SPECIES, cutoff=3.5, num_layers=2, lmax=1, channels=4)


def as_jax(graph):
    return jax.tree_util.tree_map(jnp.asarray, graph)


def crystal():
    atoms = silicon().repeat((2, 1, 1))
    atoms.set_chemical_symbols(["Si", "C", "Si", "Si"])
    atoms.rattle(0.05, seed=3)
    return atoms


def water():
    atoms = molecule("H2O")
    atoms.rattle(0.02, seed=4)
    return atoms


def graph_of(model, atoms):
    return as_jax(periodic_graph(atoms, model.cutoff, model.species))


def concatenate(graphs):
    """One disconnected graph of several graphs and the structure index of each node."""
    offsets = np.cumsum([0] + [g.num_nodes for g in graphs])[:-1]
    cat = lambda f: jnp.concatenate([getattr(g, f) for g in graphs])
    graph = Graph(positions=cat("positions"), species=cat("species"),
                  senders=jnp.concatenate([g.senders + o for g, o in zip(graphs, offsets)]),
                  receivers=jnp.concatenate([g.receivers + o for g, o in zip(graphs, offsets)]),
                  shifts=cat("shifts"), energy_weights=cat("energy_weights"))
    slots = jnp.concatenate([jnp.full(g.num_nodes, k) for k, g in enumerate(graphs)])
    return graph, slots


# the functions under test, jitted (eager evaluation of a model is slow)
energy = jax.jit(d.energy)
structure_energies = jax.jit(d.structure_energies, static_argnums=4)
energy_and_gradients = jax.jit(d.energy_and_gradients, static_argnums=4)
batch_derivatives = jax.jit(d.batch_derivatives, static_argnums=4)
hessian_vector_products = jax.jit(d.hessian_vector_products)
strain_graph = jax.jit(d.strain_graph)


@jax.jit
def _energy(model, graph):
    return jnp.dot(graph.energy_weights, model.apply(model.params, graph))


@jax.jit
def _full_hessian(model, graph):
    return jax.hessian(lambda x: _energy(model, graph._replace(positions=x)))(graph.positions)


def test_energy_is_the_weighted_sum_of_atomic_energies(model):
    graph = graph_of(model, crystal())
    weights = jnp.asarray([1.0, 0.0, 0.5, 1.0])
    masked = graph._replace(energy_weights=weights)
    atomic = np.asarray(jax.jit(model.apply)(model.params, graph))
    np.testing.assert_allclose(float(energy(model, model.params, masked)), atomic @ np.asarray(weights), rtol=1e-13)
    np.testing.assert_allclose(float(energy(model, model.params, graph)), float(jax.jit(type(model).energy)(model, graph)), rtol=1e-13)
    # per structure of a batch: each structure's own energy
    graphs = [graph, graph_of(model, water()), masked]
    batch, slots = concatenate(graphs)
    energies = structure_energies(model, model.params, batch, slots, 3)
    np.testing.assert_allclose(energies, [float(_energy(model, g)) for g in graphs], rtol=1e-12)


@pytest.mark.parametrize("make", [crystal, water])
def test_forces_are_minus_the_energy_gradient(model, make):
    graph = graph_of(model, make())
    e, forces, _ = d.energy_forces_virial(model, graph)
    np.testing.assert_allclose(float(e), float(_energy(model, graph)), rtol=1e-13)
    h = 1e-5
    x = np.asarray(graph.positions)
    numerical = np.zeros_like(x)
    for i in range(x.shape[0]):
        for a in range(3):
            step = np.zeros_like(x)
            step[i, a] = h
            plus = _energy(model, graph._replace(positions=jnp.asarray(x + step)))
            minus = _energy(model, graph._replace(positions=jnp.asarray(x - step)))
            numerical[i, a] = -(float(plus) - float(minus)) / (2 * h)
    np.testing.assert_allclose(forces, numerical, atol=1e-8)
    if make is water:
        np.testing.assert_allclose(np.asarray(forces).sum(axis=0), 0.0, atol=1e-10)


def strained_energy(model, atoms, strain):
    """Energy of ``atoms`` with cell and positions deformed by I + strain, neighbour list rebuilt."""
    strained = atoms.copy()
    strained.set_cell(atoms.cell[:] @ (np.eye(3) + strain), scale_atoms=True)
    return float(_energy(model, graph_of(model, strained)))


def test_strain_derivative_matches_strained_cells(model):
    atoms = crystal()
    graph = graph_of(model, atoms)
    _, _, virial = d.energy_forces_virial(model, graph)
    virial = np.asarray(virial)
    np.testing.assert_allclose(virial, virial.T, atol=1e-12)  # the strain is symmetrised
    h = 1e-5
    numerical = np.zeros((3, 3))
    for i in range(3):
        for j in range(i, 3):
            s = np.zeros((3, 3))  # h (e_i e_jᵀ + e_j e_iᵀ)/2: d/dh of E(I + s) is ∂E/∂ε_ij
            s[i, j] += 0.5 * h
            s[j, i] += 0.5 * h
            numerical[i, j] = numerical[j, i] = (strained_energy(model, atoms, s) - strained_energy(model, atoms, -s)) / (2 * h)
    np.testing.assert_allclose(virial, numerical, atol=1e-7)
    # a molecule's shifts are zero: its strain derivative is Σ_i r_i ⊗ ∂E/∂r_i (symmetrised)
    g = graph_of(model, water())
    _, f, v = d.energy_forces_virial(model, g)
    expected = -np.asarray(g.positions).T @ np.asarray(f)
    np.testing.assert_allclose(v, 0.5 * (expected + expected.T), atol=1e-10)


def test_batched_gradients_match_each_structure(model):
    graphs = [graph_of(model, crystal()), graph_of(model, water()), graph_of(model, silicon())]
    batch, slots = concatenate(graphs)
    e, de_dx, de_deps = energy_and_gradients(model, model.params, batch, slots, 3)
    start = 0
    for k, g in enumerate(graphs):
        e_k, f_k, v_k = d.energy_forces_virial(model, g)
        np.testing.assert_allclose(float(e[k]), float(e_k), rtol=1e-12)
        np.testing.assert_allclose(-de_dx[start : start + g.num_nodes], f_k, atol=1e-12)
        np.testing.assert_allclose(de_deps[k], v_k, atol=1e-11)
        start += g.num_nodes
    # the strain trick on a batch: each structure deformed by its own strain
    strain = jnp.asarray(np.random.default_rng(0).normal(scale=0.01, size=(3, 3, 3)))
    strained = strain_graph(batch, strain, slots)
    for k, g in enumerate(graphs):
        one = strain_graph(g, strain[k])
        nodes = np.asarray(slots) == k
        np.testing.assert_allclose(strained.positions[nodes], one.positions, atol=1e-14)


@pytest.mark.parametrize("make", [crystal, water])
def test_hessian_rows_match_jax_hessian(model, make):
    graph = graph_of(model, make())
    n = graph.num_nodes
    reference = np.asarray(_full_hessian(model, graph)).reshape(3 * n, n, 3)
    coords = np.array([0, 4, 5, 3 * n - 1, 1, 7, 2])  # 7 rows in blocks of 3: the last one padded
    rows = d.hessian_rows(model, graph, coords, block_size=3)
    np.testing.assert_allclose(rows, reference[coords], atol=1e-10)
    folded = {}
    assert d.hessian_rows(model, graph, coords, block_size=3, on_block=lambda c, r: folded.update(zip(c.tolist(), r))) is None
    np.testing.assert_allclose(np.array([folded[c] for c in coords.tolist()]), reference[coords], atol=1e-10)
    # the default block size covers every row at once for a structure this small
    assert d.default_block_size(model, graph, 3 * n) == 3 * n
    np.testing.assert_allclose(d.hessian_rows(model, graph, np.arange(3 * n)), reference, atol=1e-10)


def test_hessian_products_along_directions_match_jax_hessian(model):
    graph = graph_of(model, crystal())
    n = graph.num_nodes
    reference = np.asarray(_full_hessian(model, graph)).reshape(n, 3, n, 3)
    atoms = np.array([0, 2, 3])
    directions = np.random.default_rng(3).normal(size=(3, 3))
    timing = d.HessianTiming()
    products = d.hessian_products(model, graph, atoms, directions, block_size=2, timing=timing)
    expected = np.einsum("ka,kanb->knb", directions, reference[atoms])
    np.testing.assert_allclose(products, expected, atol=1e-10)
    assert (timing.products, timing.block_size, timing.blocks, timing.nodes) == (3, 2, 2, n)
    assert timing.compile_seconds > 0 and timing.execute_seconds > 0


def test_linearised_products_after_the_first_block(model, monkeypatch):
    """When the blocks left pay for compiling again (forced here: no compile cost), blocks after the
    first apply the linearised gradient (primal pass once); a second, warm call linearises from the
    first block. Both give the same rows as jax.hessian."""
    graph = graph_of(model, water())
    n = graph.num_nodes
    reference = np.asarray(_full_hessian(model, graph)).reshape(3 * n, n, 3)
    monkeypatch.setattr(d, "OPTIMIZED_COMPILE_COST", 0.0)
    monkeypatch.setattr(d, "_COMPILED", {})
    compiled = d._compiled
    asked = []
    monkeypatch.setattr(d, "_compiled", lambda fn, *args: asked.append(fn) or compiled(fn, *args))
    coords = np.arange(3 * n)[::-1]
    for run in ("cold", "warm"):
        asked.clear()
        rows = d.hessian_rows(model, graph, coords, block_size=2)
        np.testing.assert_allclose(rows, reference[coords], atol=1e-10, err_msg=run)
        assert asked[0] is (d._hessian_block if run == "cold" else d._linear_block), run
        assert any(key[0] is d._linear_block for key in d._COMPILED), run


def test_quick_compile_leaves_out_options_this_xla_does_not_know(monkeypatch):
    """An XLA option of QUICK_COMPILE_IF_KNOWN that this jaxlib refuses is left out, not an error
    (newer jaxlibs dropped xla_cpu_use_fusion_emitters)."""
    monkeypatch.setattr(d, "QUICK_COMPILE_IF_KNOWN", {**d.QUICK_COMPILE_IF_KNOWN, "xla_phonax_no_such_option": True})
    monkeypatch.setattr(d, "_unknown_options", set())
    lowered = jax.jit(lambda x: jnp.sin(x) * 2.0).lower(jnp.ones(3))
    np.testing.assert_allclose(d._quick_compile(lowered)(jnp.ones(3)), 2.0 * np.sin(1.0))
    assert "xla_phonax_no_such_option" in d._unknown_options
    with pytest.raises(AttributeError):  # other errors still raise
        d._quick_compile(None)


def test_moving_edge_group_on_a_larger_cell(model, monkeypatch):
    """A cell where a block's atoms own few of the edges: every block moves its atoms' edges into a
    group of their own (``_moving_block``); the rows equal jax.hessian's, cold and warm."""
    atoms = silicon().repeat((2, 2, 2))
    atoms.symbols[[1, 6]] = "C"
    atoms.rattle(0.04, seed=5)
    graph = graph_of(model, atoms)
    n = graph.num_nodes
    reference = np.asarray(_full_hessian(model, graph)).reshape(3 * n, n, 3)
    compiled = d._compiled
    asked = []
    monkeypatch.setattr(d, "_compiled", lambda fn, *args: asked.append(fn) or compiled(fn, *args))
    coords = np.array([0, 4, 5, 20, 3 * n - 1, 7, 31])  # 7 rows in blocks of 2: the last one padded
    for run in ("cold", "warm"):
        asked.clear()
        rows = d.hessian_rows(model, graph, coords, block_size=2)
        np.testing.assert_allclose(rows, reference[coords], atol=1e-10, err_msg=run)
        assert asked == [d._moving_block], run


def test_hessian_vector_products_of_a_masked_energy(model):
    graph = graph_of(model, crystal())._replace(energy_weights=jnp.asarray([1.0, 0.0, 1.0, 0.0]))
    n = graph.num_nodes
    reference = np.asarray(_full_hessian(model, graph)).reshape(3 * n, 3 * n)
    tangents = np.random.default_rng(1).normal(size=(5, n, 3))
    hvp = hessian_vector_products(model, model.params, graph, jnp.asarray(tangents))
    np.testing.assert_allclose(np.asarray(hvp).reshape(5, -1), tangents.reshape(5, -1) @ reference.T, atol=1e-10)


def test_batch_derivatives(model):
    graphs = [graph_of(model, crystal()), graph_of(model, water())]
    batch, slots = concatenate(graphs)
    n = batch.num_nodes
    hessian = np.zeros((3 * n, 3 * n))  # block-diagonal over structures
    start = 0
    for g in graphs:
        block = slice(3 * start, 3 * (start + g.num_nodes))
        hessian[block, block] = np.asarray(_full_hessian(model, g)).reshape(3 * g.num_nodes, -1)
        start += g.num_nodes
    tangents = np.random.default_rng(2).normal(size=(4, n, 3))
    e, de_dx, de_deps, hvp = batch_derivatives(model, model.params, batch, slots, 2, jnp.asarray(tangents))
    np.testing.assert_allclose(np.asarray(hvp).reshape(4, -1), tangents.reshape(4, -1) @ hessian.T, atol=1e-10)
    e0, de_dx0, de_deps0 = energy_and_gradients(model, model.params, batch, slots, 2)
    np.testing.assert_allclose(e, e0, rtol=1e-13)
    np.testing.assert_allclose(de_dx, de_dx0, atol=1e-13)
    np.testing.assert_allclose(de_deps, de_deps0, atol=1e-12)
    none = batch_derivatives(model, model.params, batch, slots, 2, jnp.zeros((0, n, 3)))
    assert none[3].shape == (0, n, 3)
    np.testing.assert_allclose(none[1], de_dx0, atol=1e-13)
