"""NequIP with an external uniform electric field E: U(x, Z, E) (phonax paper, Fig. 4d).

The field features f of ``field_order`` k are those of :mod:`.field`. In every interaction layer the node features x and the aggregated message m are combined with f
by a tensor product, mapped linearly to the gate input and added to NequIP's pre-activation:

    pre = linear(m) + species_linear(x) + linear((x ⊕ m) ⊗ f)

so each layer's pre-activation is a polynomial of degree ≤ k in E given its inputs (the gates
make U non-polynomial across layers). The rest (embedding, convolution, gate, readout) is
NequIP's, with NequIP's parameters: k = 0 is exactly NequIP, and at E = 0 any k gives the NequIP
energy of the same base weights. Energies in eV, lengths in Å, fields in V/Å.
With ``field_coupling="readout"`` the layers are the plain model's and the field enters only the
read-out, as the perturbative expansion U − Σ p_i·E − ½ Σ E·a_i·E (:mod:`.field`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from ..graphs.graph import Graph
from .base import register_model
from .field import FieldModel, add_field_weights, check_field_config, in_field
from .nequip import NequIPConfig, _layer_irreps
from .nequip import init_params as nequip_init_params
from .nequip import node_energies as nequip_node_energies


@dataclass(frozen=True)
class FieldNequIPConfig(NequIPConfig):
    """NequIP's hyper-parameters, ``field_order`` (0, 1 or 2: the highest power of E in a layer, or
    in U for the read-out coupling) and ``field_coupling`` ("layers" or "readout", :mod:`.field`)."""

    field_order: int = 2
    field_coupling: str = "layers"

    def __post_init__(self):
        check_field_config(self)


def init_params(config: FieldNequIPConfig, key) -> dict:
    """NequIP's random parameters for ``key`` plus the field's weights (none for field_order 0):
    one linear map per layer (``layers[t]["field"]``) from the field product to the gate input, or for
    the read-out coupling one (``field_readout``) from the last features times the field to a scalar."""
    return add_field_weights(nequip_init_params(config, key), config, key, _layer_irreps(config),
                             config.hidden_irreps)


def node_energies(config: FieldNequIPConfig, params: dict, graph: Graph, field=None) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV in the uniform field ``field`` ((3,) V/Å, or (n_nodes, 3): each
    node's structure's field; None: zero)."""
    return in_field(nequip_node_energies, config, params, graph, field)


@register_model("FieldNequIP")
class FieldNequIP(FieldModel):
    """A NequIP energy model in a uniform electric field: ``config`` (a ``FieldNequIPConfig``) and
    weights ``params``; every method takes an optional ``field`` (:class:`~.field.FieldModel`)."""

    config_class = FieldNequIPConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)
