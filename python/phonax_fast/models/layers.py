"""Parameter-free building blocks of the energy models: pure functions of (params, inputs).

Parameters are plain dicts of arrays so models stay pure ``f(params, graph)`` functions
(the e3nn-jax style): no module framework is needed.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

from ..graphs.graph import edge_groups, group_vectors, layer_edges
from ..ops.convolution import tp_convolution


def linear_paths(irreps_in, irreps_out) -> list[tuple[str, tuple[int, int]]]:
    """The weights of an equivariant linear map: ("i_in->i_out", (mul_in, mul_out)), one matrix per
    pair of chunks of the same irrep, output chunks outermost."""
    irreps_in, irreps_out = e3nn.Irreps(irreps_in), e3nn.Irreps(irreps_out)
    return [(f"{i_in}->{i_out}", (mul_in, mul_out))
            for i_out, (mul_out, ir_out) in enumerate(irreps_out)
            for i_in, (mul_in, ir_in) in enumerate(irreps_in) if ir_in == ir_out]


def init_linear(key, irreps_in, irreps_out) -> dict:
    """Weights of an equivariant linear map: one standard normal (mul_in, mul_out) matrix per
    matching irrep pair (:func:`linear_paths`)."""
    params = {}
    for path, shape in linear_paths(irreps_in, irreps_out):
        key, sub = jax.random.split(key)
        params[path] = jax.random.normal(sub, shape)
    return params


def _irrepwise_map(x: e3nn.IrrepsArray, irreps_out, apply) -> e3nn.IrrepsArray:
    """Sum ``apply(chunk, "i_in->i_out") / sqrt(fan_in)`` over input chunks of the same irrep as each output."""
    irreps_out = e3nn.Irreps(irreps_out)
    chunks = []
    for i_out, (_, ir_out) in enumerate(irreps_out):
        fan_in = sum(mul for mul, ir in x.irreps if ir == ir_out)
        out = None
        for i_in, ((_, ir_in), chunk) in enumerate(zip(x.irreps, x.chunks)):
            if ir_in != ir_out or chunk is None:
                continue
            y = apply(chunk, f"{i_in}->{i_out}") / math.sqrt(fan_in)
            out = y if out is None else out + y
        chunks.append(out)
    return e3nn.from_chunks(irreps_out, chunks, x.shape[:-1], x.dtype)


def linear(params: dict, x: e3nn.IrrepsArray, irreps_out) -> e3nn.IrrepsArray:
    """Equivariant linear map of ``x`` (..., irreps_in) to (..., irreps_out), fan-in normalised."""
    return _irrepwise_map(x, irreps_out, lambda chunk, path: jnp.einsum("...ui,uv->...vi", chunk, params[path]))


def init_species_linear(key, irreps_in, irreps_out, n_species: int) -> dict:
    """One independent linear map per species, stacked: {path: (n_species, mul_in, mul_out)}."""
    per_species = [init_linear(k, irreps_in, irreps_out) for k in jax.random.split(key, n_species)]
    return {path: jnp.stack([p[path] for p in per_species]) for path in per_species[0]}


def species_linear(params: dict, x: e3nn.IrrepsArray, species_onehot, irreps_out) -> e3nn.IrrepsArray:
    """Species-dependent linear map of node features (NequIP's tensor product with one-hot species).

    x: (n, irreps_in); species_onehot: (n, n_species).
    """
    return _irrepwise_map(
        x, irreps_out, lambda chunk, path: jnp.einsum("ns,nui,suv->nvi", species_onehot, chunk, params[path])
    )


def indexed_linear(params: dict, x: e3nn.IrrepsArray, index, irreps_out) -> e3nn.IrrepsArray:
    """Linear map of node features with one weight set per node, selected by ``index`` (e3nn's
    "indexed" Linear; the same map as :func:`species_linear` with a one-hot, without its n_species-fold work).

    params: {path: (n_index, mul_in, mul_out)} as :func:`init_species_linear`; x: (n, irreps_in); index: (n,) int.
    """
    return _irrepwise_map(x, irreps_out, lambda chunk, path: jnp.einsum("nui,nuv->nvi", chunk, params[path][index]))


def init_mlp(key, sizes) -> list:
    """Weights of a bias-free MLP with layer sizes ``sizes`` (input first)."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [jax.random.normal(k, (a, b)) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]


def mlp(params: list, x: jnp.ndarray) -> jnp.ndarray:
    """Fan-in-normalised MLP with normalised SiLU between layers (none after the last)."""
    act = normalized(jax.nn.silu)
    for k, w in enumerate(params):
        x = x @ w / math.sqrt(w.shape[0])
        if k < len(params) - 1:
            x = act(x)
    return x


def plain_mlp(params: list, x: jnp.ndarray, act=jax.nn.silu) -> jnp.ndarray:
    """Bias-free MLP without any normalisation: ``act`` between the matrix products ``x @ w``
    (none after the last). params: weight matrices (in, out), input first."""
    for k, w in enumerate(params):
        x = x @ w
        if k < len(params) - 1:
            x = act(x)
    return x


@functools.lru_cache(maxsize=None)
def normalization_constant(phi) -> float:
    """e3nn-jax's normalisation constant of the activation ``phi`` (``e3nn.normalize_function``):
    c = sqrt(mean φ(x_i)²) over the same 1 000 001 normal quantiles x_i, in float64; 1.0 where e3nn
    leaves φ unnormalised (c close to 1). Evaluated once per function and process (e3nn evaluates
    it at every call, ~70 ms each, at every trace of a model)."""
    with jax.ensure_compile_time_eval():
        q = jnp.linspace(-1.0, 1.0, 1_000_003, dtype=jnp.float64)[1:-1]
        x = jnp.sqrt(2.0) * jax.scipy.special.erfinv(q)
        c = float(jnp.mean(phi(x) ** 2) ** 0.5)
    return 1.0 if np.allclose(c, 1.0) else c


@functools.lru_cache(maxsize=None)
def normalized(phi):
    """φ / c, the activation ``e3nn.normalize_function(φ)`` returns, with the cached constant
    :func:`normalization_constant` (computed at the first call). One function object per φ, so
    e3nn recognises equal activations."""

    def rho(x):
        return phi(x) / normalization_constant(phi)

    return rho


def gate(x: e3nn.IrrepsArray, even_act=jax.nn.gelu, odd_act=e3nn.soft_odd, even_gate_act=jax.nn.sigmoid,
         odd_gate_act=jax.nn.tanh) -> e3nn.IrrepsArray:
    """``e3nn.gate`` (same arguments and defaults, activations normalised) with the normalisation
    constants cached by :func:`normalized` instead of recomputed at every trace."""
    acts = (normalized(f) for f in (even_act, odd_act, even_gate_act, odd_gate_act))
    return e3nn.gate(x, *acts, normalize_act=False)


def rms_layer_norm(weights: list, x: e3nn.IrrepsArray, eps: float = 1e-12) -> e3nn.IrrepsArray:
    """Equivariant RMS layer norm without centring (EquiformerV2/eSEN's, as nequix computes it).

    Every node's features are divided by one norm, s = sqrt(Σ_b mean_i Σ_u x_b[u, i]² / (d_b B) + eps)
    over the B irrep blocks b of ``x.irreps`` (d_b = 2l + 1 components i, channels u), and block b
    is scaled per channel by ``weights[b]`` (mul_b,). x: (n, irreps); returns (n, irreps).
    """
    n_blocks = len(x.irreps)
    chunks = [jnp.zeros(x.shape[:-1] + (mul, ir.dim), x.dtype) if c is None else c
              for (mul, ir), c in zip(x.irreps, x.chunks)]
    norm = sum(jnp.mean(jnp.sum(c**2 * (1 / (ir.dim * n_blocks)), axis=-2), axis=-1)
               for (_, ir), c in zip(x.irreps, chunks))
    scale = (norm + eps)[..., None, None] ** -0.5
    out = [c * w[:, None] * scale for c, w in zip(chunks, weights)]
    return e3nn.from_chunks(x.irreps, out, x.shape[:-1], x.dtype)


def polynomial_cutoff(x: jnp.ndarray, p: int = 6) -> jnp.ndarray:
    """NequIP's smooth cutoff envelope of x = r / r_c: 1 at 0, zero with p-1 derivatives at 1, 0 beyond."""
    env = 1.0 - (p + 1) * (p + 2) / 2 * x**p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2)
    return jnp.where(x < 1.0, env, 0.0)


