"""Neighbour graphs of molecules and periodic crystals."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from .graph import Graph


def neighbor_edges(atoms: Atoms, cutoff: float):
    """Directed edges within ``cutoff`` (Å) honouring ``atoms.pbc``.

    Returns (senders, receivers, cell_shifts): (E,), (E,) int and (E, 3) int, such that the
    sender image sits at ``positions[senders] + cell_shifts @ cell``. Sorted by receiver.
    """
    receivers, senders, cell_shifts = neighbor_list("ijS", atoms, cutoff, self_interaction=False)
    order = np.lexsort((senders, receivers))
    return senders[order], receivers[order], cell_shifts[order].astype(np.int64)


def species_indices(atoms: Atoms, species) -> np.ndarray:
    """(N,) index of each atom's element symbol in ``species``."""
    lookup = {s: k for k, s in enumerate(species)}
    try:
        return np.array([lookup[s] for s in atoms.get_chemical_symbols()], dtype=np.int32)
    except KeyError as err:
        raise ValueError(f"element {err.args[0]} is unknown to this model, which knows {list(species)}") from None


def periodic_graph(atoms: Atoms, cutoff: float, species) -> Graph:
    """Graph of ``atoms`` (molecule or periodic crystal) with all edges shorter than ``cutoff`` Å."""
    senders, receivers, cell_shifts = neighbor_edges(atoms, cutoff)
    return Graph(
        positions=np.asarray(atoms.get_positions(), dtype=np.float64),
        species=species_indices(atoms, species),
        senders=senders.astype(np.int32),
        receivers=receivers.astype(np.int32),
        shifts=np.asarray(cell_shifts @ np.asarray(atoms.cell), dtype=np.float64),
        energy_weights=np.ones(len(atoms)),
    )


def bucket_size(n: int) -> int:
    """``n`` rounded up to one of few sizes (at most 12.5 % more, multiples of 8), so that
    jit-compiled functions of padded graphs see few distinct shapes."""
    step = max(8, 2 ** max(0, int(np.log2(max(n, 1))) - 3))
    return int(-(-n // step) * step)


def pad_graph(graph: Graph, n_nodes: int, n_edges: int, cutoff: float) -> Graph:
    """``graph`` with inert nodes and edges appended up to ``n_nodes`` and ``n_edges`` (no change
    where it has as many already). Padding nodes sit at the origin with no real edge and energy
    weight 0; padding edges join the last node to itself, shifted beyond ``cutoff``, so their
    radial envelope (and every derivative of it) is exactly zero. Energies, forces and Hessian rows
    of the real nodes are unchanged; results for padding nodes are zero."""
    add_nodes = max(0, n_nodes - graph.num_nodes)
    add_edges = max(0, n_edges - graph.num_edges)
    if add_nodes:
        graph = graph._replace(
            positions=np.concatenate([np.asarray(graph.positions), np.zeros((add_nodes, 3))]),
            species=np.concatenate([np.asarray(graph.species), np.zeros(add_nodes, dtype=np.int32)]),
            energy_weights=np.concatenate([np.asarray(graph.energy_weights), np.zeros(add_nodes)]),
        )
    if add_edges:
        senders, receivers, shifts = inert_edges(add_edges, graph.num_nodes - 1, cutoff)
        graph = graph._replace(
            senders=np.concatenate([np.asarray(graph.senders), senders]),
            receivers=np.concatenate([np.asarray(graph.receivers), receivers]),
            shifts=np.concatenate([np.asarray(graph.shifts), shifts]),
        )
    return graph


def inert_edges(count: int, node: int, cutoff: float):
    """(senders, receivers, shifts) of ``count`` edges that contribute nothing: ``node`` to itself,
    shifted 2 × ``cutoff`` Å, beyond the cutoff, where the radial envelope and all its derivatives
    are zero."""
    node = np.full(count, node, dtype=np.int32)
    return node, node.copy(), np.tile([[2.0 * cutoff, 0.0, 0.0]], (count, 1))


def is_inert(senders, receivers, shifts, cutoff: float) -> np.ndarray:
    """(E,) bool: which edges are :func:`inert_edges` (a node to itself, shifted beyond ``cutoff``)."""
    return (np.asarray(senders) == np.asarray(receivers)) & (np.linalg.norm(np.asarray(shifts), axis=1) >= cutoff)


def incident_edges(graph: Graph, nodes) -> np.ndarray:
    """Indices of the edges whose sender or receiver is one of ``nodes``, ascending."""
    senders, receivers = np.asarray(graph.senders), np.asarray(graph.receivers)
    return np.flatnonzero(np.isin(senders, nodes) | np.isin(receivers, nodes))


def max_incident_edges(graph: Graph) -> int:
    """The most edges any node sends or receives (a node's edges to its own images counted twice)."""
    n = graph.num_nodes
    return int((np.bincount(np.asarray(graph.senders), minlength=n) + np.bincount(np.asarray(graph.receivers), minlength=n)).max())


def move_edges(graph: Graph, nodes, width: int, cutoff: float) -> Graph:
    """``graph`` with every edge of ``nodes`` (sender or receiver) copied into a moving group of
    ``width`` edges appended at the end (``Graph.moving_edges``; the rest of the group inert, as
    :func:`pad_graph`'s edges) and made inert where it was, so the energy is the same function of
    the positions; ``offsets`` are zero. Inert edges (:func:`pad_graph`'s, on the last node) stay
    where they are. Raises ValueError when the edges do not fit in ``width``."""
    senders, receivers, shifts = (np.array(a) for a in (graph.senders, graph.receivers, graph.shifts))
    moving = incident_edges(graph, nodes)
    moving = moving[~is_inert(senders[moving], receivers[moving], shifts[moving], cutoff)]
    if len(moving) > width:
        raise ValueError(f"{len(moving)} edges move with nodes {np.unique(nodes).tolist()}, more than the group's {width}")
    group_senders, group_receivers, group_shifts = inert_edges(width, graph.num_nodes - 1, cutoff)
    group_senders[: len(moving)], group_receivers[: len(moving)], group_shifts[: len(moving)] = (
        senders[moving], receivers[moving], shifts[moving])
    senders[moving], receivers[moving], shifts[moving] = inert_edges(len(moving), graph.num_nodes - 1, cutoff)
    return graph._replace(
        senders=np.concatenate([senders, group_senders]),
        receivers=np.concatenate([receivers, group_receivers]),
        shifts=np.concatenate([shifts, group_shifts]),
        moving_edges=width,
        offsets=np.zeros_like(np.asarray(graph.positions)),
    )
