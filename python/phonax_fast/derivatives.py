"""Derivatives of a model's energy: the energy itself, forces, stress and Hessian-vector products.

The one place where the package differentiates an energy model. A model is anything with
``apply(params, graph) -> (n_nodes,)`` atomic energies in eV (a pure, jit-able function); every
function here takes the weights ``params`` explicitly (training differentiates with respect to
them), except the two conveniences for a model's own weights, :func:`energy_forces_virial` and
:func:`hessian_rows`.

* Energy: E = Σ_k w_k ε_k with the graph's ``energy_weights`` w (1 for a plain structure, 0/1
  masks for clusters and padding); per structure of a batch by :func:`structure_energies`.
* Forces: F = −∂E/∂x, eV/Å.
* Stress by the strain trick: positions and periodic shifts are deformed by I + sym(ε) for a
  homogeneous strain ε (:func:`strain_graph`) and ∂E/∂ε (eV) is taken at ε = 0; the stress is
  (1/V) ∂E/∂ε in eV/Å³ (ASE's sign).
* Hessian-vector products: H v = ∂/∂t ∇E(x + t v) at t = 0, a forward-mode product (``jvp``) of
  the reverse-mode gradient (forward over reverse), in eV/Å² per unit of v; the Hessian is never
  formed. :func:`hessian_rows` gives rows of H in blocks of unit tangents, with a progress bar.

Positions are row vectors in Å; units of the outputs are eV, eV/Å, eV (∂E/∂ε), eV/Å².
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import e3nn_jax as e3nn
import jax
import jax.numpy as jnp
import numpy as np

from .graphs.graph import Graph
from .graphs.neighbors import bucket_size, max_incident_edges, move_edges, pad_graph
from .progress import progress_bar
from .resources import free_memory

BYTES_PER_EDGE_FEATURE = 4 * 8  # see tangent_bytes


def energy(model, params, graph: Graph) -> jnp.ndarray:
    """Σ_k w_k ε_k, eV (a scalar): the atomic energies ε (n_nodes,) of ``model.apply(params, graph)``
    weighted by ``graph.energy_weights`` w (n_nodes,)."""
    return jnp.dot(graph.energy_weights, model.apply(params, graph))


def structure_energies(model, params, graph: Graph, node_structure, n_structures: int) -> jnp.ndarray:
    """(n_structures,) energies in eV of the structures of a batched graph: Σ_{k in g} w_k ε_k.

    Args:
        node_structure: (n_nodes,) int, the structure each node belongs to (0 ≤ g < n_structures).
    """
    per_node = model.apply(params, graph) * graph.energy_weights
    return jax.ops.segment_sum(per_node, node_structure, n_structures)


def deformation(strain: jnp.ndarray) -> jnp.ndarray:
    """I + (ε + εᵀ)/2 for strains ε of shape (..., 3, 3) (dimensionless)."""
    eye = jnp.eye(3, dtype=strain.dtype)
    return eye + 0.5 * (strain + jnp.swapaxes(strain, -1, -2))


def strain_graph(graph: Graph, strain: jnp.ndarray, node_structure=None) -> Graph:
    """``graph`` under a homogeneous strain: positions (Å) and periodic shifts (Å) become
    r (I + sym ε) (row vectors), so that the deformed cell is cell (I + sym ε).

    Args:
        strain: (3, 3) for the whole graph, or (G, 3, 3), one per structure of a batch.
        node_structure: with a (G, 3, 3) strain, (n_nodes,) int, the structure of each node (an
            edge is deformed with its receiver's structure).
    """
    deform = deformation(strain)
    if node_structure is None:
        return graph._replace(positions=graph.positions @ deform, shifts=graph.shifts @ deform)
    return graph._replace(
        positions=jnp.einsum("ni,nij->nj", graph.positions, deform[node_structure]),
        shifts=jnp.einsum("ei,eij->ej", graph.shifts, deform[node_structure[graph.receivers]]),
    )


def energy_and_gradients(model, params, graph: Graph, node_structure=None, n_structures: int | None = None):
    """(E, ∂E/∂x, ∂E/∂ε) at zero strain: energy, its position gradient and its strain derivative.

    For one structure (``node_structure`` None): E scalar in eV, ∂E/∂x (n_nodes, 3) in eV/Å and
    ∂E/∂ε (3, 3) in eV. For a batch: E (n_structures,) eV (:func:`structure_energies`), ∂E/∂x the
    gradient of Σ_g E_g, and ∂E/∂ε (n_structures, 3, 3) eV, one strain per structure. The stress of
    structure g is ∂E_g/∂ε / V_g (eV/Å³), the forces −∂E/∂x.
    """
    x = graph.positions
    if node_structure is None:
        zero = jnp.zeros((3, 3), x.dtype)

        def total(positions, strain):
            e = energy(model, params, strain_graph(graph._replace(positions=positions), strain))
            return e, e

    else:
        zero = jnp.zeros((n_structures, 3, 3), x.dtype)

        def total(positions, strain):
            strained = strain_graph(graph._replace(positions=positions), strain, node_structure)
            e = structure_energies(model, params, strained, node_structure, n_structures)
            return e.sum(), e

    (_, e), (de_dx, de_deps) = jax.value_and_grad(total, argnums=(0, 1), has_aux=True)(x, zero)
    return e, de_dx, de_deps


@jax.jit
def energy_forces_virial(model, graph: Graph):
    """(energy eV, forces (n, 3) eV/Å, ∂E/∂ε (3, 3) eV) of ``model`` with its own weights
    (``model.params``) on ``graph``; ε is a homogeneous strain, the stress is ∂E/∂ε / V."""
    e, de_dx, de_deps = energy_and_gradients(model, model.params, graph)
    return e, -de_dx, de_deps


def _forward_over_reverse(gradient, x, tangents):
    """(gradient(x), products): the jvp of a gradient function at ``x`` with each of the (K, *x.shape)
    ``tangents``, vmapped (the primal, forward and backward pass, is computed once). A single
    tangent skips the vmap: the same numbers, ~20 % less compile time."""
    if tangents.shape[0] == 1:
        primal, product = jax.jvp(gradient, (x,), (tangents[0],))
        return primal, jax.tree_util.tree_map(lambda p: p[None], product)
    return jax.vmap(lambda t: jax.jvp(gradient, (x,), (t,)), out_axes=(None, 0))(tangents)


def hessian_vector_products(model, params, graph: Graph, tangents) -> jnp.ndarray:
    """(K, n_nodes, 3) products H v_k of the Hessian H = ∂²E/∂x∂x (eV/Å²) of :func:`energy` with the
    (K, n_nodes, 3) ``tangents`` v_k, by forward over reverse; in eV/Å² per unit of v (eV/Å³ for v
    in Å). Each product costs about one gradient evaluation; H is never formed."""
    return _forward_over_reverse(_position_gradient(model, params, graph), graph.positions, tangents)[1]


def _position_gradient(model, params, graph: Graph):
    """x ↦ ∂E/∂x (n_nodes, 3) eV/Å of :func:`energy` on ``graph`` with its positions replaced by x."""
    return jax.grad(lambda x: energy(model, params, graph._replace(positions=x)))


def batch_derivatives(model, params, graph: Graph, node_structure, n_structures: int, tangents):
    """Everything training predicts on a batch, from one forward-over-reverse pass.

    Args:
        graph: a batched graph; ``node_structure`` (n_nodes,) int assigns nodes to ``n_structures``.
        tangents: (K, n_nodes, 3) tangents for Hessian-vector products (K may be 0: none are taken).
    Returns:
        (energies (G,) eV, ∂E/∂x (n_nodes, 3) eV/Å, ∂E/∂ε (G, 3, 3) eV, H v (K, n_nodes, 3) eV/Å²),
        as :func:`energy_and_gradients` and :func:`hessian_vector_products`.
    """

    def gradients(x):
        return energy_and_gradients(model, params, graph._replace(positions=x), node_structure, n_structures)

    if tangents.shape[0]:
        (e, de_dx, de_deps), (_, hvp, _) = _forward_over_reverse(gradients, graph.positions, tangents)
    else:
        (e, de_dx, de_deps), hvp = gradients(graph.positions), tangents
    return e, de_dx, de_deps, hvp


@jax.jit
def _hessian_block(model, graph: Graph, tangents: jnp.ndarray) -> jnp.ndarray:
    """(B, n, 3) Hessian-vector products of the model's energy with the (B, n, 3) tangents."""
    return hessian_vector_products(model, model.params, graph, tangents)


@jax.jit
def _moving_block(model, graph: Graph, tangents: jnp.ndarray) -> jnp.ndarray:
    """(B, n, 3) Hessian-vector products of the model's energy with the (B, n, 3) tangents on a
    graph whose moving group holds every edge the tangents move (``graphs.neighbors.move_edges``):
    forward (along the group's offsets) over reverse (the positions), so the tangents flow through
    the moving group's edges only, not through the zeros of every other edge."""
    def gradient(offsets):
        return _position_gradient(model, model.params, graph._replace(offsets=offsets))(graph.positions)

    return _forward_over_reverse(gradient, jnp.zeros_like(graph.positions), tangents)[1]


@jax.jit
def _gradient_linearization(model, graph: Graph):
    """v ↦ H v at ``graph.positions``: ``jax.linearize`` of the energy's gradient, a
    ``jax.tree_util.Partial`` that holds the primal pass's residuals, so that every block of
    products (:func:`_linear_block`) skips the primal (forward and backward) pass."""
    return jax.linearize(_position_gradient(model, model.params, graph), graph.positions)[1]


@jax.jit
def _linear_block(linear, tangents: jnp.ndarray) -> jnp.ndarray:
    """(B, n, 3) products of the linearised gradient ``linear`` with the (B, n, 3) tangents."""
    return jax.vmap(linear)(tangents)


QUICK_COMPILE = {"xla_backend_optimization_level": 0}
"""XLA options of the first compilation of a block function: about half the compile time of the
default; the compiled function runs 1.3–1.7× slower (NequIP models on the CPU, measured)."""
QUICK_COMPILE_IF_KNOWN = {"xla_cpu_use_fusion_emitters": False}
"""Added to ``QUICK_COMPILE`` where this XLA knows them (jaxlib 0.10 does, 0.12 does not): XLA's
older CPU loop emitters compile one Si 216 product of the nequix-shaped model in 3.5–3.8 s
instead of 5.4–5.7 s and run it as fast (``benchmarks/bench_single_product.py --options``)."""
_unknown_options: set = set()  # options of QUICK_COMPILE_IF_KNOWN this XLA refused
OPTIMIZED_SAVING, OPTIMIZED_COMPILE_COST = 0.3, 2.0
"""After the first block, the linearised products are compiled with XLA's default optimisation
(:func:`hessian_products`) when the blocks left would save more (this fraction of their time) than
it costs (this × the first block's quick compile)."""

MAX_BLOCK = 32
"""Most tangents per block: beyond it the per-product time no longer falls (benchmarks/bench_hessian_blocks.py)."""


def hidden_features(model) -> int:
    """Features per node of the model's hidden layers (``config.hidden_irreps``'s dimension, else
    9 × channels): the unit of per-edge work and memory estimates."""
    hidden = getattr(model.config, "hidden_irreps", None)
    return e3nn.Irreps(hidden).dim if hidden is not None else 9 * getattr(model.config, "channels", 32)


def tangent_bytes(model, graph: Graph) -> int:
    """Working memory of one Hessian-vector product of a block (bytes), for sizing blocks: about
    four float64 copies (primal, tangent and their cotangents) of the hidden features on every edge
    of every layer (measured with XLA's memory analysis: 2.5–4.4 copies for NequIP models)."""
    return max(graph.num_edges, 1) * model.num_layers * hidden_features(model) * BYTES_PER_EDGE_FEATURE


MOVING_TANGENT_SHARE, MAX_MOVING_BLOCK = 0.5, 8
"""Memory of a tangent along a moving edge group (:func:`_moving_block`) as a share of
:func:`tangent_bytes` (XLA's memory analysis gives 0.9 GiB per tangent against 2.3 GiB estimated:
the nequix-shaped model on a 448-atom cell, 27,008 edges), and the most such tangents per block
(rattled Si 216: 1.07 s per product in blocks of 6, 1.13 s in blocks of 8, 1.40 s in blocks of 13;
``benchmarks/bench_deep_force_constants.py``, ``benchmarks/bench_hessian_blocks.py``)."""


def default_block_size(model, graph: Graph, n_rows: int, memory_budget: float | None = None,
                       share: float = 1.0) -> int:
    """Tangents per block: as many as fit ``memory_budget`` bytes (default: a quarter of the free
    memory, at most 8 GiB) by ``share`` × :func:`tangent_bytes` each, at most ``MAX_BLOCK`` and
    ``n_rows``."""
    budget = min(free_memory() / 4, 8 * 2**30) if memory_budget is None else memory_budget
    return int(np.clip(budget // (share * tangent_bytes(model, graph)), 1, max(1, min(n_rows, MAX_BLOCK))))


@dataclass
class HessianTiming:
    """What one run of Hessian-vector products took (seconds), filled in by :func:`hessian_products`.

    ``compile_seconds``: tracing and compiling the block functions and the gradient's
    linearisation (or loading them from JAX's persistent cache); ``execute_seconds``: running all
    blocks and the linearisation's primal pass."""

    products: int = 0
    block_size: int = 0
    blocks: int = 0
    nodes: int = 0
    edges: int = 0
    compile_seconds: float = 0.0
    execute_seconds: float = 0.0


def hessian_products(model, graph: Graph, atoms, directions, block_size: int | None = None,
                     desc: str = "Hessian rows", on_block=None, timing: HessianTiming | None = None):
    """Products H v_k of the Hessian of the model's energy on ``graph`` with tangents v_k that move
    one atom each: node ``atoms[k]`` along ``directions[k]`` (Cartesian (3,), unit length for a row
    of the Hessian), i.e. Σ_α d_α ∂²E/∂x_{aα} ∂x.

    Blocks of tangents are vmapped, each a forward-over-reverse pass. A tangent that moves one atom
    changes only that atom's edges, so where the model evaluates edge groups apart
    (``EnergyModel.evaluates_edge_groups``), the graph is not a pruned cluster, a block's atoms own
    at most half the edges and there is more than one block, each block moves its atoms' edges
    into a group of their own (``graphs.neighbors.move_edges``) and the forward pass runs along
    that group only (:func:`_moving_block`): 1.4–1.9× faster per product than either other way for
    a 4-layer model (``benchmarks/bench_hessian_blocks.py``), for more tracing and compile time
    (a single block stays on every edge: ~1.6 s less to trace and compile one Si 216 product with
    the nequix-shaped model, ~1.1 s more to run it; ``benchmarks/bench_single_product.py``). Otherwise,
    when enough blocks are left after the first to pay for compiling again, the rest are products
    of the gradient linearised once (``jax.linearize``: the primal forward and backward pass run
    once, their residuals kept in memory), which skip repeating the primal pass per block.

    The graph is padded to a size bucket (``graphs.pad_graph``) and the last block with repeats of
    its last tangent, so similar graphs and every block share one compiled function. It is compiled
    ahead of the first block, so compilation and execution are timed apart (``timing``), and quickly
    (``QUICK_COMPILE``); after the first block it is compiled again fully optimised when the blocks
    left would pay for it (``OPTIMIZED_SAVING``, ``OPTIMIZED_COMPILE_COST``). A warm run (this
    graph's functions compiled before in this process) uses the best compiled version from the
    first block.

    Args:
        model: an energy model (pytree with ``apply`` and ``params``), float64 recommended.
        graph: the graph; products are derivatives with respect to ``graph.positions``.
        atoms: (K,) int node of each tangent.
        directions: (K, 3) float Cartesian direction of each tangent.
        block_size: tangents per vmapped block (default :func:`default_block_size`).
        desc: progress-bar label.
        on_block: if given, called as ``on_block(slice_of_k, products_block)`` for each block and
            nothing is returned (to fold products without holding them all).
        timing: a :class:`HessianTiming` to fill in, or None.
    Returns:
        (K, n_nodes, 3) float64 array in eV/Å² per unit of direction (unless ``on_block`` is given).
    """
    atoms = np.asarray(atoms, dtype=np.int64)
    directions = np.asarray(directions, dtype=float).reshape(len(atoms), 3)
    n = graph.num_nodes
    bs = block_size or default_block_size(model, graph, len(atoms))
    padded = pad_graph(graph, bucket_size(n), bucket_size(graph.num_edges), model.cutoff)
    on_device = jax.tree_util.tree_map(jnp.asarray, padded)
    timing = timing if timing is not None else HessianTiming()
    timing.products, timing.block_size, timing.nodes, timing.edges = len(atoms), bs, n, graph.num_edges
    out = None if on_block else np.empty((len(atoms), n, 3))
    per_node = max_incident_edges(graph)
    moving = (getattr(model, "evaluates_edge_groups", False) and graph.layer_edges is None and len(atoms) > bs
              and bs * per_node <= graph.num_edges // 2)
    if moving and not block_size:  # smaller tangents: larger blocks, as long as they own at most half the edges
        bs = min(default_block_size(model, graph, len(atoms), share=MOVING_TANGENT_SHARE),
                 graph.num_edges // 2 // per_node, MAX_MOVING_BLOCK)

    def block_index(start):
        """The tangents of the block from ``start``: the last one repeated to fill it."""
        return np.minimum(np.arange(start, start + bs), len(atoms) - 1)

    def block_tangents(start):
        k = block_index(start)
        tangents = np.zeros((bs, padded.num_nodes, 3))
        tangents[np.arange(bs), atoms[k]] = directions[k]
        return jnp.asarray(tangents)

    def moving_args(start):
        moved = move_edges(padded, atoms[block_index(start)], bs * per_node, model.cutoff)
        return model, jax.tree_util.tree_map(jnp.asarray, moved), block_tangents(start)

    def linearised(compiled_linearization):
        """Arguments of the linear block for a start: the linear map v ↦ H v (its primal pass run
        once here, timed as execution) and the block's tangents."""
        start = time.perf_counter()
        linear = jax.block_until_ready(compiled_linearization(model, on_device))
        timing.execute_seconds += time.perf_counter() - start
        return lambda first: (linear, block_tangents(first))

    if moving:
        block_fn, block_args = _moving_block, moving_args
    else:  # several blocks whose linearised products were compiled before (a warm run): linearise right away
        warm = _cached(_gradient_linearization, model, on_device) if len(atoms) > bs else None
        block_fn, block_args = ((_linear_block, linearised(warm)) if warm is not None
                                else (_hessian_block, lambda first: (model, on_device, block_tangents(first))))
    while True:  # compile quickly; halve the block while XLA's own estimate of its memory does not fit
        start = time.perf_counter()
        compiled, quick_seconds = _compiled(block_fn, *block_args(0))
        timing.compile_seconds += time.perf_counter() - start
        need = _compiled_bytes(compiled)
        if bs == 1 or need <= free_memory():
            break
        bs = max(1, bs // 2)
    timing.block_size = bs
    n_blocks = -(-len(atoms) // bs)
    with progress_bar(total=len(atoms), desc=desc, unit="row") as bar:
        for k, first in enumerate(range(0, len(atoms), bs)):
            stop = min(first + bs, len(atoms))
            start = time.perf_counter()
            products = np.asarray(compiled(*block_args(first)))[: stop - first, :n]
            elapsed = time.perf_counter() - start
            timing.execute_seconds += elapsed
            timing.blocks += 1
            if k == 0 and quick_seconds is not None and (n_blocks - 1) * OPTIMIZED_SAVING * elapsed > OPTIMIZED_COMPILE_COST * quick_seconds:
                # enough blocks left to pay for compiling again, fully optimised (the linearised
                # products where the tangents run on every edge)
                start = time.perf_counter()
                if not moving:
                    linearization, _ = _compiled(_gradient_linearization, model, on_device)
                    timing.compile_seconds += time.perf_counter() - start
                    block_fn, block_args = _linear_block, linearised(linearization)
                    start = time.perf_counter()
                compiled = _optimized(block_fn, *block_args(0))
                timing.compile_seconds += time.perf_counter() - start
            if on_block:
                on_block(slice(first, stop), products)
            else:
                out[first:stop] = products
            bar.update(stop - first)
    return out


_COMPILED: dict = {}  # (_signature) → compiled function
_COMPILED_KEEP = 8


def _signature(fn, args, optimized: bool):
    """What a compiled function of ``fn`` depends on: the arguments' tree structure (model class and
    hyper-parameters, graph pruning) and leaf shapes and dtypes."""
    leaves, structure = jax.tree_util.tree_flatten(args)
    return fn, structure, tuple((x.shape, x.dtype.name) for x in leaves), optimized


def _remember(key, compiled):
    _COMPILED[key] = compiled
    while len(_COMPILED) > _COMPILED_KEEP:
        _COMPILED.pop(next(iter(_COMPILED)))
    return compiled


def _compiled(fn, *args):
    """(compiled ``fn`` for ``args``, seconds its quick compilation took): the best version compiled
    before in this process for these shapes if any (seconds None), else a quick compilation
    (``QUICK_COMPILE``)."""
    found = _cached(fn, *args)
    if found is not None:
        return found, None
    lowered = fn.lower(*args)
    start = time.perf_counter()
    compiled = _quick_compile(lowered)
    seconds = time.perf_counter() - start
    return _remember(_signature(fn, args, False), compiled), seconds


def _quick_compile(lowered, options: dict | None = None):
    """``lowered`` compiled with ``QUICK_COMPILE`` and those of ``QUICK_COMPILE_IF_KNOWN`` this XLA
    knows (an unknown one is refused before compiling, then left out for the rest of the process),
    and ``options`` over them (benchmarks)."""
    while True:
        extra = {k: v for k, v in QUICK_COMPILE_IF_KNOWN.items() if k not in _unknown_options}
        try:
            return lowered.compile({**QUICK_COMPILE, **extra, **(options or {})})
        except Exception as err:  # jax's JaxRuntimeError: INVALID_ARGUMENT: No such compile option: 'name'
            unknown = [k for k in extra if f"No such compile option: '{k}'" in str(err)]
            if not unknown:
                raise
            _unknown_options.update(unknown)


def _cached(fn, *args):
    """``fn`` compiled for ``args`` before in this process (the fully optimised version if any), or None."""
    return _COMPILED.get(_signature(fn, args, True)) or _COMPILED.get(_signature(fn, args, False))


def _optimized(fn, *args):
    """``fn`` for ``args`` compiled with XLA's default (full) optimisation, remembered for reuse."""
    return _remember(_signature(fn, args, True), fn.lower(*args).compile())


def _compiled_bytes(compiled) -> int:
    """Memory a compiled function needs beyond its arguments (XLA's estimate; 0 if unknown)."""
    try:
        stats = compiled.memory_analysis()
        return int(stats.temp_size_in_bytes + stats.output_size_in_bytes)
    except (AttributeError, NotImplementedError, RuntimeError):
        return 0


def hessian_rows(model, graph: Graph, coords, block_size: int | None = None, desc: str = "Hessian rows",
                 on_block=None, timing: HessianTiming | None = None):
    """Rows ∂²E/∂x_c ∂x of the model's energy on ``graph`` for the flat coordinates ``coords``
    ((n_rows,) int, ``3 * node + α``): :func:`hessian_products` with unit tangents.

    ``on_block`` is called as ``on_block(coords_block, rows_block)``. Returns (n_rows, n_nodes, 3)
    float64 in eV/Å² (unless ``on_block`` is given).
    """
    coords = np.asarray(coords, dtype=np.int64)
    fold = None if on_block is None else (lambda k, rows: on_block(coords[k], rows))
    return hessian_products(model, graph, coords // 3, np.eye(3)[coords % 3], block_size, desc, fold, timing)
