"""Extended clusters of a periodic crystal (DESIGN.md §2).

A cluster node is a unit-cell atom ``j`` in the cell translated by the integer lattice vector
``T``; its position is ``positions[j] + T @ cell``. Nodes are found by breadth-first search on the
periodic neighbour graph, starting from the N atoms of the centre cell (hop 0), so that a node's
hop count is its message-passing distance to the centre cell. The N centre-cell atoms are the
first N nodes, in order.

Pruning: the energy of a cluster is masked to nodes within ``energy_hops`` of the centre cell, so
message-passing layer t (of L = hops − energy_hops) only needs the features of nodes within
energy_hops + L − 1 − t hops, i.e. the edges into them. Edges are sorted by receiver and nodes by
hop count, so those edges are a prefix of the edge list: ``Graph.layer_edges`` holds each layer's
prefix length, and the models skip the rest (the outer shells, most of a deep cluster).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from .graph import Graph
from .neighbors import neighbor_edges, species_indices
from .validation import require_periodic


@dataclass(frozen=True)
class Cluster:
    """A finite cluster cut from a crystal, with its map back to the crystal.

    Attributes:
        graph: the cluster graph (no periodic shifts; ``energy_weights`` set by the caller's mask).
        atom: (n_nodes,) int, unit-cell atom of every node.
        translation: (n_nodes, 3) int, lattice translation of every node.
        hops: (n_nodes,) int, message-passing distance from the centre cell.
        n_cell: number of atoms in the unit cell (= the first ``n_cell`` nodes).
    """

    graph: Graph
    atom: np.ndarray
    translation: np.ndarray
    hops: np.ndarray
    n_cell: int

    @property
    def num_nodes(self) -> int:
        return len(self.atom)


def _node_keys(atom: np.ndarray, translation: np.ndarray, n_cell: int, span: int) -> np.ndarray:
    """Unique int64 key of (atom, translation) with |translation| components < span."""
    t = translation + span
    width = 2 * span + 1
    return ((t[:, 0] * width + t[:, 1]) * width + t[:, 2]) * n_cell + atom


def build_cluster(atoms: Atoms, cutoff: float, hops: int, species, energy_hops: int, prune: bool = True) -> Cluster:
    """All nodes within ``hops`` message-passing steps of the centre cell, with every edge between them.

    Args:
        atoms: periodic crystal (all three directions periodic).
        cutoff: edge cutoff, Å.
        hops: depth of the breadth-first search.
        species: element symbols of the model (for ``graph.species``).
        energy_hops: nodes with hop count ≤ this get energy weight 1, the rest 0.
        prune: give each of the hops − energy_hops layers only the edges it needs (module docstring).
    """
    require_periodic(atoms, context="extended clusters")
    n_cell = len(atoms)
    senders, receivers, cell_shifts = neighbor_edges(atoms, cutoff)
    if len(senders) == 0:
        raise ValueError(f"no atom has a neighbour within the cutoff {cutoff} Å")
    ptr = np.searchsorted(receivers, np.arange(n_cell + 1))
    degree = np.diff(ptr)
    span = (hops + 1) * (int(np.abs(cell_shifts).max()) + 1) + 1

    atom = np.arange(n_cell)
    translation = np.zeros((n_cell, 3), dtype=np.int64)
    hop = np.zeros(n_cell, dtype=np.int64)
    known = set(_node_keys(atom, translation, n_cell, span).tolist())
    frontier_atom, frontier_t = atom, translation
    for depth in range(1, hops + 1):
        # every neighbour (sender image) of every frontier node
        counts = degree[frontier_atom]
        edge_idx = np.concatenate([np.arange(ptr[a], ptr[a + 1]) for a in frontier_atom])
        new_atom = senders[edge_idx]
        new_t = np.repeat(frontier_t, counts, axis=0) + cell_shifts[edge_idx]
        keys = _node_keys(new_atom, new_t, n_cell, span)
        keys, first = np.unique(keys, return_index=True)
        fresh = np.array([k not in known for k in keys.tolist()], dtype=bool)
        if not fresh.any():
            break
        frontier_atom, frontier_t = new_atom[first[fresh]], new_t[first[fresh]]
        known.update(keys[fresh].tolist())
        atom = np.concatenate([atom, frontier_atom])
        translation = np.concatenate([translation, frontier_t])
        hop = np.concatenate([hop, np.full(len(frontier_atom), depth)])

    # all edges between cluster nodes: node (a, T) receives from (s, T + S) for each base edge of a
    node_index = {k: n for n, k in enumerate(_node_keys(atom, translation, n_cell, span).tolist())}
    counts = degree[atom]
    edge_idx = np.concatenate([np.arange(ptr[a], ptr[a + 1]) for a in atom])
    recv = np.repeat(np.arange(len(atom)), counts)
    send_keys = _node_keys(senders[edge_idx], np.repeat(translation, counts, axis=0) + cell_shifts[edge_idx], n_cell, span)
    send = np.array([node_index.get(k, -1) for k in send_keys.tolist()], dtype=np.int64)
    inside = send >= 0
    cell = np.asarray(atoms.cell)
    positions = atoms.get_positions()[atom] + translation @ cell
    receivers = recv[inside]
    layers = hops - energy_hops
    needed = [int(np.count_nonzero(hop[receivers] <= energy_hops + layers - 1 - t)) for t in range(layers)]
    graph = Graph(
        positions=positions,
        species=species_indices(atoms, species)[atom],
        senders=send[inside].astype(np.int32),
        receivers=receivers.astype(np.int32),
        shifts=np.zeros((int(inside.sum()), 3)),
        energy_weights=(hop <= energy_hops).astype(np.float64),
        layer_edges=tuple(needed) if prune and layers > 0 else None,
    )
    return Cluster(graph=graph, atom=atom, translation=translation, hops=hop, n_cell=n_cell)
