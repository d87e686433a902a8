"""e3nn-jax's spherical harmonics, sparse (its default) against dense Clebsch–Gordan contractions
(``models.layers.SH_ALGORITHM``), in a Hessian-vector product as the force constants take them.

    python -m benchmarks.bench_spherical_harmonics [--edges 500] [--lmax 3]

For a scalar f(Y(x)) of l ≤ lmax harmonics (component normalisation) of random edge vectors x,
float64 on the CPU: tracing and lowering s, XLA compile s (default options) and execution s (mean
of 20 calls) of the jitted forward-over-reverse product, and the two ways' largest differences in
the gradient and the product (relative to their largest entries).
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=500)
    parser.add_argument("--lmax", type=int, default=3)
    args = parser.parse_args()

    import e3nn_jax as e3nn
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    x, v = (jnp.asarray(rng.normal(size=(args.edges, 3))) for _ in range(2))
    irreps = e3nn.Irreps.spherical_harmonics(args.lmax)
    w = jnp.asarray(rng.normal(size=(args.edges, irreps.dim)))
    results = {}
    for algorithm in (("recursive", "sparse", "custom_jvp"), ("recursive", "dense", "custom_jvp")):
        def f(y, algorithm=algorithm):
            sh = e3nn.spherical_harmonics(irreps, y, normalize=True, normalization="component", algorithm=algorithm)
            return jnp.sum(jnp.sin(sh.array * w))

        gradient = jax.grad(f)
        product = jax.jit(lambda y: jax.jvp(gradient, (y,), (v,))[1])
        start = time.perf_counter()
        lowered = product.lower(x)
        trace = time.perf_counter() - start
        start = time.perf_counter()
        compiled = lowered.compile()
        compile_seconds = time.perf_counter() - start
        compiled(x).block_until_ready()
        start = time.perf_counter()
        for _ in range(20):
            compiled(x).block_until_ready()
        execute = (time.perf_counter() - start) / 20
        results[algorithm[1]] = (np.asarray(gradient(x)), np.asarray(compiled(x)))
        print(f"{algorithm[1]:<7} trace {trace:6.3f} s  compile {compile_seconds:6.3f} s  execute {execute * 1e3:7.3f} ms")
    (g1, p1), (g2, p2) = results.values()
    print(f"differences: gradient {np.abs(g1 - g2).max() / np.abs(g1).max():.1e}, "
          f"product {np.abs(p1 - p2).max() / np.abs(p1).max():.1e} (relative)")


if __name__ == "__main__":
    main()
