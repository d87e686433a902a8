"""Fused tensor-product convolution vs e3nn-jax (and cuequivariance-jax where it runs).

Workload: a two-layer NequIP-style interaction energy E(R) of a silicon diamond cell (64 or 216
atoms, r_c = 5 Å, ~28 edges per atom), features C×(0e + 1o + 2e), harmonics 0e + 1o + 2e,
messages filtered to 0e + 1o + 2e (11 paths), float64. Three tasks per backend:

- ``forward``:  E(R)
- ``forces``:   E and -dE/dR (forward + backward)
- ``hvp``:      all 3N Hessian rows jvp(grad E)(R; e_iα), vmapped over blocks of tangents
                (Hessian blocks) and mapped over the blocks

Run the comparison table (ratios in one run; on a GPU it adds achieved bandwidth of the fused
forward kernel against a measured device copy, and cuequivariance-jax if importable):

    python benchmarks/bench_fused.py [--atoms 64 216] [--channels 32 64] [--dtype float64]

how the HVP ratio depends on the block size, each backend also at its own best block size:

    python benchmarks/bench_fused.py --atoms 64 --channels 32 --sweep-blocks 1 2 4 8 12 24

or through pytest-benchmark (one row per backend and task; the session's results table gives e3nn / fused):

    python -m pytest benchmarks/bench_fused.py --benchmark-columns=median,rounds
"""

from __future__ import annotations

import argparse
import time

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.build import bulk

import phonax_fast as pf
from phonax_fast.graphs.graph import edge_vectors
from phonax_fast.ops import tp_convolution
from phonax_fast.ops.fused import edge_index, slot_kernel
from phonax_fast.ops.tp_paths import path_table

CUTOFF = 5.0
SH = e3nn.Irreps("0e + 1o + 2e")
TASKS = ("forward", "forces", "hvp")


