"""NequIP with an external uniform electric field E: U(x, Z, E) (phonax paper, Fig. 4d).

The field E (3,) in V/Å is an l = 1 odd irrep (1o), a polar vector. With ``field_order`` k the
field features are f = E (k ≥ 1) ⊕ [E ⊗ E]_{0e+2e} (k = 2: |E|² and the traceless quadratic).
In every interaction layer the node features x and the aggregated message m are combined with f
by a tensor product, mapped linearly to the gate input and added to NequIP's pre-activation:

    pre = linear(m) + species_linear(x) + linear((x ⊕ m) ⊗ f)

so each layer's pre-activation is a polynomial of degree ≤ k in E given its inputs (the gates
make U non-polynomial across layers). The rest (embedding, convolution, gate, readout) is
NequIP's, with NequIP's parameters: k = 0 is exactly NequIP, and at E = 0 any k gives the NequIP
energy of the same base weights. Energies in eV, lengths in Å, fields in V/Å.
"""

from __future__ import annotations

from dataclasses import dataclass

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp

from ..graphs.graph import Graph
from .base import EnergyModel, register_model
from .layers import init_linear, linear
from .nequip import NequIPConfig, _layer_irreps
from .nequip import init_params as nequip_init_params
from .nequip import node_energies as nequip_node_energies

FIELD_ORDERS = (0, 1, 2)


@dataclass(frozen=True)
class FieldNequIPConfig(NequIPConfig):
    """NequIP's hyper-parameters and ``field_order`` (0, 1 or 2): the highest power of E in a layer."""

    field_order: int = 2

    def __post_init__(self):
        if self.field_order not in FIELD_ORDERS:
            raise ValueError(f"field_order must be one of {FIELD_ORDERS}, not {self.field_order!r}")


def as_field(field, dtype, n_nodes: int | None = None) -> jnp.ndarray:
    """The electric field as a (3,) Cartesian array of ``dtype`` in V/Å (zeros for None), or, when
    ``n_nodes`` is given, also as (n_nodes, 3): one field per node (a training batch of structures
    in different fields).

    Raises ValueError for any other shape."""
    if field is None:
        return jnp.zeros(3, dtype)
    field = jnp.asarray(field, dtype)
    if field.shape != (3,) and (n_nodes is None or field.shape != (n_nodes, 3)):
        per_node = "" if n_nodes is None else f" or ({n_nodes}, 3) per node"
        raise ValueError(f"the electric field must be a Cartesian vector of shape (3,){per_node} in V/Å, "
                         f"not shape {field.shape}")
    return field


def field_features(field: jnp.ndarray, order: int) -> e3nn.IrrepsArray:
    """f(E): 1o (order ≥ 1) ⊕ 0e + 2e of E ⊗ E (order 2), for a (3,) or (n_nodes, 3) field; (1o | 1o+0e+2e)."""
    e = e3nn.IrrepsArray("1o", field)
    return e if order == 1 else e3nn.concatenate([e, e3nn.tensor_product(e, e, filter_ir_out=["0e", "2e"])])


def _field_product(x: e3nn.IrrepsArray, m: e3nn.IrrepsArray, f: e3nn.IrrepsArray, gate_in) -> e3nn.IrrepsArray:
    """(x ⊕ m) ⊗ f per node, kept to the irreps of ``gate_in``."""
    per_node = f if len(f.shape) == 2 else f[None]
    return e3nn.tensor_product(e3nn.concatenate([x, m]).regroup(), per_node, filter_ir_out=list(gate_in))


def init_params(config: FieldNequIPConfig, key) -> dict:
    """NequIP's random parameters for ``key`` plus one linear map per layer (``layers[t]["field"]``)
    from the field product to the gate input (none for field_order 0)."""
    params = nequip_init_params(config, key)
    if config.field_order == 0:
        return params
    f = field_features(jnp.zeros(3), config.field_order)
    keys = jax.random.split(jax.random.fold_in(key, 1), config.num_layers)
    for k, layer, (irreps_in, message, gate_in) in zip(keys, params["layers"], _layer_irreps(config)):
        product = _field_product(e3nn.zeros(irreps_in, (1,)), e3nn.zeros(message, (1,)), f, gate_in)
        layer["field"] = init_linear(k, product.irreps, gate_in)
    return params


def node_energies(config: FieldNequIPConfig, params: dict, graph: Graph, field=None) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV in the uniform field ``field`` ((3,) V/Å, or (n_nodes, 3): each
    node's structure's field; None: zero)."""
    if config.field_order == 0:
        return nequip_node_energies(config, params, graph)
    f = field_features(as_field(field, graph.positions.dtype, graph.num_nodes), config.field_order)

    def field_term(t, layer, x, m, gate_in):
        return linear(layer["field"], _field_product(x, m, f, gate_in), gate_in)

    return nequip_node_energies(config, params, graph, field_term)


@register_model("FieldNequIP")
class FieldNequIP(EnergyModel):
    """A NequIP energy model in a uniform electric field: ``config`` (a ``FieldNequIPConfig``) and
    weights ``params``. Every method takes an optional ``field`` ((3,) V/Å; default zero), so the
    model works wherever an energy model does (calculator, phonons, training) at zero field; the
    field derivatives (polarization, polarizability, Born charges) are in :mod:`phonax_fast.dielectric`."""

    config_class = FieldNequIPConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)

    @property
    def field_order(self) -> int:
        return int(self.config.field_order)

    def apply(self, params: dict, graph: Graph, field=None) -> jnp.ndarray:
        """(n_nodes,) atomic energies in eV for weights ``params`` in the field ``field`` ((3,) V/Å)."""
        return node_energies(self.config, params, graph, field)

    def node_energies(self, graph: Graph, field=None) -> jnp.ndarray:
        """(n_nodes,) atomic energies in eV in the field ``field`` ((3,) V/Å)."""
        return self.apply(self.params, graph, field)

    def energy(self, graph: Graph, field=None) -> jnp.ndarray:
        """Σ_k energy_weights_k · ε_k in eV in the field ``field`` ((3,) V/Å)."""
        return jnp.dot(graph.energy_weights, self.apply(self.params, graph, field))
