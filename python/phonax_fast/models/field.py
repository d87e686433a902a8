"""The uniform electric field as a model input, shared by the field models (FieldNequIP, FieldMACE).

The field E (3,) in V/Å is an l = 1 odd irrep (1o), a polar vector. With field order k the field
features are f = E (k ≥ 1) ⊕ [E ⊗ E]_{0e+2e} (k = 2: |E|² and the traceless quadratic). Field
order 0 is the plain model. The field couples in one of two ways (``field_coupling``):

* ``"layers"`` (default): each layer combines its node features x and aggregated message m with f
  by a tensor product, ``field_product``, and maps that linearly into what the layer adds up. Each
  layer is a polynomial of degree ≤ k in E given its inputs, but the nonlinearities make U
  non-polynomial across layers: already at k = 1, U has a polarizability and every higher response.
* ``"readout"``: the perturbative expansion U(x, E) = U(x) − Σ_i p_i(x)·E − ½ Σ_i E·a_i(x)·E,
  truncated at order k. The atomic dipoles p_i (1o) and polarizabilities a_i (0e + 2e) are linear
  in the last layer's node features: each atom's energy gets linear(x ⊗ f → 0e). U is exactly a
  polynomial of degree k in E: the perturbative coupling the phonax paper describes for its
  ethanol model. a_i is isotropic unless the hidden features carry l = 2.
"""

from __future__ import annotations

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp

from ..graphs.graph import Graph
from .base import EnergyModel
from .layers import init_linear, linear

FIELD_ORDERS = (0, 1, 2)
FIELD_COUPLINGS = ("layers", "readout")


def check_field_config(config) -> None:
    """ValueError unless ``config.field_order`` is one of :data:`FIELD_ORDERS` and
    ``config.field_coupling`` one of :data:`FIELD_COUPLINGS`."""
    if config.field_order not in FIELD_ORDERS:
        raise ValueError(f"field_order must be one of {FIELD_ORDERS}, not {config.field_order!r}")
    if config.field_coupling not in FIELD_COUPLINGS:
        raise ValueError(f"field_coupling must be one of {FIELD_COUPLINGS}, not {config.field_coupling!r}")


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


def _node_product(x: e3nn.IrrepsArray, f: e3nn.IrrepsArray, keep) -> e3nn.IrrepsArray:
    """x ⊗ f per node (f: one field for all nodes, or one per node), kept to the irreps of ``keep``."""
    per_node = f if len(f.shape) == 2 else f[None]
    return e3nn.tensor_product(x, per_node, filter_ir_out=list(keep))


def field_product(x: e3nn.IrrepsArray, m: e3nn.IrrepsArray, f: e3nn.IrrepsArray, keep) -> e3nn.IrrepsArray:
    """(x ⊕ m) ⊗ f per node, kept to the irreps of ``keep``."""
    return _node_product(e3nn.concatenate([x, m]).regroup(), f, keep)


def readout_product(x: e3nn.IrrepsArray, f: e3nn.IrrepsArray) -> e3nn.IrrepsArray:
    """x ⊗ f per node, kept to scalars (0e): p·E from x's 1o, |E|² and [E⊗E]₂·a from x's 0e and 2e."""
    return _node_product(x, f, ["0e"])


def add_field_weights(params: dict, config, key, layer_irreps, readout_irreps) -> dict:
    """``params`` with the field's weights (none for field_order 0). Coupling "layers": one linear
    map per layer (``layers[t]["field"]``) from the field product of that layer's (input, message)
    irreps to the irreps its term is added to; ``layer_irreps`` lists (input irreps, message irreps,
    target irreps) per layer. Coupling "readout": one linear map (``field_readout``) from the last
    layer's features (``readout_irreps``) times the field features to a scalar per atom."""
    if config.field_order == 0:
        return params
    f = field_features(jnp.zeros(3), config.field_order)
    if config.field_coupling == "readout":
        product = readout_product(e3nn.zeros(readout_irreps, (1,)), f)
        return {**params, "field_readout": init_linear(jax.random.fold_in(key, 2), product.irreps, "0e")}
    keys = jax.random.split(jax.random.fold_in(key, 1), config.num_layers)
    for k, layer, (irreps_in, message, target) in zip(keys, params["layers"], layer_irreps):
        product = field_product(e3nn.zeros(irreps_in, (1,)), e3nn.zeros(message, (1,)), f, target)
        layer["field"] = init_linear(k, product.irreps, target)
    return params


def in_field(node_energies, config, params: dict, graph: Graph, field) -> jnp.ndarray:
    """``node_energies(config, params, graph, layer_term, readout_term)`` of the plain model with the
    field's terms: each layer's linear((x ⊕ m) ⊗ f) through its ``layer_term`` hook (coupling
    "layers") or each atom's linear(x ⊗ f) through its ``readout_term`` hook (coupling "readout");
    the plain model at field_order 0."""
    if config.field_order == 0:
        return node_energies(config, params, graph)
    f = field_features(as_field(field, graph.positions.dtype, graph.num_nodes), config.field_order)
    if config.field_coupling == "readout":
        def readout_term(x):
            return linear(params["field_readout"], readout_product(x, f), "0e").array[:, 0]

        return node_energies(config, params, graph, readout_term=readout_term)

    def field_term(t, layer, x, m, target):
        return linear(layer["field"], field_product(x, m, f, target), target)

    return node_energies(config, params, graph, field_term)


class FieldModel(EnergyModel):
    """An energy model in a uniform electric field: its ``energy_function(config, params, graph,
    field)`` takes the field, and so does every method here ((3,) V/Å, or (n_nodes, 3) per node;
    default zero). The model therefore works wherever an energy model does (calculator, phonons,
    training) at zero field; the field derivatives (polarization, polarizability, Born charges)
    are in :mod:`phonax_fast.dielectric`. The config has a ``field_order`` and a ``field_coupling``."""

    @property
    def field_order(self) -> int:
        return int(self.config.field_order)

    def apply(self, params: dict, graph: Graph, field=None) -> jnp.ndarray:
        """(n_nodes,) atomic energies in eV for weights ``params`` in the field ``field`` ((3,) V/Å)."""
        return type(self).energy_function(self.config, params, graph, field)

    def node_energies(self, graph: Graph, field=None) -> jnp.ndarray:
        """(n_nodes,) atomic energies in eV in the field ``field`` ((3,) V/Å)."""
        return self.apply(self.params, graph, field)

    def energy(self, graph: Graph, field=None) -> jnp.ndarray:
        """Σ_k energy_weights_k · ε_k in eV in the field ``field`` ((3,) V/Å)."""
        return jnp.dot(graph.energy_weights, self.apply(self.params, graph, field))


__all__ = ["FIELD_COUPLINGS", "FIELD_ORDERS", "FieldModel", "add_field_weights", "as_field", "check_field_config",
           "field_features", "field_product", "in_field", "readout_product"]
