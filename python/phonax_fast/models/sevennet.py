"""SevenNet (Park et al., J. Chem. Theory Comput. 20, 4857 (2024)) as a pure JAX function on e3nn-jax.

The architecture of the pretrained SevenNet-0, SevenNet-l3i5 and SevenNet-MF-0: a NequIP-style
network on SO(3) features (every irrep even: ``0e + 1e + 2e …``, edge harmonics included). Per
layer, with node features x:

    y = Linear_out(conv(Linear_in(x))) / denominator + Linear_self(x)        (gate-input irreps)
    x ← Gate(y)

where conv is the channel-wise ("uvu") tensor product of neighbour features with the edge
spherical harmonics, weighted per path and channel by a radial MLP of a trained Bessel basis
times a cutoff envelope (XPLOR switch or polynomial), summed over neighbours; Gate applies a
normalised SiLU to the scalars and multiplies every l > 0 irrep by a normalised SiLU of its own
gate scalar. There is no residual connection besides the linear self-connection. The readout is
two linear maps (channels → channels/2 → 1, no nonlinearity); atomic energies are
``scale[species] · out + shift[species]``.

A multi-fidelity model fixed to one fidelity (``fidelity``, sevenn's "modal") is this same network
with a bias on the scalar outputs of ``Linear_in``, ``Linear_out`` and the first readout map: the
fidelity's one-hot input is a constant there (:mod:`.sevennet_convert` folds it in).
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
from .layers import convolution, edge_features, init_linear, init_mlp, linear, polynomial_cutoff

# e3nn-torch's second-moment normalisation of SiLU (``e3nn.math.normalize2mom``: a Monte-Carlo
# estimate of <silu(z)²>^(-1/2), z ~ N(0, 1), 10⁶ samples, seed 0) as the pretrained weights were
# trained with it. Used in the radial MLP and in the gates; a constant, so nothing is estimated
# at trace time.
SILU_NORMALIZATION = 1.6791767923989418
ENVELOPES = ("xplor", "polynomial")


@dataclass(frozen=True)
class SevenNetConfig:
    """Hyper-parameters of a SevenNet model (lengths in Å, energies in eV).

    ``channels``: scalars of the species embedding and of the last layer's output (the readout
    has ``channels // 2`` hidden scalars); ``hidden_irreps``: node features between layers (even
    irreps only); ``lmax``: degree of the edge spherical harmonics; ``bessel_basis``: size of the
    radial basis; ``envelope``: ``"xplor"`` (1 below ``envelope_on``, a smooth switch to 0 at the
    cutoff) or ``"polynomial"`` (NequIP's, of degree ``envelope_p``); ``conv_denominator``:
    divides every convolution; ``fidelity``: the fidelity a multi-fidelity model was fixed to
    (adds the biases described in the module docstring), ``None`` for single-fidelity models.
    """

    species: tuple[str, ...]
    cutoff: float = 5.0
    num_layers: int = 5
    channels: int = 128
    hidden_irreps: str = "128x0e+64x1e+32x2e"
    lmax: int = 2
    bessel_basis: int = 8
    radial_hidden: tuple[int, ...] = (64, 64)
    envelope: str = "xplor"
    envelope_on: float = 4.5
    envelope_p: int = 6
    conv_denominator: float = 36.0
    fidelity: str | None = None
    backend: str = "auto"  # convolution backend: "auto", "e3nn" or "fused" (ops.convolution)

    def __post_init__(self):
        if self.envelope not in ENVELOPES:
            raise ValueError(f"envelope must be one of {ENVELOPES}, got {self.envelope!r}")
        if self.envelope == "xplor" and not 0 < self.envelope_on < self.cutoff:
            raise ValueError(f"envelope_on must lie in (0, cutoff = {self.cutoff}), got {self.envelope_on}")
        if any(ir.p != 1 for _, ir in e3nn.Irreps(self.hidden_irreps)):
            raise ValueError(f"SevenNet's features are even irreps (SO(3)); got hidden_irreps {self.hidden_irreps}")
        if self.num_layers < 1 or self.channels < 2:
            raise ValueError("num_layers must be ≥ 1 and channels ≥ 2")

    @property
    def sh_irreps(self) -> e3nn.Irreps:
        """Edge spherical harmonics ``0e + 1e + … + lmax e`` (component normalisation)."""
        return e3nn.Irreps.spherical_harmonics(self.lmax, p=1)

    def layer_irreps(self) -> list[tuple[e3nn.Irreps, e3nn.Irreps]]:
        """(input irreps, output irreps) of each interaction layer: ``channels×0e`` in, the hidden
        irreps between layers, ``channels×0e`` out of the last."""
        scalars, hidden = e3nn.Irreps(f"{self.channels}x0e"), e3nn.Irreps(self.hidden_irreps)
        irreps = [scalars] + [hidden] * (self.num_layers - 1) + [scalars]
        return list(zip(irreps[:-1], irreps[1:]))


def gate_irreps(irreps_out: e3nn.Irreps) -> e3nn.Irreps:
    """Irreps the gate takes to produce ``irreps_out``: its scalars, then one gate scalar per l > 0
    irrep (in order), then the l > 0 irreps: ``(n_scalars + n_gated)×0e + gated`` (e3nn-torch's
    Gate and ``e3nn.gate``, which takes the gates from the end of the scalars, agree on it)."""
    scalars = sum(mul for mul, ir in irreps_out if ir.l == 0)
    gated = e3nn.Irreps([(mul, ir) for mul, ir in irreps_out if ir.l > 0])
    return (e3nn.Irreps(f"{scalars + gated.num_irreps}x0e") + gated).simplify()


def kept_irreps(irreps_out: e3nn.Irreps) -> list[e3nn.Irrep]:
    """Irreps a layer's convolution computes: those the layer outputs (the linear map after the
    convolution would drop any other)."""
    return [ir for _, ir in irreps_out]


def message_irreps(config: SevenNetConfig, irreps_in: e3nn.Irreps, irreps_out: e3nn.Irreps) -> e3nn.Irreps:
    """Irreps of a layer's convolution output (one weight per irrep copy)."""
    return tp_output_irreps(irreps_in, config.sh_irreps, kept_irreps(irreps_out))


