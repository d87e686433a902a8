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
    """

    positions: jnp.ndarray
    species: jnp.ndarray
    senders: jnp.ndarray
    receivers: jnp.ndarray
    shifts: jnp.ndarray
    energy_weights: jnp.ndarray
    layer_edges: tuple[int, ...] | None = None

    @property
    def num_nodes(self) -> int:
        return self.positions.shape[0]

    @property
    def num_edges(self) -> int:
        return self.senders.shape[0]


jax.tree_util.register_pytree_node(
    Graph, lambda g: (tuple(g[:6]), g.layer_edges), lambda layer_edges, arrays: Graph(*arrays, layer_edges)
)


def layer_edges(graph: Graph, layer: int) -> slice:
    """The edges message-passing layer ``layer`` (0-based) needs: all of them, or the prefix a
    pruned cluster keeps for it (``Graph.layer_edges``). Index per-edge arrays with it."""
    if graph.layer_edges is None:
        return slice(None)
    return slice(0, graph.layer_edges[min(layer, len(graph.layer_edges) - 1)])


def edge_vectors(graph: Graph) -> jnp.ndarray:
    """(n_edges, 3) vectors from each receiver to its sender's (shifted) position, Å."""
    return graph.positions[graph.senders] - graph.positions[graph.receivers] + graph.shifts