def radial_basis(r: jnp.ndarray, cutoff: float, num_basis: int, p: int = 6) -> jnp.ndarray:
    """(E, num_basis) Bessel basis sin(nπr/r_c)/r times the polynomial cutoff (NequIP, Batzner et al. 2022)."""
    r_safe = jnp.where(r > 0, r, 1.0)
    n = jnp.arange(1, num_basis + 1)
    bessel = math.sqrt(2.0 / cutoff) * jnp.sin(n * jnp.pi * r_safe[:, None] / cutoff) / r_safe[:, None]
    return bessel * polynomial_cutoff(r / cutoff, p)[:, None]


def safe_norm(v: jnp.ndarray) -> jnp.ndarray:
    """|v| along the last axis with finite derivatives of every order at v = 0."""
    sq = jnp.sum(v**2, axis=-1)
    positive = sq > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


class EdgeFeatures(NamedTuple):
    """Inputs of the convolutions from one group of edges (``graphs.graph.edge_groups``)."""

    sh: e3nn.IrrepsArray  # (E_g, sh irreps) spherical harmonics of the edge vectors
    basis: jnp.ndarray  # (E_g, num_basis) radial basis of the edge lengths
    senders: jnp.ndarray  # (E_g,) int
    receivers: jnp.ndarray  # (E_g,) int


