"""Derivatives of a model's energy: the energy itself, forces, stress and Hessian-vector products.

The one place where the package differentiates an energy model. A model is anything with
``apply(params, graph) -> (n_nodes,)`` atomic energies in eV (a pure, jit-able function); every
function here takes the weights ``params`` explicitly (training differentiates with respect to
them), except the two conveniences for a model's own weights, :func:`energy_forces_virial` and
:func:`hessian_rows`.

* Energy: E = Σ_k w_k ε_k with the graph's ``energy_weights`` w (1 for a plain structure, 0/1
  masks for clusters and padding); per structure of a batch by :func:`structure_energies`.
* Forces: F = −∂E/∂x, eV/Å.
* Stress by the strain trick: positions and periodic shifts are deformed by I + sym(ε) for a
  homogeneous strain ε (:func:`strain_graph`) and ∂E/∂ε (eV) is taken at ε = 0; the stress is
  (1/V) ∂E/∂ε in eV/Å³ (ASE's sign).
* Hessian-vector products: H v = ∂/∂t ∇E(x + t v) at t = 0, a forward-mode product (``jvp``) of
  the reverse-mode gradient (forward over reverse), in eV/Å² per unit of v; the Hessian is never
  formed. :func:`hessian_rows` gives rows of H in blocks of unit tangents, with a progress bar.

Positions are row vectors in Å; units of the outputs are eV, eV/Å, eV (∂E/∂ε), eV/Å².
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .graphs.graph import Graph
from .progress import progress_bar

# Rough working memory of one Hessian-vector product per edge and channel (bytes), used to size
# blocks of tangents so that a block fits in ``memory_budget``.
_BYTES_PER_EDGE_CHANNEL = 8 * 160


def energy(model, params, graph: Graph) -> jnp.ndarray:
    """Σ_k w_k ε_k, eV (a scalar): the atomic energies ε (n_nodes,) of ``model.apply(params, graph)``
    weighted by ``graph.energy_weights`` w (n_nodes,)."""
    return jnp.dot(graph.energy_weights, model.apply(params, graph))


def structure_energies(model, params, graph: Graph, node_structure, n_structures: int) -> jnp.ndarray:
    """(n_structures,) energies in eV of the structures of a batched graph: Σ_{k in g} w_k ε_k.

    Args:
        node_structure: (n_nodes,) int, the structure each node belongs to (0 ≤ g < n_structures).
    """
    per_node = model.apply(params, graph) * graph.energy_weights
    return jax.ops.segment_sum(per_node, node_structure, n_structures)


def deformation(strain: jnp.ndarray) -> jnp.ndarray:
    """I + (ε + εᵀ)/2 for strains ε of shape (..., 3, 3) (dimensionless)."""
    eye = jnp.eye(3, dtype=strain.dtype)
    return eye + 0.5 * (strain + jnp.swapaxes(strain, -1, -2))


def strain_graph(graph: Graph, strain: jnp.ndarray, node_structure=None) -> Graph:
    """``graph`` under a homogeneous strain: positions (Å) and periodic shifts (Å) become
    r (I + sym ε) (row vectors), so that the deformed cell is cell (I + sym ε).

    Args:
        strain: (3, 3) for the whole graph, or (G, 3, 3), one per structure of a batch.
        node_structure: with a (G, 3, 3) strain, (n_nodes,) int, the structure of each node (an
            edge is deformed with its receiver's structure).
    """
    deform = deformation(strain)
    if node_structure is None:
        return graph._replace(positions=graph.positions @ deform, shifts=graph.shifts @ deform)
    return graph._replace(
        positions=jnp.einsum("ni,nij->nj", graph.positions, deform[node_structure]),
        shifts=jnp.einsum("ei,eij->ej", graph.shifts, deform[node_structure[graph.receivers]]),
    )


def energy_and_gradients(model, params, graph: Graph, node_structure=None, n_structures: int | None = None):
    """(E, ∂E/∂x, ∂E/∂ε) at zero strain: energy, its position gradient and its strain derivative.

    For one structure (``node_structure`` None): E scalar in eV, ∂E/∂x (n_nodes, 3) in eV/Å and
    ∂E/∂ε (3, 3) in eV. For a batch: E (n_structures,) eV (:func:`structure_energies`), ∂E/∂x the
    gradient of Σ_g E_g, and ∂E/∂ε (n_structures, 3, 3) eV, one strain per structure. The stress of
    structure g is ∂E_g/∂ε / V_g (eV/Å³), the forces −∂E/∂x.
    """
    x = graph.positions
    if node_structure is None:
        zero = jnp.zeros((3, 3), x.dtype)

        def total(positions, strain):
            e = energy(model, params, strain_graph(graph._replace(positions=positions), strain))
            return e, e

    else:
        zero = jnp.zeros((n_structures, 3, 3), x.dtype)

        def total(positions, strain):
            strained = strain_graph(graph._replace(positions=positions), strain, node_structure)
            e = structure_energies(model, params, strained, node_structure, n_structures)
            return e.sum(), e

    (_, e), (de_dx, de_deps) = jax.value_and_grad(total, argnums=(0, 1), has_aux=True)(x, zero)
    return e, de_dx, de_deps


@jax.jit
def energy_forces_virial(model, graph: Graph):
    """(energy eV, forces (n, 3) eV/Å, ∂E/∂ε (3, 3) eV) of ``model`` with its own weights
    (``model.params``) on ``graph``; ε is a homogeneous strain, the stress is ∂E/∂ε / V."""
    e, de_dx, de_deps = energy_and_gradients(model, model.params, graph)
    return e, -de_dx, de_deps


def _forward_over_reverse(gradient, x, tangents):
    """(gradient(x), products): the jvp of a gradient function at ``x`` with each of the (K, *x.shape)
    ``tangents``, vmapped (the primal, forward and backward pass, is computed once)."""
    return jax.vmap(lambda t: jax.jvp(gradient, (x,), (t,)), out_axes=(None, 0))(tangents)


def hessian_vector_products(model, params, graph: Graph, tangents) -> jnp.ndarray:
    """(K, n_nodes, 3) products H v_k of the Hessian H = ∂²E/∂x∂x (eV/Å²) of :func:`energy` with the
    (K, n_nodes, 3) ``tangents`` v_k, by forward over reverse; in eV/Å² per unit of v (eV/Å³ for v
    in Å). Each product costs about one gradient evaluation; H is never formed."""

    def gradient(x):
        return jax.grad(lambda y: energy(model, params, graph._replace(positions=y)))(x)

    return _forward_over_reverse(gradient, graph.positions, tangents)[1]


def batch_derivatives(model, params, graph: Graph, node_structure, n_structures: int, tangents):
    """Everything training predicts on a batch, from one forward-over-reverse pass.

    Args:
        graph: a batched graph; ``node_structure`` (n_nodes,) int assigns nodes to ``n_structures``.
        tangents: (K, n_nodes, 3) tangents for Hessian-vector products (K may be 0: none are taken).
    Returns:
        (energies (G,) eV, ∂E/∂x (n_nodes, 3) eV/Å, ∂E/∂ε (G, 3, 3) eV, H v (K, n_nodes, 3) eV/Å²),
        as :func:`energy_and_gradients` and :func:`hessian_vector_products`.
    """

    def gradients(x):
        return energy_and_gradients(model, params, graph._replace(positions=x), node_structure, n_structures)

    if tangents.shape[0]:
        (e, de_dx, de_deps), (_, hvp, _) = _forward_over_reverse(gradients, graph.positions, tangents)
    else:
        (e, de_dx, de_deps), hvp = gradients(graph.positions), tangents
    return e, de_dx, de_deps, hvp


@jax.jit
def _hessian_block(model, graph: Graph, tangents: jnp.ndarray) -> jnp.ndarray:
    """(B, n, 3) Hessian-vector products of the model's energy with the (B, n, 3) tangents."""
    return hessian_vector_products(model, model.params, graph, tangents)


def default_block_size(model, graph: Graph, n_rows: int, memory_budget: float = 2e9) -> int:
    """Tangents per block so that one block's working memory stays near ``memory_budget`` bytes."""
    channels = getattr(model.config, "channels", 32)
    per_tangent = max(graph.num_edges, 1) * channels * model.num_layers * _BYTES_PER_EDGE_CHANNEL
    return int(np.clip(memory_budget // per_tangent, 1, max(n_rows, 1)))


def hessian_rows(model, graph: Graph, coords, block_size: int | None = None, desc: str = "Hessian rows", on_block=None):
    """Rows ∂²E/∂x_c ∂x of the model's energy on ``graph`` for the flat coordinates ``coords``.

    Unit tangents in vmapped blocks of :func:`hessian_vector_products` (the last block is padded
    with repeats of its last coordinate, so every block compiles to one shape).

    Args:
        model: an energy model (pytree with ``apply`` and ``params``), float64 recommended.
        graph: the graph; rows are derivatives with respect to ``graph.positions``.
        coords: (n_rows,) flat coordinate indices ``3 * node + α``.
        block_size: tangents per vmapped block (default: from a memory estimate).
        desc: progress-bar label.
        on_block: if given, called as ``on_block(coords_block, rows_block)`` for each block and
            nothing is returned (to fold rows without holding the whole Hessian).
    Returns:
        (n_rows, n_nodes, 3) float64 array in eV/Å² (unless ``on_block`` is given).
    """
    coords = np.asarray(coords, dtype=np.int64)
    n = graph.num_nodes
    bs = block_size or default_block_size(model, graph, len(coords))
    graph = jax.tree_util.tree_map(jnp.asarray, graph)
    out = None if on_block else np.empty((len(coords), n, 3))
    with progress_bar(total=len(coords), desc=desc, unit="row") as bar:
        for start in range(0, len(coords), bs):
            chunk = coords[start : start + bs]
            padded = np.concatenate([chunk, np.full(bs - len(chunk), chunk[-1])])
            tangents = np.zeros((bs, 3 * n))
            tangents[np.arange(bs), padded] = 1.0
            rows = np.asarray(_hessian_block(model, graph, jnp.asarray(tangents.reshape(bs, n, 3))))[: len(chunk)]
            if on_block:
                on_block(chunk, rows)
            else:
                out[start : start + len(chunk)] = rows
            bar.update(len(chunk))
    return out
