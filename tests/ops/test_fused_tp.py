"""The fused tensor-product convolution against e3nn-jax (tensor_product + scatter_sum).

Values, VJPs, JVPs, forward-over-reverse HVPs and vmapped HVP blocks, in float32 and float64,
on random graphs with nodes without edges and duplicated edges; output poisoning and run-to-run
determinism. GPU variants are marked ``gpu``.
"""

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from phonax_fast.ops import tp_convolution
from phonax_fast.ops.fused import fused_tp_convolution
from phonax_fast.ops.tp_paths import path_table

TOL = {np.float32: 1e-5, np.float64: 1e-11}

CASES = {
    "lmax2": ("5x0e + 3x1o + 7x2e", "0e + 1o + 2e", "0e + 1o + 2e"),
    "lmax3": ("3x0e + 5x1o + 3x2e + 1x3o", "0e + 1o + 2e + 3o", "0e + 1o + 1e + 2e + 3o + 3e"),
    "parity": ("2x0o + 3x1e + 1x0e", "1x0e + 1x1o", None),
}


def _graph(rng, n_nodes, n_edges):
    """Random edges among the first n_nodes - 2 nodes (two nodes without edges), some repeated."""
    senders = rng.integers(0, n_nodes - 2, n_edges)
    receivers = rng.integers(0, n_nodes - 2, n_edges)
    senders[1::7], receivers[1::7] = senders[0::7][: len(senders[1::7])], receivers[0::7][: len(receivers[1::7])]
    return jnp.asarray(senders), jnp.asarray(receivers)


class Case:
    """Random inputs of one convolution and the two backends as functions of (x, Y, w)."""

    def __init__(self, name, dtype, seed=0, n_nodes=9, n_edges=30):
        irreps_x, irreps_y, self.filt = CASES[name]
        rng = np.random.default_rng(seed)
        self.irreps_x, self.irreps_y = e3nn.Irreps(irreps_x), e3nn.Irreps(irreps_y)
        self.table = path_table(self.irreps_x, self.irreps_y, self.filt)
        self.n_nodes = n_nodes
        self.senders, self.receivers = _graph(rng, n_nodes, n_edges)
        self.dtype = dtype
        draw = lambda *shape: jnp.asarray(rng.normal(size=shape), dtype)  # noqa: E731
        self.draw = draw
        self.args = (draw(n_nodes, self.irreps_x.dim), draw(n_edges, self.irreps_y.dim),
                     draw(n_edges, self.table.num_weights))
        self.readout = draw(n_nodes, self.table.dim_out)

    def conv(self, backend):
        def f(x, y, w):
            # full-precision dots in the reference (GPUs default to TF32 for float32 einsums)
            with jax.default_matmul_precision("highest"):
                out = tp_convolution(e3nn.IrrepsArray(self.irreps_x, x), e3nn.IrrepsArray(self.irreps_y, y),
                                     w, self.senders, self.receivers, self.n_nodes, self.filt, backend=backend)
            return out.array
        return f

    def energy(self, backend):
        """A scalar with non-trivial second derivatives in all three operands."""
        conv = self.conv(backend)

        def f(x, y, w):
            out = conv(x, y, w)
            return jnp.sum(self.readout * jnp.tanh(out)) + jnp.sum(out**2)
        return f

    def tangents(self, *lead):
        return tuple(self.draw(*lead, *a.shape) for a in self.args)


def assert_close(actual, expected, dtype):
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype
        scale = max(np.abs(e).max(), 1e-30)
        assert np.abs(a - e).max() / scale < TOL[dtype], np.abs(a - e).max() / scale


DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CASES)
def test_values_vjp_jvp(name, dtype):
    case = Case(name, dtype)
    assert case.table.irreps_out == e3nn.tensor_product(
        case.irreps_x, case.irreps_y, filter_ir_out=case.filt, regroup_output=False).sort().irreps
    ct, tangents = case.draw(case.n_nodes, case.table.dim_out), case.tangents()

    def first_order(backend):
        f = case.conv(backend)
        return f(*case.args), jax.vjp(f, *case.args)[1](ct), jax.jvp(f, case.args, tangents)[1]

    first_order = jax.jit(first_order, static_argnums=0)
    assert_close(first_order("fused"), first_order("e3nn"), dtype)


@pytest.mark.parametrize("name,dtype", [("lmax2", np.float32), pytest.param("lmax3", np.float64, marks=pytest.mark.slow)])
def test_hvp_and_hvp_blocks(name, dtype):
    case = Case(name, dtype, seed=1)
    tangents, block = case.tangents(), case.tangents(4)

    def second_order(backend):
        f = case.energy(backend)
        hvp = lambda t: jax.jvp(jax.grad(f, argnums=(0, 1, 2)), case.args, t)[1]  # noqa: E731
        only_x = lambda tx: hvp((tx, 0 * case.args[1], 0 * case.args[2]))  # noqa: E731
        # one HVP; a block with tangents on every operand; a block with tangents on x alone
        return hvp(tangents), jax.vmap(hvp)(block), jax.vmap(only_x)(block[0])

    second_order = jax.jit(second_order, static_argnums=0)
    assert_close(second_order("fused"), second_order("e3nn"), dtype)


