"""MACE with an external uniform electric field E: U(x, Z, E), the design of FieldNequIP on MACE.

The field features f of ``field_order`` k are those of :mod:`.field`. In every layer the input
features x and the atomic basis A are combined with f by a tensor product, mapped linearly to the
hidden irreps and added to MACE's message:

    message = species_linear(x) + Σ_ν W_ν B_ν + linear((x ⊕ A) ⊗ f)

The higher-order products B_ν of the next layer then carry E nonlinearly, as the gates do in
FieldNequIP. The rest is MACE's, with MACE's parameters: k = 0 is exactly MACE, and at E = 0
any k gives the MACE energy of the same base weights. Energies in eV, lengths in Å, fields in V/Å.
With ``field_coupling="readout"`` the layers are the plain model's and the field enters only the
read-out, as the perturbative expansion U − Σ p_i·E − ½ Σ E·a_i·E (:mod:`.field`).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from ..graphs.graph import Graph
from .base import register_model
from .field import FieldModel, add_field_weights, check_field_config, in_field
from .mace import MACEConfig, _input_irreps
from .mace import init_params as mace_init_params
from .mace import node_energies as mace_node_energies


@dataclass(frozen=True)
class FieldMACEConfig(MACEConfig):
    """MACE's hyper-parameters, ``field_order`` (0, 1 or 2: the highest power of E in a layer, or
    in U for the read-out coupling) and ``field_coupling`` ("layers" or "readout", :mod:`.field`)."""

    field_order: int = 2
    field_coupling: str = "layers"

    def __post_init__(self):
        super().__post_init__()
        check_field_config(self)


def init_params(config: FieldMACEConfig, key) -> dict:
    """MACE's random parameters for ``key`` plus the field's weights (none for field_order 0):
    one linear map per layer (``layers[t]["field"]``) from the field product to the hidden irreps, or for
    the read-out coupling one (``field_readout``) from the last features times the field to a scalar."""
    hidden = config.hidden_irreps
    layers = [(_input_irreps(config, t), hidden, hidden) for t in range(config.num_layers)]
    return add_field_weights(mace_init_params(config, key), config, key, layers, hidden)


def node_energies(config: FieldMACEConfig, params: dict, graph: Graph, field=None) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV in the uniform field ``field`` ((3,) V/Å, or (n_nodes, 3): each
    node's structure's field; None: zero)."""
    return in_field(mace_node_energies, config, params, graph, field)


@register_model("FieldMACE")
class FieldMACE(FieldModel):
    """A MACE energy model in a uniform electric field: ``config`` (a ``FieldMACEConfig``) and
    weights ``params``; every method takes an optional ``field`` (:class:`~.field.FieldModel`)."""

    config_class = FieldMACEConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)
