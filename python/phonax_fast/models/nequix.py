"""Nequix (Koker, Kotak, Smidt, arXiv:2508.16067), a NequIP-like universal potential, as a pure JAX function.

Input features are the one-hot species. Per layer: a linear map of the node features, the
channel-wise ("uvu") tensor product of neighbour features with the edge spherical harmonics
(component normalisation), weighted per path and channel by a bias-free SiLU MLP of a Bessel
basis (prefactor 2/r_c) times a polynomial cutoff of order p, summed over neighbours and divided
by sqrt(avg_num_neighbors); then a linear map of the messages plus a skip connection (a linear map
of the layer's input, species-indexed when ``index_weights``), an RMS layer norm, and a gate (SiLU
of the scalars, SiLU gates, e3nn-normalised). The last layer keeps scalars only; atomic energies
are ``scale · readout + shift + atom_energies[species]`` (eV).

Parameters mirror nequix's own modules (so checkpoints map one to one, see
:mod:`.nequix_checkpoint`): linear maps hold raw weights, used with e3nn's fan-in normalisation
(:func:`.layers.linear`), the radial MLP holds raw matrices (:func:`.layers.plain_mlp`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

from ..graphs.graph import Graph
from ..ops.convolution import tp_output_irreps
from .base import EnergyModel, register_model
from .layers import convolution, edge_features, gate, indexed_linear, linear, linear_paths, plain_mlp, polynomial_cutoff, rms_layer_norm

# nequix's initialisation scale of the hidden layers of the radial MLP (``mlp_init_scale``)
MLP_INIT_SCALE = 4.0


@dataclass(frozen=True)
class NequixConfig:
    """Hyper-parameters of a Nequix model (lengths in Å, energies in eV); defaults: nequix-mp-1's shape.

    ``species``: element symbols in the order of the model's species index (nequix: sorted
    atomic numbers). ``hidden_irreps``: the node features between layers, sorted and simplified,
    natural parity, l ≤ ``lmax`` (the degree of the edge spherical harmonics), with scalars.
    ``num_basis`` Bessel functions; the radial MLP has ``radial_mlp_layers`` hidden layers of
    ``radial_mlp_size``; ``cutoff_power``: p of the polynomial cutoff. ``index_weights``: one skip
    connection per species; ``layer_norm``: RMS layer norm before each gate. ``scale`` (eV) and
    ``shift`` (eV) map the readout to atomic energies, before the per-species ``atom_energies``
    (a parameter).
    """

    species: tuple[str, ...]
    cutoff: float = 6.0
    num_layers: int = 4
    lmax: int = 3
    hidden_irreps: str = "128x0e + 64x1o + 32x2e + 32x3o"
    num_basis: int = 8
    radial_mlp_size: int = 64
    radial_mlp_layers: int = 2
    cutoff_power: float = 6.0
    index_weights: bool = False
    layer_norm: bool = True
    avg_num_neighbors: float = 57.413687022442645  # nequix-mp-1's (MPtrj, 6 Å)
    scale: float = 1.0
    shift: float = 0.0
    backend: str = "auto"  # convolution backend: "auto", "e3nn" or "fused" (ops.convolution)

    def __post_init__(self):
        hidden = e3nn.Irreps(self.hidden_irreps)
        if self.num_layers < 1 or self.lmax < 0 or self.num_basis < 1 or self.radial_mlp_layers < 0:
            raise ValueError("num_layers and num_basis must be ≥ 1, lmax and radial_mlp_layers ≥ 0")
        if hidden != hidden.regroup() or hidden.count("0e") == 0 or any(
            ir.l > self.lmax or ir.p != (-1) ** ir.l for _, ir in hidden
        ):
            raise ValueError(
                f"hidden_irreps {self.hidden_irreps!r} unsupported: they must be sorted and simplified, have "
                f"scalars (0e), and only natural-parity irreps with l ≤ lmax = {self.lmax}"
            )

    @property
    def sh_irreps(self) -> e3nn.Irreps:
        return e3nn.Irreps.spherical_harmonics(self.lmax)

    @property
    def channels(self) -> int:
        """The largest multiplicity of the hidden irreps (sizes memory estimates of derivatives)."""
        return max(mul for mul, _ in e3nn.Irreps(self.hidden_irreps))


@functools.lru_cache(maxsize=None)
def layer_irreps(config: NequixConfig) -> tuple[tuple[e3nn.Irreps, ...], ...]:
    """(input, message, gate-input, output) irreps of each layer (cached per configuration).

    The message is the regrouped tensor product of the input with the spherical harmonics,
    filtered to the output irreps; the gate input holds the output irreps plus one 0e gate per
    non-scalar irrep (regrouped). Layer 0's input is the one-hot species, the last layer's output
    the hidden scalars.
    """
    hidden = e3nn.Irreps(config.hidden_irreps)
    irreps_in = e3nn.Irreps(f"{len(config.species)}x0e")
    out = []
    for t in range(config.num_layers):
        irreps_out = hidden if t < config.num_layers - 1 else hidden.filter("0e")
        message = tp_output_irreps(irreps_in, config.sh_irreps, [ir for _, ir in irreps_out]).regroup()
        gates = e3nn.Irreps(f"{irreps_out.num_irreps - irreps_out.count('0e')}x0e")
        out.append((irreps_in, message, (irreps_out + gates).regroup(), irreps_out))
        irreps_in = irreps_out
    return tuple(out)


def init_params(config: NequixConfig, key) -> dict:
    """Random parameters as nequix initialises them: standard normal linear weights, radial MLP
    matrices normal × sqrt(s / fan_in) (s = 4 for hidden layers, 1 for the last), unit layer-norm
    weights and zero atom energies. Drawn by numpy, seeded with the JAX PRNG ``key`` (one JAX random
    kernel compiled per weight shape would take seconds)."""
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)))
    skip_index = (len(config.species),) if config.index_weights else ()  # one skip map per species

    def linear_weights(irreps_in, irreps_out, *index) -> dict:
        return {path: rng.standard_normal((*index, *shape)) for path, shape in linear_paths(irreps_in, irreps_out)}

    sizes = [config.num_basis] + [config.radial_mlp_size] * config.radial_mlp_layers
    layers = []
    for irreps_in, message, gate_in, _ in layer_irreps(config):
        mlp_sizes = [*sizes, message.num_irreps]
        radial = [rng.standard_normal((a, b)) * math.sqrt((MLP_INIT_SCALE if i < len(sizes) - 1 else 1.0) / a)
                  for i, (a, b) in enumerate(zip(mlp_sizes[:-1], mlp_sizes[1:]))]
        layer = {
            "linear_1": linear_weights(irreps_in, irreps_in),
            "radial": radial,
            "linear_2": linear_weights(message, gate_in),
            "skip": linear_weights(irreps_in, gate_in, *skip_index),
        }
        if config.layer_norm:
            layer["layer_norm"] = [np.ones(mul) for mul, _ in gate_in]
        layers.append(layer)
    params = {
        "atom_energies": np.zeros(len(config.species)),
        "layers": layers,
        "readout": linear_weights(e3nn.Irreps(config.hidden_irreps).filter("0e"), "0e"),
    }
    return jax.tree.map(jnp.asarray, params)


def radial_basis(r: jnp.ndarray, config: NequixConfig) -> jnp.ndarray:
    """(E, num_basis) (2/r_c) sin(nπr/r_c)/r (its limit nπ/r_c at r = 0) times the polynomial cutoff of order p."""
    n = jnp.arange(1, config.num_basis + 1, dtype=r.dtype) * jnp.pi
    positive = (r > 0)[:, None]
    r_safe = jnp.where(positive, r[:, None], 1.0)
    bessel = (2.0 / config.cutoff) * jnp.where(positive, jnp.sin(n * r_safe / config.cutoff) / r_safe, n / config.cutoff)
    p = config.cutoff_power
    p = int(p) if float(p).is_integer() else p
    return bessel * polynomial_cutoff(r / config.cutoff, p)[:, None]


def node_energies(config: NequixConfig, params: dict, graph: Graph) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV."""
    dtype = graph.positions.dtype
    edges = edge_features(graph, config.sh_irreps, lambda r: radial_basis(r, config))
    x = e3nn.IrrepsArray(f"{len(config.species)}x0e", jax.nn.one_hot(graph.species, len(config.species), dtype=dtype))
    for t, (layer, (_, _, gate_in, irreps_out)) in enumerate(zip(params["layers"], layer_irreps(config))):
        h = linear(layer["linear_1"], x, x.irreps)
        m = convolution(h, edges, functools.partial(plain_mlp, layer["radial"]), graph, t,
                        [ir for _, ir in irreps_out], config.backend)
        m = m.regroup() / math.sqrt(config.avg_num_neighbors)
        if config.index_weights:
            skip = indexed_linear(layer["skip"], x, graph.species, gate_in)
        else:
            skip = linear(layer["skip"], x, gate_in)
        x = linear(layer["linear_2"], m, gate_in) + skip
        if config.layer_norm:
            x = rms_layer_norm(layer["layer_norm"], x)
        x = gate(x, even_act=jax.nn.silu, odd_act=jax.nn.tanh, even_gate_act=jax.nn.silu)
    out = linear(params["readout"], x, "0e").array[:, 0]
    return out * config.scale + config.shift + params["atom_energies"][graph.species]


@register_model("Nequix")
class Nequix(EnergyModel):
    """A Nequix energy model: hyper-parameters (``config``, a ``NequixConfig``) and weights (``params``)."""

    config_class = NequixConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)
