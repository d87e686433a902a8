"""One Hessian-vector product from a cold start against one gradient (issue 19's silicon line): what
tracing, compiling and running a single product costs in each way we could compute it, each way
in a fresh process.

    python -m benchmarks.bench_single_product [--case si|nacl] [--variants ...] [--options JSON]

Silicon needs one Hessian row of its supercell (216 atoms with the nequix-shaped random model of
``bench_deep_force_constants``: 4 layers, 6 Å, l_max 3, float64), phonopy one displaced supercell,
so the end-to-end comparison there is one product against one gradient. Variants:

  gradient        ∂E/∂x compiled with XLA's default options, as ``pf.Calculator``'s jit (phonopy's side)
  for             a forward-over-reverse pass on every edge, quick-compiled (``derivatives._quick_compile``):
                  what ``hessian_products`` runs for a single block
  for-optimized   the same, compiled with XLA's default options
  moving          forward along the moved atom's edge group over reverse (``derivatives._moving_block``),
                  quick: what ``hessian_products`` runs for each of several blocks
  linear          ``jax.linearize`` of the gradient (primal pass, quick) and its linear map (quick), compiled
                  one after the other and run one after the other
  linear-moving   the same along the moved atom's edge group
  linear-threads  ``linear`` with the two compilations in two threads at once

Prints, per variant: tracing and lowering s, XLA compile s, execution s (the first call, as a
cold run has it), their sum, and the sum over the gradient's; checks every product against the
first one (≤1e-10 relative). ``--options`` adds XLA compile options (a JSON object, e.g.
``'{"xla_disable_hlo_passes": "cse"}'``; ``'{"xla_cpu_use_fusion_emitters": true}'`` undoes
``derivatives.QUICK_COMPILE_IF_KNOWN``) to the quick-compiled variants.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

VARIANTS = ("gradient", "for", "for-optimized", "moving", "linear", "linear-moving", "linear-threads")


def run_variant(case: str, variant: str, options: dict) -> dict:
    """Time one variant in this process: {"trace", "compile", "execute", "product"}."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks.bench_deep_force_constants import make_case, make_model
    from phonax_fast import derivatives as d
    from phonax_fast.forceconstants import plan_construction
    from phonax_fast.graphs.neighbors import bucket_size, max_incident_edges, move_edges, pad_graph, periodic_graph
    from phonax_fast.graphs.supercell import make_supercell

    model, atoms = make_model("random-nequix"), make_case(case)
    supercell = make_supercell(atoms, plan_construction(atoms, model).supercell)
    graph = periodic_graph(supercell.atoms, model.cutoff, model.species)
    padded = pad_graph(graph, bucket_size(graph.num_nodes), bucket_size(graph.num_edges), model.cutoff)
    moved = move_edges(padded, np.array([0]), max_incident_edges(graph), model.cutoff)
    padded, moved = (jax.tree_util.tree_map(jnp.asarray, g) for g in (padded, moved))
    tangent = jnp.zeros((1, padded.num_nodes, 3)).at[0, 0, 0].set(1.0)

    @jax.jit
    def moving_linearization(model, graph):
        def gradient(offsets):
            return d._position_gradient(model, model.params, graph._replace(offsets=offsets))(graph.positions)
        return jax.linearize(gradient, jnp.zeros_like(graph.positions))[1]

    start = time.perf_counter()
    if variant == "gradient":
        fn = jax.jit(lambda model, graph: d._position_gradient(model, model.params, graph)(graph.positions))
        steps = [(fn.lower(model, padded), None, (model, padded))]
    elif variant in ("for", "for-optimized"):
        steps = [(d._hessian_block.lower(model, padded, tangent), variant == "for",
                  (model, padded, tangent))]
    elif variant == "moving":
        steps = [(d._moving_block.lower(model, moved, tangent), True, (model, moved, tangent))]
    else:
        linearization, graph_arg = ((moving_linearization, moved) if variant == "linear-moving"
                                    else (d._gradient_linearization, padded))
        shape = jax.eval_shape(linearization, model, graph_arg)
        steps = [(linearization.lower(model, graph_arg), True, (model, graph_arg)),
                 (d._linear_block.lower(shape, tangent), True, None)]  # None: the previous step's output
    trace = time.perf_counter() - start

    def compile_quick_or_default(lowered, quick):
        return d._quick_compile(lowered, options) if quick else lowered.compile()

    start = time.perf_counter()
    if variant == "linear-threads":
        compiled = [None] * len(steps)

        def compile_step(k):
            compiled[k] = compile_quick_or_default(*steps[k][:2])

        threads = [threading.Thread(target=compile_step, args=(k,)) for k in range(len(steps))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        compiled = [compile_quick_or_default(lowered, quick) for lowered, quick, _ in steps]
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = None
    for fn, (_, _, args) in zip(compiled, steps):
        out = jax.block_until_ready(fn(*args) if args is not None else fn(out, tangent))
    execute = time.perf_counter() - start
    product = [] if variant == "gradient" else np.asarray(out)[0, : graph.num_nodes].ravel().tolist()
    return {"trace": trace, "compile": compile_seconds, "execute": execute, "product": product}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=["si", "nacl"], default="si")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--options", default="{}", help="XLA compile options (JSON) of the quick variants")
    parser.add_argument("--inside", help=argparse.SUPPRESS)  # run one variant here, print JSON
    args = parser.parse_args()
    if args.inside:
        import jax

        jax.config.update("jax_enable_x64", True)
        print(json.dumps(run_variant(args.case, args.inside, json.loads(args.options))))
        return
    import numpy as np

    results = {}
    for variant in args.variants:
        done = subprocess.run([sys.executable, "-m", "benchmarks.bench_single_product", "--case", args.case,
                               "--options", args.options, "--inside", variant], capture_output=True, text=True, check=True)
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results.get("gradient")
    reference = next((np.array(r["product"]) for r in results.values() if r["product"]), None)
    print(f"{args.case}: one cold Hessian-vector product against one gradient (seconds); options {args.options}")
    print(f"{'variant':<16}{'trace':>8}{'compile':>9}{'execute':>9}{'total':>8}{'/ gradient':>12}  product")
    for variant, r in results.items():
        total = r["trace"] + r["compile"] + r["execute"]
        ratio = f"{total / (base['trace'] + base['compile'] + base['execute']):.2f}" if base else "-"
        if r["product"]:
            error = np.abs(np.array(r["product"]) - reference).max() / np.abs(reference).max()
            check = f"{'ok' if error <= 1e-10 else 'DIFFERS'} ({error:.1e})"
        else:
            check = ""
        print(f"{variant:<16}{r['trace']:>8.2f}{r['compile']:>9.2f}{r['execute']:>9.2f}{total:>8.2f}{ratio:>12}  {check}")


if __name__ == "__main__":
    main()