class Workload:
    """The energy of one Si cell with C channels, its inputs and its three tasks per backend."""

    def __init__(self, n_atoms: int, channels: int, dtype=jnp.float64, max_block: int = 24):
        reps = {64: 2, 216: 3}[n_atoms]
        atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(reps)
        rng = np.random.default_rng(0)
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        self.graph = pf.graphs.neighbors.periodic_graph(atoms, CUTOFF, ["Si"])
        self.n_atoms, self.channels, self.dtype = n_atoms, channels, dtype
        self.hidden = e3nn.Irreps(f"{channels}x0e + {channels}x1o + {channels}x2e")
        self.table = path_table(self.hidden, SH, self.hidden)
        draw = lambda *s: jnp.asarray(rng.normal(size=s) / np.sqrt(s[0]), dtype)  # noqa: E731
        self.params = {
            "x0": draw(n_atoms, self.hidden.dim),
            "radial": [draw(8, self.table.num_weights) for _ in range(2)],
            "readout": draw(channels),
        }
        self.positions = jnp.asarray(self.graph.positions, dtype)
        n3 = 3 * n_atoms
        self.block = max(b for b in range(1, min(max_block, n3) + 1) if n3 % b == 0)

    def energy(self, backend: str):
        """E(R) for one backend (eV-like units; the numbers only serve as a workload)."""
        g, hidden, channels = self.graph, self.hidden, self.channels

        def layer(x, sh, radial, r):
            n = jnp.arange(1, 9, dtype=r.dtype)
            basis = jnp.sin(n * jnp.pi * r[:, None] / CUTOFF) / r[:, None]
            weights = jnp.tanh(basis @ radial) * (0.5 * (jnp.cos(jnp.pi * r / CUTOFF) + 1))[:, None]
            m = tp_convolution(e3nn.IrrepsArray(hidden, x), sh, weights, g.senders, g.receivers,
                               self.n_atoms, list(hidden), backend=backend).regroup()
            chunks = []  # sum the paths of each output irrep back to C channels, gate them
            for mul_ir, chunk in zip(m.irreps, m.chunks):
                chunks.append(chunk.reshape(chunk.shape[0], mul_ir.mul // channels, channels, -1).sum(1))
            gate = jax.nn.sigmoid(chunks[0])
            return jnp.concatenate([(c * gate).reshape(c.shape[0], -1) for c in chunks], axis=1)

        def energy(positions):
            vectors = edge_vectors(g._replace(positions=positions))
            r = jnp.linalg.norm(vectors, axis=1)
            sh = e3nn.spherical_harmonics(SH, vectors, normalize=True, normalization="component")
            x = self.params["x0"]
            for radial in self.params["radial"]:
                x = layer(x, sh, radial, r)
            return jnp.sum(x[:, :channels] @ self.params["readout"])

        return energy

    def task(self, energy, task: str, hvp_blocks: int | None = None):
        """A jitted zero-argument function running ``task`` on the energy function ``energy(R)``;
        ``hvp_blocks``: only the first blocks of Hessian rows (all 3N rows by default)."""
        R = self.positions
        if task == "forward":
            return jax.jit(lambda: energy(R))
        if task == "forces":
            return jax.jit(lambda: jax.value_and_grad(energy)(R))
        n3 = 3 * self.n_atoms
        tangents = jnp.eye(n3, dtype=self.dtype).reshape(n3 // self.block, self.block, self.n_atoms, 3)[:hvp_blocks]
        hvp = lambda t: jax.jvp(jax.grad(energy), (R,), (t,))[1]  # noqa: E731
        return jax.jit(lambda: jax.lax.map(jax.vmap(hvp), tangents).reshape(-1, n3))


def median_time(fn, repeats: int) -> float:
    """Median wall time (s) of ``fn()`` after one warm-up call (compilation excluded)."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


# ---- GPU extras: cuequivariance-jax and achieved bandwidth --------------------------------------

def cue_energy(w: Workload):
    """The same energy with cuequivariance-jax's uniform_1d kernel (raises if unavailable)."""
    import cuequivariance as cue
    import cuequivariance_jax as cuex

    irreps = cue.Irreps(cue.O3, str(w.hidden))
    poly = cue.descriptors.channelwise_tensor_product(irreps, cue.Irreps(cue.O3, str(SH)), irreps).polynomial
    g, n = w.graph, w.n_atoms

    def conv(x, sh, weights):
        out_spec = jax.ShapeDtypeStruct((n, poly.outputs[0].size), x.dtype)
        [out] = cuex.segmented_polynomial(poly, [weights, x, sh], [out_spec],
                                          [None, jnp.asarray(g.senders), None, jnp.asarray(g.receivers)],
                                          method="uniform_1d")
        return out

    if poly.inputs[0].size != w.table.num_weights:
        raise ValueError("cuequivariance weights do not match")

    def energy(positions):  # one layer shape-alike per NequIP layer (layouts differ; timing only)
        vectors = edge_vectors(g._replace(positions=positions))
        r = jnp.linalg.norm(vectors, axis=1)
        sh = e3nn.spherical_harmonics(SH, vectors, normalize=True, normalization="component").array
        x = w.params["x0"]
        for radial in w.params["radial"]:
            basis = jnp.sin(jnp.arange(1, 9) * jnp.pi * r[:, None] / CUTOFF) / r[:, None]
            m = conv(x, sh, jnp.tanh(basis @ radial))
            x = jnp.tanh(m[:, : x.shape[1]])
        return jnp.sum(x[:, : w.channels] @ w.params["readout"])

    return energy


def copy_bandwidth() -> float:
    """Measured device copy bandwidth (bytes read + written per second) on a 1 GiB array."""
    a = jnp.ones((1 << 28,), jnp.float32)
    f = jax.jit(lambda a: a * 1.0001)
    return 2 * a.nbytes / median_time(lambda: f(a), 20)


def fused_kernel_bandwidth(w: Workload) -> tuple[float, float]:
    """(seconds, bytes/s) of one fused forward kernel: inputs read once, output written once.

    Timed over 20 launches in one call (each also rescales x and adds the output: two small
    extra kernels), so the figure is a lower bound on the kernel's own bandwidth."""
    g, t = w.graph, w.table
    edges = edge_index(g.senders, g.receivers, w.n_atoms, w.n_atoms)
    rng = np.random.default_rng(1)
    ops = {"x": rng.normal(size=(w.n_atoms, t.dim_x)), "y": rng.normal(size=(len(g.senders), t.dim_y)),
           "w": rng.normal(size=(len(g.senders), t.num_weights))}
    ops = {k: jnp.asarray(v, w.dtype) for k, v in ops.items()}
    launches = 20  # per call, so that dispatch overhead drops out

    def many(ops):
        def body(i, acc):
            return acc + slot_kernel("z", dict(ops, x=ops["x"] * (1 + 1e-6 * i)), edges, t)
        return jax.lax.fori_loop(0, launches, body, jnp.zeros((w.n_atoms, t.dim_out), w.dtype))

    f = jax.jit(many)
    seconds = median_time(lambda: f(ops), 20) / launches
    itemsize = np.dtype(w.dtype).itemsize
    moved = itemsize * (sum(v.size for v in ops.values()) + w.n_atoms * t.dim_out) + 4 * sum(e.size for e in edges)
    return seconds, moved / seconds


# ---- the table -----------------------------------------------------------------------------------

def compare(atoms=(64, 216), channels=(32, 64), dtype="float64", repeats=5, max_block=None,
            tasks=TASKS, hvp_blocks=None) -> list[str]:
    gpu = jax.default_backend() == "gpu"
    dt = jnp.dtype(dtype)
    lines = [f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}, "
             f"{dtype}, HVP blocks of up to {max_block or (108 if gpu else 24)} tangents",
             f"{'cell':>6s} {'C':>3s} {'task':>8s} {'e3nn ms':>10s} {'fused ms':>10s} {'e3nn/fused':>10s}"
             + (f" {'cue ms':>10s} {'cue/fused':>10s}" if gpu else "")]
    for n in atoms:
        for c in channels:
            w = Workload(n, c, dt, max_block=max_block or (108 if gpu else 24))
            for task in tasks:
                t_ref = median_time(w.task(w.energy("e3nn"), task, hvp_blocks), repeats)
                t_fused = median_time(w.task(w.energy("fused"), task, hvp_blocks), repeats)
                label = f"hvp[{min(hvp_blocks, 3 * n // w.block) * w.block}]" if task == "hvp" and hvp_blocks else task
                line = f"Si{n:<4d} {c:3d} {label:>8s} {1e3 * t_ref:10.2f} {1e3 * t_fused:10.2f} {t_ref / t_fused:10.2f}"
                if gpu:
                    try:  # cuequivariance is optional: report a failure, don't stop
                        t_cue = median_time(w.task(cue_energy(w), task), repeats)
                        line += f" {1e3 * t_cue:10.2f} {t_cue / t_fused:10.2f}"
                    except Exception as err:  # noqa: BLE001
                        line += f"  cue: {type(err).__name__}: {str(err)[:100]}"
                lines.append(line)
                print(lines[-1], flush=True)
            if gpu:
                seconds, bw = fused_kernel_bandwidth(w)
                lines.append(f"Si{n:<4d} {c:3d}  fused forward kernel {1e6 * seconds:8.1f} us, {bw / 1e9:8.1f} GB/s")
                print(lines[-1], flush=True)
    if gpu:
        copy = copy_bandwidth()
        lines.append(f"device copy bandwidth {copy / 1e9:.0f} GB/s (read + write)")
    return lines


def block_sweep(n_atoms=64, channels=32, dtype="float64", repeats=3, blocks=(1, 2, 4, 8, 12, 24),
                rows=48) -> list[str]:
    """Per-HVP time of both backends for each block size (the first ``rows`` Hessian rows), and
    the ratio of each backend at its own best block size."""
    dt = jnp.dtype(dtype)
    lines = [f"Si{n_atoms} C={channels} {dtype}: ms per Hessian row, first {rows} rows",
             f"{'block':>6s} {'e3nn':>9s} {'fused':>9s} {'e3nn/fused':>10s}"]
    best = {"e3nn": np.inf, "fused": np.inf}
    for block in blocks:
        w = Workload(n_atoms, channels, dt, max_block=block)
        if w.block != block or rows % block:
            raise ValueError(f"block {block} must divide both 3N = {3 * n_atoms} and rows = {rows}")
        per_row = {}
        for backend in best:
            per_row[backend] = median_time(w.task(w.energy(backend), "hvp", rows // block), repeats) / rows
            best[backend] = min(best[backend], per_row[backend])
        lines.append(f"{block:6d} {1e3 * per_row['e3nn']:9.2f} {1e3 * per_row['fused']:9.2f} "
                     f"{per_row['e3nn'] / per_row['fused']:10.2f}")
        print(lines[-1], flush=True)
    lines.append(f"  best  {1e3 * best['e3nn']:9.2f} {1e3 * best['fused']:9.2f} {best['e3nn'] / best['fused']:10.2f}"
                 "   (each backend at its own best block size)")
    return lines


# ---- pytest-benchmark ---------------------------------------------------------------------------

CASES = [(n, c, task, b) for n in (64, 216) for c in (32,) for task in TASKS for b in ("e3nn", "fused")]


@pytest.mark.parametrize("n_atoms,channels,task,backend", CASES,
                         ids=[f"Si{n}-C{c}-{t}-{b}" for n, c, t, b in CASES])
def test_fused_vs_e3nn(benchmark, record, n_atoms, channels, task, backend):
    w = Workload(n_atoms, channels, jnp.float64)
    fn = w.task(w.energy(backend), task)
    jax.block_until_ready(fn())
    benchmark.pedantic(lambda: jax.block_until_ready(fn()), rounds=3, iterations=1)
    record(f"Si{n_atoms} C={channels} {task} (median, float64)", backend, benchmark.stats.stats.median, baseline="fused")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atoms", type=int, nargs="+", default=[64, 216])
    parser.add_argument("--channels", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-block", type=int, default=None,
                        help="most tangents per Hessian block (default 24 on CPU, 108 on GPU; memory "
                             "grows with it: e3nn's Si216 HVP at 54 exceeded 20 GB)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--hvp-blocks", type=int, default=None,
                        help="time only the first blocks of Hessian rows (task shown as hvp[rows]; default: all 3N rows)")
    parser.add_argument("--sweep-blocks", type=int, nargs="+", default=None,
                        help="instead of the table: per-row HVP times for these block sizes (first 48 "
                             "rows of the first --atoms / --channels case) and the best-vs-best ratio")
    args = parser.parse_args()
    if args.sweep_blocks:
        print("\n".join(block_sweep(args.atoms[0], args.channels[0], args.dtype, args.repeats, args.sweep_blocks)))
        raise SystemExit
    print("\n".join(compare(args.atoms, args.channels, args.dtype, args.repeats, args.max_block, args.tasks,
                             args.hvp_blocks)))
