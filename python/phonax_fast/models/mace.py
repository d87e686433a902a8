"""MACE (Batatia et al., NeurIPS 2022) as a pure JAX function on e3nn-jax.

Per layer: a linear map of the node features, the atomic basis A (a convolution: tensor product
of neighbour features with edge spherical harmonics, weighted per path and channel by a radial
MLP, summed over neighbours), then the higher-order product basis of correlation order ν ≤
``correlation``: B_1 = A, B_ν = B_{ν-1} ⊗ A taken channel by channel (each channel's irreps
multiplied only with the same channel's), filtered to the hidden irreps. The message is
Σ_ν W_ν^{(z)} B_ν with species-dependent linear maps W (MACE's symmetric contraction written as
iterated products), plus a species-dependent self-connection of the layer's input. Every layer
contributes a linear read-out of its scalars; atomic energies are ``scale · Σ_t out_t + shift[species]``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp

from ..graphs.graph import Graph
from ..ops.convolution import tp_output_irreps
from .base import EnergyModel, register_model
from .layers import convolution, embed_graph, init_linear, init_mlp, init_species_linear, linear, mlp, species_linear


@dataclass(frozen=True)
class MACEConfig:
    """Hyper-parameters of a MACE model (lengths in Å, energies in eV).

    ``lmax``: highest degree of the edge spherical harmonics and of the hidden features;
    ``correlation``: body order of the product basis minus one (1–3).
    """

    species: tuple[str, ...]
    cutoff: float = 5.0
    num_layers: int = 2
    lmax: int = 2
    channels: int = 16
    correlation: int = 3
    num_basis: int = 8
    radial_hidden: tuple[int, ...] = (64,)
    cutoff_power: int = 6
    avg_num_neighbors: float = 12.0
    backend: str = "auto"  # convolution backend: "auto", "e3nn" or "fused" (ops.convolution)

    def __post_init__(self):
        if not 1 <= self.correlation <= 3:
            raise ValueError(f"correlation must be 1, 2 or 3, got {self.correlation}")
        if self.num_layers < 1 or self.lmax < 0 or self.channels < 1:
            raise ValueError("num_layers and channels must be ≥ 1 and lmax ≥ 0")

    @property
    def sh_irreps(self) -> e3nn.Irreps:
        return e3nn.Irreps.spherical_harmonics(self.lmax)

    @property
    def hidden_irreps(self) -> e3nn.Irreps:
        """channels × (0e + 1o + 2e + …): natural-parity irreps up to lmax."""
        return e3nn.Irreps([(self.channels, (l, (-1) ** l)) for l in range(self.lmax + 1)])

    @property
    def channel_irreps(self) -> e3nn.Irreps:
        """The irreps of one channel: 0e + 1o + 2e + … up to lmax."""
        return e3nn.Irreps([(1, (l, (-1) ** l)) for l in range(self.lmax + 1)])


def _product_irreps(config: MACEConfig) -> list[e3nn.Irreps]:
    """Irreps of one channel of B_ν for ν = 1 … correlation (after filtering to the hidden irreps)."""
    one = e3nn.zeros(config.channel_irreps, ())
    keep = list(config.channel_irreps)
    out, b = [config.channel_irreps], one
    for _ in range(config.correlation - 1):
        b = e3nn.tensor_product(b, one, filter_ir_out=[ir for _, ir in keep])
        out.append(b.irreps)
    return out


def _input_irreps(config: MACEConfig, layer: int) -> e3nn.Irreps:
    return e3nn.Irreps(f"{config.channels}x0e") if layer == 0 else config.hidden_irreps


def init_params(config: MACEConfig, key) -> dict:
    """Random parameters (standard normal weights, unit scale, zero shifts)."""
    n_species = len(config.species)
    keys = iter(jax.random.split(key, (5 + config.correlation) * config.num_layers + 2))
    hidden = config.hidden_irreps
    layers = []
    for t in range(config.num_layers):
        irreps_in = _input_irreps(config, t)
        message = tp_output_irreps(irreps_in, config.sh_irreps, list(hidden.regroup()))
        layers.append(
            {
                "linear_in": init_linear(next(keys), irreps_in, irreps_in),
                "radial": init_mlp(next(keys), [config.num_basis, *config.radial_hidden, message.num_irreps]),
                "linear_a": init_linear(next(keys), message, hidden),
                "products": [
                    init_species_linear(next(keys), e3nn.Irreps([(config.channels * m, ir) for m, ir in irreps]), hidden, n_species)
                    for irreps in _product_irreps(config)
                ],
                "self": init_species_linear(next(keys), irreps_in, hidden, n_species),
                "readout": init_linear(next(keys), hidden, "0e"),
            }
        )
    return {
        "embedding": jax.random.normal(next(keys), (n_species, config.channels)),
        "layers": layers,
        "scale": jnp.ones(()),
        "shift": jnp.zeros((n_species,)),
    }


def _channelwise_products(config: MACEConfig, a: e3nn.IrrepsArray) -> list[e3nn.IrrepsArray]:
    """[B_1, …, B_correlation] of the atomic basis ``a`` (N, hidden irreps), each (N, channels·irreps)."""
    per_channel = a.mul_to_axis(config.channels)  # (N, channels, channel_irreps)
    keep = [ir for _, ir in config.channel_irreps]
    products, b = [per_channel], per_channel
    for _ in range(config.correlation - 1):
        b = e3nn.tensor_product(b, per_channel, filter_ir_out=keep)
        products.append(b)
    return [p.axis_to_mul() for p in products]


def node_energies(config: MACEConfig, params: dict, graph: Graph, layer_term=None, readout_term=None) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV.

    ``layer_term(t, layer_params, x, a, hidden_irreps)``: an optional extra term of layer t's
    message from its input features x and atomic basis a; ``readout_term(x)``: an optional
    (n_nodes,) term added to the read-outs from the last layer's features x (the field model's hooks)."""
    edges, onehot, x = embed_graph(config, params["embedding"], graph)
    hidden = config.hidden_irreps
    out = jnp.zeros(graph.positions.shape[0], graph.positions.dtype)
    for t, layer in enumerate(params["layers"]):
        h = linear(layer["linear_in"], x, x.irreps)
        a = convolution(h, edges, functools.partial(mlp, layer["radial"]), graph, t, list(hidden.regroup()),
                        config.backend)
        a = linear(layer["linear_a"], a / math.sqrt(config.avg_num_neighbors), hidden)
        message = species_linear(layer["self"], x, onehot, hidden)
        for w, b in zip(layer["products"], _channelwise_products(config, a)):
            message = message + species_linear(w, b, onehot, hidden)
        if layer_term is not None:
            message = message + layer_term(t, layer, x, a, hidden)
        x = message
        out = out + linear(layer["readout"], x, "0e").array[:, 0]
    if readout_term is not None:
        out = out + readout_term(x)
    return params["scale"] * out + params["shift"][graph.species]


@register_model("MACE")
class MACE(EnergyModel):
    """A MACE energy model: hyper-parameters (``config``, a ``MACEConfig``) and weights (``params``)."""

    config_class = MACEConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)
