"""Atomic structures → graphs: periodic neighbour graphs and extended clusters for force constants."""

from .clusters import Cluster, build_cluster
from .graph import Graph, edge_vectors
from .neighbors import periodic_graph
from .validation import require_crystal, require_molecule, validate_structure

__all__ = ["Cluster", "Graph", "build_cluster", "edge_vectors", "periodic_graph", "require_crystal", "require_molecule", "validate_structure"]
