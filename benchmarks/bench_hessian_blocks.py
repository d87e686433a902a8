"""Cost per Hessian-vector product against the block size, three ways (issue 19): a vmapped
forward-over-reverse pass with the tangents on every edge (which repeats the primal pass per
block), the gradient linearised once (``jax.linearize``, then the linear map per block), and the
moving edge group (``derivatives._moving_block``: the block's atoms' edges in a group of their
own, the forward pass along it only; what ``derivatives.hessian_products`` does for periodic
graphs).

    python -m benchmarks.bench_hessian_blocks [--repeat 3] [--blocks 1 2 4 8 16 32] [--model nequix|demo]

Rattled Si (3×3×3 conventional, 216 atoms, 0.03 Å) unless ``--repeat`` says otherwise; the model
is a random one of nequix-mp-1's shape (4 layers, 6 Å, l_max 3, 128 channels; float64) or the
bundled demo model. Prints, per block size, seconds per product (execution only, the median of
``--runs`` calls after a warm-up) of the three ways, the ratios, the primal pass and the compile
times (all fully optimised), and checks that all give the same products (≤1e-10 relative).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="conventional cells along each axis")
    parser.add_argument("--blocks", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    parser.add_argument("--model", choices=["nequix", "demo"], default="nequix")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    from ase.build import bulk

    import phonax_fast as pf
    from phonax_fast import derivatives as d
    from phonax_fast.graphs.neighbors import bucket_size, max_incident_edges, move_edges, pad_graph, periodic_graph

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(args.repeat)
    atoms.rattle(0.03, seed=0)
    model = pf.models.Nequix.init(["Si"], seed=0) if args.model == "nequix" else pf.models.load("demo")
    graph = periodic_graph(atoms, model.cutoff, model.species)
    padded_host = pad_graph(graph, bucket_size(graph.num_nodes), bucket_size(graph.num_edges), model.cutoff)
    padded = jax.tree_util.tree_map(jnp.asarray, padded_host)
    print(f"{type(model).__name__} ({args.model}), {len(atoms)} atoms, {graph.num_edges} edges, "
          f"default block {d.default_block_size(model, graph, 3 * len(atoms))}")

    def timed(fn, *fn_args):
        times = []
        for _ in range(args.runs + 1):  # the first call warms up
            start = time.perf_counter()
            out = jax.block_until_ready(fn(*fn_args))
            times.append(time.perf_counter() - start)
        return out, float(np.median(times[1:]))

    start = time.perf_counter()
    linearization = d._quick_compile(d._gradient_linearization.lower(model, padded))
    compile_linearization = time.perf_counter() - start
    linear, primal = timed(linearization, model, padded)
    print(f"linearisation (primal pass): compile {compile_linearization:.1f} s, run {primal:.3f} s")
    print("| block | forward-over-reverse s/product | linearised s/product | moving group s/product | "
          "f-o-r / moving | linearised / moving | compile f-o-r / linear / moving s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for bs in args.blocks:
        tangents = np.zeros((bs, padded.num_nodes, 3))
        nodes = rng.choice(len(atoms), bs)
        tangents[np.arange(bs), nodes, rng.integers(0, 3, bs)] = 1.0
        tangents = jnp.asarray(tangents)
        moved = jax.tree_util.tree_map(jnp.asarray, move_edges(padded_host, nodes, bs * max_incident_edges(graph),
                                                               model.cutoff))
        start = time.perf_counter()
        block = d._hessian_block.lower(model, padded, tangents).compile()
        compile_block = time.perf_counter() - start
        start = time.perf_counter()
        linear_block = d._linear_block.lower(linear, tangents).compile()
        compile_linear = time.perf_counter() - start
        start = time.perf_counter()
        moving_block = d._moving_block.lower(model, moved, tangents).compile()
        compile_moving = time.perf_counter() - start
        a, t_block = timed(block, model, padded, tangents)
        b, t_linear = timed(linear_block, linear, tangents)
        c, t_moving = timed(moving_block, model, moved, tangents)
        for other in (b, c):
            error = float(np.abs(np.asarray(a) - np.asarray(other)).max() / np.abs(np.asarray(a)).max())
            assert error <= 1e-10, error
        print(f"| {bs} | {t_block / bs:.3f} | {t_linear / bs:.3f} | {t_moving / bs:.3f} | {t_block / t_moving:.2f} | "
              f"{t_linear / t_moving:.2f} | {compile_block:.1f} / {compile_linear:.1f} / {compile_moving:.1f} |", flush=True)


if __name__ == "__main__":
    main()
