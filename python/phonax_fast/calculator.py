"""An ASE calculator for any phonax_fast energy model: energy, forces and stress (from :mod:`~phonax_fast.derivatives`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from ase.calculators.calculator import Calculator as AseCalculator
from ase.calculators.calculator import PropertyNotImplementedError, all_changes

from .derivatives import energy_forces_virial
from .graphs.neighbors import bucket_size, pad_graph, periodic_graph
from .graphs.validation import validate_structure


class Calculator(AseCalculator):
    """ASE calculator around a phonax_fast model.

    Properties: ``energy`` (eV), ``free_energy`` (= energy), ``forces`` (eV/Å) and, for cells
    periodic in all directions, ``stress`` (eV/Å³, Voigt order xx yy zz yz xz xy, ASE's sign).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if "stress" in properties and not atoms.pbc.all():
            raise PropertyNotImplementedError("stress needs a cell periodic in all three directions")
        validate_structure(atoms, self.model.species)
        graph = periodic_graph(atoms, self.model.cutoff, self.model.species)
        graph = pad_graph(graph, graph.num_nodes, bucket_size(graph.num_edges), self.model.cutoff)
        e, forces, virial = energy_forces_virial(self.model, jax.tree_util.tree_map(jnp.asarray, graph))
        forces = np.asarray(forces)
        if not np.isfinite(forces).all() or not np.isfinite(float(e)):
            raise FloatingPointError("the model returned non-finite energy or forces for this structure")
        self.results = {"energy": float(e), "free_energy": float(e), "forces": forces}
        if atoms.pbc.all():
            s = np.asarray(virial) / atoms.get_volume()
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
