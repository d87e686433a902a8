"""The graph every energy model in phonax_fast is written against."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Graph(NamedTuple):
    """A (possibly periodic) atomic graph; a JAX pytree.

    Attributes:
        positions: (n_nodes, 3) Cartesian positions, Å.
        species: (n_nodes,) int, index of each node's element in the model's species list.
        senders, receivers: (n_edges,) int. A message flows from sender to receiver.
        shifts: (n_edges, 3) Cartesian periodic-image shift of the sender, Å
            (integer cell shifts @ cell; zero for molecules and clusters).
        energy_weights: (n_nodes,) weight of each node's energy in the total energy
            (1 for a plain structure; 0/1 masks for clusters and padding).
        layer_edges: None (every layer uses every edge), or one int per message-passing layer: layer
            t only needs the first ``layer_edges[t]`` edges (a pruned cluster, whose edges are sorted
            so that each layer's are a prefix; see ``graphs.clusters``). Static (not a pytree leaf):
            graphs that differ in it compile separately.
        moving_edges: the last ``moving_edges`` edges form the moving group (0: none): their vectors
            are taken from ``positions + offsets``, the others' from ``positions``. Models evaluate
            the two groups apart, so a derivative with respect to ``offsets`` touches only the
            moving edges (Hessian-vector products whose tangents move a few atoms,
            ``derivatives.hessian_products``). Static, like ``layer_edges``; not with it.
        offsets: (n_nodes, 3) displacements of the moving group's nodes, Å, or None (zero).
    """

    positions: jnp.ndarray
    species: jnp.ndarray
    senders: jnp.ndarray
    receivers: jnp.ndarray
    shifts: jnp.ndarray
    energy_weights: jnp.ndarray
    layer_edges: tuple[int, ...] | None = None
    moving_edges: int = 0
    offsets: jnp.ndarray | None = None

    @property
    def num_nodes(self) -> int:
        return self.positions.shape[0]

    @property
    def num_edges(self) -> int:
        return self.senders.shape[0]


jax.tree_util.register_pytree_node(
    Graph,
    lambda g: ((*g[:6], g.offsets), (g.layer_edges, g.moving_edges)),
    lambda static, arrays: Graph(*arrays[:6], *static, arrays[6]),
)


def layer_edges(graph: Graph, layer: int) -> slice:
    """The edges message-passing layer ``layer`` (0-based) needs: all of them, or the prefix a
    pruned cluster keeps for it (``Graph.layer_edges``). Index per-edge arrays with it."""
    if graph.layer_edges is None:
        return slice(None)
    return slice(0, graph.layer_edges[min(layer, len(graph.layer_edges) - 1)])


class EdgeGroup(NamedTuple):
    """Edges a model evaluates together: ``edges`` indexes per-edge arrays; the vectors of a
    ``moving`` group are taken from ``positions + offsets``."""

    edges: slice
    moving: bool


def edge_groups(graph: Graph) -> tuple[EdgeGroup, ...]:
    """The groups of edges a model evaluates apart: all edges, or the fixed and the moving ones of a
    graph with ``moving_edges`` (in that order)."""
    if not graph.moving_edges:
        return (EdgeGroup(slice(None), False),)
    if graph.layer_edges is not None:
        raise ValueError("a graph cannot have both layer_edges and moving_edges")
    split = graph.num_edges - graph.moving_edges
    return EdgeGroup(slice(0, split), False), EdgeGroup(slice(split, None), True)


def group_vectors(graph: Graph, group: EdgeGroup) -> jnp.ndarray:
    """(edges of ``group``, 3) vectors from each receiver to its sender's (shifted) position, Å."""
    positions = graph.positions
    if group.moving and graph.offsets is not None:
        positions = positions + graph.offsets
    return positions[graph.senders[group.edges]] - positions[graph.receivers[group.edges]] + graph.shifts[group.edges]


def edge_vectors(graph: Graph) -> jnp.ndarray:
    """(n_edges, 3) vectors from each receiver to its sender's (shifted) position, Å."""
    groups = edge_groups(graph)
    vectors = [group_vectors(graph, g) for g in groups]
    return vectors[0] if len(vectors) == 1 else jnp.concatenate(vectors)