SH_ALGORITHM = ("recursive", "dense", "custom_jvp")
"""e3nn-jax's spherical harmonics with dense Clebsch–Gordan contractions instead of its default
sparse ones: the same values to rounding (≤1e-15 relative); a Hessian-vector product through
l ≤ 3 harmonics traces ~3×, compiles 5–7× and runs 2–3× faster (500 edges, float64, CPU;
``benchmarks/bench_spherical_harmonics.py``)."""


def edge_features(graph, sh_irreps, radial) -> tuple[EdgeFeatures, ...]:
    """Spherical harmonics (component normalisation) and ``radial(lengths)`` of each group of edges
    of ``graph``: one group, or two for a graph with a moving group (``Graph.moving_edges``), which
    models keep apart up to :func:`convolution` so that derivatives along the moving group's
    offsets touch only its edges."""
    out = []
    for group in edge_groups(graph):
        vectors = group_vectors(graph, group)
        sh = e3nn.spherical_harmonics(sh_irreps, vectors, normalize=True, normalization="component",
                                      algorithm=SH_ALGORITHM)
        out.append(EdgeFeatures(sh, radial(safe_norm(vectors)), graph.senders[group.edges], graph.receivers[group.edges]))
    return tuple(out)


def convolution(h: e3nn.IrrepsArray, features: tuple[EdgeFeatures, ...], weights, graph, layer: int, filter_ir_out,
                backend: str) -> e3nn.IrrepsArray:
    """Message passing of layer ``layer``: Σ over edge groups of ``ops.convolution.tp_convolution``
    of the node features ``h`` with the groups' harmonics, weighted by ``weights(basis)`` (the
    radial MLP, (E_g, num_basis) → per-path weights), on the edges the layer needs
    (``graphs.graph.layer_edges``). Returns (n_nodes, irreps of the products in ``filter_ir_out``)."""
    edges = layer_edges(graph, layer)
    total = None
    for f in features:
        m = tp_convolution(h, f.sh[edges], weights(f.basis[edges]), f.senders[edges], f.receivers[edges],
                           h.shape[0], filter_ir_out, backend)
        total = m if total is None else total + m
    return total


def embed_graph(config, embedding: jnp.ndarray, graph):
    """Inputs shared by the interaction layers of NequIP and MACE.

    Args:
        config: hyper-parameters with ``sh_irreps``, ``cutoff``, ``num_basis``, ``cutoff_power``,
            ``species`` and ``channels``.
        embedding: (n_species, channels) species embedding.
        graph: the :class:`~phonax_fast.graphs.Graph`.
    Returns:
        (edge features per group (:func:`edge_features`), species one-hot (n, n_species), initial
        node features (n, channels×0e)).
    """
    dtype = graph.positions.dtype
    features = edge_features(graph, config.sh_irreps,
                             lambda r: radial_basis(r, config.cutoff, config.num_basis, config.cutoff_power))
    onehot = jax.nn.one_hot(graph.species, len(config.species), dtype=dtype)
    x = e3nn.IrrepsArray(f"{config.channels}x0e", embedding[graph.species].astype(dtype))
    return features, onehot, x
