"""Padded batches of graphs with their labels, so that a training step compiles once.

Structures of a batch are concatenated into one disconnected graph. Every batch of a
:class:`Batcher` is padded to the same sizes (nodes, edges, structures, Hessian tangents),
the sizes of the largest batch the data set can form, so jit sees one shape per data set.
Padding: one or more inert nodes at the end (energy weight 0, belonging to the extra
structure slot ``n_structures``), inert edges from the last node to itself shifted beyond the
cutoff (radial envelope exactly zero), and labels masked out.

Hessian labels enter as Hessian-vector products: for tangents v_k over the nodes of the
batch, the targets are H_ref v_k (the reference Hessian is block-diagonal over structures, so
one product serves all structures of the batch). With ``hessian_projections = K > 0`` the
tangents are K standard-normal vectors (weight 1/K each); with ``K = 0`` they are the unit
vectors of every coordinate (weight 1), which gives the full Hessian.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..graphs.graph import Graph
from ..graphs.neighbors import periodic_graph
from ..graphs.validation import validate_structure
from .data import Sample


class Batch(NamedTuple):
    """A padded batch (a JAX pytree). N nodes, G structure slots (the last one is padding), K tangents.

    Attributes:
        graph: the concatenated graph; ``energy_weights`` is 0 on padding nodes.
        node_structure: (N,) int, structure slot of each node.
        volume: (G,) cell volume, Å³ (1 where undefined).
        n_atoms: (G,) atoms per structure (1 for padding slots).
        energy, energy_mask: (G,) eV and 0/1.
        forces, forces_mask: (N, 3) eV/Å and (N,) 0/1.
        stress, stress_mask: (G, 3, 3) eV/Å³ and (G,) 0/1.
        hessian_mask: (N,) 1 on nodes of structures with Hessian labels.
        tangents, hvp_targets: (K, N, 3) tangents (dimensionless) and H_ref·v (eV/Å²).
        tangent_weights: (K,) weight of each product in the Hessian loss (0 for padding).
        field: (G, 3) uniform electric field of each structure, V/Å (zero where none was given).
        dipole, dipole_mask: (G, 3) e·Å and (G,) 0/1.
        polarizability, polarizability_mask: (G, 3, 3) e·Å²/V and (G,) 0/1.
        born_charges, born_mask: (N, 3, 3) e and (N,) 0/1.
    """

    graph: Graph
    node_structure: jnp.ndarray
    volume: jnp.ndarray
    n_atoms: jnp.ndarray
    energy: jnp.ndarray
    energy_mask: jnp.ndarray
    forces: jnp.ndarray
    forces_mask: jnp.ndarray
    stress: jnp.ndarray
    stress_mask: jnp.ndarray
    hessian_mask: jnp.ndarray
    tangents: jnp.ndarray
    hvp_targets: jnp.ndarray
    tangent_weights: jnp.ndarray
    field: jnp.ndarray
    dipole: jnp.ndarray
    dipole_mask: jnp.ndarray
    polarizability: jnp.ndarray
    polarizability_mask: jnp.ndarray
    born_charges: jnp.ndarray
    born_mask: jnp.ndarray


class BatchSizes(NamedTuple):
    """Padded sizes shared by all batches of a :class:`Batcher`."""

    nodes: int
    edges: int
    structures: int
    tangents: int


def _largest_sum(values, k: int) -> int:
    return int(np.sort(np.asarray(values))[::-1][:k].sum())


class Batcher:
    """Deterministically shuffled, padded batches of a list of samples.

    Args:
        samples: labelled structures.
        species: element symbols of the model; cutoff: model cutoff, Å.
        batch_size: structures per batch.
        seed: shuffling and projection seed; epoch ``e`` uses ``numpy.random.default_rng([seed, e])``.
        shuffle: shuffle the order every epoch.
        hessian_projections: K random tangents per batch, or 0 for the full Hessian (see module doc).
        min_sizes: pad every batch to at least these :class:`BatchSizes` (e.g. the sizes of a larger
            data set of the same structures), so that batchers of different subsets share one
            compiled training step. ``structures`` counts the padding slot (batch size + 1).
    """

    def __init__(self, samples: list[Sample], species, cutoff: float, batch_size: int, *, seed: int = 0,
                 shuffle: bool = True, hessian_projections: int = 4, min_sizes: BatchSizes | None = None):
        if not samples:
            raise ValueError("no samples to batch")
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        if hessian_projections < 0:
            raise ValueError(f"hessian_projections must be ≥ 0, got {hessian_projections}")
        for s in samples:
            validate_structure(s.atoms, species)
        self.samples = list(samples)
        self.cutoff = float(cutoff)
        self.batch_size = min(batch_size, len(samples))
        self.seed, self.shuffle, self.projections = seed, shuffle, hessian_projections
        self.graphs = [periodic_graph(s.atoms, cutoff, species) for s in self.samples]
        n_nodes = [g.num_nodes for g in self.graphs]
        hessian_nodes = [g.num_nodes if s.hessian is not None else 0 for g, s in zip(self.graphs, self.samples)]
        has_hessian = any(hessian_nodes)
        self.sizes = BatchSizes(
            nodes=_largest_sum(n_nodes, self.batch_size) + 1,
            edges=_largest_sum([g.num_edges for g in self.graphs], self.batch_size) + 1,
            structures=self.batch_size + 1,
            tangents=(hessian_projections or 3 * max(hessian_nodes)) if has_hessian else 0,
        )
        if min_sizes is not None:
            if min_sizes.tangents and has_hessian and not hessian_projections and min_sizes.tangents != self.sizes.tangents:
                raise ValueError("min_sizes.tangents cannot change the number of unit tangents of full Hessians "
                                 "(hessian_projections=0)")
            self.sizes = BatchSizes(*(max(a, int(b)) for a, b in zip(self.sizes, min_sizes)))

    def __len__(self) -> int:
        return math.ceil(len(self.samples) / self.batch_size)

    def epoch(self, epoch: int) -> Iterator[Batch]:
        """The batches of epoch ``epoch`` (same order and tangents for the same seed and epoch)."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.samples)) if self.shuffle else np.arange(len(self.samples))
        for start in range(0, len(order), self.batch_size):
            yield self.collate(order[start : start + self.batch_size], rng)

    def collate(self, indices, rng: np.random.Generator) -> Batch:
        """One padded batch of the samples ``indices``."""
        sz = self.sizes
        graphs = [self.graphs[i] for i in indices]
        samples = [self.samples[i] for i in indices]
        counts = np.array([g.num_nodes for g in graphs])
        offsets = np.concatenate([[0], np.cumsum(counts)])
        n_real, e_real = offsets[-1], sum(g.num_edges for g in graphs)
        pad_node = sz.nodes - 1
        n_pad_edges = sz.edges - e_real

        def nodes(values, fill, shape=()):
            return np.concatenate([*values, np.full((sz.nodes - n_real, *shape), fill)])

        def structures(values, fill, shape=()):
            return np.concatenate([np.asarray(values, dtype=float).reshape(-1, *shape),
                                   np.full((sz.structures - len(samples), *shape), fill)])

        graph = Graph(
            positions=nodes([g.positions for g in graphs], 0.0, (3,)),
            species=nodes([g.species for g in graphs], 0).astype(np.int32),
            senders=np.concatenate([g.senders + o for g, o in zip(graphs, offsets)] + [np.full(n_pad_edges, pad_node)]).astype(np.int32),
            receivers=np.concatenate([g.receivers + o for g, o in zip(graphs, offsets)] + [np.full(n_pad_edges, pad_node)]).astype(np.int32),
            shifts=np.concatenate([g.shifts for g in graphs] + [np.tile([[2.0 * self.cutoff, 0.0, 0.0]], (n_pad_edges, 1))]),
            energy_weights=nodes([np.ones(c) for c in counts], 0.0),
        )
        node_structure = nodes([np.full(c, k) for k, c in enumerate(counts)], sz.structures - 1).astype(np.int32)

        def label(name, shape):
            """(values with zeros where unlabelled, 0/1 mask) of one label over the batch's samples."""
            values = [getattr(s, name) for s in samples]
            filled = [np.zeros(shape(s)) if v is None else np.asarray(v, dtype=float) for s, v in zip(samples, values)]
            return filled, [float(v is not None) for v in values]

        energy, energy_mask = label("energy", lambda s: ())
        forces, forces_mask = label("forces", lambda s: (len(s.atoms), 3))
        stress, stress_mask = label("stress", lambda s: (3, 3))
        field, _ = label("field", lambda s: (3,))
        dipole, dipole_mask = label("dipole", lambda s: (3,))
        polarizability, polarizability_mask = label("polarizability", lambda s: (3, 3))
        born, born_mask = label("born_charges", lambda s: (len(s.atoms), 3, 3))
        tangents, targets, weights, hessian_mask = self._hessian_products(samples, counts, offsets, rng)
        batch = Batch(
            graph=graph,
            node_structure=node_structure,
            volume=structures([s.atoms.get_volume() if s.atoms.pbc.all() else 1.0 for s in samples], 1.0),
            n_atoms=structures(counts, 1.0),
            energy=structures(energy, 0.0),
            energy_mask=structures(energy_mask, 0.0),
            forces=nodes(forces, 0.0, (3,)),
            forces_mask=nodes([np.full(c, m) for c, m in zip(counts, forces_mask)], 0.0),
            stress=structures(stress, 0.0, (3, 3)),
            stress_mask=structures(stress_mask, 0.0),
            hessian_mask=hessian_mask,
            tangents=tangents,
            hvp_targets=targets,
            tangent_weights=weights,
            field=structures(field, 0.0, (3,)),
            dipole=structures(dipole, 0.0, (3,)),
            dipole_mask=structures(dipole_mask, 0.0),
            polarizability=structures(polarizability, 0.0, (3, 3)),
            polarizability_mask=structures(polarizability_mask, 0.0),
            born_charges=nodes(born, 0.0, (3, 3)),
            born_mask=nodes([np.full(c, m) for c, m in zip(counts, born_mask)], 0.0),
        )
        return jax.tree_util.tree_map(jnp.asarray, batch)

    def _hessian_products(self, samples, counts, offsets, rng):
        """(tangents, H_ref·tangents, weights, hessian node mask) for the batch (see module doc)."""
        sz = self.sizes
        tangents = np.zeros((sz.tangents, sz.nodes, 3))
        targets = np.zeros_like(tangents)
        mask = np.zeros(sz.nodes)
        n_used = 0
        for s, o, c in zip(samples, offsets, counts):
            if s.hessian is None:
                continue
            mask[o : o + c] = 1.0
            h = s.hessian.reshape(3 * c, 3 * c)
            if self.projections:
                v = rng.standard_normal((sz.tangents, 3 * c))
            else:
                v = np.eye(sz.tangents, 3 * c)
            tangents[:, o : o + c] = v.reshape(-1, c, 3)
            targets[:, o : o + c] = (v @ h.T).reshape(-1, c, 3)
            n_used = sz.tangents if self.projections else max(n_used, 3 * c)
        weights = np.zeros(sz.tangents)
        if n_used:
            weights[:n_used] = 1.0 / sz.tangents if self.projections else 1.0
        return tangents, targets, weights, mask
