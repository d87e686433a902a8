"""The tensor-product convolution of NequIP/MACE interactions ("uvu" paths).

    out[r, u, k] = Σ_{e: recv(e)=r} Σ_p Σ_{i,j} C^p_{ijk} · w[e, p, u] · x[send(e), u, i] · Y[e, j]

Layout contract (every backend must reproduce it exactly): the paths and the output irreps are
those of ``e3nn.tensor_product(x[senders], Y, filter_ir_out=filter_ir_out, regroup_output=False)``,
and ``weights[e, :]`` has one entry per output irrep copy of that product (``out.irreps.num_irreps``),
in the same order.
"""

from __future__ import annotations

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp

from .._native import build_info
from .fused import fused_tp_convolution
from .tp_paths import path_table

BACKENDS = ("auto", "e3nn", "fused")


def resolve_backend(backend: str) -> str:
    """The backend ``"auto"`` stands for on JAX's default platform: ``"fused"`` where it measures
    faster than e3nn-jax (the CPU: 1.1–1.8× for Hessians of molecules and of the bundled Si model,
    2.5–3.6× for forward and forces of 64–216-atom cells, see benchmarks/bench_fused.py) and
    ``"e3nn"`` elsewhere (on GPUs the CUDA kernels measured 0.56–1.30× e3nn-jax). Other names are
    returned unchanged after validation."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown convolution backend {backend!r}; available: {BACKENDS}")
    if backend != "auto":
        return backend
    return "fused" if jax.default_backend() == "cpu" and "cpu" in build_info()["backends"] else "e3nn"


def tp_output_irreps(irreps_x, irreps_sh, filter_ir_out) -> e3nn.Irreps:
    """Irreps of the message for ``irreps_x ⊗ irreps_sh`` filtered to ``filter_ir_out`` (before weighting)."""
    x = e3nn.zeros(irreps_x, ())
    y = e3nn.zeros(irreps_sh, ())
    return e3nn.tensor_product(x, y, filter_ir_out=filter_ir_out, regroup_output=False).irreps


def tp_convolution(
    x: e3nn.IrrepsArray,
    sh: e3nn.IrrepsArray,
    weights: jnp.ndarray,
    senders: jnp.ndarray,
    receivers: jnp.ndarray,
    num_nodes: int,
    filter_ir_out,
    backend: str = "auto",
) -> e3nn.IrrepsArray:
    """Weighted tensor product of sender features with edge harmonics, summed into receivers.

    Args:
        x: node features, (num_nodes, irreps_x).
        sh: edge spherical harmonics, (E, irreps_sh).
        weights: (E, num_irreps of the product) per-edge, per-path, per-channel weights.
        senders, receivers: (E,) int node indices.
        num_nodes: number of output rows.
        filter_ir_out: irreps kept in the product.
        backend: ``"e3nn"`` (pure JAX reference), ``"fused"`` (native kernels, see
            :mod:`phonax_fast.ops.fused`; same numbers, differentiable to any order) or ``"auto"``
            (the faster of the two on JAX's default platform, :func:`resolve_backend`).
    Returns:
        (num_nodes, product irreps) IrrepsArray.
    """
    if resolve_backend(backend) == "fused":
        table = path_table(x.irreps, sh.irreps, filter_ir_out)
        out = fused_tp_convolution(x.array, sh.array, weights, senders, receivers, num_nodes, table)
        return e3nn.IrrepsArray(table.irreps_out, out)
    messages = e3nn.tensor_product(x[senders], sh, filter_ir_out=filter_ir_out, regroup_output=False)
    messages = messages * weights
    return e3nn.scatter_sum(messages, dst=receivers, output_size=num_nodes)