def test_nested_vmap_and_reverse_over_reverse():
    case = Case("lmax2", np.float64, seed=2)
    fused, ref = case.energy("fused"), case.energy("e3nn")
    blocks = case.tangents(2, 3)

    def nested(f):
        hvp = lambda t: jax.jvp(jax.grad(f, argnums=(0, 1, 2)), case.args, t)[1]  # noqa: E731
        return jax.vmap(jax.vmap(hvp))(blocks)

    def reverse_over_reverse(f):
        return jax.grad(lambda x: jnp.sum(jax.grad(f)(x, *case.args[1:]) ** 2))(case.args[0])

    for check in (nested, reverse_over_reverse):
        check = jax.jit(check, static_argnums=0)
        assert_close(check(fused), check(ref), np.float64)


@pytest.mark.parametrize("name", ["lmax2", "parity"])
def test_check_grads_order2(name):
    case = Case(name, np.float64, seed=3, n_nodes=6, n_edges=12)
    check_grads(jax.jit(case.energy("fused")), case.args, order=2, modes=("fwd", "rev"))


def test_poisoned_outputs_are_overwritten_and_deterministic():
    case = Case("lmax3", np.float64, seed=4)

    def energy(poison):
        def f(x, y, w):
            out = fused_tp_convolution(x, y, w, case.senders, case.receivers, case.n_nodes, case.table,
                                       poison=poison)
            return jnp.sum(jnp.sin(out))
        return f

    tangents, block = case.tangents(), case.tangents(3)

    def everything(f):
        hvp = lambda t: jax.jvp(jax.grad(f, argnums=(0, 1, 2)), case.args, t)  # noqa: E731
        return f(*case.args), hvp(tangents), jax.vmap(lambda t: hvp(t)[1])(block)

    poisoned = jax.jit(lambda: everything(energy(True)))()
    for leaf in jax.tree.leaves(poisoned):
        assert np.all(np.isfinite(leaf))
    clean = jax.jit(lambda: everything(energy(False)))()
    assert_close(poisoned, clean, np.float64)
    again = jax.jit(lambda: everything(energy(True)))()
    for a, b in zip(jax.tree.leaves(poisoned), jax.tree.leaves(again)):
        np.testing.assert_array_equal(a, b)


def test_empty_graph_and_unknown_backend():
    case = Case("lmax2", np.float32)
    empty = jnp.zeros((0,), jnp.int32)
    out = fused_tp_convolution(case.args[0], case.args[1][:0], case.args[2][:0], empty, empty, 4, case.table)
    np.testing.assert_array_equal(out, np.zeros((4, case.table.dim_out), np.float32))
    with pytest.raises(ValueError, match="unknown convolution backend"):
        case.conv("nope")(*case.args)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_gpu_matches_e3nn(dtype):
    gpu = jax.devices("cuda")[0]
    case = Case("lmax3", dtype, seed=5, n_nodes=40, n_edges=400)
    case.args = jax.device_put(case.args, gpu)
    fused, ref = case.energy("fused"), case.energy("e3nn")
    hvp = lambda f, t: jax.jvp(jax.grad(f, argnums=(0, 1, 2)), case.args, t)[1]  # noqa: E731
    block = jax.device_put(case.tangents(6), gpu)
    got = jax.jit(lambda: (fused(*case.args), jax.grad(fused, argnums=(0, 1, 2))(*case.args),
                           jax.vmap(lambda t: hvp(fused, t))(block)))()
    want = jax.jit(lambda: (ref(*case.args), jax.grad(ref, argnums=(0, 1, 2))(*case.args),
                            jax.vmap(lambda t: hvp(ref, t))(block)))()
    assert all(leaf.devices() == {gpu} for leaf in jax.tree.leaves(got))
    assert_close(got, want, dtype)
    again = jax.jit(lambda: jax.vmap(lambda t: hvp(fused, t))(block))()
    for a, b in zip(jax.tree.leaves(got[2]), jax.tree.leaves(again)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.gpu
def test_gpu_poisoned_outputs_are_overwritten():
    gpu = jax.devices("cuda")[0]
    case = Case("lmax2", np.float64, seed=6, n_nodes=30, n_edges=200)
    args = jax.device_put(case.args, gpu)

    def f(x, y, w):
        return jnp.sum(jnp.sin(fused_tp_convolution(x, y, w, case.senders, case.receivers, case.n_nodes,
                                                    case.table, poison=True)))

    t = jax.device_put(case.tangents(), gpu)
    out = jax.jit(lambda: jax.jvp(jax.grad(f, argnums=(0, 1, 2)), args, t))()
    for leaf in jax.tree.leaves(out):
        assert np.all(np.isfinite(leaf))
