"""The graph every energy model in phonax_fast is written against."""

from __future__ import annotations

from typing import NamedTuple

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
    """

    positions: jnp.ndarray
    species: jnp.ndarray
    senders: jnp.ndarray
    receivers: jnp.ndarray
    shifts: jnp.ndarray
    energy_weights: jnp.ndarray

    @property
    def num_nodes(self) -> int:
        return self.positions.shape[0]

    @property
    def num_edges(self) -> int:
        return self.senders.shape[0]


def edge_vectors(graph: Graph) -> jnp.ndarray:
    """(n_edges, 3) vectors from each receiver to its sender's (shifted) position, Å."""
    return graph.positions[graph.senders] - graph.positions[graph.receivers] + graph.shifts
