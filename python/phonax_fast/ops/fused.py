"""The fused tensor-product convolution as one JAX primitive family (FFI target ``phonax_tp_conv``).

All kernels are gradients of the 4-linear form (see core/tp_conv.h)

    T(x, Y, w, z) = Σ_e Σ_p Σ_{u,i,j,k} C^p_{ijk} w[e, p, u] x[s_e, u, i] Y[e, j] z[r_e, u, k]

with respect to one operand ("slot") given the other three:

=====  =======================  ==============================================
slot   output                   inputs
=====  =======================  ==============================================
``z``  (n_z, dim_out)           x (n_x, dim_x), Y (E, dim_y), w (E, num_weights)
``x``  (n_x, dim_x)             Y, w, z
``y``  (E, dim_y)               x, w, z
``w``  (E, num_weights)         x, Y, z
=====  =======================  ==============================================

Slot ``z`` is the forward message passing. Each slot kernel is linear in each of its inputs, so
its JVP is a sum of the same kernel with one input replaced by its tangent, and its transpose with
respect to an input is the kernel of that input's slot with the cotangent in the output's slot:
the family is closed under differentiation to any order (forward and reverse). Any float operand
may carry a leading batch dimension (the batching rule maps ``vmap`` onto it), and the kernels
then read unbatched operands once per edge for the whole batch.

The edge structure travels as six int32 operands: senders, receivers (E,), the receiver-sorted
edge order and its row pointers (E,), (n_z + 1,), and the sender-sorted ones (E,), (n_x + 1,).
Edges whose sender or receiver is out of range contribute nothing.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from .. import _native
from .tp_paths import LAYOUT, PathTable

SLOTS = tuple(LAYOUT["slots"])  # ("x", "y", "w", "z"): the kernels' order (core/tp_conv.h: Slot)
TARGET = "phonax_tp_conv"

tp_conv_p = Primitive("phonax_tp_conv")


class EdgeIndex(NamedTuple):
    """Edges of a graph with both CSR groupings (all int32)."""

    senders: jax.Array  # (E,)
    receivers: jax.Array  # (E,)
    perm_r: jax.Array  # (E,) edge ids sorted by receiver (stable)
    ptr_r: jax.Array  # (n_z + 1,) row starts into perm_r
    perm_s: jax.Array  # (E,) edge ids sorted by sender (stable)
    ptr_s: jax.Array  # (n_x + 1,) row starts into perm_s


def edge_index(senders, receivers, n_x: int, n_z: int) -> EdgeIndex:
    """Sorts the edges by receiver and by sender (stable, so sums have a fixed order).

    Args:
        senders, receivers: (E,) int node indices (senders index x rows, receivers z rows).
        n_x, n_z: number of sender and receiver nodes.
    """
    senders = jnp.asarray(senders, jnp.int32)
    receivers = jnp.asarray(receivers, jnp.int32)

    def csr(index, n):
        perm = jnp.argsort(index, stable=True).astype(jnp.int32)
        ptr = jnp.searchsorted(index[perm], jnp.arange(n + 1, dtype=jnp.int32), side="left")
        return perm, ptr.astype(jnp.int32)

    perm_r, ptr_r = csr(receivers, n_z)
    perm_s, ptr_s = csr(senders, n_x)
    return EdgeIndex(senders, receivers, perm_r, ptr_r, perm_s, ptr_s)


def slot_inputs(slot: str) -> tuple[str, ...]:
    """The input slots of the kernel that fills ``slot``, in operand order."""
    return tuple(s for s in SLOTS if s != slot)


def slot_kernel(slot: str, operands: dict, edges: EdgeIndex, table: PathTable,
                poison: bool = False) -> jax.Array:
    """The kernel filling ``slot`` from the three other operands (``{slot name: array}``)."""
    dense = [operands[s] for s in slot_inputs(slot)]
    return tp_conv_p.bind(*dense, *edges, slot=slot, table=table, poison=poison)


def fused_tp_convolution(x, sh, weights, senders, receivers, num_nodes: int, table: PathTable,
                         poison: bool = False) -> jax.Array:
    """out[r] = Σ_{e: receivers[e] = r} (x[senders[e]] ⊗ sh[e]) * weights[e] by the fused kernel.

    Args:
        x: (n_x, table.dim_x) node features.
        sh: (E, table.dim_y) edge spherical harmonics.
        weights: (E, table.num_weights) per-edge, per-path, per-channel weights.
        senders, receivers: (E,) int node indices.
        num_nodes: number of output rows.
        table: the path table (:func:`phonax_fast.ops.tp_paths.path_table`).
        poison: fill every kernel output with NaN before computing it (testing aid).
    Returns:
        (num_nodes, table.dim_out) array in the common dtype of the float inputs.
    """
    dtype = jnp.result_type(x, sh, weights)
    edges = edge_index(senders, receivers, x.shape[0], num_nodes)
    operands = {"x": x.astype(dtype), "y": sh.astype(dtype), "w": weights.astype(dtype)}
    return slot_kernel("z", operands, edges, table, poison)


def _shapes(edges_avals, table: PathTable) -> dict:
    n_edges = edges_avals[0].shape[0]
    n_z = edges_avals[3].shape[0] - 1
    n_x = edges_avals[5].shape[0] - 1
    return {"x": (n_x, table.dim_x), "y": (n_edges, table.dim_y),
            "w": (n_edges, table.num_weights), "z": (n_z, table.dim_out)}


def _abstract_eval(*avals, slot, table, poison):
    del poison
    dense, edges = avals[:3], avals[3:]
    shapes = _shapes(edges, table)
    batch = None
    for name, aval in zip(slot_inputs(slot), dense):
        if aval.ndim not in (2, 3) or aval.shape[-2:] != shapes[name]:
            raise TypeError(f"tp_conv slot {slot}: operand {name} has shape {aval.shape}, "
                            f"expected [batch,] {shapes[name]}")
        if aval.dtype != dense[0].dtype or aval.dtype not in (np.float32, np.float64):
            raise TypeError(f"tp_conv: float operands must all be float32 or float64, got "
                            f"{[a.dtype for a in dense]}")
        if aval.ndim == 3:
            if batch is not None and aval.shape[0] != batch:
                raise TypeError(f"tp_conv: batch sizes differ ({batch} and {aval.shape[0]})")
            batch = aval.shape[0]
    for aval in edges:
        if aval.dtype != np.int32 or aval.ndim != 1:
            raise TypeError("tp_conv: edge index operands must be int32 vectors")
    shape = ((batch,) if batch is not None else ()) + shapes[slot]
    return jax.core.ShapedArray(shape, dense[0].dtype)


def _jvp(primals, tangents, *, slot, table, poison):
    out = tp_conv_p.bind(*primals, slot=slot, table=table, poison=poison)
    dense, edges = list(primals[:3]), primals[3:]
    t_out = None
    for n, tangent in enumerate(tangents[:3]):
        if type(tangent) is ad.Zero:
            continue
        args = dense[:n] + [tangent] + dense[n + 1:]
        term = tp_conv_p.bind(*args, *edges, slot=slot, table=table, poison=poison)
        t_out = term if t_out is None else t_out + term
    return out, (jnp.zeros_like(out) if t_out is None else t_out)


def _transpose(ct, *args, slot, table, poison):
    dense, edges = args[:3], args[3:]
    if any(ad.is_undefined_primal(e) for e in edges):
        raise ValueError("tp_conv: edge indices are not differentiable")
    undefined = [n for n, a in enumerate(dense) if ad.is_undefined_primal(a)]
    if len(undefined) != 1:
        raise ValueError("tp_conv is linear in one float operand at a time")
    n = undefined[0]
    names = slot_inputs(slot)
    aval = dense[n].aval
    result = [None] * len(args)
    if type(ct) is ad.Zero:
        result[n] = ad.Zero(aval)
        return result
    operands = {names[m]: dense[m] for m in range(3) if m != n}
    operands[slot] = ct
    grad = slot_kernel(names[n], operands, edges, table, poison)
    if grad.ndim == 3 and len(aval.shape) == 2:  # operand shared by the whole batch
        grad = grad.sum(0)
    result[n] = grad
    return result


def _batch(args, dims, *, slot, table, poison):
    dense, edges = list(args[:3]), args[3:]
    if any(d is not None for d in dims[3:]):
        raise NotImplementedError("tp_conv: vmap over edge indices is not supported")
    size = next(a.shape[d] for a, d in zip(dense, dims) if d is not None)
    dense = [a if d is None else jnp.moveaxis(a, d, 0) for a, d in zip(dense, dims)]
    inner = [a.ndim - (d is not None) == 3 for a, d in zip(dense, dims)]
    if not any(inner):
        return tp_conv_p.bind(*dense, *edges, slot=slot, table=table, poison=poison), 0
    # Nested vmap: fold both batch dimensions into one.
    inner_size = next(a.shape[-3] for a, i in zip(dense, inner) if i)
    folded = []
    for a, d, i in zip(dense, dims, inner):
        if d is None and not i:
            folded.append(a)
            continue
        core = a.shape[-2:]
        if d is None:
            a = jnp.broadcast_to(a[None], (size,) + a.shape)
        elif not i:
            a = jnp.broadcast_to(a[:, None], (size, inner_size) + core)
        folded.append(a.reshape((size * inner_size,) + core))
    out = tp_conv_p.bind(*folded, *edges, slot=slot, table=table, poison=poison)
    return out.reshape((size, inner_size) + out.shape[1:]), 0


def _lowering(ctx, *args, slot, table, poison):
    tables = table.operands(ctx.avals_out[0].dtype)
    avals = [jax.core.ShapedArray(t.shape, t.dtype) for t in tables]
    ctx = ctx.replace(avals_in=[*ctx.avals_in, *avals])
    return jax.ffi.ffi_lowering(TARGET)(ctx, *args, *map(mlir.ir_constant, tables),
                                        slot=np.int64(SLOTS.index(slot)), poison=bool(poison))


@functools.lru_cache(maxsize=None)
def _compiled(slot, table, poison):
    return jax.jit(lambda *args: tp_conv_p.bind(*args, slot=slot, table=table, poison=poison))


tp_conv_p.def_impl(lambda *args, slot, table, poison: _compiled(slot, table, poison)(*args))
tp_conv_p.def_abstract_eval(_abstract_eval)
ad.primitive_jvps[tp_conv_p] = _jvp
ad.primitive_transposes[tp_conv_p] = _transpose
batching.primitive_batchers[tp_conv_p] = _batch
for _platform in _native.REGISTERED_PLATFORMS:
    mlir.register_lowering(tp_conv_p, _lowering, platform=_platform)
