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


def periodic_graph(atoms: Atoms, cutoff: float, species, pad_edges_to: int | None = None) -> Graph:
    """Graph of ``atoms`` (molecule or periodic crystal) with all edges shorter than ``cutoff`` Å.

    ``pad_edges_to``: see :func:`pad_edges`.
    """
    senders, receivers, cell_shifts = neighbor_edges(atoms, cutoff)
    graph = Graph(
        positions=np.asarray(atoms.get_positions(), dtype=np.float64),
        species=species_indices(atoms, species),
        senders=senders.astype(np.int32),
        receivers=receivers.astype(np.int32),
        shifts=np.asarray(cell_shifts @ np.asarray(atoms.cell), dtype=np.float64),
        energy_weights=np.ones(len(atoms)),
    )
    return graph if pad_edges_to is None else pad_edges(graph, pad_edges_to, cutoff)


def pad_edges(graph: Graph, n_edges: int, cutoff: float) -> Graph:
    """Append inert edges (node 0 to itself, shifted beyond ``cutoff``) up to ``n_edges`` in all,
    so that jit-compiled functions see few distinct shapes. Their radial envelope is exactly zero."""
    n_pad = n_edges - graph.num_edges
    if n_pad <= 0:
        return graph
    zeros = np.zeros(n_pad, dtype=np.int32)
    return graph._replace(
        senders=np.concatenate([graph.senders, zeros]),
        receivers=np.concatenate([graph.receivers, zeros]),
        shifts=np.concatenate([graph.shifts, np.tile([[2.0 * cutoff, 0.0, 0.0]], (n_pad, 1))]),
    )
