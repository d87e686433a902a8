"""Rows of the Hessian of a model's energy by batched forward-over-reverse products."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..graphs.graph import Graph
from ..progress import progress_bar

# Rough working memory of one Hessian-vector product per edge and channel (bytes), used to size
# blocks of tangents so that a block fits in ``memory_budget``.
_BYTES_PER_EDGE_CHANNEL = 8 * 160


@jax.jit
def _hvp_block(model, graph: Graph, tangents: jnp.ndarray) -> jnp.ndarray:
    """(B, n, 3) Hessian-vector products of the model's energy with the (B, n, 3) tangents."""

    def energy(positions):
        return model.energy(graph._replace(positions=positions))

    grad = jax.grad(energy)
    return jax.vmap(lambda t: jax.jvp(grad, (graph.positions,), (t,))[1])(tangents)


def default_block_size(model, graph: Graph, n_rows: int, memory_budget: float = 2e9) -> int:
    """Tangents per block so that one block's working memory stays near ``memory_budget`` bytes."""
    channels = getattr(model.config, "channels", 32)
    per_tangent = max(graph.num_edges, 1) * channels * model.num_layers * _BYTES_PER_EDGE_CHANNEL
    return int(np.clip(memory_budget // per_tangent, 1, max(n_rows, 1)))


def hessian_rows(model, graph: Graph, coords, block_size: int | None = None, desc: str = "Hessian rows", on_block=None):
    """Rows ∂²E/∂x_c ∂x of the model's energy on ``graph`` for the flat coordinates ``coords``.

    Args:
        model: an energy model (pytree with ``energy(graph)``), float64 recommended.
        graph: the graph; rows are derivatives with respect to ``graph.positions``.
        coords: (n_rows,) flat coordinate indices ``3 * node + α``.
        block_size: tangents per vmapped block (default: from a memory estimate).
        desc: progress-bar label.
        on_block: if given, called as ``on_block(coords_block, rows_block)`` for each block and
            nothing is returned (to fold rows without holding the whole Hessian).
    Returns:
        (n_rows, n_nodes, 3) float64 array in eV/Å² (unless ``on_block`` is given).
    """
    coords = np.asarray(coords, dtype=np.int64)
    n = graph.num_nodes
    bs = block_size or default_block_size(model, graph, len(coords))
    graph = jax.tree_util.tree_map(jnp.asarray, graph)
    out = None if on_block else np.empty((len(coords), n, 3))
    with progress_bar(total=len(coords), desc=desc, unit="row") as bar:
        for start in range(0, len(coords), bs):
            chunk = coords[start : start + bs]
            padded = np.concatenate([chunk, np.full(bs - len(chunk), chunk[-1])])
            tangents = np.zeros((bs, 3 * n))
            tangents[np.arange(bs), padded] = 1.0
            rows = np.asarray(_hvp_block(model, graph, jnp.asarray(tangents.reshape(bs, n, 3))))[: len(chunk)]
            if on_block:
                on_block(chunk, rows)
            else:
                out[start : start + len(chunk)] = rows
            bar.update(len(chunk))
    return out
