"""Parameter-free building blocks of the energy models: pure functions of (params, inputs).

Parameters are plain dicts of arrays so models stay pure ``f(params, graph)`` functions
(the e3nn-jax style): no module framework is needed.
"""

from __future__ import annotations

import math

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp

from ..graphs.graph import edge_vectors


def init_linear(key, irreps_in, irreps_out) -> dict:
    """Weights of an equivariant linear map: one (mul_in, mul_out) matrix per matching irrep pair."""
    irreps_in, irreps_out = e3nn.Irreps(irreps_in), e3nn.Irreps(irreps_out)
    params = {}
    for i_out, (mul_out, ir_out) in enumerate(irreps_out):
        for i_in, (mul_in, ir_in) in enumerate(irreps_in):
            if ir_in == ir_out:
                key, sub = jax.random.split(key)
                params[f"{i_in}->{i_out}"] = jax.random.normal(sub, (mul_in, mul_out))
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


def init_mlp(key, sizes) -> list:
    """Weights of a bias-free MLP with layer sizes ``sizes`` (input first)."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [jax.random.normal(k, (a, b)) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]


def mlp(params: list, x: jnp.ndarray) -> jnp.ndarray:
    """Fan-in-normalised MLP with normalised SiLU between layers (none after the last)."""
    act = e3nn.normalize_function(jax.nn.silu)
    for k, w in enumerate(params):
        x = x @ w / math.sqrt(w.shape[0])
        if k < len(params) - 1:
            x = act(x)
    return x


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


def embed_graph(config, embedding: jnp.ndarray, graph):
    """Inputs shared by the interaction layers of NequIP and MACE.

    Args:
        config: hyper-parameters with ``sh_irreps``, ``cutoff``, ``num_basis``, ``cutoff_power``,
            ``species`` and ``channels``.
        embedding: (n_species, channels) species embedding.
        graph: the :class:`~phonax_fast.graphs.Graph`.
    Returns:
        (edge spherical harmonics (E, sh_irreps), radial basis (E, num_basis),
        species one-hot (n, n_species), initial node features (n, channels×0e)).
    """
    dtype = graph.positions.dtype
    vectors = edge_vectors(graph)
    sh = e3nn.spherical_harmonics(config.sh_irreps, vectors, normalize=True, normalization="component")
    basis = radial_basis(safe_norm(vectors), config.cutoff, config.num_basis, config.cutoff_power)
    onehot = jax.nn.one_hot(graph.species, len(config.species), dtype=dtype)
    x = e3nn.IrrepsArray(f"{config.channels}x0e", embedding[graph.species].astype(dtype))
    return sh, basis, onehot, x