def init_params(config: SevenNetConfig, key) -> dict:
    """Random parameters (standard normal weights, the untrained Bessel frequencies nπ/r_c, unit
    scale, zero shifts and fidelity biases)."""
    n_species = len(config.species)
    keys = iter(jax.random.split(key, 4 * config.num_layers + 3))
    layers = []
    for irreps_in, irreps_out in config.layer_irreps():
        gate_in = gate_irreps(irreps_out)
        message = message_irreps(config, irreps_in, irreps_out)
        layer = {
            "linear_self": init_linear(next(keys), irreps_in, gate_in),
            "linear_in": init_linear(next(keys), irreps_in, irreps_in),
            "radial": init_mlp(next(keys), [config.bessel_basis, *config.radial_hidden, message.num_irreps]),
            "linear_out": init_linear(next(keys), message, gate_in),
        }
        if config.fidelity is not None:
            layer["bias_in"] = jnp.zeros(_scalars(irreps_in))
            layer["bias_out"] = jnp.zeros(_scalars(gate_in))
        layers.append(layer)
    hidden = f"{config.channels // 2}x0e"
    readout = {"hidden": init_linear(next(keys), f"{config.channels}x0e", hidden), "out": init_linear(next(keys), hidden, "0e")}
    if config.fidelity is not None:
        readout["bias_hidden"] = jnp.zeros(config.channels // 2)
    return {
        "bessel_frequencies": jnp.asarray(np.pi / config.cutoff * np.arange(1, config.bessel_basis + 1)),
        "embedding": jax.random.normal(next(keys), (n_species, config.channels)),
        "layers": layers,
        "readout": readout,
        "scale": jnp.ones(n_species),
        "shift": jnp.zeros(n_species),
    }


def _scalars(irreps: e3nn.Irreps) -> int:
    """Number of leading 0e channels of ``irreps`` (where a fidelity bias applies)."""
    return irreps[0].mul if irreps[0].ir == e3nn.Irrep("0e") else 0


def _add_bias(x: e3nn.IrrepsArray, bias) -> e3nn.IrrepsArray:
    """``x`` with ``bias`` (n,) added to its leading n scalar channels (``bias`` None: unchanged)."""
    if bias is None:
        return x
    return e3nn.IrrepsArray(x.irreps, x.array.at[..., : bias.shape[0]].add(bias.astype(x.dtype)))


def _silu(x: jnp.ndarray) -> jnp.ndarray:
    return SILU_NORMALIZATION * jax.nn.silu(x)


def radial_mlp(weights: list, x: jnp.ndarray) -> jnp.ndarray:
    """e3nn-torch's FullyConnectedNet: x @ W/√fan_in with normalised SiLU between layers (none
    after the last). x: (E, bessel_basis) → (E, weights[-1].shape[1])."""
    for k, w in enumerate(weights):
        x = x @ (w / math.sqrt(w.shape[0])).astype(x.dtype)
        if k < len(weights) - 1:
            x = _silu(x)
    return x


def envelope(config: SevenNetConfig, r: jnp.ndarray) -> jnp.ndarray:
    """(E,) cutoff envelope of edge lengths ``r`` (Å): 1 at short range, 0 at and beyond the cutoff."""
    if config.envelope == "polynomial":
        return polynomial_cutoff(r / config.cutoff, config.envelope_p)
    r2, on2, cut2 = r**2, config.envelope_on**2, config.cutoff**2
    switch = (cut2 - r2) ** 2 * (cut2 + 2 * r2 - 3 * on2) / (cut2 - on2) ** 3
    return jnp.where(r < config.envelope_on, 1.0, jnp.where(r < config.cutoff, switch, 0.0))


def radial_basis(config: SevenNetConfig, frequencies: jnp.ndarray, r: jnp.ndarray) -> jnp.ndarray:
    """(E, bessel_basis) (2/r_c) sin(k_n r)/r · envelope(r) with trained frequencies k_n (1/Å)."""
    r_safe = jnp.where(r > 0, r, 1.0)[:, None]
    bessel = (2.0 / config.cutoff) * jnp.sin(frequencies.astype(r.dtype) * r_safe) / r_safe
    return bessel * envelope(config, r)[:, None]


def node_energies(config: SevenNetConfig, params: dict, graph: Graph) -> jnp.ndarray:
    """(n_nodes,) atomic energies in eV."""
    dtype = graph.positions.dtype
    edges = edge_features(graph, config.sh_irreps, functools.partial(radial_basis, config, params["bessel_frequencies"]))
    x = e3nn.IrrepsArray(f"{config.channels}x0e", params["embedding"][graph.species].astype(dtype))
    for t, (layer, (irreps_in, irreps_out)) in enumerate(zip(params["layers"], config.layer_irreps())):
        gate_in = gate_irreps(irreps_out)
        h = _add_bias(linear(layer["linear_in"], x, irreps_in), layer.get("bias_in"))
        m = convolution(h, edges, functools.partial(radial_mlp, layer["radial"]), graph, t, kept_irreps(irreps_out),
                        config.backend)
        y = _add_bias(linear(layer["linear_out"], m / config.conv_denominator, gate_in), layer.get("bias_out"))
        x = e3nn.gate(y + linear(layer["linear_self"], x, gate_in), even_act=_silu, even_gate_act=_silu, normalize_act=False)
    hidden = f"{config.channels // 2}x0e"
    h = _add_bias(linear(params["readout"]["hidden"], x, hidden), params["readout"].get("bias_hidden"))
    out = linear(params["readout"]["out"], h, "0e").array[:, 0]
    return params["scale"][graph.species] * out + params["shift"][graph.species]


@register_model("SevenNet")
class SevenNet(EnergyModel):
    """A SevenNet energy model: hyper-parameters (``config``, a ``SevenNetConfig``) and weights
    (``params``). Pretrained ones: :func:`phonax_fast.models.sevennet_convert.load_sevennet`."""

    config_class = SevenNetConfig
    init_params = staticmethod(init_params)
    energy_function = staticmethod(node_energies)
