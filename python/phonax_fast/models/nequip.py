"""NequIP (Batzner et al., Nat. Commun. 13, 2453 (2022)) as a pure JAX function on e3nn-jax.

Per layer: a species-aware self-connection plus a convolution (linear → tensor product of
neighbour features with edge spherical harmonics, weighted per path and channel by a radial MLP
of a Bessel basis with a polynomial cutoff → linear), a gated nonlinearity and a residual
update. The readout is linear in the last scalars; atomic energies are ``scale · out + shift[species]``.
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
from .layers import convolution, embed_graph, gate, init_linear, init_mlp, init_species_linear, linear, mlp, species_linear


@dataclass(frozen=True)
class NequIPConfig:
    """Hyper-parameters of a NequIP model (all lengths in Å, energies in eV)."""

    species: tuple[str, ...]
    cutoff: float = 5.0
    num_layers: int = 3
    lmax: int = 2
    channels: int = 16
    num_basis: int = 8
    radial_hidden: tuple[int, ...] = (64,)
    cutoff_power: int = 6
    avg_num_neighbors: float = 12.0
    backend: str = "auto"  # convolution backend: "auto", "e3nn" or "fused" (ops.convolution)

    @property
    def sh_irreps(self) -> e3nn.Irreps:
        return e3nn.Irreps.spherical_harmonics(self.lmax)

    @property
    def hidden_irreps(self) -> e3nn.Irreps:
        """channels × (0e + 1o + 2e + …): natural-parity irreps up to lmax."""
        return e3nn.Irreps([(self.channels, (l, (-1) ** l)) for l in range(self.lmax + 1)])


def _layer_irreps(config: NequIPConfig):
    """(input irreps, message irreps, gate-input irreps) of each interaction layer."""
    hidden = config.hidden_irreps
    non_scalars = e3nn.Irreps([(m, ir) for m, ir in hidden if ir.l > 0])
    gate_in = (e3nn.Irreps(f"{config.channels}x0e") + e3nn.Irreps(f"{non_scalars.num_irreps}x0e") + non_scalars).simplify()
    layers = []
    irreps_in = e3nn.Irreps(f"{config.channels}x0e")
    for _ in range(config.num_layers):
        message = tp_output_irreps(irreps_in, config.sh_irreps, list(hidden.regroup()))
        layers.append((irreps_in, message, gate_in))
        irreps_in = hidden
    return layers


def init_params(config: NequIPConfig, key) -> dict:
    """Random parameters (standard normal weights, unit scale, zero shifts)."""
    n_species = len(config.species)
    keys = iter(jax.random.split(key, 4 * config.num_layers + 4))
    layers = []
    for irreps_in, message, gate_in in _layer_irreps(config):
        layers.append(
            {
                "linear_in": init_linear(next(keys), irreps_in, irreps_in),
                "radial": init_mlp(next(keys), [config.num_basis, *config.radial_hidden, message.num_irreps]),
                "linear_out": init_linear(next(keys), message, gate_in),
                "self": init_species_linear(next(keys), irreps_in, gate_in, n_species),
            }
        )
    return {
        "embedding": jax.random.normal(next(keys), (n_species, config.channels)),
        "layers": layers,
        "readout": init_linear(next(keys), config.hidden_irreps, "0e"),
        "scale": jnp.ones(()),
        "shift": jnp.zeros((n_species,)),
    }


def node_energies(config: NequIPConfig, params: dict, graph: Graph, layer_term=None, readout_term=None) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV.

    ``layer_term(t, layer_params, x, m, gate_irreps)``: an optional extra term of layer t's gate
    input from its node features x and aggregated message m; ``readout_term(x)``: an optional
    (n_nodes,) term added to the read-out of the last features x (the field model's hooks)."""
    edges, onehot, x = embed_graph(config, params["embedding"], graph)
    hidden = list(config.hidden_irreps.regroup())
    for t, (layer, (_, _, gate_in)) in enumerate(zip(params["layers"], _layer_irreps(config))):
        h = linear(layer["linear_in"], x, x.irreps)
        m = convolution(h, edges, functools.partial(mlp, layer["radial"]), graph, t, hidden, config.backend)
        m = m / math.sqrt(config.avg_num_neighbors)
        pre = linear(layer["linear_out"], m, gate_in) + species_linear(layer["self"], x, onehot, gate_in)
        if layer_term is not None:
            pre = pre + layer_term(t, layer, x, m, gate_in)
        new = gate(pre)
        x = x + new if new.irreps == x.irreps else new
    out = linear(params["readout"], x, "0e").array[:, 0]
    if readout_term is not None:
        out = out + readout_term(x)
    return params["scale"] * out + params["shift"][graph.species]


@register_model("NequIP")
class NequIP(EnergyModel):
    """A NequIP energy model: hyper-parameters (``config``, a ``NequIPConfig``) and weights (``params``)."""

    config_class = NequIPConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)
